//! Snapshots and checkpoints.

use super::support::stream;
use factum_core::{EventStore, GlobalPosition, PayloadFormat, Snapshot};

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
