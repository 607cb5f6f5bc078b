//! The PostgreSQL baseline, and the reference ways between it and factum.

use std::sync::Arc;

use async_trait::async_trait;
use factum_postgres::PostgresStore;
use factum_postgres::testing::{TestSchema, append_lock_keys, statement_text};
use sqlx::postgres::PgPool;
use sqlx::{AssertSqlSafe, Row};

use super::{Baseline, BoxError, NO_METADATA, feed_entry, version};
use crate::model::{FeedRow, Row as EventRow};

/// Plain sqlx calls on a hand-written events table in the store's schema,
/// through the store's pool.
pub(crate) struct PostgresBaseline {
    pool: PgPool,
    plain_inserts: Inserts,
    /// Reference way 0: the same INSERTs into factum's `events` table, in a
    /// migrated schema of its own.
    into_table: ReferenceSchema,
    events_inserts: Inserts,
    /// Reference way 1: the store's own append statements
    /// (`append_single.sql`, `append_one.sql`), in another such schema.
    by_hand: ReferenceSchema,
    store_single: Arc<str>,
    store_many: Arc<str>,
    read: Arc<str>,
    save_snapshot: Arc<str>,
    load_snapshot: Arc<str>,
    feed_insert: Arc<str>,
    feed_page: Arc<str>,
    feed_vacuum: Arc<str>,
}

/// The baseline's tables (`{schema}` to fill in).
const PLAIN_TABLES: &str = include_str!("plain_tables.sql");
/// The baseline's feed table, its INSERT and its filtered page.
const FEED_TABLE: &str = include_str!("postgres_feed.sql");
const FEED_INSERT: &str = include_str!("postgres_feed_insert.sql");
const FEED_PAGE: &str = include_str!("postgres_feed_page.sql");
/// Both sides' feed tables vacuumed and analyzed.
const FEED_VACUUM: &str = include_str!("postgres_feed_vacuum.sql");

/// The two INSERTs that write the baseline's rows to one table: a single
/// row, and several from arrays. Both take the same parameters: stream,
/// first version, then the events' ids, types, payloads and metadata.
struct Inserts {
    one: Arc<str>,
    many: Arc<str>,
}

impl Inserts {
    /// The INSERTs into `table`, naming its `columns` for the parameters in
    /// order and then for the constant values `extra` (", 1", say).
    fn into(table: &str, columns: &str, extra: &str) -> Self {
        Self {
            one: format!(
                "INSERT INTO {table} ({columns}) \
                 VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb{extra})"
            )
            .into(),
            many: format!(
                "INSERT INTO {table} ({columns}) \
                 SELECT $1, $2 + u.ord - 1, u.id, u.typ, u.payload::jsonb, u.meta::jsonb{extra} \
                 FROM unnest($3::uuid[], $4::text[], $5::text[], $6::text[]) \
                     WITH ORDINALITY AS u(id, typ, payload, meta, ord)"
            )
            .into(),
        }
    }
}

/// A reference way's own fresh, migrated schema, so that each side's table
/// holds its own rows only: the store whose `events` table it writes, with
/// the pool it writes through, and the guard that drops the schema.
struct ReferenceSchema {
    store: PostgresStore,
    schema: TestSchema,
}

impl ReferenceSchema {
    async fn create() -> Result<Self, BoxError> {
        let (store, schema) = TestSchema::store().await?;
        Ok(Self { store, schema })
    }

    fn quoted(&self) -> String {
        self.schema.schema().quoted()
    }
}

