//! Idempotency keys are matched exactly, whatever characters they hold,
//! except NUL, which every backend refuses since PostgreSQL cannot store it.

use factum_core::{Error, EventAppender, EventData, ExpectedVersion, InvalidAppend, StreamId};
use factum_sqlite::SqliteStore;

#[tokio::test]
async fn keys_with_control_characters_and_unicode_are_matched_exactly() {
    let store = SqliteStore::in_memory().await.unwrap();
    let s = StreamId::new("odd-keys").unwrap();
    let keys = [
        "tab\tand\nnewline",
        "bell\u{7}and\u{1b}escape",
        "quote\"back\\slash",
        "émoji-🎉",
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

#[tokio::test]
async fn keys_holding_nul_are_refused_and_write_nothing() {
    let store = SqliteStore::in_memory().await.unwrap();
    let s = StreamId::new("nul-keys").unwrap();
    for key in ["nul\u{0}inside", "nul\u{0}"] {
        let event = EventData::json("K", b"{}".to_vec()).with_idempotency_key(key);
        let refused = store.append(&s, ExpectedVersion::Any, vec![event]).await;
        assert!(
            matches!(
                refused,
                Err(Error::InvalidAppend(InvalidAppend::IdempotencyKey { .. }))
            ),
            "{key:?}: {refused:?}"
        );
    }
    assert_eq!(
        factum_core::EventReader::stream_version(&store, &s)
            .await
            .unwrap(),
        None
    );
}
