//! The statements of the projection runner, loaded from
//! `src/sql/projection_*.sql` and bound to one schema.

use std::sync::Arc;

use crate::SchemaName;
use crate::sql::fill;

/// The runner's statements with the schema filled in (the schema is a
/// validated, quoted identifier: the only text substituted into SQL).
#[derive(Debug)]
pub(crate) struct ProjectionQueries {
    pub(crate) lease_fence: Arc<str>,
    pub(crate) checkpoint_create: Arc<str>,
    pub(crate) checkpoint_advance: Arc<str>,
}

impl ProjectionQueries {
    pub(crate) fn new(schema: &SchemaName) -> Self {
        let quoted = schema.quoted();
        let bind = |template: &str| fill(template, &quoted);
        Self {
            lease_fence: bind(include_str!("../sql/projection_lease_fence.sql")),
            checkpoint_create: bind(include_str!("../sql/projection_checkpoint_create.sql")),
            checkpoint_advance: bind(include_str!("../sql/projection_checkpoint_advance.sql")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_placeholder_is_filled() {
        let q = ProjectionQueries::new(&SchemaName::new("s1").expect("valid"));
        for sql in [&q.lease_fence, &q.checkpoint_create, &q.checkpoint_advance] {
            assert!(!sql.contains('{'), "unfilled placeholder in {sql}");
            assert!(sql.contains("\"s1\"."), "no schema in {sql}");
        }
    }
}
