//! The whole conformance suite through `TracingStore`, which must forward
//! every call unchanged.

use factum_conformance::Fixture;
use factum_core::TracingStore;
use factum_postgres::testing::TestSchema;

factum_conformance::conformance_suite!(async {
    let (store, schema) = TestSchema::store().await.expect("a test store");
    Fixture::new(TracingStore::new(store)).with_guard(schema)
});
