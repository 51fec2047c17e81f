//! The leases this process holds on deliveries: one per claim, renewed while any of its
//! deliveries is being attempted or waits to be recorded, and asked right before each
//! attempt whether it still outlasts a whole attempt.
//!
//! The database sets and compares lease expiries on its own clock; this side only
//! counts down from just before each claim or renewal on its monotonic clock, which
//! ends no later than the database's expiry.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::store::Store;

/// Renewals per lease duration (a lease survives missing all but one of them).
const RENEWALS_PER_LEASE: u32 = 4;

/// One claim's lease.
#[derive(Debug)]
pub(super) struct Lease {
    token: String,
    valid_until: Mutex<Instant>,
}

impl Lease {
    /// The token the claimed deliveries are held under.
    pub(super) fn token(&self) -> &str {
        &self.token
    }

    /// Whether the lease is sure to last `needed` more.
    pub(super) fn covers(&self, needed: Duration) -> bool {
        Instant::now() + needed <= *self.deadline()
    }

    fn deadline(&self) -> std::sync::MutexGuard<'_, Instant> {
        self.valid_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Every lease of one process.
#[derive(Debug)]
pub(super) struct Leases {
    store: Store,
    owner: Arc<str>,
    duration: Duration,
    claims: AtomicU64,
    kept: Mutex<Vec<Arc<Lease>>>,
}

impl Leases {
    /// Leases of `duration` for the process `owner`.
    pub(super) fn new(store: Store, owner: Arc<str>, duration: Duration) -> Self {
        Self {
            store,
            owner,
            duration,
            claims: AtomicU64::new(0),
            kept: Mutex::new(Vec::new()),
        }
    }

    /// How long a claim or a renewal holds a delivery.
    pub(super) fn duration(&self) -> Duration {
        self.duration
    }

    /// A fresh token for the next claim, counted from now: call it right before claiming.
    pub(super) fn start(&self) -> Arc<Lease> {
        let n = self.claims.fetch_add(1, Ordering::Relaxed);
        Arc::new(Lease {
            token: format!("{}-{n}", self.owner),
            valid_until: Mutex::new(Instant::now() + self.duration),
        })
    }

    /// Renew `lease` as long as anything else holds a copy of it (an attempt under way,
    /// an outcome not yet recorded).
    pub(super) fn keep(&self, lease: &Arc<Lease>) {
        self.kept().push(Arc::clone(lease));
    }

    /// Renew every lease still in use until `stop` fires.
    pub(super) async fn renew_until(self: Arc<Self>, mut stop: oneshot::Receiver<()>) {
        let every = self.duration / RENEWALS_PER_LEASE;
        loop {
            tokio::select! {
                () = tokio::time::sleep(every) => self.renew().await,
                _ = &mut stop => return,
            }
        }
    }

    /// Extend the leases in use; one the database no longer has for this process ends
    /// here too, so none of its deliveries is attempted again.
    async fn renew(&self) {
        let in_use: Vec<Arc<Lease>> = {
            let mut kept = self.kept();
            kept.retain(|lease| Arc::strong_count(lease) > 1);
            kept.clone()
        };
        if in_use.is_empty() {
            return;
        }
        let tokens: Vec<&str> = in_use.iter().map(|lease| lease.token()).collect();
        let asked = Instant::now();
        match self.store.renew_leases(&tokens, self.duration).await {
            Ok(held) => extend(&in_use, &held, asked + self.duration),
            Err(e) => tracing::warn!(error = %e, "renewing callback leases failed; retrying"),
        }
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, Vec<Arc<Lease>>> {
        self.kept.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Move the deadline of each lease still `held` to `until`; end the others now.
fn extend(leases: &[Arc<Lease>], held: &HashSet<String>, until: Instant) {
    let now = Instant::now();
    for lease in leases {
        *lease.deadline() = if held.contains(lease.token()) {
            until
        } else {
            now
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(token: &str, valid_for: Duration) -> Arc<Lease> {
        Arc::new(Lease {
            token: token.to_owned(),
            valid_until: Mutex::new(Instant::now() + valid_for),
        })
    }

    #[test]
    fn a_lease_covers_only_what_is_left_of_it() {
        let l = lease("a", Duration::from_secs(10));
        assert!(l.covers(Duration::from_secs(5)));
        assert!(!l.covers(Duration::from_secs(60)));
    }

    #[test]
    fn renewal_extends_held_leases_and_ends_lost_ones() {
        let (held, lost) = (
            lease("held", Duration::from_secs(1)),
            lease("lost", Duration::from_secs(60)),
        );
        let tokens = HashSet::from(["held".to_owned()]);
        extend(
            &[Arc::clone(&held), Arc::clone(&lost)],
            &tokens,
            Instant::now() + Duration::from_secs(30),
        );
        assert!(held.covers(Duration::from_secs(20)));
        assert!(!lost.covers(Duration::from_millis(1)));
    }
}
