//! The feed signal wakes subscribers after this store's appends.

use factum_core::{EventAppender, EventData, EventReader, ExpectedVersion, StreamId};
use factum_sqlite::SqliteStore;
use futures::FutureExt;

#[tokio::test]
async fn appends_fire_the_feed_signal_of_the_store_and_its_clones() {
    let store = SqliteStore::in_memory().await.unwrap();
    let clone = store.clone();
    let mut signal = store.feed_signal().expect("the store has a feed signal");
    signal.mark_seen();
    assert!(
        signal.changed().now_or_never().is_none(),
        "no append yet, so no signal"
    );
    let s = StreamId::new("signal-1").unwrap();
    clone
        .append(
            &s,
            ExpectedVersion::NoStream,
            vec![EventData::json("A", b"{}".to_vec())],
        )
        .await
        .unwrap();
    assert!(
        signal.changed().now_or_never().is_some(),
        "an append through a clone must fire the signal"
    );
    signal.mark_seen();
    let conflict = store
        .append(
            &s,
            ExpectedVersion::NoStream,
            vec![EventData::json("B", b"{}".to_vec())],
        )
        .await;
    assert!(conflict.is_err());
    assert!(
        signal.changed().now_or_never().is_none(),
        "a failed append must not fire the signal"
    );
}
