//! The backends the runner measures, each able to make a fresh, empty
//! store and baseline.

use std::sync::Arc;

use async_trait::async_trait;
use factum::memory::MemoryStore;

use crate::baseline::{BoxError, MemoryBaseline};
use crate::workloads::Target;

#[async_trait]
pub(crate) trait Backend: Send + Sync {
    fn name(&self) -> &'static str;
    async fn fresh(&self) -> Result<Target, BoxError>;
}

struct Memory;

#[async_trait]
impl Backend for Memory {
    fn name(&self) -> &'static str {
        "memory"
    }

    async fn fresh(&self) -> Result<Target, BoxError> {
        Ok(Target {
            store: Arc::new(MemoryStore::new()),
            baseline: Arc::new(MemoryBaseline::default()),
        })
    }
}

/// Every backend compiled in.
pub(crate) async fn available() -> Result<Vec<Box<dyn Backend>>, BoxError> {
    Ok(vec![Box::new(Memory)])
}
