//! W5 of `docs/design.md` (section 8): a filtered subscription over a
//! feed where 1% of events match, against the same filter in plain SQL.

use std::time::Duration;

use factum::aggregate::Aggregate;
use factum::{
    EventFilter, ExpectedVersion, GlobalPosition, StreamAppend, Subscribe, SubscriptionOptions,
    TryStreamExt,
};

use crate::baseline::BoxError;
use crate::model::{Balance, Deposited, FLAGGED, FeedRow, Flagged, Row};
use crate::workloads::{Run, Sizes, Target, interleaved, side, stream};

/// One event in this many is [`Flagged`]: the ones the filter selects.
const FLAG_EVERY: u64 = 100;
/// Events appended to a stream at a time.
const PER_STREAM: u64 = 10;
/// Streams written per call (`append_many` on factum, one statement or
/// transaction on the baseline): 1,000 events.
const STREAMS_PER_WRITE: u64 = 100;
/// Events per read on both sides: the subscription's batch size, the
/// baseline's `LIMIT`.
const PAGE: usize = 500;
/// A catch-up that has not delivered every matching event by then fails
/// the run rather than hanging it.
const CATCH_UP_LIMIT: Duration = Duration::from_secs(120);

/// Writes the feed to both sides: rounds of [`PER_STREAM`] events to each
/// of `sizes.streams` streams (`account-0`, ...), [`STREAMS_PER_WRITE`]
/// streams per write, up to `sizes.feed_events` events; every
/// [`FLAG_EVERY`]th event of the feed (in write order) is [`Flagged`],
/// the others `Deposited`. The same rows on both sides, in the same order.
/// Then lets the backend settle ([`Baseline::settle_feed`]). Returns the
/// fold of the flagged events.
///
/// [`Baseline::settle_feed`]: crate::baseline::Baseline::settle_feed
async fn write_feed(target: &Target, sizes: Sizes) -> Result<Balance, BoxError> {
    let rounds = (sizes.feed_events / (sizes.streams * PER_STREAM)).max(1);
    let mut flagged = Balance::default();
    let mut n = 0;
    for round in 0..rounds {
        let mut first = 0;
        while first < sizes.streams {
            let last = (first + STREAMS_PER_WRITE).min(sizes.streams);
            let (mut appends, mut rows) = (Vec::new(), Vec::new());
            for s in first..last {
                let name = format!("account-{s}");
                let mut events = Vec::new();
                for v in 1..=PER_STREAM {
                    let mut row = Row::new(n);
                    if n % FLAG_EVERY == FLAG_EVERY / 2 {
                        row.event_type = FLAGGED;
                        flagged.apply(&crate::model::deposit(n));
                    }
                    events.push(row.to_event());
                    rows.push(FeedRow {
                        stream: name.clone(),
                        version: round * PER_STREAM + v,
                        row,
                    });
                    n += 1;
                }
                let expected = match round {
                    0 => ExpectedVersion::NoStream,
                    r => ExpectedVersion::Exact(r * PER_STREAM),
                };
                appends.push(StreamAppend::new(stream(name), expected, events));
            }
            target.store.append_many(appends).await?;
            target.baseline.append_feed(&rows).await?;
            first = last;
        }
    }
    target.baseline.settle_feed().await?;
    Ok(flagged)
}

/// Whether a catch-up folded what was written.
fn check(side: &str, got: &Balance, expected: &Balance) -> Result<(), BoxError> {
    if (got.deposits, got.total) == (expected.deposits, expected.total) {
        return Ok(());
    }
    Err(format!(
        "{side} folded {} flagged events totalling {}, expected {} totalling {}",
        got.deposits, got.total, expected.deposits, expected.total
    )
    .into())
}

/// W5: a feed of `feed_events` events over `streams` streams, 1% of them
/// [`Flagged`]; one phase is one catch-up from the start of the feed until
/// every flagged event has been delivered, decoded and folded
/// (`feed_catchups` phases). factum: a subscription whose
/// [`EventFilter`] selects the flagged type; the baseline: pages of the
/// same type by hand (`WHERE event_type = $1 AND position > $2 ORDER BY
/// position LIMIT 500`, on an index on (event_type, position)). Both stop
/// at the last flagged event. Flagged events delivered per second.
pub(crate) async fn filtered(
    target: &Target,
    sizes: Sizes,
    factum_first: bool,
) -> Result<Run, BoxError> {
    let expected = write_feed(target, sizes).await?;
    let filter = EventFilter::all().event_types([FLAGGED]);
    let (expected, filter) = (&expected, &filter);

    let ours = |_| async move {
        let options = SubscriptionOptions::from_start()
            .with_filter(filter.clone())
            .with_batch_size(PAGE);
        let mut events = Subscribe::subscribe(&*target.store, options);
        let mut state = Balance::default();
        let mut last = GlobalPosition::START;
        let catch_up = async {
            while state.deposits < expected.deposits {
                let event = events.try_next().await?.ok_or("the subscription ended")?;
                if event.position <= last {
                    return Err(format!("{} came after {last}", event.position).into());
                }
                last = event.position;
                state.apply(&event.decode::<Flagged>()?.0);
            }
            Ok::<_, BoxError>(())
        };
        tokio::time::timeout(CATCH_UP_LIMIT, catch_up)
            .await
            .map_err(|_| "the subscription did not catch up")??;
        check("the subscription", &state, expected)
    };
    let theirs = |_| async move {
        let mut state = Balance::default();
        let mut after = 0;
        while state.deposits < expected.deposits {
            let page = target.baseline.read_feed(FLAGGED, after, PAGE).await?;
            let Some(&(last, _)) = page.last() else {
                return Err("the plain feed ended early".into());
            };
            after = last;
            for (_, payload) in page {
                state.apply(&serde_json::from_slice::<Deposited>(&payload)?);
            }
        }
        check("the baseline", &state, expected)
    };
    let total = expected.deposits * sizes.feed_catchups;
    let sides = vec![("factum", side(ours)), ("baseline", side(theirs))];
    interleaved(sizes.feed_catchups, total, factum_first, sides).await
}
