//! [`PostgresOptions`]: how a [`PostgresStore`](crate::PostgresStore) uses its
//! database.

use std::time::Duration;

use crate::SchemaName;

/// Settings of a [`PostgresStore`](crate::PostgresStore): set with `with_*`,
/// read with the option's bare name.
///
/// ```
/// use std::time::Duration;
/// use factum_postgres::{PostgresOptions, SchemaName};
///
/// let options = PostgresOptions::default()
///     .with_schema(SchemaName::new("billing")?)
///     .with_feed_wait(Duration::from_millis(200));
/// assert_eq!(options.schema().as_str(), "billing");
/// # Ok::<(), factum_postgres::InvalidSchemaName>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresOptions {
    schema: SchemaName,
    feed_wait: Duration,
}

impl Default for PostgresOptions {
    /// Schema `factum`, feed wait 2 seconds.
    fn default() -> Self {
        Self {
            schema: SchemaName::default(),
            feed_wait: Duration::from_secs(2),
        }
    }
}

impl PostgresOptions {
    /// Uses `schema` for every table and function (default `factum`).
    pub fn with_schema(mut self, schema: SchemaName) -> Self {
        self.schema = schema;
        self
    }

    /// How long a feed read ([`read_all`](factum_core::EventReader::read_all),
    /// [`head_position`](factum_core::EventReader::head_position)) may wait
    /// for events that are committed but not yet final, because an older
    /// transaction on the server is still running (default 2 s). Waiting makes
    /// an append visible to the feed as soon as the append returns, in the
    /// usual case of short transactions; after the wait the read returns what
    /// is final, which never breaks the feed's order. Zero never waits.
    pub fn with_feed_wait(mut self, wait: Duration) -> Self {
        self.feed_wait = wait;
        self
    }

    /// The configured schema.
    pub fn schema(&self) -> &SchemaName {
        &self.schema
    }

    /// The configured feed wait.
    pub fn feed_wait(&self) -> Duration {
        self.feed_wait
    }
}
