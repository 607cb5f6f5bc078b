//! The whole backend conformance suite against SQLite: a fresh database file
//! in a temporary directory per test (WAL and all), removed afterwards.

use factum_conformance::Fixture;
use factum_sqlite::SqliteStore;

async fn fresh() -> Fixture {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteStore::open(dir.path().join("events.db"))
        .await
        .expect("the store opens");
    Fixture::new(store).with_guard(dir)
}

factum_conformance::conformance_suite!(fresh());
