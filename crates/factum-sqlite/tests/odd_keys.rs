//! Idempotency keys are matched exactly, whatever characters they hold.

use factum_core::{EventAppender, EventData, ExpectedVersion, StreamId};
use factum_sqlite::SqliteStore;

#[tokio::test]
async fn keys_with_control_characters_and_unicode_are_matched_exactly() {
    let store = SqliteStore::in_memory().await.unwrap();
    let s = StreamId::new("odd-keys").unwrap();
    let keys = [
        "nul\u{0}inside",
        "tab\tand\nnewline",
        "quote\"back\\slash",
        "émoji-🎉",
        "nul\u{0}",
    ];
    for key in keys {
        let event = EventData::json("K", b"{}".to_vec()).with_idempotency_key(key);
        let first = store
            .append(&s, ExpectedVersion::Any, vec![event.clone()])
            .await
            .unwrap();
        assert!(!first.is_duplicate(), "{key:?} was taken for another key");
        let again = store
            .append(&s, ExpectedVersion::Any, vec![event])
            .await
            .unwrap_or_else(|e| panic!("{key:?}: {e}"));
        assert!(again.is_duplicate(), "{key:?} was not recognised");
        assert_eq!(again.events[0].position(), first.events[0].position());
    }
}
