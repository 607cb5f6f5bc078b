//! [`SchemaName`]: the validated name of the schema holding factum's tables.

use std::fmt;

/// Longest identifier PostgreSQL keeps (`NAMEDATALEN - 1`).
const MAX_IDENTIFIER_BYTES: usize = 63;

/// The name of the PostgreSQL schema that holds factum's tables and
/// functions (default `factum`).
///
/// Only plain lowercase identifiers are accepted: a lowercase ASCII letter or
/// `_` first, then lowercase ASCII letters, digits or `_`, at most 63 bytes,
/// and not starting with `pg_` (reserved for system schemas). Such a name
/// reads the same quoted and unquoted, so it can be written by hand in SQL.
/// factum still always quotes it ([`SchemaName::quoted`]) and never pastes
/// anything else into SQL text.
///
/// ```
/// use factum_postgres::SchemaName;
///
/// assert_eq!(SchemaName::new("billing_events")?.quoted(), "\"billing_events\"");
/// assert!(SchemaName::new("Robert'); DROP TABLE students;--").is_err());
/// assert!(SchemaName::new("pg_catalog").is_err());
/// # Ok::<(), factum_postgres::InvalidSchemaName>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SchemaName(String);

impl SchemaName {
    /// Validates `name`.
    pub fn new(name: impl Into<String>) -> Result<Self, InvalidSchemaName> {
        let name = name.into();
        let problem = if name.is_empty() {
            Some("it is empty")
        } else if name.len() > MAX_IDENTIFIER_BYTES {
            Some("it is longer than 63 bytes")
        } else if name.starts_with("pg_") {
            Some("names starting with pg_ are reserved for system schemas")
        } else if !name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_') {
            Some("it must start with a lowercase ASCII letter or an underscore")
        } else if !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            Some("it may hold only lowercase ASCII letters, digits and underscores")
        } else {
            None
        };
        match problem {
            Some(reason) => Err(InvalidSchemaName { name, reason }),
            None => Ok(Self(name)),
        }
    }

    /// The name as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name as a quoted SQL identifier, e.g. `"factum"`.
    pub fn quoted(&self) -> String {
        // Validation leaves no `"` to escape.
        format!("\"{}\"", self.0)
    }
}

impl Default for SchemaName {
    fn default() -> Self {
        Self("factum".to_owned())
    }
}

impl fmt::Display for SchemaName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A schema name that [`SchemaName::new`] refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidSchemaName {
    /// The refused name.
    pub name: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl fmt::Display for InvalidSchemaName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid schema name {:?}: {}", self.name, self.reason)
    }
}

impl std::error::Error for InvalidSchemaName {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_identifiers() {
        for name in ["factum", "_x", "events_2", "a"] {
            assert_eq!(SchemaName::new(name).unwrap().as_str(), name);
        }
        assert!(SchemaName::new("a".repeat(63)).is_ok());
    }

    #[test]
    fn rejects_everything_else() {
        for name in [
            "",
            "Factum",
            "1abc",
            "a-b",
            "a b",
            "a\"b",
            "pg_temp",
            "é",
            &"a".repeat(64),
        ] {
            assert!(SchemaName::new(name).is_err(), "{name:?} was accepted");
        }
    }
}
