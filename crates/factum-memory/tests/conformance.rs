//! The whole backend conformance suite against the memory store.

use factum_conformance::Fixture;
use factum_memory::MemoryStore;

factum_conformance::conformance_suite!(async { Fixture::new(MemoryStore::new()) });
