//! Guards for tests of least privilege: [`TestRole`], a login role that may
//! only read and append, and [`TestDatabase`], a database of its own for
//! code that uses the default schema.

use std::str::FromStr;

use factum_core::Result;
use sqlx::ConnectOptions;
use sqlx::postgres::PgConnectOptions;

use super::server::Server;
use super::{execute, execute_detached, server, unique_name};
use crate::SchemaName;
use crate::error::backend;

/// The grants of a role that may only read and append, as documented: the
/// crate's `roles/read_and_append.sql`, whose psql variables are filled in
/// here.
const READ_AND_APPEND: &str = include_str!("../../roles/read_and_append.sql");

/// `roles/read_and_append.sql` with its psql variables `:"schema"` and
/// `:"role"` replaced by `schema` and `role`, quoted: the statements that
/// grant `role` what the store needs in `schema`, and nothing more.
fn read_and_append_grants(schema: &SchemaName, role: &str) -> String {
    READ_AND_APPEND
        .replace(r#":"schema""#, &schema.quoted())
        .replace(r#":"role""#, &quote(role))
}

/// `name` as a quoted SQL identifier.
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A login role with a unique name and a password, given the privileges of
/// `roles/read_and_append.sql` on one schema, and removed (`DROP OWNED BY`,
/// then `DROP ROLE`) when this value is dropped. Roles belong to the whole
/// server, so drop it before the [`TestDatabase`] it was granted in (declare
/// it after): its grants are removed in that database.
#[derive(Debug)]
pub struct TestRole {
    name: String,
    /// Where it was granted, as the owner.
    owner_url: String,
    /// The same database, as this role.
    url: String,
}

impl TestRole {
    /// Creates the role and runs the grants on `schema`, connected to
    /// `owner_url` as its user, who must own the schema (the role that
    /// migrated it) or be a superuser.
    pub async fn read_and_append(owner_url: &str, schema: &SchemaName) -> Result<Self> {
        let name = unique_name("factum_role");
        let password = unique_name("pw");
        let operation = || format!("creating test role {name} for schema {schema}");
        let url = PgConnectOptions::from_str(owner_url)
            .map_err(|e| backend(operation(), e))?
            .username(&name)
            .password(&password)
            .to_url_lossy()
            .to_string();
        let role = Self {
            name,
            owner_url: owner_url.to_owned(),
            url,
        };
        // From here on, a failure drops `role`, which removes what was made.
        let sql = format!(
            "CREATE ROLE {} LOGIN PASSWORD '{password}';\n{}",
            quote(&role.name),
            read_and_append_grants(schema, &role.name),
        );
        execute(owner_url, sql, || {
            format!("creating test role {} for schema {schema}", role.name)
        })
        .await?;
        Ok(role)
    }

    /// The role's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The URL of the database it was granted in, logged in as this role.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for TestRole {
    /// Revokes its grants and drops it; if its database is gone already,
    /// drops it from the server's own database.
    fn drop(&mut self) {
        let name = quote(&self.name);
        let dropped = execute_detached(
            &self.owner_url,
            format!("DROP OWNED BY {name}; DROP ROLE {name}"),
        )
        .or_else(|first| match Server::get() {
            Ok(server) => execute_detached(server.url(), format!("DROP ROLE IF EXISTS {name}"))
                .map_err(|second| format!("{first}; then {second}")),
            Err(e) => Err(format!("{first}; then {e}")),
        });
        if let Err(e) = dropped {
            eprintln!("could not drop test role {}: {e}", self.name);
        }
    }
}

/// A database of its own on the test server, dropped (with `FORCE`, closing
/// its sessions) when this value is dropped: for code that always uses the
/// default schema `factum`, such as `factum::open`.
#[derive(Debug)]
pub struct TestDatabase {
    name: String,
    server_url: String,
    url: String,
}

impl TestDatabase {
    /// Creates an empty database with a unique name.
    pub async fn create() -> Result<Self> {
        let server = server().await?;
        let name = unique_name("factum_db");
        let operation = || format!("creating test database {name}");
        let url = PgConnectOptions::from_str(server.url())
            .map_err(|e| backend(operation(), e))?
            .database(&name)
            .to_url_lossy()
            .to_string();
        execute(
            server.url(),
            format!("CREATE DATABASE {}", quote(&name)),
            operation,
        )
        .await?;
        Ok(Self {
            name,
            server_url: server.url().to_owned(),
            url,
        })
    }

    /// The URL of the database, as the test server's user (a superuser).
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote(&self.name));
        if let Err(e) = execute_detached(&self.server_url, sql) {
            eprintln!("could not drop test database {}: {e}", self.name);
        }
    }
}
