//! The command line, parsed by hand.

use std::time::Duration;

/// How to call the soak.
pub(crate) const USAGE: &str = "\
usage: soak [--duration 10m] [--backend sqlite|postgres] [--url postgres://...]
            [--writers 4] [--rate 0] [--subscribers 2] [--kill-every 3s|off]
            [--json] [--keep]

  --duration     how long the load runs: 500ms, 30s, 10m, 1h (default 10m)
  --backend      sqlite (a fresh temporary file, default) or postgres
  --url          the PostgreSQL server (default: DATABASE_URL; when neither
                 is set, a throwaway server is started); the soak works in a
                 schema of its own, dropped at the end
  --writers      concurrent writer tasks (default 4)
  --rate         appends per second, all writers together (default 0: as
                 fast as they can)
  --subscribers  concurrent subscribers of the feed (default 2)
  --kill-every   PostgreSQL only: mean pause between two rounds of
                 pg_terminate_backend on the store's sessions (default 3s)
  --json         print the figures as one JSON object after the summary
  --keep         leave the store (file or schema) behind, to look into it";

/// Which store the soak runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// What the soak was asked to do.
#[derive(Debug, Clone)]
pub(crate) struct Args {
    pub(crate) duration: Duration,
    pub(crate) backend: Backend,
    /// PostgreSQL only; `None`: start a throwaway server.
    pub(crate) url: Option<String>,
    pub(crate) writers: u64,
    /// Appends per second in all; 0: unthrottled.
    pub(crate) rate: u64,
    pub(crate) subscribers: usize,
    /// PostgreSQL only; `None`: no kills.
    pub(crate) kill_every: Option<Duration>,
    pub(crate) json: bool,
    pub(crate) keep: bool,
}

/// Parses the arguments (without the program name); `Err` says what was
/// wrong, or is empty for `--help`.
pub(crate) fn parse(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args {
        duration: Duration::from_secs(600),
        backend: Backend::Sqlite,
        url: None,
        writers: 4,
        rate: 0,
        subscribers: 2,
        kill_every: Some(Duration::from_secs(3)),
        json: false,
        keep: false,
    };
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--duration" => parsed.duration = duration(&value("--duration")?)?,
            "--backend" => {
                parsed.backend = match value("--backend")?.as_str() {
                    "sqlite" => Backend::Sqlite,
                    "postgres" | "postgresql" => Backend::Postgres,
                    other => return Err(format!("unknown backend {other:?}: sqlite or postgres")),
                }
            }
            "--url" => parsed.url = Some(value("--url")?),
            "--writers" => parsed.writers = number(&value("--writers")?, "--writers")?,
            "--rate" => parsed.rate = number(&value("--rate")?, "--rate")?,
            "--subscribers" => {
                parsed.subscribers = number(&value("--subscribers")?, "--subscribers")?
            }
            "--kill-every" => {
                parsed.kill_every = match value("--kill-every")?.as_str() {
                    "off" | "0" => None,
                    text => Some(duration(text)?),
                }
            }
            "--json" => parsed.json = true,
            "--keep" => parsed.keep = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if parsed.backend == Backend::Postgres && parsed.url.is_none() {
        parsed.url = std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty());
    }
    if parsed.backend == Backend::Sqlite && parsed.url.is_some() {
        return Err("--url is for --backend postgres (SQLite uses a fresh temporary file)".into());
    }
    if parsed.writers == 0 {
        return Err("--writers must be at least 1".into());
    }
    Ok(parsed)
}

fn number<T: std::str::FromStr>(text: &str, name: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("{name} wants a whole number, not {text:?}"))
}

/// `500ms`, `30s`, `10m`, `1h`, or a number of seconds.
pub(crate) fn duration(text: &str) -> Result<Duration, String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (amount, unit) = text.split_at(split);
    let amount: f64 = amount
        .parse()
        .map_err(|_| format!("not a duration: {text:?} (say 30s, 10m, 1h)"))?;
    let seconds = match unit {
        "ms" => amount / 1000.0,
        "" | "s" => amount,
        "m" | "min" => amount * 60.0,
        "h" => amount * 3600.0,
        _ => return Err(format!("unknown unit in {text:?}: ms, s, m or h")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| format!("not a duration: {text:?}"))
}
