//! `factum::open` with a `postgres://` URL under a role that may only read
//! and append (the grants of `crates/factum-postgres/roles/
//! read_and_append.sql`): once the owner has migrated the schema, opening
//! needs no DDL rights, and the store appends, injects and reads.

use factum::{
    CorrelatedSet, DomainEvent, EventReader, InjectEvents, InjectStatus, InjectableEvent,
    ReadOptions, StreamId,
};
use factum_postgres::SchemaName;
use factum_postgres::testing::{TestDatabase, TestRole};
use serde::{Deserialize, Serialize};

#[derive(CorrelatedSet)]
#[es(prefix = "Order")]
struct Orders;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, DomainEvent, InjectableEvent)]
#[es(idempotency = ["order_id"], correlation = ["order_id"], correlation_set = Orders)]
struct OrderPlaced {
    order_id: u64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_needs_no_ddl_rights_once_the_schema_is_current() {
    // `open` always uses the default schema, so the test takes a database.
    let database = TestDatabase::create().await.expect("a test database");
    // The owner (the harness's superuser) applies the schema.
    let owner = factum::open(database.url())
        .await
        .expect("open as the owner");
    // Declared after the database, so dropped before it.
    let role = TestRole::read_and_append(database.url(), &SchemaName::default())
        .await
        .expect("a read-and-append role");

    let store = factum::open(role.url()).await.expect("open as the role");
    let placed = OrderPlaced { order_id: 7 };
    let first = store
        .idempotent_inject_event(&placed)
        .await
        .expect("inject as the role");
    assert!(matches!(first, InjectStatus::Injected { .. }), "{first:?}");
    let again = store
        .idempotent_inject_event(&placed)
        .await
        .expect("inject again as the role");
    assert_eq!(
        again,
        InjectStatus::Duplicate {
            position: first.position()
        }
    );
    let group = StreamId::new("Order-7").expect("a valid stream id");
    let read = store
        .read_stream(&group, ReadOptions::all())
        .await
        .expect("read as the role");
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].position, first.position());
    assert_eq!(
        owner.head_position().await.expect("the owner's head"),
        Some(first.position())
    );
}
