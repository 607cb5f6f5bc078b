//! Projections whose read model lives in the store's database, handled
//! exactly once: [`PostgresProjectionRunner`] feeds a
//! [`TransactionalProjection`] over `PgConnection`, optionally scaled out
//! over processes with a [`Lease`](crate::Lease).

mod page;
mod partition;
mod rebuild;
mod runner;
mod sql;

pub use factum_core::TransactionalProjection;
pub use partition::{InvalidPartition, Partition};
pub use runner::PostgresProjectionRunner;
