//! Callback delivery: the dispatcher claims due deliveries from the outbox under a lease
//! — never more than it can send at once, so a claimed delivery never waits for a slot
//! — sends each attempt with a fresh `t` and `sign` (built by the component), and
//! records the attempt with the delivery's next state in one transaction. Leases are
//! renewed while an attempt runs or waits to be recorded, an attempt starts only while
//! its lease outlasts it, and an outcome is recorded only while no other claim has
//! taken the delivery over: at most one attempt per delivery is in flight across
//! replicas, and nothing is sent after a recorded success. The retry schedule is data (`notify.retry_delays`), spread by ±20 %
//! jitter; a receiver's `Retry-After` can push an attempt later, never earlier, and
//! never beyond the schedule's longest delay.

mod leases;
mod running;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::Rng;
use tokio::sync::{Notify, mpsc, oneshot, watch};
use usdt_callback_http::{Attempt, CallbackHttp, Outcome};

use crate::clock::{millis, now_millis};
use crate::merchants::MerchantDirectory;
use crate::metrics::CallbackMetrics;
use crate::rules::{CallbackFields, Rules};
use crate::store::{AttemptOutcome, AttemptRecord, DeliveryState, DueCallback, Store};
use leases::{Lease, Leases};
use running::Running;
use usdt_gateway_core::delivery::{Attempted, JITTER, after_attempt};
use usdt_gateway_core::units::UnixMillis;

/// Attempts recorded per transaction, at most.
const RECORD_BATCH: usize = 512;

/// Longest sleep between looks at the outbox (a delivery queued by another replica is
/// seen at least this often).
const IDLE_POLL: Duration = Duration::from_secs(1);

/// After an attempt ends, how long to wait for others before claiming again (one
/// claim per freed slot would cost a transaction each).
const CLAIM_COALESCE: Duration = Duration::from_millis(5);

/// Lease left beyond an attempt's timeout for the attempt to start: covers the time
/// from the check to the request and a database clock that jumps a little.
const SEND_MARGIN: Duration = Duration::from_secs(2);

/// An attempt's outcome on its way to the recorder, with the lease it was made under
/// (renewed until recorded).
type Finished = (DueCallback, AttemptRecord, Arc<Lease>);

/// How the dispatcher runs.
#[derive(Clone, Debug)]
pub struct DeliveryConfig {
    /// Delays before each retry; its length is the number of retries.
    pub retry_delays: Vec<Duration>,
    /// One attempt's time limit (the lease covers it with a margin).
    pub timeout: Duration,
    /// Attempts in flight at once for one merchant (the transport's limit too).
    pub max_in_flight_per_merchant: usize,
    /// Attempts in flight at once for all merchants (the transport's limit too).
    pub max_in_flight: usize,
}

/// The callback dispatcher of one gateway process.
#[derive(Clone, Debug)]
pub struct Dispatcher {
    store: Store,
    rules: Arc<Rules>,
    http: CallbackHttp,
    merchants: Arc<MerchantDirectory>,
    config: DeliveryConfig,
    /// This process's leases (its owner id is their tokens' prefix).
    leases: Arc<Leases>,
    /// Attempts by merchant and outcome, their latency.
    metrics: CallbackMetrics,
}

impl Dispatcher {
    /// A dispatcher sending through `http`, counting its attempts in `metrics`.
    pub fn new(
        store: Store,
        rules: Arc<Rules>,
        http: CallbackHttp,
        merchants: Arc<MerchantDirectory>,
        config: DeliveryConfig,
        metrics: CallbackMetrics,
    ) -> Self {
        let owner: Arc<str> = format!("gw-{}", uuid::Uuid::new_v4().simple()).into();
        // An attempt's timeout plus a margin: a process that dies mid-attempt releases
        // its deliveries when this runs out; renewals keep live ones.
        let lease = config.timeout * 2 + Duration::from_secs(5);
        Self {
            leases: Arc::new(Leases::new(store.clone(), owner, lease)),
            store,
            rules,
            http,
            merchants,
            config,
            metrics,
        }
    }

