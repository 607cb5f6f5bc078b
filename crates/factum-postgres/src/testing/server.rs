//! Finding the server tests run on: `DATABASE_URL`, or a throwaway cluster.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use pgtemp::{PgTempDB, PgTempDBBuilder};

/// The server tests use, found (or started) once per process.
pub(crate) struct Server {
    url: String,
    /// The temporary cluster, when one was started; never dropped (statics
    /// are not), so the watchdog below shuts it down.
    _cluster: Option<TempCluster>,
}

/// A cluster started with pgtemp, and the watchdog that removes it.
struct TempCluster {
    _db: PgTempDB,
    /// The write end of the watchdog's stdin. It closes when this process
    /// ends, however it ends, and the watchdog then stops the server and
    /// deletes its directory. Kept in a mutex only to make the struct `Sync`.
    _watchdog: Mutex<(Child, ChildStdin)>,
}

static SERVER: OnceLock<Server> = OnceLock::new();

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
    /// The server: `DATABASE_URL` when set, else a cluster started now.
    /// Blocks while a cluster starts (a few seconds, once per process).
    pub(crate) fn get() -> &'static Server {
        SERVER.get_or_init(|| match std::env::var("DATABASE_URL") {
            Ok(url) if !url.is_empty() => Server {
                url,
                _cluster: None,
            },
            _ => start_cluster(),
        })
    }

    /// The URL of the server's database.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }
}

fn start_cluster() -> Server {
    let db = PgTempDBBuilder::new()
        .with_config_param("max_connections", "300")
        // pgtemp pipes the server's stderr and reads it only at shutdown:
        // once the pipe is full, every backend that logs (each failed
        // statement does) would block. The collector writes the log to files
        // in the data directory instead.
        .with_config_param("logging_collector", "on")
        .start();
    let data_dir = db.data_dir();
    let temp_dir = data_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| data_dir.clone());
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(WATCHDOG)
        .arg("factum-postgres-watchdog")
        .arg(&data_dir)
        .arg(&temp_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Its own process group: a Ctrl-C to the tests does not reach it.
        .process_group(0)
        .spawn()
        .expect("the watchdog of the temporary PostgreSQL cluster starts");
    let mut stdin = child.stdin.take().expect("the watchdog's stdin is piped");
    // Nothing is ever written; a failed flush would only mean the watchdog
    // already ended.
    let _ = stdin.flush();
    let url = db.connection_uri();
    Server {
        url,
        _cluster: Some(TempCluster {
            _db: db,
            _watchdog: Mutex::new((child, stdin)),
        }),
    }
}
