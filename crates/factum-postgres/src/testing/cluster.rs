//! Creating and starting a throwaway cluster: `initdb`, then the server on
//! a free port of 127.0.0.1, as the `postgres` system user (else `nobody`)
//! when this process is root, since the server refuses to run as root.

use std::fs::{self, File};
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::binaries::Binaries;

/// How long to wait for the server to be ready.
const READY: Duration = Duration::from_secs(30);
/// Starts of the server (each on a freshly picked port, in case another
/// process took the one picked before).
const ATTEMPTS: usize = 3;

/// A cluster being started, in a temporary directory whose removal is
/// someone else's (the watchdog's) job.
#[derive(Debug)]
pub(super) struct Cluster {
    binaries: Binaries,
    /// The temporary directory: the server's socket and log, and `data`.
    dir: PathBuf,
    /// The data directory.
    data: PathBuf,
    /// The uid and gid to run `initdb` and the server as, when not ours.
    owner: Option<(u32, u32)>,
    /// Whether a commit waits for its write-ahead log to be written, so
    /// that it survives the server process crashing.
    durable_commits: bool,
}

impl Cluster {
    /// A cluster to be created in `dir/data` with `binaries`. As root,
    /// `dir` is handed to the user the cluster will run as.
    pub(super) fn new(binaries: Binaries, dir: PathBuf) -> Result<Self, String> {
        Ok(Self {
            owner: owner(&dir)?,
            data: data_dir(&dir),
            binaries,
            dir,
            durable_commits: false,
        })
    }

    /// Commits survive a crash of the server (not of the machine: fsync
    /// stays off), as a test that kills the server needs.
    pub(super) fn with_durable_commits(mut self) -> Self {
        self.durable_commits = true;
        self
    }

    /// A command running `program` in the directory, as the owner.
    fn command(&self, program: &Path) -> Command {
        let mut command = Command::new(program);
        command.current_dir(&self.dir).stdin(Stdio::null());
        if let Some((uid, gid)) = self.owner {
            command.uid(uid).gid(gid);
        }
        command
    }

