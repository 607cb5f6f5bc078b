//! Reaching the server: the first connection of a store (or of the test
//! harness), retried while the server refuses or is starting up, and given
//! up on at a deadline with the driver's own reason.

use std::time::Duration;

use factum_core::backend::Backoff;
use factum_core::{BoxError, Error, Result};
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use tokio::time::Instant;

use crate::error::{backend, is_unavailable};

/// What the server `options` name is called in errors:
/// `127.0.0.1:5432, database app` (or the socket's path).
pub(crate) fn describe_server(options: &PgConnectOptions) -> String {
    let place = match options.get_socket() {
        Some(socket) => socket.display().to_string(),
        None => format!("{}:{}", options.get_host(), options.get_port()),
    };
    match options.get_database() {
        Some(database) => format!("{place}, database {database}"),
        None => place,
    }
}

/// Opens one connection to the server `options` name. While the server
/// cannot be reached (it refuses connections, is starting up, out of
/// connection slots: [`is_unavailable`]) it tries again after short
/// pauses, until `timeout` has passed; then the error is
/// [`Error::Unavailable`] with the last attempt's reason (e.g. the
/// driver's "Connection refused") as its source. Any other failure (a
/// wrong password, a missing database) is returned at once.
pub(crate) async fn first_connection(
    options: &PgConnectOptions,
    timeout: Duration,
) -> Result<PgConnection> {
    let server = describe_server(options);
    let deadline = Instant::now() + timeout;
    let mut backoff = Backoff::new(timeout);
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let failure: BoxError =
            match tokio::time::timeout(remaining, PgConnection::connect_with(options)).await {
                Ok(Ok(conn)) => return Ok(conn),
                Ok(Err(error)) if is_unavailable(&error) => error.into(),
                Ok(Err(error)) => return Err(backend(format!("connecting to {server}"), error)),
                Err(_) => "no answer from the server".into(),
            };
        if !backoff.pause().await {
            return Err(Error::unavailable(
                "postgres",
                format!("connecting to {server} (gave up after {timeout:?})"),
                failure,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_are_named_by_address_and_database() {
        let options: PgConnectOptions = "postgres://app:secret@db.example:6543/orders"
            .parse()
            .unwrap();
        assert_eq!(
            describe_server(&options),
            "db.example:6543, database orders"
        );
        let options: PgConnectOptions = "postgres://%2Fvar%2Frun%2Fpostgresql/app".parse().unwrap();
        assert_eq!(
            describe_server(&options),
            "/var/run/postgresql, database app"
        );
    }
}
