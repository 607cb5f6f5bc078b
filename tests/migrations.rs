//! The top-level `migrations/` folder, where users look for the SQL to apply
//! with their own tooling, holds exactly the files each backend embeds.

use std::collections::BTreeMap;
use std::path::Path;

fn files(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{} is readable: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("a directory entry").path();
            let name = path
                .file_name()
                .expect("a file name")
                .to_string_lossy()
                .into_owned();
            let text = std::fs::read_to_string(&path).expect("a readable migration");
            (name, text)
        })
        .collect()
}

#[test]
fn top_level_migrations_are_the_backends_own() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for backend in ["postgres", "sqlite"] {
        let top = files(&root.join("migrations").join(backend));
        let embedded = files(&root.join(format!("crates/factum-{backend}/migrations")));
        assert!(
            embedded.keys().any(|name| name.ends_with(".sql")),
            "{backend} has migrations"
        );
        assert_eq!(
            top, embedded,
            "migrations/{backend} differs from the crate's"
        );
    }
}
