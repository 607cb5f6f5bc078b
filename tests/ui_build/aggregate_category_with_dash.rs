//! An aggregate whose category holds '-' files its streams under another
//! category: building a repository of it fails.

#[macro_use]
#[path = "common/aggregate.rs"]
mod aggregate;

use factum::aggregate::Repository;
use factum::memory::MemoryStore;

aggregate!(SalesOrder, "sales-order");

fn main() {
    let _orders = Repository::<SalesOrder, _>::new(MemoryStore::new());
}
