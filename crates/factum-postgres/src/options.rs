//! [`PostgresOptions`]: how a [`PostgresStore`](crate::PostgresStore) uses its
//! database.

use std::time::Duration;

use crate::SchemaName;

/// Settings of a [`PostgresStore`](crate::PostgresStore): set with `with_*`,
/// read with the option's bare name.
///
/// The connect timeout and the pool size apply to the pool that
/// [`connect`](crate::PostgresStore::connect) and
/// [`connect_with`](crate::PostgresStore::connect_with) build; a store made
/// with [`with_options`](crate::PostgresStore::with_options) on a pool of
/// your own uses that pool's settings.
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
    connect_timeout: Duration,
    max_connections: u32,
}

impl Default for PostgresOptions {
    /// Schema `factum`, feed wait 2 seconds, connect timeout 10 seconds, 10
    /// connections.
    fn default() -> Self {
        Self {
            schema: SchemaName::default(),
            feed_wait: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(10),
            max_connections: 10,
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

    /// How long connecting may take (default 10 s). `connect` tries again
    /// while the server refuses connections or is starting up, and past this
    /// time fails with [`Error::Unavailable`](factum_core::Error::Unavailable),
    /// whose text gives the last attempt's reason (such as "Connection
    /// refused"); other failures (a wrong password, a missing database) end
    /// it at once. It also bounds how long an operation waits for a
    /// connection of the pool (sqlx's acquire timeout).
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Most connections the pool opens (default 10; at least 1). The feed
    /// listener's connection (see
    /// [`feed_listener_name`](crate::PostgresStore::feed_listener_name))
    /// comes on top.
    pub fn with_max_connections(mut self, connections: u32) -> Self {
        self.max_connections = connections.max(1);
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

    /// The configured connect timeout.
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// The configured pool size.
    pub fn max_connections(&self) -> u32 {
        self.max_connections
    }
}
