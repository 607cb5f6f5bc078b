//! An event's recorded time is taken when its append writes it, under the
//! stream's lock, not when its transaction began: an `append_in`
//! transaction held open across a concurrent append to the same stream
//! never gives its later version an earlier time, so time travel and
//! ranged feed reads at every recorded time hold exactly the events
//! recorded at or before it.

#![allow(clippy::unwrap_used)] // Tests: a failed step should panic.

use std::time::Duration;

use factum_conformance::time_range::{assert_time_bounds_hold, tally_event, tally_stream};
use factum_core::{
    EventAppender, EventData, EventReader, ExpectedVersion, ReadOptions, StreamAppend, StreamId,
};
use factum_postgres::testing::TestSchema;
use sqlx::Executor;

/// How the held transaction appends: alone to the stream (the one-statement
/// path), or with a keyed event and a second stream (`append_events`).
#[derive(Debug, Clone, Copy)]
enum Path {
    OneStatement,
    Function,
}

fn held_append(path: Path, stream: &StreamId, n: u64) -> Vec<StreamAppend> {
    let stream = stream.clone();
    match path {
        Path::OneStatement => vec![StreamAppend::new(
            stream,
            ExpectedVersion::Exact(2),
            vec![tally_event(n)],
        )],
        Path::Function => vec![
            StreamAppend::new(
                stream,
                ExpectedVersion::Exact(2),
                vec![tally_event(n).with_idempotency_key(format!("held-{n}"))],
            ),
            StreamAppend::new(
                tally_stream("beside"),
                ExpectedVersion::Any,
                vec![tally_event(n)],
            ),
        ],
    }
}

/// The held transaction's first statement, before the concurrent append:
/// an append elsewhere (so it holds the feed back), or a plain read (its
/// first write is the append to the stream).
#[derive(Debug, Clone, Copy)]
enum Start {
    AppendElsewhere,
    Read,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_append_in_never_records_a_later_version_earlier() {
    let (store, _schema) = TestSchema::store().await.unwrap();
    let mut n = 0;
    let mut next = || {
        n += 1;
        n
    };
    for path in [Path::OneStatement, Path::Function] {
        for start in [Start::AppendElsewhere, Start::Read] {
            let stream = tally_stream(&format!("held-{path:?}-{start:?}"));
            store
                .append(
                    &stream,
                    ExpectedVersion::NoStream,
                    vec![tally_event(next())],
                )
                .await
                .unwrap();

            let mut held = store.pool().begin().await.unwrap();
            match start {
                Start::AppendElsewhere => {
                    let elsewhere = StreamAppend::new(
                        tally_stream("elsewhere"),
                        ExpectedVersion::Any,
                        vec![tally_event(next())],
                    );
                    store.append_in(&mut held, vec![elsewhere]).await.unwrap();
                }
                Start::Read => {
                    held.execute("SELECT 1").await.unwrap();
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            // Another writer appends version 2 and commits while `held` is open.
            let concurrent: Vec<EventData> = vec![tally_event(next())];
            store
                .append(&stream, ExpectedVersion::Exact(1), concurrent)
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
            // `held` appends version 3, and commits.
            store
                .append_in(&mut held, held_append(path, &stream, next()))
                .await
                .unwrap();
            held.commit().await.unwrap();
            store
                .append(
                    &stream,
                    ExpectedVersion::Exact(3),
                    vec![tally_event(next())],
                )
                .await
                .unwrap();
        }
    }
    assert_time_bounds_hold(&store).await;
}

/// A stream whose newest event carries a time ahead of the clock (written
/// by SQL, as if by a machine whose clock ran fast): appends by either path
/// record their events at that time, not before it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_are_never_recorded_before_the_streams_newest_event() {
    let (store, _schema) = TestSchema::store().await.unwrap();
    let stream = tally_stream("ahead");
    store
        .append(&stream, ExpectedVersion::NoStream, vec![tally_event(1)])
        .await
        .unwrap();
    let ahead = chrono::Utc::now() + chrono::Duration::hours(1);
    let sql = format!(
        "INSERT INTO {}.events (stream_id, stream_version, event_id, event_type, \
         schema_version, payload_json, recorded_at) \
         VALUES ($1, 2, gen_random_uuid(), 'Counted', 1, '{{\"n\":2}}', $2)",
        store.schema().quoted()
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(stream.as_str())
        .bind(ahead)
        .execute(store.pool())
        .await
        .unwrap();
    store
        .append(&stream, ExpectedVersion::Exact(2), vec![tally_event(3)])
        .await
        .unwrap();
    store
        .append_many(vec![StreamAppend::new(
            stream.clone(),
            ExpectedVersion::Exact(3),
            vec![tally_event(4).with_idempotency_key("ahead-4")],
        )])
        .await
        .unwrap();
    let events = store
        .read_stream(&stream, ReadOptions::all())
        .await
        .unwrap();
    assert_eq!(events.len(), 4);
    for later in &events[2..] {
        assert!(
            later.recorded_at >= events[1].recorded_at,
            "version {} recorded at {}, before version 2 at {}",
            later.stream_version,
            later.recorded_at,
            events[1].recorded_at
        );
    }
    assert_time_bounds_hold(&store).await;
}
