//! The final scan of the stored feed: order, per-stream versions, and
//! every acknowledged append present exactly once, by its keys.

use std::time::{Duration, Instant};

use factum::{BoxError, EventStore, GlobalPosition};

use crate::fold::{Applied, Fold};
use crate::load::{WriterReport, parse_key, plan};

/// Events read per page.
const PAGE: usize = 1000;

/// Folds the whole feed with `read_all`, checking on the way that positions
/// only grow, versions follow each other per stream, and every event
/// carries the key of an acknowledged append, seen once; then that no
/// acknowledged append's event is missing. Problems go to the fold.
pub(crate) async fn scan(
    store: &dyn EventStore,
    writers: &[WriterReport],
) -> Result<Fold, BoxError> {
    let mut fold = Fold::default();
    // Per writer, per append: a bit per event seen.
    let mut seen: Vec<Vec<u8>> = writers
        .iter()
        .map(|w| vec![0; w.appends as usize + 1])
        .collect();
    let mut after = GlobalPosition::START;
    loop {
        let page = read_page(store, after).await?;
        let Some(last) = page.last() else { break };
        after = last.position;
        for event in &page {
            if fold.apply(event) == Applied::Old {
                fold.problem(format!("read_all went back at position {}", event.position));
            }
            let key = event.idempotency_key.as_deref().unwrap_or_default();
            let found = parse_key(key).and_then(|(w, s, k)| {
                let plan = plan(w, s);
                let bits = seen.get_mut(w as usize)?.get_mut(s as usize)?;
                (s > 0 && plan.get(k)? == event.stream_id.as_str()).then_some((bits, k))
            });
            match found {
                Some((bits, k)) if *bits & (1 << k) == 0 => *bits |= 1 << k,
                Some(_) => fold.problem(format!(
                    "key {key} is stored twice (again at position {})",
                    event.position
                )),
                None => fold.problem(format!(
                    "event {} in {} has key {key:?}: no acknowledged append made it there",
                    event.position, event.stream_id
                )),
            }
        }
    }
    for (w, bits) in seen.iter().enumerate() {
        for (s, bits) in bits.iter().enumerate().skip(1) {
            let wanted = (1u8 << plan(w as u64, s as u64).len()) - 1;
            if *bits != wanted {
                fold.problem(format!(
                    "append {s} of writer {w} was acknowledged, but events of it are missing \
                     (found {bits:#05b} of {wanted:#05b})"
                ));
            }
        }
    }
    Ok(fold)
}

/// How long the feed may take after the load to show the last
/// acknowledged event.
const VISIBLE: Duration = Duration::from_secs(120);

/// Waits until the feed's head reaches `last`, the last acknowledged
/// event; returns how long that took, or `None` after [`VISIBLE`].
pub(crate) async fn visible(
    store: &dyn EventStore,
    last: Option<GlobalPosition>,
) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < VISIBLE {
        match store.head_position().await {
            Ok(head) if head >= last => return Some(started.elapsed()),
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    None
}

/// A page of the feed, retried while the store is unavailable (up to a
/// minute).
async fn read_page(
    store: &dyn EventStore,
    after: GlobalPosition,
) -> Result<Vec<factum::RecordedEvent>, BoxError> {
    let mut tries = 0;
    loop {
        match store.read_all(after, PAGE).await {
            Ok(page) => return Ok(page),
            Err(e) if e.is_transient() && tries < 600 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}
