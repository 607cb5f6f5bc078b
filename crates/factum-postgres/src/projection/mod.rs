//! Projections whose read model lives in the store's database, handled
//! exactly once: [`TransactionalProjection`] and [`PostgresProjectionRunner`],
//! optionally scaled out over processes with a [`Lease`].

mod lease;
mod page;
mod partition;
mod runner;
mod sql;
mod transactional;

pub use lease::Lease;
pub use partition::{InvalidPartition, Partition};
pub use runner::PostgresProjectionRunner;
pub use transactional::TransactionalProjection;
