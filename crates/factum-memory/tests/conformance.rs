//! The whole backend conformance suite against the memory store.

use factum_core::conformance::Fixture;
use factum_memory::MemoryStore;

factum_core::conformance_suite!(async { Fixture::new(MemoryStore::new()) });
