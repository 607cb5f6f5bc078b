//! The point a multi-stream read
//! ([`EventReader::read_streams`](factum_core::EventReader::read_streams)) is
//! read as of: the feed's head, read below its horizon (and waited for like
//! any feed read), then every stream's version at that position in one
//! statement (`sql/stream_versions_at.sql`).
//!
//! A position, not a REPEATABLE READ snapshot: a snapshot would have to stay
//! open on a pooled connection for as long as the caller takes over the
//! lazy pages; a final position holds nothing between statements, and is a
//! [`GlobalPosition`] the caller can go on from with the feed.

use factum_core::backend::saturating_i64;
use factum_core::{GlobalPosition, Result, StreamId, StreamVersions};
use sqlx::Row;

use super::PostgresStore;
use crate::error::{backend, unsigned};
use crate::sql::statement;

impl PostgresStore {
    /// The feed's head and each of `streams`' versions there.
    pub(super) async fn read_stream_versions(
        &self,
        streams: &[StreamId],
    ) -> Result<StreamVersions> {
        let position = self.read_head().await?;
        let versions = match position {
            Some(head) => self.versions_at(streams, head).await?,
            None => vec![None; streams.len()],
        };
        Ok(StreamVersions { position, versions })
    }

    /// Each of `streams`' versions as of the final position `at`.
    async fn versions_at(
        &self,
        streams: &[StreamId],
        at: GlobalPosition,
    ) -> Result<Vec<Option<u64>>> {
        if streams.is_empty() {
            return Ok(Vec::new());
        }
        let operation = || format!("reading the versions of {} streams at {at}", streams.len());
        let names: Vec<&str> = streams.iter().map(StreamId::as_str).collect();
        let (commit, seq) = at.to_parts();
        let rows = sqlx::query(statement(&self.sql().stream_versions_at))
            .bind(names)
            .bind(saturating_i64(commit))
            .bind(saturating_i64(seq))
            .fetch_all(self.pool())
            .await
            .map_err(|e| backend(operation(), e))?;
        if rows.len() != streams.len() {
            return Err(backend(
                operation(),
                format!("the query gave {} rows", rows.len()),
            ));
        }
        rows.iter()
            .map(|row| {
                let version: Option<i64> = row.try_get(0).map_err(|e| backend(operation(), e))?;
                version.map(|v| unsigned(v, "a stream version")).transpose()
            })
            .collect()
    }
}
