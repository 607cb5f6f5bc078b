//! A NATS server with JetStream for tests: `NATS_URL` when it is set,
//! else a throwaway `nats-server -js` started from the installed binary on
//! a free port, with a store directory of its own, stopped and removed
//! when dropped. Tests use JetStream streams of their own names
//! ([`unique_name`]), so that they run in parallel on one server.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::process::{Child, Command};

use crate::error::NatsError;

/// How long a started server has to accept connections.
const STARTUP: Duration = Duration::from_secs(20);

/// Where `nats-server` is looked for when it is not on `PATH`.
const KNOWN_PLACES: &[&str] = &[
    "/usr/sbin/nats-server",
    "/usr/bin/nats-server",
    "/usr/local/bin/nats-server",
];

/// A NATS server for one test (or a shared one, from `NATS_URL`).
#[derive(Debug)]
pub struct NatsServer {
    url: String,
    process: Option<Started>,
}

/// A server this process started.
#[derive(Debug)]
struct Started {
    child: Child,
    port: u16,
    store: PathBuf,
}

impl NatsServer {
    /// `NATS_URL`'s server, or a new throwaway one.
    pub async fn start() -> Result<Self, NatsError> {
        if let Ok(url) = std::env::var("NATS_URL") {
            return Ok(Self { url, process: None });
        }
        let store = std::env::temp_dir().join(unique_name("factum-nats-store"));
        let port = free_port()?;
        let child = spawn(port, &store)?;
        let server = Self {
            url: format!("nats://127.0.0.1:{port}"),
            process: Some(Started { child, port, store }),
        };
        server.wait_until_ready().await?;
        Ok(server)
    }

    /// The URL to connect to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Kills the server this process started and starts it again on the
    /// same port and store directory (JetStream keeps its streams): what a
    /// crash and a restart do. Refused for a server from `NATS_URL`.
    pub async fn restart(&mut self) -> Result<(), NatsError> {
        let started = self
            .process
            .as_mut()
            .ok_or_else(|| NatsError::TestServer("cannot restart the server of NATS_URL".into()))?;
        started
            .child
            .kill()
            .await
            .map_err(|e| NatsError::TestServer(format!("killing nats-server: {e}")))?;
        started.child = spawn(started.port, &started.store)?;
        self.wait_until_ready().await
    }

    async fn wait_until_ready(&self) -> Result<(), NatsError> {
        let Some(started) = &self.process else {
            return Ok(());
        };
        let deadline = tokio::time::Instant::now() + STARTUP;
        loop {
            if tokio::net::TcpStream::connect(("127.0.0.1", started.port))
                .await
                .is_ok()
            {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(NatsError::TestServer(format!(
                    "nats-server did not accept connections on port {} within {STARTUP:?}",
                    started.port
                )));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        if let Some(started) = &mut self.process {
            let _ = started.child.start_kill();
            let _ = std::fs::remove_dir_all(&started.store);
        }
    }
}

/// A name no other test of this machine uses now: `{base}-{pid}-{n}`.
pub fn unique_name(base: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{base}-{}-{n}", std::process::id())
}

/// A port nothing listens on now.
fn free_port() -> Result<u16, NatsError> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))
        .map_err(|e| NatsError::TestServer(format!("finding a free port: {e}")))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| NatsError::TestServer(format!("finding a free port: {e}")))
}

/// The `nats-server` binary: on `PATH`, else in a known place.
fn binary() -> PathBuf {
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("nats-server"))
            .find(|candidate| candidate.is_file())
    });
    on_path
        .or_else(|| KNOWN_PLACES.iter().map(PathBuf::from).find(|p| p.is_file()))
        .unwrap_or_else(|| PathBuf::from("nats-server"))
}

fn spawn(port: u16, store: &std::path::Path) -> Result<Child, NatsError> {
    Command::new(binary())
        .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
        .arg(store)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            NatsError::TestServer(format!(
                "starting nats-server (install it, or set NATS_URL): {e}"
            ))
        })
}
