//! The whole backend conformance suite against PostgreSQL, one fresh schema
//! per test (and per model case).

use factum_conformance::Fixture;
use factum_postgres::testing::TestSchema;

factum_conformance::conformance_suite!(async {
    let (store, schema) = TestSchema::store().await.expect("a test store");
    Fixture::new(store).with_guard(schema)
});
