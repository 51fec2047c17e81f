//! The attempts this process has under way, by merchant: how many more a claim may take
//! so that every claimed delivery can be sent at once (none waits for a slot while its
//! lease runs).

use std::collections::{BTreeMap, HashMap};
use std::future::Future;

use tokio::task::{Id, JoinError, JoinSet};

use crate::store::ClaimSlots;

/// How many due deliveries a claim looks at per free slot (bounds one claim's work; a
/// merchant that is full is not looked at).
const SCAN_PER_SLOT: usize = 4;

/// Attempt tasks under way.
#[derive(Debug)]
pub(super) struct Running {
    tasks: JoinSet<()>,
    merchant_of: HashMap<Id, String>,
    by_merchant: BTreeMap<String, usize>,
    per_merchant: usize,
    total: usize,
}

impl Running {
    /// Nothing under way; at most `per_merchant` attempts for one merchant and `total`
    /// for all.
    pub(super) fn new(per_merchant: usize, total: usize) -> Self {
        Self {
            tasks: JoinSet::new(),
            merchant_of: HashMap::new(),
            by_merchant: BTreeMap::new(),
            per_merchant,
            total,
        }
    }

    /// What a claim may take now.
    pub(super) fn free_slots(&self) -> ClaimSlots {
        let free = self.total.saturating_sub(self.tasks.len());
        ClaimSlots {
            total: count(free),
            per_merchant: count(self.per_merchant),
            busy: self
                .by_merchant
                .iter()
                .map(|(appid, n)| (appid.clone(), count(*n)))
                .collect(),
            scan: count(free.saturating_mul(SCAN_PER_SLOT)),
        }
    }

    /// Run one attempt for `appid`.
    pub(super) fn spawn(
        &mut self,
        appid: &str,
        attempt: impl Future<Output = ()> + Send + 'static,
    ) {
        let id = self.tasks.spawn(attempt).id();
        self.merchant_of.insert(id, appid.to_owned());
        *self.by_merchant.entry(appid.to_owned()).or_default() += 1;
    }

    /// Whether nothing is under way.
    pub(super) fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// Count the attempts that ended, without waiting.
    pub(super) fn reap(&mut self) {
        while let Some(ended) = self.tasks.try_join_next_with_id() {
            self.ended(ended);
        }
    }

    /// Wait for one attempt to end (forever when none is under way).
    pub(super) async fn next_ended(&mut self) {
        match self.tasks.join_next_with_id().await {
            Some(ended) => self.ended(ended),
            None => std::future::pending().await,
        }
    }

    /// Wait for every attempt under way.
    pub(super) async fn drain(&mut self) {
        while let Some(ended) = self.tasks.join_next_with_id().await {
            self.ended(ended);
        }
    }

    fn ended(&mut self, ended: Result<(Id, ()), JoinError>) {
        let id = match ended {
            Ok((id, ())) => id,
            Err(e) => {
                tracing::error!(error = %e, "a callback attempt task failed");
                e.id()
            }
        };
        let Some(appid) = self.merchant_of.remove(&id) else {
            return;
        };
        if let Some(n) = self.by_merchant.get_mut(&appid) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.by_merchant.remove(&appid);
            }
        }
    }
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn free_slots_count_what_is_under_way() {
        let mut running = Running::new(2, 3);
        let (release, released) = tokio::sync::watch::channel(false);
        for appid in ["a", "a", "b"] {
            let mut released = released.clone();
            running.spawn(appid, async move {
                let _ = released.wait_for(|r| *r).await;
            });
        }
        let slots = running.free_slots();
        assert_eq!(slots.total, 0);
        assert_eq!(slots.per_merchant, 2);
        assert_eq!(slots.busy.get("a"), Some(&2));
        assert_eq!(slots.busy.get("b"), Some(&1));

        release.send(true).unwrap();
        running.drain().await;
        let slots = running.free_slots();
        assert_eq!(slots.total, 3);
        assert!(slots.busy.is_empty(), "{slots:?}");
        assert_eq!(slots.scan, 12);
    }
}
