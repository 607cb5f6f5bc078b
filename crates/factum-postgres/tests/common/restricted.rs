//! A schema and a store on it as a role granted by the crate's
//! `roles/read_and_append.sql`, for the least-privilege tests.

use factum_core::{EventData, StreamId};
use factum_postgres::testing::{TestRole, TestSchema};
use factum_postgres::{PostgresOptions, PostgresStore};
use sqlx::{AssertSqlSafe, Executor, PgPool};

/// A migrated schema, and a store on it as a role granted by the
/// documented file. Fields drop in order: the role's pool, the role, then
/// the schema.
pub struct Restricted {
    pub app: PostgresStore,
    pub owner: PostgresStore,
    pub role: TestRole,
    pub schema: TestSchema,
}

impl Restricted {
    pub async fn new() -> Self {
        let (owner, schema) = TestSchema::store().await.expect("a migrated schema");
        let role = TestRole::read_and_append(schema.url(), schema.schema())
            .await
            .expect("a read-and-append role");
        let app = PostgresStore::connect_with(role.url(), options(&schema))
            .await
            .expect("connect as the role");
        Self {
            app,
            owner,
            role,
            schema,
        }
    }

    /// The schema, quoted.
    pub fn s(&self) -> String {
        self.schema.schema().quoted()
    }

    /// Runs `sql` as the owner.
    pub async fn as_owner(&self, sql: String) {
        self.owner
            .pool()
            .execute(sqlx::raw_sql(AssertSqlSafe(sql)))
            .await
            .unwrap();
    }

    /// The SQLSTATE with which `sql`, run as the role, fails (`None` if it
    /// succeeds).
    pub async fn refusal(&self, sql: String) -> Option<String> {
        match self.app.pool().execute(AssertSqlSafe(sql)).await {
            Ok(_) => None,
            Err(sqlx::Error::Database(e)) => e.code().map(|c| c.into_owned()),
            Err(e) => panic!("not a database error: {e}"),
        }
    }
}

pub fn options(schema: &TestSchema) -> PostgresOptions {
    PostgresOptions::default().with_schema(schema.schema().clone())
}

pub fn stream(name: &str) -> StreamId {
    StreamId::new(name).unwrap()
}

pub fn event(n: i64) -> EventData {
    EventData::json("Deposited", format!(r#"{{"amount":{n}}}"#).into_bytes())
}

pub async fn count(pool: &PgPool, sql: String) -> i64 {
    sqlx::query_scalar(AssertSqlSafe(sql))
        .fetch_one(pool)
        .await
        .unwrap()
}
