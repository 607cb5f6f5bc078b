//! [`Lag`]: how far behind the feed a projection is.

use crate::{Error, EventStore, GlobalPosition};

/// How far behind the feed a projection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lag {
    /// The last position the projection handled.
    pub checkpoint: Option<GlobalPosition>,
    /// The newest position in the feed.
    pub head: Option<GlobalPosition>,
}

impl Lag {
    /// Reads the checkpoint saved under `checkpoint` and the feed's head.
    pub async fn read<S: EventStore + ?Sized>(store: &S, checkpoint: &str) -> Result<Self, Error> {
        Ok(Self {
            checkpoint: store.load_checkpoint(checkpoint).await?,
            head: store.head_position().await?,
        })
    }

    /// Whether the projection has handled everything in the feed.
    pub fn caught_up(&self) -> bool {
        self.head.is_none() || self.checkpoint >= self.head
    }
}
