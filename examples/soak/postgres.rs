//! What the soak does only on PostgreSQL: a store in a schema of its own
//! (on `--url`, or a throwaway server), the exactly-once runner writing a
//! read-model table under a lease (a second runner stands by for the
//! lease), and random connection kills.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use factum::postgres::testing::OwnServer;
use factum::postgres::{
    Lease, PostgresOptions, PostgresProjectionRunner, PostgresStore, SchemaName,
    TransactionalProjection,
};
use factum::{BoxError, RecordedEvent};
use serde::Deserialize;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, PgConnection, PgPool};

use crate::fold::Total;
use crate::stats::mix;

/// The `application_name` of every connection of the store's pool (and of
/// the runners' own connections, which copy the pool's options).
const APPLICATION: &str = "factum-soak";

/// The store, and what keeps it alive.
pub(crate) struct Postgres {
    pub(crate) store: PostgresStore,
    /// The server, when the soak started its own.
    server: Option<OwnServer>,
    /// Where the store is, shown without a password.
    pub(crate) shown: String,
}

impl Postgres {
    /// A migrated store in a fresh schema `factum_soak_<pid>` on `url`, or
    /// on a throwaway server when `url` is `None`, with the read model's
    /// table.
    pub(crate) async fn open(url: Option<&str>) -> Result<Self, BoxError> {
        let (server, url) = match url {
            Some(url) => (None, url.to_owned()),
            None => {
                let server = OwnServer::start().await?;
                let url = server.url().to_owned();
                (Some(server), url)
            }
        };
        let shown = match url.split_once('@') {
            Some((_, host)) => host.to_owned(),
            None => url.clone(),
        };
        let options = PgConnectOptions::from_str(&url)?.application_name(APPLICATION);
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await?;
        let schema = SchemaName::new(format!("factum_soak_{}", std::process::id()))?;
        let s = schema.quoted();
        sqlx::query(AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {s} CASCADE")))
            .execute(&pool)
            .await?;
        let store =
            PostgresStore::with_options(pool, PostgresOptions::default().with_schema(schema));
        store.migrate().await?;
        sqlx::query(AssertSqlSafe(format!(
            "CREATE TABLE {s}.soak_totals (stream_id text PRIMARY KEY, events bigint NOT NULL, \
             amount bigint NOT NULL, version bigint NOT NULL)"
        )))
        .execute(store.pool())
        .await?;
        Ok(Self {
            store,
            server,
            shown: format!("{shown}, schema {s}"),
        })
    }

    /// Whether the soak started the server itself.
    pub(crate) fn own_server(&self) -> bool {
        self.server.is_some()
    }

    /// Events the read model has handled (committed).
    pub(crate) async fn handled(&self) -> Result<u64, sqlx::Error> {
        let s = self.store.schema().quoted();
        let n: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT coalesce(sum(events), 0)::bigint FROM {s}.soak_totals"
        )))
        .fetch_one(self.store.pool())
        .await?;
        Ok(n as u64)
    }

    /// The oldest open transaction on the whole server other than this
    /// query's (which holds the feed back, as long as the feed waits for
    /// every transaction): its pid, database, application, state and age.
    pub(crate) async fn oldest_transaction(&self) -> Option<String> {
        let oldest: Option<String> = sqlx::query_scalar(
            "SELECT format('pid %s, database %s, application %L, %s, open for %s s', pid, \
             datname, application_name, state, round(extract(epoch FROM now() - xact_start))) \
             FROM pg_stat_activity WHERE xact_start IS NOT NULL AND pid <> pg_backend_pid() \
             ORDER BY xact_start LIMIT 1",
        )
        .fetch_optional(self.store.pool())
        .await
        .ok()?;
        oldest.map(|o| format!("the oldest transaction on the server: {o}"))
    }

    /// The read model as stored.
    pub(crate) async fn totals(&self) -> Result<BTreeMap<String, Total>, sqlx::Error> {
        let s = self.store.schema().quoted();
        let rows: Vec<(String, i64, i64, i64)> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT stream_id, events, amount, version FROM {s}.soak_totals"
        )))
        .fetch_all(self.store.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(stream, events, amount, version)| {
                let total = Total {
                    events: events as u64,
                    amount: amount as u64,
                    version: version as u64,
                };
                (stream, total)
            })
            .collect())
    }

    /// Drops the soak's schema; the throwaway server, if any, stops when
    /// `self` is dropped.
    pub(crate) async fn clean_up(&self) -> Result<(), sqlx::Error> {
        let s = self.store.schema().quoted();
        sqlx::query(AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {s} CASCADE")))
            .execute(self.store.pool())
            .await?;
        self.store.pool().close().await;
        Ok(())
    }
}