impl PostgresBaseline {
    /// Creates the baseline's tables in `schema` (a quoted identifier), the
    /// schema of `store`, and the reference ways' schemas beside it.
    pub(crate) async fn create(store: &PostgresStore, schema: &str) -> Result<Self, BoxError> {
        let pool = store.pool().clone();
        let s = schema;
        let (into_table, by_hand) = (
            ReferenceSchema::create().await?,
            ReferenceSchema::create().await?,
        );
        let t = into_table.quoted();
        let store_sql = |name| {
            statement_text(&by_hand.store, name).ok_or(format!("the store has no {name} statement"))
        };
        sqlx::raw_sql(AssertSqlSafe(PLAIN_TABLES.replace("{schema}", s)))
            .execute(&pool)
            .await?;
        sqlx::raw_sql(AssertSqlSafe(FEED_TABLE.replace("{schema}", s)))
            .execute(&pool)
            .await?;
        Ok(Self {
            pool,
            plain_inserts: Inserts::into(
                &format!("{s}.plain_events"),
                "stream_id, version, event_id, event_type, payload, metadata",
                "",
            ),
            events_inserts: Inserts::into(
                &format!("{t}.events"),
                "stream_id, stream_version, event_id, event_type, payload_json, metadata, schema_version",
                ", 1",
            ),
            store_single: store_sql("append_single")?.into(),
            store_many: store_sql("append_one")?.into(),
            into_table,
            by_hand,
            read: format!(
                "SELECT payload::text FROM {s}.plain_events \
                 WHERE stream_id = $1 AND version > $2 ORDER BY version"
            )
            .into(),
            save_snapshot: format!(
                "INSERT INTO {s}.plain_snapshots (stream_id, version, state) VALUES ($1, $2, $3) \
                 ON CONFLICT (stream_id) DO UPDATE SET version = EXCLUDED.version, state = EXCLUDED.state"
            )
            .into(),
            load_snapshot: format!(
                "SELECT version, state FROM {s}.plain_snapshots WHERE stream_id = $1"
            )
            .into(),
            feed_insert: FEED_INSERT.replace("{schema}", s).into(),
            feed_page: FEED_PAGE.replace("{schema}", s).into(),
            feed_vacuum: FEED_VACUUM.replace("{schema}", s).into(),
        })
    }
}

impl PostgresBaseline {
    /// Writes `rows` through `pool` with one of `inserts`.
    async fn insert(
        pool: &PgPool,
        inserts: &Inserts,
        stream: &str,
        first_version: u64,
        rows: &[EventRow],
    ) -> Result<(), BoxError> {
        let first = version(first_version)?;
        if let [row] = rows {
            sqlx::query(AssertSqlSafe(inserts.one.clone()))
                .bind(stream)
                .bind(first)
                .bind(row.event_id)
                .bind(row.event_type)
                .bind(std::str::from_utf8(&row.payload)?)
                .bind(NO_METADATA)
                .execute(pool)
                .await?;
            return Ok(());
        }
        let ids: Vec<uuid::Uuid> = rows.iter().map(|r| r.event_id).collect();
        let types: Vec<&str> = rows.iter().map(|r| r.event_type).collect();
        let payloads = rows
            .iter()
            .map(|r| std::str::from_utf8(&r.payload))
            .collect::<Result<Vec<&str>, _>>()?;
        let metadata = vec![NO_METADATA; rows.len()];
        sqlx::query(AssertSqlSafe(inserts.many.clone()))
            .bind(stream)
            .bind(first)
            .bind(&ids)
            .bind(&types)
            .bind(&payloads)
            .bind(&metadata)
            .execute(pool)
            .await?;
        Ok(())
    }

    /// Writes `rows` with the store's own statement, bound as the store
    /// binds it (expected version: no stream, or exactly the version before
    /// `first_version`), and reads back the positions it returns.
    async fn store_statement(
        &self,
        stream: &str,
        first_version: u64,
        rows: &[EventRow],
    ) -> Result<(), BoxError> {
        // The store's codes: -2 for no stream, n for exactly version n.
        let expected = match version(first_version)? - 1 {
            0 => -2,
            n => n,
        };
        let query = if let [row] = rows {
            sqlx::query(AssertSqlSafe(self.store_single.clone()))
                .bind(stream)
                .bind(expected)
                .bind(row.event_id)
                .bind(row.event_type)
                .bind(1_i64)
                .bind(Some(std::str::from_utf8(&row.payload)?))
                .bind(None::<&[u8]>)
                .bind(NO_METADATA)
                .bind(append_lock_keys(&self.by_hand.store, &[row.event_type]))
        } else {
            let payloads = rows
                .iter()
                .map(|r| std::str::from_utf8(&r.payload).map(Some))
                .collect::<Result<Vec<Option<&str>>, _>>()?;
            sqlx::query(AssertSqlSafe(self.store_many.clone()))
                .bind(stream)
                .bind(expected)
                .bind(rows.iter().map(|r| r.event_id).collect::<Vec<_>>())
                .bind(rows.iter().map(|r| r.event_type).collect::<Vec<_>>())
                .bind(vec![1_i64; rows.len()])
                .bind(payloads)
                .bind(vec![None::<&[u8]>; rows.len()])
                .bind(vec![NO_METADATA; rows.len()])
                .bind(append_lock_keys(
                    &self.by_hand.store,
                    &rows.iter().map(|r| r.event_type).collect::<Vec<_>>(),
                ))
        };
        let written = query.fetch_all(self.by_hand.store.pool()).await?;
        for row in &written {
            // Version, transaction id (xid8, 8 bytes) and sequence number.
            let (_, _): (i64, i64) = (row.try_get(0)?, row.try_get(2)?);
            if row.try_get_raw(1)?.as_bytes()?.len() != 8 {
                return Err(format!("a transaction id of {stream} is not 8 bytes").into());
            }
        }
        match written.len() {
            n if n == rows.len() => Ok(()),
            n => Err(format!("{n} of {} events written to {stream}", rows.len()).into()),
        }
    }
}

