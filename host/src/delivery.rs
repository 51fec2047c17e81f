//! Callback delivery: the dispatcher claims due deliveries from the outbox under a lease,
//! sends each attempt with a fresh `t` and `sign` (built by the component), and records
//! the attempt with the delivery's next state in one transaction. The retry schedule is
//! data (`notify.retry_delays`), spread by ±20 % jitter; a receiver's `Retry-After` can
//! push an attempt later, never earlier, and never beyond the schedule's longest delay.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::Rng;
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinSet;
use usdt_callback_http::{Attempt, CallbackHttp, Outcome};

use crate::clock::{millis, now_millis};
use crate::merchants::MerchantDirectory;
use crate::rules::{CallbackFields, Rules};
use crate::store::{AttemptRecord, DueCallback, Store};

/// Deliveries claimed per round.
const CLAIM_BATCH: i64 = 256;

/// Attempts recorded per transaction, at most.
const RECORD_BATCH: usize = 512;

/// Longest sleep between looks at the outbox (a delivery queued by another replica is
/// seen at least this often).
const IDLE_POLL: Duration = Duration::from_secs(1);

/// How the dispatcher runs.
#[derive(Clone, Debug)]
pub struct DeliveryConfig {
    /// Delays before each retry; its length is the number of retries.
    pub retry_delays: Vec<Duration>,
    /// One attempt's time limit (the lease covers it with a margin).
    pub timeout: Duration,
}

/// The callback dispatcher of one gateway process.
#[derive(Clone, Debug)]
pub struct Dispatcher {
    store: Store,
    rules: Arc<Rules>,
    http: CallbackHttp,
    merchants: Arc<MerchantDirectory>,
    config: DeliveryConfig,
    /// This process's lease owner id.
    owner: Arc<str>,
}

impl Dispatcher {
    /// A dispatcher sending through `http`.
    pub fn new(
        store: Store,
        rules: Arc<Rules>,
        http: CallbackHttp,
        merchants: Arc<MerchantDirectory>,
        config: DeliveryConfig,
    ) -> Self {
        let owner: Arc<str> = format!("gw-{}", uuid::Uuid::new_v4().simple()).into();
        Self {
            store,
            rules,
            http,
            merchants,
            config,
            owner,
        }
    }

    /// How long a claim holds a delivery: an attempt's timeout plus a margin. A process
    /// that dies mid-attempt releases its deliveries when this runs out.
    fn lease(&self) -> Duration {
        self.config.timeout * 2 + Duration::from_secs(5)
    }

    /// Deliver until `shutdown` turns true (attempts in flight are finished first);
    /// `wake` makes it look at the outbox at once.
    pub async fn run(self, wake: Arc<Notify>, mut shutdown: watch::Receiver<bool>) {
        tracing::info!(owner = &*self.owner, "callback dispatcher started");
        let (finished, records) = mpsc::channel(4 * RECORD_BATCH);
        let recorder = tokio::spawn(record(self.store.clone(), Arc::clone(&self.owner), records));
        let mut in_flight = JoinSet::new();
        loop {
            let now = now_millis();
            match self
                .store
                .claim_callbacks(&self.owner, now, now + millis(self.lease()), CLAIM_BATCH)
                .await
            {
                Ok(due) => {
                    for callback in due {
                        let (me, finished) = (self.clone(), finished.clone());
                        in_flight.spawn(async move {
                            let record = me.attempt(&callback).await;
                            let _ = finished.send((callback, record)).await;
                        });
                    }
                }
                Err(e) => tracing::warn!(error = %e, "claiming callbacks failed; retrying"),
            }
            let pause = match self.store.next_callback_due().await {
                Ok(Some(at)) => {
                    Duration::from_millis(u64::try_from(at - now_millis()).unwrap_or(0))
                        .min(IDLE_POLL)
                }
                _ => IDLE_POLL,
            };
            tokio::select! {
                () = tokio::time::sleep(pause.max(Duration::from_millis(5))) => {}
                () = wake.notified() => {}
                Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
                _ = shutdown.changed() => {}
            }
            if *shutdown.borrow() {
                break;
            }
        }
        while in_flight.join_next().await.is_some() {}
        drop(finished);
        let _ = recorder.await;
        tracing::info!("callback dispatcher stopped");
    }

    /// One attempt of one delivery: what to record.
    async fn attempt(&self, due: &DueCallback) -> AttemptRecord {
        let started_at = now_millis();
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let attempt = match self.prepare(due, t) {
            Ok((url, body)) => self.http.deliver(&due.appid, &url, body).await,
            Err(reason) => Attempt {
                outcome: Outcome::Refused,
                status: None,
                body_prefix: String::new(),
                latency: Duration::ZERO,
                queued: Duration::ZERO,
                error: Some(reason),
                retry_after: None,
                http_version: None,
                remote_addr: None,
            },
        };
        let record = self.judge(due, &attempt, started_at, t);
        tracing::debug!(ordersn = due.ordersn, attempt = due.next_number, outcome = record.outcome,
            status = ?attempt.status, next = record.next_state, error = ?attempt.error, "callback attempt");
        if record.next_state == "failed" {
            tracing::warn!(ordersn = due.ordersn, error = ?attempt.error, "callback delivery failed for good");
        }
        record
    }

