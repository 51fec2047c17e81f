//! The open connections: how many each client holds, and which one to close when the
//! gateway is at its connection cap and a new connection waits — one that has waited
//! only on its client (idle, or stalled: its request body not arriving, its response
//! not read) for at least `reclaim_after`, the longest-waiting first, a connection that
//! never completed a request before one that did.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::activity::Activity;

/// One open connection as the table sees it.
#[derive(Debug)]
struct Entry {
    /// The client it counts against; `None`: a trusted proxy's, counted against nobody.
    client: Option<IpAddr>,
    activity: Activity,
    /// Tells its task to close it.
    close: Arc<Notify>,
    /// Told already; not chosen again.
    closing: bool,
}

#[derive(Debug, Default)]
struct Table {
    next: u64,
    open: HashMap<u64, Entry>,
    per_client: HashMap<IpAddr, usize>,
}

/// The open connections of one listener.
#[derive(Clone, Debug, Default)]
pub(super) struct Registry(Arc<Mutex<Table>>);

/// A connection's place in the table; dropping it removes the connection.
#[derive(Debug)]
pub(super) struct Registration {
    registry: Registry,
    id: u64,
    /// Notified when the connection is to be closed to make room.
    pub close: Arc<Notify>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut table = self.registry.lock();
        if let Some(entry) = table.open.remove(&self.id)
            && let Some(client) = entry.client
            && let Some(count) = table.per_client.get_mut(&client)
        {
            *count = count.saturating_sub(1);
            if *count == 0 {
                table.per_client.remove(&client);
            }
        }
    }
}

impl Registry {
    fn lock(&self) -> MutexGuard<'_, Table> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Connections `client` holds now.
    pub fn held_by(&self, client: IpAddr) -> usize {
        self.lock().per_client.get(&client).copied().unwrap_or(0)
    }

    /// Add a connection of `client` (`None`: counted against nobody).
    pub fn register(&self, client: Option<IpAddr>, activity: Activity) -> Registration {
        let mut table = self.lock();
        let id = table.next;
        table.next = table.next.wrapping_add(1);
        let close = Arc::new(Notify::new());
        table.open.insert(
            id,
            Entry {
                client,
                activity,
                close: Arc::clone(&close),
                closing: false,
            },
        );
        if let Some(client) = client {
            *table.per_client.entry(client).or_default() += 1;
        }
        Registration {
            registry: self.clone(),
            id,
            close,
        }
    }

    /// Tell one connection that has waited only on its client for at least
    /// `reclaim_after` to close (only `client`'s, when given). Returns whether one was
    /// told.
    pub fn reclaim(&self, reclaim_after: Duration, client: Option<IpAddr>) -> bool {
        let now = Instant::now();
        let mut table = self.lock();
        let victim = table
            .open
            .iter()
            .filter(|(_, e)| !e.closing && (client.is_none() || e.client == client))
            .filter_map(|(id, e)| {
                let s = e.activity.snapshot();
                let since = s.waiting_on_client_since?;
                (now.saturating_duration_since(since) >= reclaim_after)
                    .then_some((s.served, since, *id))
            })
            .min();
        let Some((_, _, id)) = victim else {
            return false;
        };
        if let Some(entry) = table.open.get_mut(&id) {
            entry.closing = true;
            entry.close.notify_one();
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AFTER: Duration = Duration::from_secs(2);

    #[tokio::test(start_paused = true)]
    async fn only_connections_waiting_on_their_client_long_enough_are_reclaimed() {
        let registry = Registry::default();
        let client: IpAddr = "192.0.2.1".parse().unwrap();
        let busy = Activity::new();
        let busy_reg = registry.register(Some(client), busy.clone());
        let _handling = busy.begin(false);
        let served = Activity::new();
        let served_reg = registry.register(Some(client), served.clone());
        drop(served.begin(false));
        assert_eq!(registry.held_by(client), 2);

        // Too young to reclaim; the busy one never is.
        assert!(!registry.reclaim(AFTER, None));
        tokio::time::advance(AFTER).await;
        let silent = Activity::new();
        let silent_reg = registry.register(None, silent.clone());
        tokio::time::advance(AFTER).await;

        // The silent connection (never served a request) goes before the served one.
        assert!(registry.reclaim(AFTER, None));
        assert!(is_told(&silent_reg).await);
        assert!(registry.reclaim(AFTER, None));
        assert!(is_told(&served_reg).await);
        assert!(!registry.reclaim(AFTER, None), "only the busy one is left");
        assert!(!is_told(&busy_reg).await);
        // Restricted to a client, only its connections are looked at.
        assert!(!registry.reclaim(AFTER, Some("192.0.2.9".parse().unwrap())));

        drop(served_reg);
        assert_eq!(registry.held_by(client), 1);
        drop(busy_reg);
        assert_eq!(registry.held_by(client), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_response_nobody_reads_makes_its_connection_reclaimable() {
        let registry = Registry::default();
        let activity = Activity::new();
        let reg = registry.register(None, activity.clone());
        let request = activity.begin(false);
        request.writing();
        assert!(!registry.reclaim(AFTER, None));
        tokio::time::advance(AFTER).await;
        assert!(registry.reclaim(AFTER, None));
        assert!(is_told(&reg).await);
    }

    async fn is_told(registration: &Registration) -> bool {
        tokio::time::timeout(Duration::from_millis(1), registration.close.notified())
            .await
            .is_ok()
    }
}