/// The exactly-once read model: per stream, events, sum of amounts and
/// last version, in `soak_totals`. An event that does not follow its
/// stream's last version (handled twice, or one skipped) fails the page.
struct TotalsTable {
    schema: String,
}

#[derive(Deserialize)]
struct Payload {
    amount: i64,
}

#[async_trait]
impl TransactionalProjection<PgConnection> for TotalsTable {
    fn name(&self) -> &str {
        "soak-totals"
    }

    async fn handle(
        &mut self,
        tx: &mut PgConnection,
        event: &RecordedEvent,
    ) -> Result<(), BoxError> {
        let amount = serde_json::from_slice::<Payload>(&event.payload)?.amount;
        let s = &self.schema;
        // A stream's first event inserts its row (a second "first" event
        // fails on the primary key); the others update it only if they
        // follow its last version.
        let sql = if event.stream_version == 1 {
            format!(
                "INSERT INTO {s}.soak_totals (stream_id, events, amount, version) \
                 VALUES ($1, 1, $2, $3)"
            )
        } else {
            format!(
                "UPDATE {s}.soak_totals SET events = events + 1, amount = amount + $2, \
                 version = $3 WHERE stream_id = $1 AND version = $3 - 1"
            )
        };
        let changed = sqlx::query(AssertSqlSafe(sql))
            .bind(event.stream_id.as_str())
            .bind(amount)
            .bind(event.stream_version as i64)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if changed == 1 {
            Ok(())
        } else {
            Err(format!(
                "event {} is version {} of {}, which does not follow the read model's last",
                event.position, event.stream_version, event.stream_id
            )
            .into())
        }
    }

    async fn reset(&mut self, tx: &mut PgConnection) -> Result<(), BoxError> {
        let s = &self.schema;
        sqlx::query(AssertSqlSafe(format!("DELETE FROM {s}.soak_totals")))
            .execute(&mut *tx)
            .await?;
        Ok(())
    }
}

/// Runs an exactly-once runner of the read model under a lease of 2 s,
/// until it ends, which it must not: the returned text says why it did.
pub(crate) async fn run_table(store: PostgresStore, holder: &str) -> String {
    let projection = TotalsTable {
        schema: store.schema().quoted(),
    };
    let mut runner = PostgresProjectionRunner::new(store, projection)
        .with_batch_size(200)
        .with_poll_interval(Duration::from_millis(100))
        .with_lease(Lease::new(Duration::from_secs(2)).with_holder(holder));
    match runner.run().await {
        Err(e) => format!("the runner ({holder}) ended: {e}"),
        Ok(never) => match never {},
    }
}

/// What the killer did.
#[derive(Debug, Default)]
pub(crate) struct Kills {
    pub(crate) rounds: u64,
    pub(crate) sessions: u64,
    /// Rounds whose query failed (the killer's own connection lost).
    pub(crate) failed_rounds: u64,
    /// Why the killer could not run at all, if it could not.
    pub(crate) error: Option<String>,
}

/// Until `stop` is set: pauses between half and one and a half times
/// `every`, then terminates one of the store's sessions (every fifth
/// round: all of them), the feed listener's included, from a connection
/// of its own.
pub(crate) async fn kill(
    store: PostgresStore,
    every: Duration,
    stop: Arc<AtomicBool>,
) -> Result<Kills, BoxError> {
    let listener = store.feed_listener_name();
    let options = (*store.pool().connect_options())
        .clone()
        .application_name("factum-soak-killer");
    let pool: PgPool = PgPoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await?;
    let mut kills = Kills::default();
    let mut seed = u64::from(std::process::id());
    while !stop.load(Ordering::Relaxed) {
        seed = mix(seed);
        let pause = every.mul_f64(0.5 + (seed % 1000) as f64 / 1000.0);
        let deadline = tokio::time::Instant::now() + pause;
        while !stop.load(Ordering::Relaxed) && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if stop.load(Ordering::Relaxed) {
            break;
        }
        kills.rounds += 1;
        let limit: i64 = if kills.rounds.is_multiple_of(5) {
            1000
        } else {
            1
        };
        let killed: Result<i64, _> = sqlx::query_scalar(
            "SELECT count(*) FILTER (WHERE k) FROM (SELECT pg_terminate_backend(pid) AS k \
             FROM pg_stat_activity WHERE pid <> pg_backend_pid() \
             AND application_name IN ($1, $2) ORDER BY random() LIMIT $3) AS killed",
        )
        .bind(APPLICATION)
        .bind(&listener)
        .bind(limit)
        .fetch_one(&pool)
        .await;
        match killed {
            Ok(n) => kills.sessions += n as u64,
            Err(_) => kills.failed_rounds += 1,
        }
    }
    pool.close().await;
    Ok(kills)
}