    /// Creates the cluster with `initdb`: superuser `postgres`, trust
    /// authentication, UTF-8 in the C locale (whatever locales the machine
    /// has).
    pub(super) fn init(&self) -> Result<(), String> {
        let (dir, data) = (&self.dir, &self.data);
        let initdb = self.binaries.initdb.display();
        let output = self
            .command(&self.binaries.initdb)
            .arg("-D")
            .arg(data)
            .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C"])
            // No fsync: faster, and the cluster does not outlive the tests.
            .arg("-N")
            .output()
            .map_err(|e| format!("cannot run {initdb} in {}: {e}", dir.display()))?;
        if output.status.success() {
            return Ok(());
        }
        let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stderr));
        Err(format!(
            "{initdb} failed ({}): {}",
            output.status,
            one_line(&text)
        ))
    }

    /// Starts the server on `port`, or on a free port when `None`, and
    /// waits until it is ready; returns its port and its process.
    pub(super) fn serve(&self, port: Option<u16>) -> Result<(u16, Child), String> {
        let (dir, data) = (&self.dir, &self.data);
        let postgres = self.binaries.postgres.display();
        let log_path = dir.join("server.log");
        let mut last = String::new();
        // A given port is tried once: it is the caller's to keep free.
        let attempts = if port.is_some() { 1 } else { ATTEMPTS };
        for _ in 0..attempts {
            let port = match port {
                Some(port) => port,
                None => TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
                    .and_then(|listener| listener.local_addr())
                    .map_err(|e| format!("cannot pick a free port on 127.0.0.1: {e}"))?
                    .port(),
            };
            let log = File::create(&log_path)
                .map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
            let log_too = log
                .try_clone()
                .map_err(|e| format!("cannot share {}: {e}", log_path.display()))?;
            let mut child = self
                .command(&self.binaries.postgres)
                .arg("-D")
                .arg(data)
                .arg("-k")
                .arg(dir)
                .args(["-h", "127.0.0.1", "-p", &port.to_string()])
                .args(["-c", "max_connections=300"])
                // The server's stderr goes to a file here, but a pipe that
                // nobody reads would block every backend that logs (each
                // failed statement does) once full: the collector writes the
                // log to files in the data directory instead, whoever starts
                // the server.
                .args(["-c", "logging_collector=on"])
                // Durability is of no use to a throwaway cluster, unless its
                // test kills the server.
                .args(["-c", "fsync=off"])
                .arg("-c")
                .arg(if self.durable_commits {
                    "synchronous_commit=on"
                } else {
                    "synchronous_commit=off"
                })
                .args(["-c", "full_page_writes=off", "-c", "autovacuum=off"])
                .stdout(log_too)
                .stderr(log)
                // Its own process group: stopped by the watchdog only, never
                // by a signal to the tests' group.
                .process_group(0)
                .spawn()
                .map_err(|e| format!("cannot run {postgres} in {}: {e}", dir.display()))?;
            let deadline = Instant::now() + READY;
            loop {
                if is_ready(data, child.id()) {
                    return Ok((port, child));
                }
                if let Ok(Some(status)) = child.try_wait() {
                    let log = fs::read_to_string(&log_path).unwrap_or_default();
                    last = format!("{postgres} exited ({status}): {}", one_line(&log));
                    break;
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!(
                        "{postgres} was not ready within {} s",
                        READY.as_secs()
                    ));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Err(last)
    }
}

/// The data directory of the cluster in `dir`.
pub(super) fn data_dir(dir: &Path) -> PathBuf {
    dir.join("data")
}

/// Whether the postmaster `pid` says in `data/postmaster.pid` that it
/// accepts connections (its eighth line, as `pg_ctl` reads it).
fn is_ready(data: &Path, pid: u32) -> bool {
    let Ok(text) = fs::read_to_string(data.join("postmaster.pid")) else {
        return false;
    };
    let mut lines = text.lines();
    lines.next().map(str::trim) == Some(pid.to_string().as_str())
        && lines.nth(6).map(str::trim) == Some("ready")
}

/// The non-empty lines of `text`, trimmed and joined by " | ".
fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" | ")
}

/// The user and group to run the cluster as: `None` (this process's own)
/// unless this process is root; as root, the `postgres` system user's, or
/// `nobody`'s, who then gets `dir`.
fn owner(dir: &Path) -> Result<Option<(u32, u32)>, String> {
    // A directory this process just created belongs to its effective user.
    let meta = fs::metadata(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    if meta.uid() != 0 {
        return Ok(None);
    }
    let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
    let (uid, gid) = ["postgres", "nobody"]
        .iter()
        .find_map(|name| user_ids(&passwd, name))
        .ok_or(
            "running as root, the PostgreSQL server needs a user to run as, but /etc/passwd \
             has neither `postgres` nor `nobody`: install the Debian package `postgresql`, \
             or set DATABASE_URL to a server's URL",
        )?;
    std::os::unix::fs::chown(dir, Some(uid), Some(gid))
        .map_err(|e| format!("cannot hand {} to uid {uid}: {e}", dir.display()))?;
    Ok(Some((uid, gid)))
}

/// The uid and gid of `name` in the text of an `/etc/passwd`.
fn user_ids(passwd: &str, name: &str) -> Option<(u32, u32)> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        if fields.next()? != name {
            return None;
        }
        let _password = fields.next()?;
        Some((fields.next()?.parse().ok()?, fields.next()?.parse().ok()?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_reads_the_named_users_line() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\n\
                      postgresql:x:7:7::/:/bin/false\n\
                      postgres:x:101:104:PostgreSQL administrator,,,:/var/lib/postgresql:/bin/bash\n";
        assert_eq!(user_ids(passwd, "postgres"), Some((101, 104)));
        assert_eq!(user_ids(passwd, "root"), Some((0, 0)));
        assert_eq!(user_ids(passwd, "nobody"), None);
    }
}
