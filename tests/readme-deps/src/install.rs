//! This crate's `[dependencies]` against the README's install section: the
//! same crates, each other than factum written the same way, and factum
//! with its default features at the version this repository builds.

const README: &str = include_str!("../../../README.md");
const MANIFEST: &str = include_str!("../Cargo.toml");

/// One `name = value` line of a `[dependencies]` table, its trailing comment
/// dropped.
#[derive(Debug, PartialEq)]
struct Dependency<'a> {
    name: &'a str,
    value: &'a str,
}

/// Parses `name = value  # comment`, or returns `None` for anything else.
fn dependency(line: &str) -> Option<Dependency<'_>> {
    let (name, rest) = line.split_once('=')?;
    let name = name.trim();
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return None;
    }
    // A `#` outside a string starts the comment.
    let mut in_string = false;
    let end = rest
        .char_indices()
        .find_map(|(i, c)| {
            in_string ^= c == '"';
            (c == '#' && !in_string).then_some(i)
        })
        .unwrap_or(rest.len());
    Some(Dependency {
        name,
        value: rest[..end].trim(),
    })
}

/// The lines of the `[dependencies]` table in `toml`, up to the next table.
fn dependencies_table(toml: &str) -> impl Iterator<Item = &str> {
    toml.lines()
        .skip_while(|line| line.trim() != "[dependencies]")
        .skip(1)
        .take_while(|line| !line.trim_start().starts_with('['))
}

/// The README's install block: the first TOML block under `## Install`.
fn install_block() -> &'static str {
    let section = README
        .split_once("\n## Install\n")
        .expect("the README has an install section")
        .1;
    let block = section
        .split_once("```toml\n")
        .expect("the install section has a TOML block")
        .1;
    block.split_once("```").expect("the TOML block ends").0
}

/// The README's dependencies, and the commented alternatives beside them.
fn readme_dependencies() -> (Vec<Dependency<'static>>, Vec<Dependency<'static>>) {
    let (mut listed, mut alternatives) = (Vec::new(), Vec::new());
    for line in dependencies_table(install_block()) {
        match line.trim().strip_prefix('#') {
            Some(commented) => alternatives.extend(dependency(commented)),
            None => listed.extend(dependency(line)),
        }
    }
    (listed, alternatives)
}

fn manifest_dependencies() -> Vec<Dependency<'static>> {
    dependencies_table(MANIFEST)
        .filter(|line| !line.trim_start().starts_with('#'))
        .filter_map(dependency)
        .collect()
}

#[test]
fn the_same_crates_as_the_readme_lists() {
    let (readme, _) = readme_dependencies();
    let names = |deps: &[Dependency<'static>]| deps.iter().map(|d| d.name).collect::<Vec<_>>();
    assert_eq!(names(&manifest_dependencies()), names(&readme));
}

#[test]
fn every_other_crate_written_as_the_readme_writes_it() {
    let (readme, _) = readme_dependencies();
    let manifest = manifest_dependencies();
    for listed in readme.iter().filter(|d| d.name != "factum") {
        assert!(
            manifest.contains(listed),
            "{listed:?} is not in Cargo.toml as the README writes it"
        );
    }
}

#[test]
fn factum_with_its_default_features_at_this_version() {
    let (readme, alternatives) = readme_dependencies();
    let factum = readme
        .iter()
        .find(|d| d.name == "factum")
        .expect("the README lists factum");
    let version = factum.value.trim_matches('"');
    assert_eq!(
        factum.value,
        format!("\"{version}\""),
        "a bare version: the default features"
    );
    assert!(
        env!("CARGO_PKG_VERSION").starts_with(&format!("{version}.")),
        "the README installs factum {version}, this repository builds {}",
        env!("CARGO_PKG_VERSION")
    );
    let manifest = manifest_dependencies();
    let here = manifest
        .iter()
        .find(|d| d.name == "factum")
        .expect("Cargo.toml lists factum");
    assert_eq!(
        here.value, r#"{ path = "../.." }"#,
        "factum from this repository, default features"
    );

    // The other line, with PostgreSQL, is this crate's feature `postgres`.
    let postgres = alternatives
        .iter()
        .find(|d| d.name == "factum")
        .expect("the README shows factum with postgres");
    assert!(
        postgres.value.contains(r#"features = ["postgres"]"#),
        "{postgres:?}"
    );
    assert!(MANIFEST.contains(r#"postgres = ["factum/postgres"]"#));
}

#[test]
fn no_dependencies_besides() {
    for table in ["[dev-dependencies]", "[build-dependencies]", "[target."] {
        assert!(
            !MANIFEST.contains(table),
            "Cargo.toml has {table}: the README lists nothing of the kind"
        );
    }
}

#[test]
fn parses_what_it_checks() {
    let line = r#"factum = { version = "0.1", features = ["postgres"] } # add # PostgreSQL"#;
    let parsed = dependency(line);
    assert_eq!(
        parsed,
        Some(Dependency {
            name: "factum",
            value: r#"{ version = "0.1", features = ["postgres"] }"#
        })
    );
    assert_eq!(dependency("[dependencies]"), None);
    assert_eq!(dependency("# a comment"), None);
}
