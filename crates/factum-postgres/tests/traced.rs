//! The whole conformance suite through `TracingStore`, which must forward
//! every call unchanged.

use factum_core::TracingStore;
use factum_core::conformance::Fixture;
use factum_postgres::testing::TestSchema;

factum_core::conformance_suite!(async {
    let (store, schema) = TestSchema::store().await.expect("a test store");
    Fixture::new(TracingStore::new(store)).with_guard(schema)
});
