//! Recorded times on SQLite: stored as RFC 3339 text that sorts as the
//! times do (the ranged feed read compares that text), and never before
//! the feed's newest event, even when the clock is behind it.

#![allow(clippy::unwrap_used)] // Tests: a failed step should panic.

use chrono::{DateTime, Duration, TimeZone, Utc};
use factum_core::{
    EventAppender, EventData, EventReader, ExpectedVersion, GlobalPosition, StreamAppend, StreamId,
    TimeRange,
};
use factum_sqlite::SqliteStore;
use sqlx::Row;

fn at(nanos: u32) -> DateTime<Utc> {
    Utc.timestamp_opt(1_780_000_000, nanos).unwrap()
}

#[tokio::test]
async fn stored_times_sort_as_the_times_do() {
    let store = SqliteStore::in_memory().await.unwrap();
    // Whole seconds and fractions of 3, 6 and 9 digits, as stored.
    let times = [
        at(0),
        at(1),
        at(999),
        at(1_000),
        at(123_000_000),
        at(123_000_001),
        at(123_456_000),
        at(500_000_000),
        at(999_999_999),
        Utc.timestamp_opt(1_780_000_001, 0).unwrap(),
        Utc.with_ymd_and_hms(1999, 12, 31, 23, 59, 59).unwrap(),
        Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap(),
    ];
    let mut conn = store.read_connection().await.unwrap();
    for a in times {
        for b in times {
            let row = sqlx::query("SELECT ?1 < ?2, ?1 = ?2")
                .bind(a)
                .bind(b)
                .fetch_one(&mut *conn)
                .await
                .unwrap();
            let (less, equal): (bool, bool) = (row.get(0), row.get(1));
            assert_eq!((less, equal), (a < b, a == b), "{a} against {b}");
        }
    }
}

#[tokio::test]
async fn appends_are_never_recorded_before_the_newest_event() {
    let store = SqliteStore::in_memory().await.unwrap();
    let stream = StreamId::new("clock-1").unwrap();
    let event = || EventData::json("Ticked", b"{}".to_vec());
    store
        .append(&stream, ExpectedVersion::NoStream, vec![event()])
        .await
        .unwrap();
    // A row from a clock an hour ahead (another machine's), written by SQL.
    let ahead = Utc::now() + Duration::hours(1);
    {
        let mut conn = store.read_connection().await.unwrap();
        sqlx::query(
            "INSERT INTO factum_events (position, stream_id, stream_version, event_id, event_type, \
             schema_version, format, payload, metadata, idempotency_key, recorded_at) \
             SELECT MAX(position) + 1, 'clock-1', 2, randomblob(16), 'Ticked', 1, 'json', '{}', \
             '{}', NULL, ?1 FROM factum_events",
        )
        .bind(ahead)
        .execute(&mut *conn)
        .await
        .unwrap();
    }
    // The one-statement path, then the general one (a key, two streams).
    store
        .append(&stream, ExpectedVersion::Exact(2), vec![event()])
        .await
        .unwrap();
    store
        .append_many(vec![
            StreamAppend::new(
                stream.clone(),
                ExpectedVersion::Exact(3),
                vec![event().with_idempotency_key("k")],
            ),
            StreamAppend::new(
                StreamId::new("clock-2").unwrap(),
                ExpectedVersion::Any,
                vec![event()],
            ),
        ])
        .await
        .unwrap();
    let feed = store.read_all(GlobalPosition::START, 10).await.unwrap();
    assert_eq!(feed.len(), 5);
    for later in &feed[2..] {
        assert!(
            later.recorded_at >= ahead,
            "{}@{} recorded at {}, before the newest event's {ahead}",
            later.stream_id,
            later.stream_version,
            later.recorded_at
        );
    }
    // The later appends took the newest event's time: a read up to it
    // holds them all, one before it only the first event.
    let range = |range| store.read_all_between(range, GlobalPosition::START, 10);
    assert_eq!(range(TimeRange::until(ahead)).await.unwrap().len(), 5);
    assert_eq!(range(TimeRange::new(..ahead)).await.unwrap().len(), 1);
}
