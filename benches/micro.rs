//! Micro-benchmarks of the hot paths that need no database: codecs, folding
//! an aggregate, and the in-memory store. Run with `cargo bench --bench micro`.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use factum::aggregate::Aggregate;
use factum::memory::MemoryStore;
use factum::{
    Codec, DomainEvent, EventAppender, EventData, EventReader, ExpectedVersion, GlobalPosition,
    Json, MessagePack, ReadOptions, RecordedEvent, StreamId,
};
use serde::{Deserialize, Serialize};

/// A ~150-byte JSON event, as in the workloads of `docs/design.md`
/// (section 8).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Deposited {
    account: String,
    amount: u64,
    currency: String,
    reference: String,
    teller: String,
}

impl DomainEvent for Deposited {
    const EVENT_TYPES: &'static [&'static str] = &["Deposited"];
    fn event_type(&self) -> &'static str {
        "Deposited"
    }
}

fn sample(n: u64) -> Deposited {
    Deposited {
        account: format!("account-{n:08}"),
        amount: 1_000 + n,
        currency: "EUR".into(),
        reference: format!("invoice-2026-{n:010}-monthly-fee"),
        teller: "branch-042/teller-17".into(),
    }
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct Balance {
    total: u64,
    count: u64,
}

#[derive(Debug, thiserror::Error)]
#[error("never")]
struct Never;

impl Aggregate for Balance {
    const CATEGORY: &'static str = "balance";
    type Event = Deposited;
    type Command = ();
    type Error = Never;
    fn apply(&mut self, event: &Deposited) {
        self.total += event.amount;
        self.count += 1;
    }
    fn handle(&self, _: ()) -> Result<Vec<Deposited>, Never> {
        Ok(vec![])
    }
}

fn recorded(codec: &impl Codec, n: u64) -> RecordedEvent {
    let data = codec.encode(&sample(n)).expect("encodes");
    RecordedEvent::from_data(
        data,
        StreamId::new("balance-1").expect("valid"),
        n + 1,
        GlobalPosition::from_parts(0, n + 1),
        chrono::Utc::now(),
    )
}

fn codecs(c: &mut Criterion) {
    let mut group = c.benchmark_group("codec");
    group.throughput(Throughput::Elements(1));
    let event = sample(7);
    group.bench_function("json encode", |b| b.iter(|| Json.encode(black_box(&event))));
    group.bench_function("msgpack encode", |b| {
        b.iter(|| MessagePack.encode(black_box(&event)))
    });
    let json = recorded(&Json, 7);
    let packed = recorded(&MessagePack, 7);
    group.bench_function("json decode", |b| {
        b.iter(|| black_box(&json).decode::<Deposited>())
    });
    group.bench_function("msgpack decode", |b| {
        b.iter(|| black_box(&packed).decode::<Deposited>())
    });
    group.finish();
}

fn folding(c: &mut Criterion) {
    let events: Vec<Deposited> = (0..10_000).map(sample).collect();
    let mut group = c.benchmark_group("fold");
    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function("10k decoded events", |b| {
        b.iter(|| {
            let mut state = Balance::default();
            black_box(&events).iter().for_each(|e| state.apply(e));
            state
        })
    });
    let stored: Vec<RecordedEvent> = (0..10_000).map(|n| recorded(&Json, n)).collect();
    group.bench_function("10k stored JSON events (decode + apply)", |b| {
        b.iter(|| {
            let mut state = Balance::default();
            for e in black_box(&stored) {
                state.apply(&e.decode::<Deposited>().expect("decodes"));
            }
            state
        })
    });
    let packed: Vec<RecordedEvent> = (0..10_000).map(|n| recorded(&MessagePack, n)).collect();
    group.bench_function("10k stored MessagePack events (decode + apply)", |b| {
        b.iter(|| {
            let mut state = Balance::default();
            for e in black_box(&packed) {
                state.apply(&e.decode::<Deposited>().expect("decodes"));
            }
            state
        })
    });
    group.finish();
}

fn memory_store(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let payload = Json.encode(&sample(1)).expect("encodes").payload;
    let streams: Vec<StreamId> = (0..1_000)
        .map(|n| StreamId::new(format!("account-{n}")).expect("valid"))
        .collect();
    let mut group = c.benchmark_group("memory");
    group.throughput(Throughput::Elements(10_000));
    group.bench_function("10k single-event appends (1k streams x 10)", |b| {
        b.iter_batched(
            || {
                let events: Vec<EventData> = (0..10_000)
                    .map(|_| EventData::json("Deposited", payload.clone()))
                    .collect();
                (MemoryStore::new(), events)
            },
            |(store, events)| {
                runtime.block_on(async {
                    let mut events = events.into_iter();
                    for version in 0..10u64 {
                        for (stream, event) in streams.iter().zip(&mut events) {
                            let expected = if version == 0 {
                                ExpectedVersion::NoStream
                            } else {
                                ExpectedVersion::Exact(version)
                            };
                            store
                                .append(stream, expected, vec![event])
                                .await
                                .expect("append");
                        }
                    }
                    store
                })
            },
            BatchSize::PerIteration,
        )
    });
    let store = MemoryStore::new();
    let stream = StreamId::new("balance-1").expect("valid");
    runtime.block_on(async {
        for chunk in 0..10 {
            let events = (0..1_000)
                .map(|_| EventData::json("Deposited", payload.clone()))
                .collect();
            let expected = if chunk == 0 {
                ExpectedVersion::NoStream
            } else {
                ExpectedVersion::Exact(chunk * 1_000)
            };
            store
                .append(&stream, expected, events)
                .await
                .expect("append");
        }
    });
    group.bench_function("read a 10k-event stream", |b| {
        b.iter(|| {
            runtime
                .block_on(store.read_stream(&stream, ReadOptions::all()))
                .expect("read")
        })
    });
    group.finish();
}

criterion_group!(benches, codecs, folding, memory_store);
criterion_main!(benches);
