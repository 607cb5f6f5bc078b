//! What every example shares: which store to open, and saying whether it
//! continues from earlier runs.

use std::sync::Arc;

use factum::{BoxError, EventStore};

/// Opens `DATABASE_URL` when it is set (e.g. `postgres://postgres@127.0.0.1/test`),
/// and otherwise the SQLite file `factum-{example}.db` in the current
/// directory, created on the first run.
pub(crate) async fn open_store(example: &str) -> Result<Arc<dyn EventStore>, BoxError> {
    let url =
        std::env::var("DATABASE_URL").unwrap_or_else(|_| format!("sqlite://factum-{example}.db"));
    let shown = url.split_once('@').map_or(url.as_str(), |(_, host)| host);
    println!("Store: {shown} (set DATABASE_URL to use another)");
    let store = factum::open(&url).await?;
    match store.head_position().await? {
        Some(head) => {
            println!("It holds events up to position {head} from earlier runs: continuing.\n")
        }
        None => println!("It is empty: a first run.\n"),
    }
    Ok(store)
}
