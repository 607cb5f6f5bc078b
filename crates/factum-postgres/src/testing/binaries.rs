//! Finding the PostgreSQL server binaries (`initdb`, `postgres`): on `PATH`
//! first, then in the newest of Debian's `/usr/lib/postgresql/<version>/bin`.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Where Debian (and Ubuntu) install the server binaries of each major
/// version, as `<version>/bin/`, off `PATH`.
const DEBIAN_VERSIONS: &str = "/usr/lib/postgresql";

/// The message when no directory holds both binaries: one line, naming the
/// package to install and the alternative.
pub(super) const NOT_FOUND: &str = "PostgreSQL server binaries (initdb, postgres) not found on PATH \
     or in /usr/lib/postgresql/*/bin: install the Debian package `postgresql`, \
     or set DATABASE_URL to a server's URL";

/// The two server binaries, from one directory (`initdb` runs the
/// `postgres` beside it).
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Binaries {
    pub(super) initdb: PathBuf,
    pub(super) postgres: PathBuf,
}

/// The binaries on `PATH`, else in the newest Debian version directory,
/// else the one-line [`NOT_FOUND`] message.
pub(super) fn find() -> Result<Binaries, String> {
    find_in(
        std::env::var_os("PATH").as_deref(),
        Path::new(DEBIAN_VERSIONS),
    )
}

/// [`find`] with the search path and the version directory given.
fn find_in(path: Option<&OsStr>, versions: &Path) -> Result<Binaries, String> {
    let on_path = path.into_iter().flat_map(std::env::split_paths);
    on_path
        // An empty entry of PATH means the current directory; the harness
        // does not look there.
        .filter(|dir| dir.is_absolute())
        .chain(newest_first(versions))
        .find_map(|dir| in_dir(&dir))
        .ok_or_else(|| NOT_FOUND.to_owned())
}

/// The `bin` directories under `versions` (`<versions>/<version>/bin`),
/// newest version first, compared by number (`16` is newer than `9.6`).
/// Entries whose name is not a version are skipped.
fn newest_first(versions: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(versions) else {
        return Vec::new();
    };
    let mut found: Vec<(Vec<u64>, PathBuf)> = entries
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = parse_version(entry.file_name().to_str()?)?;
            Some((version, entry.path().join("bin")))
        })
        .collect();
    found.sort_by(|a, b| b.0.cmp(&a.0));
    found.into_iter().map(|(_, dir)| dir).collect()
}

/// `"16"` → `[16]`, `"9.6"` → `[9, 6]`; `None` for anything else.
fn parse_version(name: &str) -> Option<Vec<u64>> {
    name.split('.').map(|part| part.parse().ok()).collect()
}

/// Both binaries in `dir`, when both are there and executable.
fn in_dir(dir: &Path) -> Option<Binaries> {
    let binaries = Binaries {
        initdb: dir.join("initdb"),
        postgres: dir.join("postgres"),
    };
    (is_executable(&binaries.initdb) && is_executable(&binaries.postgres)).then_some(binaries)
}

/// A file (or a link to one) with an execute bit set.
fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    /// A scratch directory, removed when dropped.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new() -> Self {
            let dir = std::env::temp_dir().join(format!(
                "factum-binaries-test-{}",
                uuid::Uuid::now_v7().simple()
            ));
            fs::create_dir(&dir).unwrap();
            Self(dir)
        }

        /// Creates `names` in `<root>/<sub>`, executable unless `mode` says.
        fn bin(&self, sub: &str, names: &[&str], mode: u32) -> PathBuf {
            let dir = self.0.join(sub);
            fs::create_dir_all(&dir).unwrap();
            for name in names {
                let file = dir.join(name);
                fs::write(&file, "#!/bin/sh\n").unwrap();
                fs::set_permissions(&file, fs::Permissions::from_mode(mode)).unwrap();
            }
            dir
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    const BOTH: &[&str] = &["initdb", "postgres"];

    #[test]
    fn picks_the_newest_complete_version_by_number() {
        let scratch = Scratch::new();
        let versions = scratch.0.join("versions");
        scratch.bin("versions/9.6/bin", BOTH, 0o755);
        scratch.bin("versions/10/bin", BOTH, 0o755);
        let newest = scratch.bin("versions/16/bin", BOTH, 0o755);
        // Newer, but incomplete or not executable: skipped.
        scratch.bin("versions/17/bin", &["initdb"], 0o755);
        scratch.bin("versions/18/bin", BOTH, 0o644);
        // Not a version.
        scratch.bin("versions/99-beta/bin", BOTH, 0o755);

        let found = find_in(None, &versions).unwrap();
        assert_eq!(found.initdb, newest.join("initdb"));
        assert_eq!(found.postgres, newest.join("postgres"));
    }

    #[test]
    fn path_comes_before_the_version_directories() {
        let scratch = Scratch::new();
        let versions = scratch.0.join("versions");
        scratch.bin("versions/16/bin", BOTH, 0o755);
        let only_initdb = scratch.bin("only_initdb", &["initdb"], 0o755);
        let on_path = scratch.bin("on_path", BOTH, 0o755);
        let path: OsString = std::env::join_paths([&only_initdb, &on_path]).unwrap();

        let found = find_in(Some(&path), &versions).unwrap();
        assert_eq!(found.initdb, on_path.join("initdb"));
        assert_eq!(found.postgres, on_path.join("postgres"));
    }

    #[test]
    fn none_installed_is_one_line_naming_the_package_and_database_url() {
        let scratch = Scratch::new();
        let empty_path = scratch.bin("empty", &[], 0o755);
        let path: OsString = std::env::join_paths([&empty_path]).unwrap();

        let err = find_in(Some(&path), &scratch.0.join("no_such_dir")).unwrap_err();
        assert_eq!(err, NOT_FOUND);
        assert!(!err.contains('\n'));
        assert!(err.contains("`postgresql`"));
        assert!(err.contains("DATABASE_URL"));
        assert_eq!(find_in(None, &scratch.0.join("no_such_dir")), Err(err));
    }
}
