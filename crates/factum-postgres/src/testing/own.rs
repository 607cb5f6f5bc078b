//! [`OwnServer`]: a throwaway cluster for one test alone, which the test
//! may shut down and start again, to see what a server restart does to a
//! store, its subscribers and its runners.

use std::process::{Child, ChildStdin, Command};
use std::sync::{Arc, Mutex, MutexGuard};

use factum_core::Result;

use super::binaries;
use super::cluster::Cluster;
use super::server::{temp_dir, watchdog};
use crate::error::backend;

/// How a server is shut down, as `pg_ctl stop -m ...` would.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    /// Sessions are ended (with SQLSTATE 57P01), a checkpoint is written,
    /// then the server exits: `pg_ctl stop -m fast`, a routine restart.
    Fast,
    /// The server exits at once, without a checkpoint, and recovers from
    /// its write-ahead log when started again: `pg_ctl stop -m immediate`,
    /// as after a crash.
    Immediate,
}

/// A throwaway cluster of its own, started from the installed server
/// binaries whether or not `DATABASE_URL` is set, on a port it keeps
/// across restarts. Unlike the shared test server, its commits survive a
/// crash of the server process (`synchronous_commit` is on). Dropping it stops the server and deletes the cluster;
/// should the test process die first, its watchdog does (see the module
/// documentation).
///
/// ```no_run
/// # async fn demo() -> factum_core::Result<()> {
/// use factum_postgres::testing::{OwnServer, Shutdown};
///
/// let server = OwnServer::start().await?;
/// // ... connect to server.url() ...
/// server.restart(Shutdown::Fast).await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct OwnServer {
    url: String,
    port: u16,
    cluster: Arc<Cluster>,
    /// The running server, if any.
    server: Mutex<Option<Child>>,
    /// Stops the server and deletes the directory when dropped.
    _watchdog: (Child, ChildStdin),
}

impl OwnServer {
    /// Creates the cluster and starts its server (a few seconds).
    pub async fn start() -> Result<Self> {
        blocking("starting the test server", || {
            let binaries = binaries::find()?;
            let dir = temp_dir()?;
            let watchdog = watchdog(&dir)?;
            let cluster = Cluster::new(binaries, dir)?.with_durable_commits();
            cluster.init()?;
            let (port, server) = cluster.serve(None)?;
            Ok(Self {
                url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
                port,
                cluster: Arc::new(cluster),
                server: Mutex::new(Some(server)),
                _watchdog: watchdog,
            })
        })
        .await
    }

    /// The URL of the server's database `postgres`, as superuser.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Shuts the server down `how`, and waits until it has exited.
    pub async fn stop(&self, how: Shutdown) -> Result<()> {
        let Some(server) = self.server()?.take() else {
            return Ok(());
        };
        blocking("stopping the test server", move || stop(server, how)).await
    }

    /// Starts the stopped server again, on the same port.
    pub async fn start_again(&self) -> Result<()> {
        if self.server()?.is_some() {
            return Ok(());
        }
        let (cluster, port) = (Arc::clone(&self.cluster), self.port);
        let (_, server) = blocking("starting the test server again", move || {
            cluster.serve(Some(port))
        })
        .await?;
        *self.server()? = Some(server);
        Ok(())
    }

    /// Shuts the server down `how`, then starts it again.
    pub async fn restart(&self, how: Shutdown) -> Result<()> {
        self.stop(how).await?;
        self.start_again().await
    }

    fn server(&self) -> Result<MutexGuard<'_, Option<Child>>> {
        self.server
            .lock()
            .map_err(|_| backend("using the test server", "its state was poisoned"))
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        if let Ok(server) = self.server.get_mut()
            && let Some(server) = server.take()
            && let Err(e) = stop(server, Shutdown::Fast)
        {
            eprintln!("could not stop the test server: {e}");
        }
    }
}

/// Signals the postmaster `server` to shut down `how` (SIGINT: fast,
/// SIGQUIT: immediate) and waits for it to exit.
fn stop(mut server: Child, how: Shutdown) -> Result<(), String> {
    let signal = match how {
        Shutdown::Fast => "-INT",
        Shutdown::Immediate => "-QUIT",
    };
    let status = Command::new("kill")
        .arg(signal)
        .arg(server.id().to_string())
        .status()
        .map_err(|e| format!("cannot run kill: {e}"))?;
    if !status.success() {
        return Err(format!("kill {signal} {} failed ({status})", server.id()));
    }
    server
        .wait()
        .map_err(|e| format!("waiting for the server to exit: {e}"))?;
    Ok(())
}

/// Runs `f` on a blocking thread; its error says it was `doing` so.
async fn blocking<T: Send + 'static>(
    doing: &'static str,
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| backend(doing, e))?
        .map_err(|e| backend(doing, e))
}
