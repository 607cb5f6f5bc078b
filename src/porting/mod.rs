//! Coming from another library: a page per system that applications port
//! from, each with the name-by-name mapping to factum and the differences
//! that silently change behaviour, every one shown by an example that runs.

#[doc = include_str!("eventcore.md")]
pub mod eventcore {}

#[doc = include_str!("cqrs_es.md")]
pub mod cqrs_es {}

#[doc = include_str!("es_postgres.md")]
pub mod es_postgres {}
