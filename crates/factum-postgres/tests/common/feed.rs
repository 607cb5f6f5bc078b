//! What the feed tests share: named streams, small events, stores on one
//! schema that read the feed without waiting or patiently, and a table
//! for bystanders.

use std::time::Duration;

use factum_core::{EventData, StreamId};
use factum_postgres::testing::TestSchema;
use factum_postgres::{PostgresOptions, PostgresStore};
use sqlx::{AssertSqlSafe, Executor, PgConnection};

/// The stream `name`.
pub fn stream(name: &str) -> StreamId {
    StreamId::new(name).unwrap()
}

/// An event `Fed` carrying `n`.
pub fn event(n: u64) -> EventData {
    EventData::json("Fed", format!(r#"{{"n":{n}}}"#).into_bytes())
}

/// A store that never waits: it shows exactly what is final right now.
pub async fn impatient() -> (PostgresStore, TestSchema) {
    TestSchema::store_with(PostgresOptions::default().with_feed_wait(Duration::ZERO))
        .await
        .unwrap()
}

/// A store on the same pool and schema whose feed reads wait (up to 30 s)
/// while something is held back, and return as soon as nothing is: what
/// must be visible is read through it, so that a transaction of another
/// test caught at an unlucky instant cannot make a test fail.
pub fn patient(store: &PostgresStore) -> PostgresStore {
    let options = PostgresOptions::default()
        .with_schema(store.schema().clone())
        .with_feed_wait(Duration::from_secs(30));
    PostgresStore::with_options(store.pool().clone(), options)
}

/// Creates the table `unrelated` beside `store`'s events, which
/// bystanders (transactions that write no events) write.
pub async fn create_unrelated(store: &PostgresStore) {
    let sql = format!("CREATE TABLE {}.unrelated (n int)", store.schema().quoted());
    store.pool().execute(AssertSqlSafe(sql)).await.unwrap();
}

/// Writes a row of `unrelated` on `conn`: its transaction gets an id.
pub async fn write_unrelated(store: &PostgresStore, conn: &mut PgConnection) {
    let sql = format!(
        "INSERT INTO {}.unrelated VALUES (1)",
        store.schema().quoted()
    );
    conn.execute(AssertSqlSafe(sql)).await.unwrap();
}