    /// Deliver until `shutdown` turns true (attempts in flight are finished and
    /// recorded first); `wake` makes it look at the outbox at once.
    pub async fn run(self, wake: Arc<Notify>, mut shutdown: watch::Receiver<bool>) {
        tracing::info!("callback dispatcher started");
        let (finished, records) = mpsc::channel(4 * RECORD_BATCH);
        let recorder = tokio::spawn(record(self.store.clone(), records));
        let (stop_renewing, renewing_stopped) = oneshot::channel();
        let renewer = tokio::spawn(Arc::clone(&self.leases).renew_until(renewing_stopped));
        let mut running = Running::new(
            self.config.max_in_flight_per_merchant,
            self.config.max_in_flight,
        );
        loop {
            running.reap();
            let pause = match self.claim(&mut running, &finished).await {
                0 => self.idle_pause(&running).await,
                _ => Duration::ZERO, // perhaps more to claim
            };
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                () = wake.notified() => {}
                // Let a few more end, so that one claim fills several slots.
                () = running.next_ended(), if !running.is_empty() => {
                    tokio::time::sleep(CLAIM_COALESCE).await;
                }
                _ = shutdown.changed() => {}
            }
            if *shutdown.borrow() {
                break;
            }
        }
        running.drain().await;
        drop(finished);
        let _ = recorder.await;
        let _ = stop_renewing.send(());
        let _ = renewer.await;
        tracing::info!("callback dispatcher stopped");
    }

    /// Claim what the free slots allow and start an attempt for each; how many.
    async fn claim(&self, running: &mut Running, finished: &mpsc::Sender<Finished>) -> usize {
        let slots = running.free_slots();
        if slots.total == 0 {
            return 0;
        }
        let lease = self.leases.start();
        let due = match self
            .store
            .claim_callbacks(lease.token(), now_millis(), self.leases.duration(), &slots)
            .await
        {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!(error = %e, "claiming callbacks failed; retrying");
                return 0;
            }
        };
        if !due.is_empty() {
            self.leases.keep(&lease);
        }
        let claimed = due.len();
        for callback in due {
            let (me, finished, lease) = (self.clone(), finished.clone(), Arc::clone(&lease));
            let appid = callback.appid.clone();
            running.spawn(&appid, async move {
                if let Some(record) = me.attempt(&callback, &lease).await {
                    let _ = finished.send((callback, record, lease)).await;
                }
            });
        }
        claimed
    }

    /// How long to wait when nothing could be claimed: until the next delivery falls
    /// due, at most [`IDLE_POLL`] (an attempt ending or a wake-up cuts it short).
    async fn idle_pause(&self, running: &Running) -> Duration {
        if running.free_slots().total == 0 {
            return IDLE_POLL;
        }
        let now = now_millis();
        match self.store.next_callback_due(now).await {
            Ok(Some(at)) => Duration::from_millis(u64::try_from(at - now).unwrap_or(0))
                .clamp(Duration::from_millis(5), IDLE_POLL),
            _ => IDLE_POLL,
        }
    }

    /// One attempt of one delivery: what to record; `None` when it was not sent because
    /// `lease` would not outlast it (the delivery is claimed again once the lease ends).
    #[tracing::instrument(name = "callback_attempt", skip_all, fields(
        appid = %due.appid, orderid = %due.orderid, ordersn = %due.ordersn, attempt = due.next_number
    ))]
    async fn attempt(&self, due: &DueCallback, lease: &Lease) -> Option<AttemptRecord> {
        let started_at = now_millis();
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let (attempt, outcome) = match self.prepare(due, t) {
            Ok((url, body)) => {
                let needed = self.config.timeout + SEND_MARGIN;
                let sent = self
                    .http
                    .deliver_if(&due.appid, &url, body, || lease.covers(needed))
                    .await;
                let Some(attempt) = sent else {
                    tracing::warn!(
                        ordersn = due.ordersn,
                        "callback lease too short for an attempt: not sent"
                    );
                    return None;
                };
                let outcome = attempt_outcome(attempt.outcome);
                (attempt, outcome)
            }
            Err((outcome, reason)) => (unsent(reason), outcome),
        };
        let record = self.judge(due, &attempt, outcome, started_at, t);
        self.count(due, record.outcome, attempt.latency);
        tracing::debug!(ordersn = due.ordersn, attempt = due.next_number, outcome = %record.outcome,
            status = ?attempt.status, next = %record.next_state, error = ?attempt.error, "callback attempt");
        match record.next_state {
            DeliveryState::Failed => {
                tracing::warn!(ordersn = due.ordersn, error = ?attempt.error, "callback delivery failed for good");
            }
            DeliveryState::NotConfigured => {
                tracing::warn!(
                    ordersn = due.ordersn,
                    appid = due.appid,
                    "no callback URL (neither the order nor its merchant has one): nothing sent; \
                     configure the merchant's notify_url, then resend"
                );
            }
            _ => {}
        }
        Some(record)
    }

    /// Count an attempt under its merchant's appid (`other` for one no longer
    /// configured: the label stays bounded by the configuration).
    fn count(&self, due: &DueCallback, outcome: AttemptOutcome, took: Duration) {
        let merchants = self.merchants.snapshot();
        let appid = match merchants.get(&due.appid) {
            Some(_) => due.appid.as_str(),
            None => "other",
        };
        self.metrics.attempt(appid, outcome.as_str(), took);
    }

    /// The target URL and the signed body with this attempt's `t`; or why there is
    /// nothing to send: `Failed` (retried on the schedule) when a reload or a retry may
    /// fix it — the merchant missing from the configuration, a fault of the component —
    /// `NotConfigured` (waits for the operator) when neither the order nor its merchant
    /// has a callback URL, `Refused` (failed for good) when the component rejects the
    /// callback's fields.
    fn prepare(
        &self,
        due: &DueCallback,
        t: u64,
    ) -> Result<(String, String), (AttemptOutcome, String)> {
        let retry = |reason: String| (AttemptOutcome::Failed, reason);
        let merchants = self.merchants.snapshot();
        let merchant = merchants.get(&due.appid).ok_or_else(|| {
            retry(format!(
                "merchant {} is not in the configuration",
                due.appid
            ))
        })?;
        let url = due
            .notify_url
            .clone()
            .or_else(|| merchant.notify_url.clone())
            .ok_or_else(|| {
                (
                    AttemptOutcome::NotConfigured,
                    "no notify_url: neither the order nor the merchant has one".to_owned(),
                )
            })?;
        let fields = CallbackFields {
            orderid: due.orderid.clone(),
            localusermark: due.localusermark.clone(),
            amount: u64::try_from(due.amount)
                .map_err(|_| (AttemptOutcome::Refused, "negative amount".to_owned()))?,
            t,
        };
        let body = self
            .rules
            .build_callback_body(&fields, merchant.secret.expose())
            .map_err(|e| retry(e.to_string()))?
            .map_err(|r| {
                (
                    AttemptOutcome::Refused,
                    format!("{}: {}", r.code.as_str(), r.message),
                )
            })?;
        Ok((url, body))
    }

    /// The attempt's record and the delivery's next state, for an attempt that came to
    /// `outcome`.
    fn judge(
        &self,
        due: &DueCallback,
        attempt: &Attempt,
        outcome: AttemptOutcome,
        started_at: i64,
        t: u64,
    ) -> AttemptRecord {
        let attempted = Attempted {
            outcome,
            attempts: due.attempts,
            retry_after: attempt.retry_after,
            started: UnixMillis(started_at),
            ended: UnixMillis(now_millis()),
        };
        let jitter = rand::rng().random_range(JITTER);
        let next = after_attempt(&attempted, &self.config.retry_delays, jitter);
        AttemptRecord {
            started_at,
            t: i64::try_from(t).unwrap_or(i64::MAX),
            status_code: attempt.status.map(i64::from),
            body_prefix: Some(attempt.body_prefix.clone()).filter(|b| !b.is_empty()),
            latency_ms: millis(attempt.latency),
            error: attempt.error.clone(),
            outcome,
            next_state: next.state,
            next_attempt_at: next.at.0,
        }
    }
}

