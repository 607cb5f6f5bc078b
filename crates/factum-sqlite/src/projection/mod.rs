//! Projections whose read model lives in the store's SQLite file, handled
//! exactly once: [`SqliteProjectionRunner`] feeds a
//! [`TransactionalProjection`](factum_core::TransactionalProjection) over
//! `SqliteConnection`, one transaction per page.

mod page;
mod runner;

pub use runner::SqliteProjectionRunner;
