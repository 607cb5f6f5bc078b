//! Finding the server tests run on: `DATABASE_URL`, or a throwaway cluster
//! started here from the installed server binaries.

use std::fs;
use std::io::Write;
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use super::binaries;
use super::cluster::{self, Cluster};

/// The server tests use, found (or started) once per process.
pub(crate) struct Server {
    url: String,
    /// The throwaway cluster, when one was started; never dropped (statics
    /// are not), so the watchdog shuts it down.
    _cluster: Option<TempCluster>,
}

/// The watchdog of a throwaway cluster: the write end of its stdin. It
/// closes when this process ends, however it ends (or when a failed start
/// drops it), and the watchdog then stops the server and deletes the
/// cluster's directory. Kept in a mutex only to make the struct `Sync`.
struct TempCluster {
    _watchdog: Mutex<(Child, ChildStdin)>,
}

/// The server, or why none could be had (kept, so that a failed start is
/// tried once per process, not once per test).
static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();

/// The shell script of the watchdog: wait for end of input, then stop the
/// postmaster named in `$1/postmaster.pid` and delete `$2`.
const WATCHDOG: &str = r#"
trap '' INT TERM HUP
cat > /dev/null
pid=$(head -n 1 "$1/postmaster.pid" 2>/dev/null)
if [ -n "$pid" ]; then
    kill -INT "$pid" 2>/dev/null
    n=0
    while kill -0 "$pid" 2>/dev/null && [ "$n" -lt 600 ]; do sleep 0.05; n=$((n + 1)); done
fi
rm -rf "$2"
"#;

impl Server {
    /// The server: `DATABASE_URL` when set, else a cluster started now, or
    /// a one-line reason why none could be started. Blocks while a cluster
    /// starts (a few seconds, once per process).
    pub(crate) fn get() -> Result<&'static Server, String> {
        SERVER
            .get_or_init(|| match std::env::var("DATABASE_URL") {
                Ok(url) if !url.is_empty() => Ok(Server {
                    url,
                    _cluster: None,
                }),
                _ => start_cluster(),
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The URL of the server's database.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }
}

/// Starts a throwaway cluster in a fresh temporary directory: `initdb`,
/// then the server on a free port of 127.0.0.1 (and a socket in the
/// directory). As root, both run as the `postgres` system user (else
/// `nobody`), since the server refuses to run as root.
fn start_cluster() -> Result<Server, String> {
    let binaries = binaries::find()?;
    let dir = temp_dir()?;
    // From here on, the watchdog deletes the directory when this process
    // ends, or as soon as a failed start drops it.
    let watchdog = watchdog(&dir)?;
    let cluster = Cluster::new(binaries, dir)?;
    cluster.init()?;
    // The server is the watchdog's to stop: its process is not kept.
    let (port, _server) = cluster.serve(None)?;
    Ok(Server {
        url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
        _cluster: Some(TempCluster {
            _watchdog: Mutex::new(watchdog),
        }),
    })
}

/// A new directory only this user can enter, in the system's temporary
/// directory.
pub(super) fn temp_dir() -> Result<PathBuf, String> {
    let suffix = uuid::Uuid::now_v7().simple().to_string();
    let dir = std::env::temp_dir().join(format!(
        "factum-postgres-{}-{}",
        std::process::id(),
        &suffix[suffix.len() - 8..]
    ));
    fs::DirBuilder::new()
        .mode(0o700)
        .create(&dir)
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    Ok(dir)
}

/// Starts the watchdog of `dir` (see [`WATCHDOG`]); deletes `dir` if it
/// cannot.
pub(super) fn watchdog(dir: &Path) -> Result<(Child, ChildStdin), String> {
    let spawned = Command::new("sh")
        .arg("-c")
        .arg(WATCHDOG)
        .arg("factum-postgres-watchdog")
        .arg(cluster::data_dir(dir))
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Its own process group: a Ctrl-C to the tests does not reach it.
        .process_group(0)
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => {
            let _ = fs::remove_dir_all(dir);
            return Err(format!("cannot start the watchdog `sh`: {e}"));
        }
    };
    let mut stdin = child.stdin.take().expect("the watchdog's stdin is piped");
    // Nothing is ever written; a failed flush would only mean the watchdog
    // already ended.
    let _ = stdin.flush();
    Ok((child, stdin))
}
