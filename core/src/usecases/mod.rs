//! The use cases every front end calls: the JSON API, the pages and the command line are
//! translations to and from these. Audit lines and dispatcher wake-ups happen here, so
//! every front end gets them.

mod addresses;
mod deliveries;
mod deposits;
mod intake;
mod lists;
mod maintenance;
mod orders;
mod reload;

use std::sync::Arc;

pub use addresses::{AddressDesk, AddressRefusal};
pub use intake::{OrderIntake, Refusal};
pub use lists::{OrderListing, OrderSearch};
pub use maintenance::{RetireRefusal, Retirement};
pub use orders::OrderView;
pub use reload::{MerchantSource, Reloaded, reload_merchants};

use crate::clock::Clock;
use crate::ports::{Storage, StorageError, Wakeups};
use crate::rules::{Rules, RulesFault};

/// A use case that could not run: the storage or the component failed. Outcomes the
/// caller must handle (not found, in flight …) are in the `Ok` value, never here.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// The storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The rules component failed.
    #[error(transparent)]
    Rules(#[from] RulesFault),
}

/// The gateway's application core: the use cases over the storage `S`, the rules
/// component, the workers' wake-ups and the clock.
pub struct Core<S> {
    storage: S,
    rules: Arc<Rules>,
    wakeups: Arc<dyn Wakeups>,
    clock: Arc<dyn Clock>,
}

impl<S: std::fmt::Debug> std::fmt::Debug for Core<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("storage", &self.storage)
            .finish_non_exhaustive()
    }
}

impl<S: Storage> Core<S> {
    /// The core over `storage`, counting with `rules`, waking the workers through `wakeups`, reading
    /// `clock`.
    pub fn new(
        storage: S,
        rules: Arc<Rules>,
        wakeups: Arc<dyn Wakeups>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            storage,
            rules,
            wakeups,
            clock,
        }
    }

    /// The storage, for the adapters' own reads (lists, counts) until they are use
    /// cases too.
    pub fn storage(&self) -> &S {
        &self.storage
    }
}
