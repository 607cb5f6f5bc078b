//! Snapshots and checkpoints.

use futures::TryStreamExt;

use super::support::{event, stream};
use factum_core::{
    EventStore, ExpectedVersion, GlobalPosition, PayloadFormat, ReadOptions, Snapshot, SnapshotRead,
};

fn snapshot(version: u64, state: &str) -> Snapshot {
    Snapshot {
        stream_id: stream("snap-1"),
        stream_version: version,
        schema_version: 2,
        format: PayloadFormat::Json,
        state: state.as_bytes().to_vec(),
        taken_at: chrono::Utc::now(),
    }
}

/// A stream keeps its newest snapshot; an older one does not replace it.
pub async fn snapshots_keep_the_newest(store: &dyn EventStore) {
    let s = stream("snap-1");
    assert_eq!(store.load_snapshot(&s).await.expect("load"), None);
    store
        .save_snapshot(snapshot(10, r#"{"v":10}"#))
        .await
        .expect("save");
    store
        .save_snapshot(snapshot(20, r#"{"v":20}"#))
        .await
        .expect("save");
    store
        .save_snapshot(snapshot(15, r#"{"v":15}"#))
        .await
        .expect("save");
    let loaded = store
        .load_snapshot(&s)
        .await
        .expect("load")
        .expect("a snapshot");
    assert_eq!(loaded.stream_version, 20);
    assert_eq!(loaded.schema_version, 2);
    let state: serde_json::Value = serde_json::from_slice(&loaded.state).expect("json state");
    assert_eq!(state, serde_json::json!({"v": 20}));
    assert_eq!(
        store
            .load_snapshot(&stream("snap-other"))
            .await
            .expect("load"),
        None
    );
}

/// Checkpoints are saved, overwritten, kept apart by name, and deleted.
pub async fn checkpoints_save_load_and_delete(store: &dyn EventStore) {
    let (p1, p2) = (
        GlobalPosition::from_parts(0, 5),
        GlobalPosition::from_parts(3, 9),
    );
    assert_eq!(store.load_checkpoint("balances").await.expect("load"), None);
    store.save_checkpoint("balances", p1).await.expect("save");
    store.save_checkpoint("audit", p2).await.expect("save");
    assert_eq!(
        store.load_checkpoint("balances").await.expect("load"),
        Some(p1)
    );
    store.save_checkpoint("balances", p2).await.expect("save");
    assert_eq!(
        store.load_checkpoint("balances").await.expect("load"),
        Some(p2)
    );
    store.delete_checkpoint("balances").await.expect("delete");
    assert_eq!(store.load_checkpoint("balances").await.expect("load"), None);
    assert_eq!(
        store.load_checkpoint("audit").await.expect("load"),
        Some(p2)
    );
}

/// A snapshot read together with the payloads after it (where the backend
/// reads them together): the snapshot only when its schema version matches
/// and it lies at or before the version asked for, the payloads after it
/// (from version 1 without one) up to that version, at most as many as
/// asked for, and the same as a plain read of those versions.
pub async fn snapshot_and_payloads_read_together(store: &dyn EventStore) {
    let s = stream("snap-read");
    let events: Vec<_> = (1..=30).map(|n| event("Counted", n)).collect();
    store
        .append(&s, ExpectedVersion::NoStream, events)
        .await
        .expect("append");
    let taken = Snapshot {
        stream_id: s.clone(),
        ..snapshot(20, r#"{"v":20}"#)
    };
    store.save_snapshot(taken.clone()).await.expect("save");
    let read = |schema, until, limit| store.load_snapshot_with_payloads(&s, schema, until, limit);
    let Some(all) = read(2, None, 100).await.expect("read") else {
        return; // The backend reads snapshot and events apart.
    };
    let versions = |r: &SnapshotRead| {
        r.payloads
            .iter()
            .map(|p| p.stream_version)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        all.snapshot.as_ref().map(|s| (s.stream_version, &s.state)),
        Some((20, &taken.state))
    );
    assert_eq!(
        versions(&all),
        (21..=30).collect::<Vec<_>>(),
        "the events after the snapshot"
    );
    let plain = store
        .read_stream_payloads(&s, ReadOptions::all().with_from_version(21))
        .try_collect::<Vec<_>>()
        .await
        .expect("plain read");
    assert_eq!(all.payloads, plain, "the same payloads as a plain read");

    let limited = read(2, None, 4)
        .await
        .expect("read")
        .expect("read together");
    assert_eq!(
        versions(&limited),
        vec![21, 22, 23, 24],
        "at most as many as asked for"
    );

    let other_schema = read(3, None, 100)
        .await
        .expect("read")
        .expect("read together");
    assert_eq!(
        other_schema.snapshot, None,
        "a snapshot of another schema version is ignored"
    );
    assert_eq!(versions(&other_schema), (1..=30).collect::<Vec<_>>());

    let before = read(2, Some(12), 100)
        .await
        .expect("read")
        .expect("read together");
    assert_eq!(
        before.snapshot, None,
        "a snapshot after the version asked for is ignored"
    );
    assert_eq!(versions(&before), (1..=12).collect::<Vec<_>>());

    let between = read(2, Some(25), 100)
        .await
        .expect("read")
        .expect("read together");
    assert_eq!(
        between.snapshot.as_ref().map(|s| s.stream_version),
        Some(20)
    );
    assert_eq!(versions(&between), (21..=25).collect::<Vec<_>>());

    let missing = store
        .load_snapshot_with_payloads(&stream("snap-none"), 2, None, 10)
        .await
        .expect("read")
        .expect("read together");
    assert_eq!((missing.snapshot, missing.payloads), (None, Vec::new()));
}