#[async_trait]
impl Baseline for PostgresBaseline {
    async fn append(
        &self,
        stream: &str,
        first_version: u64,
        rows: &[EventRow],
    ) -> Result<(), BoxError> {
        Self::insert(&self.pool, &self.plain_inserts, stream, first_version, rows).await
    }

    fn references(&self) -> &'static [&'static str] {
        &[
            "the same rows into factum's table",
            "factum's own statement, by hand",
        ]
    }

    async fn append_reference(
        &self,
        way: usize,
        stream: &str,
        first_version: u64,
        rows: &[EventRow],
    ) -> Result<(), BoxError> {
        match way {
            0 => {
                let pool = self.into_table.store.pool();
                Self::insert(pool, &self.events_inserts, stream, first_version, rows).await
            }
            1 => self.store_statement(stream, first_version, rows).await,
            _ => Err(format!("no reference way {way}").into()),
        }
    }

    async fn read(&self, stream: &str, after: u64) -> Result<Vec<Vec<u8>>, BoxError> {
        let rows = sqlx::query(AssertSqlSafe(self.read.clone()))
            .bind(stream)
            .bind(version(after)?)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| Ok(row.try_get::<String, _>(0)?.into_bytes()))
            .collect()
    }

    async fn append_feed(&self, rows: &[FeedRow]) -> Result<(), BoxError> {
        let streams: Vec<&str> = rows.iter().map(|r| r.stream.as_str()).collect();
        let versions = rows
            .iter()
            .map(|r| version(r.version))
            .collect::<Result<Vec<i64>, _>>()?;
        let ids: Vec<uuid::Uuid> = rows.iter().map(|r| r.row.event_id).collect();
        let types: Vec<&str> = rows.iter().map(|r| r.row.event_type).collect();
        let payloads = rows
            .iter()
            .map(|r| std::str::from_utf8(&r.row.payload))
            .collect::<Result<Vec<&str>, _>>()?;
        sqlx::query(AssertSqlSafe(self.feed_insert.clone()))
            .bind(&streams)
            .bind(&versions)
            .bind(&ids)
            .bind(&types)
            .bind(&payloads)
            .bind(vec![NO_METADATA; rows.len()])
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn read_feed(
        &self,
        event_type: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, BoxError> {
        // Unprepared, so planned for each page's values: the generic plan
        // a prepared statement turns to after five runs walks the primary
        // key and filters by type (it takes one type in two to match),
        // 12 ms a page here against 0.8 ms on the type index.
        let rows = sqlx::query(AssertSqlSafe(self.feed_page.clone()))
            .persistent(false)
            .bind(event_type)
            .bind(version(after)?)
            .bind(i64::try_from(limit)?)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| feed_entry(row.try_get(0)?, row.try_get(1)?))
            .collect()
    }

    async fn settle_feed(&self) -> Result<(), BoxError> {
        sqlx::raw_sql(AssertSqlSafe(self.feed_vacuum.clone()))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn save_snapshot(&self, stream: &str, at: u64, state: &[u8]) -> Result<(), BoxError> {
        sqlx::query(AssertSqlSafe(self.save_snapshot.clone()))
            .bind(stream)
            .bind(version(at)?)
            .bind(state)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn load_snapshot(&self, stream: &str) -> Result<Option<(u64, Vec<u8>)>, BoxError> {
        let row = sqlx::query(AssertSqlSafe(self.load_snapshot.clone()))
            .bind(stream)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => Ok(Some((
                u64::try_from(row.try_get::<i64, _>(0)?)?,
                row.try_get(1)?,
            ))),
            None => Ok(None),
        }
    }

    async fn close(&self) {
        self.pool.close().await;
        self.into_table.store.pool().close().await;
        self.by_hand.store.pool().close().await;
    }
}