    /// The target URL and the signed body with this attempt's `t`.
    fn prepare(&self, due: &DueCallback, t: u64) -> Result<(String, String), String> {
        let merchant = self
            .merchants
            .get(&due.appid)
            .ok_or_else(|| format!("merchant {} is no longer configured", due.appid))?;
        let url = due
            .notify_url
            .clone()
            .or_else(|| merchant.notify_url.clone())
            .ok_or_else(|| {
                "no notify_url: neither the order nor the merchant has one".to_owned()
            })?;
        let fields = CallbackFields {
            orderid: due.orderid.clone(),
            localusermark: due.localusermark.clone(),
            amount: u64::try_from(due.amount).map_err(|_| "negative amount".to_owned())?,
            t,
        };
        let body = self
            .rules
            .build_callback_body(&fields, merchant.secret.expose())
            .map_err(|e| e.to_string())?
            .map_err(|r| format!("{}: {}", r.code.as_str(), r.message))?;
        Ok((url, body))
    }

    /// The attempt's record and the delivery's next state.
    fn judge(
        &self,
        due: &DueCallback,
        attempt: &Attempt,
        started_at: i64,
        t: u64,
    ) -> AttemptRecord {
        let (outcome, next_state, next_at) = match attempt.outcome {
            Outcome::Delivered => ("delivered", "delivered", started_at),
            Outcome::Refused => ("refused", "failed", started_at),
            Outcome::Failed => {
                let retry = usize::try_from(due.attempts).unwrap_or(usize::MAX);
                match self.config.retry_delays.get(retry) {
                    None => ("failed", "failed", started_at),
                    Some(delay) => {
                        let wait =
                            next_delay(*delay, attempt.retry_after, &self.config.retry_delays);
                        ("failed", "pending", now_millis() + millis(wait))
                    }
                }
            }
        };
        AttemptRecord {
            started_at,
            t: i64::try_from(t).unwrap_or(i64::MAX),
            status_code: attempt.status.map(i64::from),
            body_prefix: Some(attempt.body_prefix.clone()).filter(|b| !b.is_empty()),
            latency_ms: millis(attempt.latency),
            error: attempt.error.clone(),
            outcome,
            next_state,
            next_attempt_at: next_at,
        }
    }
}

/// Record finished attempts in batches (one transaction each) until every sender is gone.
async fn record(
    store: Store,
    owner: Arc<str>,
    mut records: mpsc::Receiver<(DueCallback, AttemptRecord)>,
) {
    let mut batch = Vec::with_capacity(RECORD_BATCH);
    while records.recv_many(&mut batch, RECORD_BATCH).await > 0 {
        let recorded = match store.record_attempts(&owner, &batch, now_millis()).await {
            Ok(recorded) => recorded,
            Err(e) => {
                // One bad row must not sink the batch: record them one by one. What
                // still fails stays leased and is attempted again when the lease ends.
                tracing::warn!(error = %e, attempts = batch.len(), "batch not recorded; recording one by one");
                let mut recorded = Vec::with_capacity(batch.len());
                for item in &batch {
                    match store
                        .record_attempts(&owner, std::slice::from_ref(item), now_millis())
                        .await
                    {
                        Ok(ok) => recorded.push(ok.first().copied().unwrap_or(false)),
                        Err(e) => {
                            tracing::error!(ordersn = item.0.ordersn, error = %e, "attempt not recorded");
                            recorded.push(true);
                        }
                    }
                }
                recorded
            }
        };
        for ((due, _), ok) in batch.iter().zip(recorded) {
            if !ok {
                tracing::warn!(
                    ordersn = due.ordersn,
                    "lease lost before the attempt was recorded"
                );
            }
        }
        batch.clear();
    }
}

/// The wait before the next retry: the scheduled delay ±20 %, pushed later by a
/// receiver's `Retry-After`, capped at the schedule's longest delay.
pub fn next_delay(
    scheduled: Duration,
    retry_after: Option<Duration>,
    schedule: &[Duration],
) -> Duration {
    let jitter = rand::rng().random_range(0.8..=1.2);
    let jittered = scheduled.mul_f64(jitter);
    let longest = schedule.iter().copied().max().unwrap_or(scheduled);
    match retry_after {
        Some(asked) if asked > jittered => asked.min(longest.max(jittered)),
        _ => jittered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_are_jittered_within_twenty_percent() {
        let schedule = [Duration::from_secs(15), Duration::from_secs(60)];
        for _ in 0..1000 {
            let d = next_delay(Duration::from_secs(15), None, &schedule);
            assert!(
                d >= Duration::from_secs(12) && d <= Duration::from_secs(18),
                "{d:?}"
            );
        }
    }

    #[test]
    fn retry_after_pushes_later_within_bounds() {
        let schedule = [Duration::from_secs(15), Duration::from_secs(60)];
        let d = next_delay(
            Duration::from_secs(15),
            Some(Duration::from_secs(40)),
            &schedule,
        );
        assert_eq!(d, Duration::from_secs(40));
        let d = next_delay(
            Duration::from_secs(15),
            Some(Duration::from_secs(86_400)),
            &schedule,
        );
        assert_eq!(d, Duration::from_secs(60), "capped at the longest delay");
        let d = next_delay(
            Duration::from_secs(15),
            Some(Duration::from_secs(1)),
            &schedule,
        );
        assert!(
            d >= Duration::from_secs(12),
            "never earlier than the schedule: {d:?}"
        );
    }
}
