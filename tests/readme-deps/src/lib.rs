//! What a new application starts with: a crate whose `[dependencies]` are
//! exactly those of the README's install section (factum taken from this
//! repository), and no others. Its doctests are the examples of the README,
//! the guide and the porting pages, so each of them compiles and runs with
//! those dependencies alone. With the feature `postgres` (the README's
//! other install line; `--all-features` turns it on), the examples for
//! PostgreSQL compile here too.
//!
//! Its tests check that its `[dependencies]` and the README's install
//! section agree.

#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct Readme;

#[doc = include_str!("../../../src/guide.md")]
#[cfg(doctest)]
pub struct Guide;

#[doc = include_str!("../../../src/porting/eventcore.md")]
#[cfg(doctest)]
pub struct FromEventCore;

#[doc = include_str!("../../../src/porting/cqrs_es.md")]
#[cfg(doctest)]
pub struct FromCqrsEs;

#[doc = include_str!("../../../src/porting/es_postgres.md")]
#[cfg(doctest)]
pub struct FromEsPostgres;

#[cfg(test)]
mod install;
