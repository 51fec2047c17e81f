//! The gateway's background workers' wake-ups: the callback dispatcher's and each chain
//! watcher's, behind the core's [`Wakeups`] port.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::Notify;
use usdt_gateway_core::ports::Wakeups;

/// One wake-up per worker of this process.
#[derive(Debug, Default)]
pub struct Workers {
    /// The callback dispatcher's.
    pub dispatcher: Arc<Notify>,
    /// Each watched chain's watcher's, by chain name.
    pub watchers: HashMap<&'static str, Arc<Notify>>,
}

impl Wakeups for Workers {
    fn wake_dispatcher(&self) {
        self.dispatcher.notify_one();
    }

    fn wake_watcher(&self, chain: &str) {
        if let Some(wake) = self.watchers.get(chain) {
            wake.notify_one();
        }
    }
}

/// The command line's: no worker runs in its process. A delivery it queues is due at
/// once: on PostgreSQL the storage announces it to every gateway's dispatcher, on SQLite
/// the dispatcher sees it at its next look at the outbox (at least once a second).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoWorkers;

impl Wakeups for NoWorkers {
    fn wake_dispatcher(&self) {}

    fn wake_watcher(&self, _chain: &str) {}
}
