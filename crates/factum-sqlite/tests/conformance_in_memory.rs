//! The whole backend conformance suite against `SqliteStore::in_memory()`.

use factum_conformance::Fixture;
use factum_sqlite::SqliteStore;

factum_conformance::conformance_suite!(async {
    Fixture::new(SqliteStore::in_memory().await.expect("the store opens"))
});