/// The record's outcome of what the transport reported.
fn attempt_outcome(outcome: Outcome) -> AttemptOutcome {
    match outcome {
        Outcome::Delivered => AttemptOutcome::Delivered,
        Outcome::Failed => AttemptOutcome::Failed,
        Outcome::Refused => AttemptOutcome::Refused,
    }
}

/// An attempt that was not sent, for `reason`.
fn unsent(reason: String) -> Attempt {
    Attempt {
        outcome: Outcome::Refused,
        status: None,
        body_prefix: String::new(),
        latency: Duration::ZERO,
        queued: Duration::ZERO,
        error: Some(reason),
        retry_after: None,
        http_version: None,
        remote_addr: None,
    }
}

/// Record finished attempts in batches (one transaction each) until every sender is
/// gone; each lease stays renewed until its attempt is recorded.
async fn record(store: Store, mut records: mpsc::Receiver<Finished>) {
    let mut batch = Vec::with_capacity(RECORD_BATCH);
    while records.recv_many(&mut batch, RECORD_BATCH).await > 0 {
        let (attempts, _leases): (Vec<_>, Vec<_>) = batch
            .drain(..)
            .map(|(due, record, lease)| ((due, record), lease))
            .unzip();
        let recorded = record_batch(&store, &attempts).await;
        for ((due, _), ok) in attempts.iter().zip(recorded) {
            if !ok {
                tracing::warn!(
                    ordersn = due.ordersn,
                    "callback taken over by another claim before the attempt was recorded"
                );
            }
        }
    }
}

/// Record `attempts` in one transaction; which were recorded (false: another claim or a
/// resend took the delivery over).
async fn record_batch(store: &Store, attempts: &[(DueCallback, AttemptRecord)]) -> Vec<bool> {
    match store.record_attempts(attempts, now_millis()).await {
        Ok(recorded) => recorded,
        Err(e) => {
            // One bad row must not sink the batch: record them one by one. What still
            // fails is attempted again once its lease ends.
            tracing::warn!(error = %e, attempts = attempts.len(), "batch not recorded; recording one by one");
            let mut recorded = Vec::with_capacity(attempts.len());
            for item in attempts {
                match store
                    .record_attempts(std::slice::from_ref(item), now_millis())
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
    }
}
