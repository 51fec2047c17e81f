//! The callback outbox: recording each attempt with the next state in one transaction
//! (only under the lease it was claimed with, see [`super::leases`]), listing and
//! re-sending for the operator.

use usdt_gateway_core::delivery::{AttemptView, CallbackRecord, ResendOutcome};
use usdt_gateway_core::units::{Amount, UnixMillis};

use super::{AttemptOutcome, DeliveryState, Store, StoreError, Text, on_pool, on_tx};

/// A delivery claimed for one attempt.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct DueCallback {
    /// The order.
    pub ordersn: String,
    /// The merchant.
    pub appid: String,
    /// The merchant's order id.
    pub orderid: String,
    /// Echoed in the callback.
    pub localusermark: String,
    /// The order's own callback URL; `None` means the merchant's default.
    pub notify_url: Option<String>,
    /// Scaled units received.
    pub amount: i64,
    /// Attempts made in the current series (0 before the first).
    pub attempts: i64,
    /// The number the next attempt gets in the history (1 for the very first).
    pub next_number: i64,
    /// The token of the claim whose lease holds it.
    pub lease: String,
}

/// What one attempt changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttemptRecord {
    /// When it started (Unix ms).
    pub started_at: i64,
    /// The signed `t` (Unix seconds).
    pub t: i64,
    /// The HTTP status, if one came back.
    pub status_code: Option<i64>,
    /// The first KiB of the answer.
    pub body_prefix: Option<String>,
    /// How long it took.
    pub latency_ms: i64,
    /// What went wrong, if anything.
    pub error: Option<String>,
    /// How it went.
    pub outcome: AttemptOutcome,
    /// The delivery's state afterwards: delivered, pending (a retry) or failed.
    pub next_state: DeliveryState,
    /// When the next attempt is due (for `pending`).
    pub next_attempt_at: i64,
}

/// A row of `callbacks`, as [`CALLBACK_COLUMNS`] reads it.
#[derive(sqlx::FromRow)]
struct CallbackRow {
    ordersn: String,
    appid: String,
    #[sqlx(try_from = "Text<DeliveryState>")]
    state: DeliveryState,
    attempts: i64,
    next_attempt_at: i64,
    last_error: Option<String>,
    amount: i64,
}

impl From<CallbackRow> for CallbackRecord {
    fn from(r: CallbackRow) -> Self {
        Self {
            ordersn: r.ordersn.into(),
            appid: r.appid.into(),
            state: r.state,
            attempts: r.attempts,
            next_attempt_at: UnixMillis(r.next_attempt_at),
            last_error: r.last_error,
            amount: Amount(r.amount),
        }
    }
}

/// A row of `callback_attempts`, as the operator sees it.
#[derive(sqlx::FromRow)]
struct AttemptRow {
    attempt: i64,
    started_at: i64,
    t: i64,
    status_code: Option<i64>,
    body_prefix: Option<String>,
    latency_ms: i64,
    error: Option<String>,
    #[sqlx(try_from = "Text<AttemptOutcome>")]
    outcome: AttemptOutcome,
}

impl From<AttemptRow> for AttemptView {
    fn from(r: AttemptRow) -> Self {
        Self {
            attempt: r.attempt,
            started_at: UnixMillis(r.started_at),
            t: r.t,
            status_code: r.status_code,
            body_prefix: r.body_prefix,
            latency_ms: r.latency_ms,
            error: r.error,
            outcome: r.outcome,
        }
    }
}

/// Columns of `callbacks` read into a [`CallbackRow`].
const CALLBACK_COLUMNS: &str =
    "ordersn, appid, state, attempts, next_attempt_at, last_error, amount";

impl Store {
    /// Record attempts and move their deliveries on, in one transaction (one fsync for
    /// the batch). Each is recorded only while the delivery is still under the claim it
    /// was sent under ([`DueCallback::lease`]): every claim has its own token, so a
    /// delivery that another claim or a resend took over is not recorded (false). A
    /// lease that ran out with nobody taking the delivery over is still recorded: the
    /// attempt did happen, and not recording it would only send it again.
    pub async fn record_attempts(
        &self,
        attempts: &[(DueCallback, AttemptRecord)],
        now: i64,
    ) -> Result<Vec<bool>, StoreError> {
        let mut tx = self.begin_write().await?;
        let mut recorded = Vec::with_capacity(attempts.len());
        for (due, attempt) in attempts {
            let updated = on_tx!(&mut tx, db => sqlx::query(
                "UPDATE callbacks SET state = $1, attempts = attempts + 1, next_attempt_at = $2, \
                 last_error = $3, lease_owner = NULL, lease_until = NULL, updated_at = $4 \
                 WHERE ordersn = $5 AND lease_owner = $6 AND state = 'pending'",
            )
            .bind(attempt.next_state.as_str())
            .bind(attempt.next_attempt_at)
            .bind(&attempt.error)
            .bind(now)
            .bind(&due.ordersn)
            .bind(&due.lease)
            .execute(db)
            .await?.rows_affected());
            if updated != 1 {
                recorded.push(false);
                continue;
            }
            on_tx!(&mut tx, db => sqlx::query(
                "INSERT INTO callback_attempts (ordersn, attempt, started_at, t, status_code, body_prefix, \
                 latency_ms, error, outcome) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&due.ordersn)
            .bind(due.next_number)
            .bind(attempt.started_at)
            .bind(attempt.t)
            .bind(attempt.status_code)
            .bind(&attempt.body_prefix)
            .bind(attempt.latency_ms)
            .bind(&attempt.error)
            .bind(attempt.outcome.as_str())
            .execute(db)
            .await?.rows_affected());
            recorded.push(true);
        }
        tx.commit().await?;
        Ok(recorded)
    }

    /// Deliveries in `state` (all when `None`), oldest first.
    pub async fn list_callbacks(
        &self,
        state: Option<DeliveryState>,
        limit: i64,
    ) -> Result<Vec<CallbackRecord>, StoreError> {
        let rows: Vec<CallbackRow> = on_pool!(&self.pool, db => sqlx::query_as(&format!(
            "SELECT {CALLBACK_COLUMNS} FROM callbacks \
             WHERE ($1 = '' OR state = $1) ORDER BY created_at, ordersn LIMIT $2"
        ))
        .bind(state.map_or("", DeliveryState::as_str))
        .bind(limit)
        .fetch_all(db)
        .await?);
        Ok(rows.into_iter().map(CallbackRecord::from).collect())
    }

    /// The delivery of one order and its attempts.
    pub async fn callback(
        &self,
        ordersn: &str,
    ) -> Result<Option<(CallbackRecord, Vec<AttemptView>)>, StoreError> {
        let Some(record) = self.callback_record(ordersn).await? else {
            return Ok(None);
        };
        let attempts: Vec<AttemptRow> = on_pool!(&self.pool, db => sqlx::query_as(
            "SELECT attempt, started_at, t, status_code, body_prefix, latency_ms, error, outcome \
             FROM callback_attempts WHERE ordersn = $1 ORDER BY attempt",
        )
        .bind(ordersn)
        .fetch_all(db)
        .await?);
        Ok(Some((
            record,
            attempts.into_iter().map(AttemptView::from).collect(),
        )))
    }

    /// The delivery of one order, without its attempts.
    pub async fn callback_record(
        &self,
        ordersn: &str,
    ) -> Result<Option<CallbackRecord>, StoreError> {
        let row: Option<CallbackRow> = on_pool!(&self.pool, db => sqlx::query_as(&format!(
            "SELECT {CALLBACK_COLUMNS} FROM callbacks WHERE ordersn = $1"
        ))
        .bind(ordersn)
        .fetch_optional(db)
        .await?);
        Ok(row.map(CallbackRecord::from))
    }

    /// Send a delivery again: a new series of attempts starting now (a delivered one
    /// too, when the merchant asks) — unless an attempt is in flight: while a claim's
    /// lease is live (compared on the database's clock, as claims do) the delivery is
    /// left alone, so a resend never lets a second attempt start beside the first. A
    /// lease that ran out is taken over (its attempt, if it ends, is not recorded).
    pub async fn resend_callback(
        &self,
        ordersn: &str,
        now: i64,
    ) -> Result<ResendOutcome, StoreError> {
        let clock = self.backend().clock_millis();
        let updated = on_pool!(&self.pool, db => sqlx::query(&format!(
            "UPDATE callbacks SET state = 'pending', attempts = 0, next_attempt_at = $1, \
             lease_owner = NULL, lease_until = NULL, updated_at = $1 WHERE ordersn = $2 \
             AND (lease_until IS NULL OR lease_until < {clock})",
        ))
        .bind(now)
        .bind(ordersn)
        .execute(db)
        .await?.rows_affected());
        if updated == 1 {
            // Queued whatever happens next: a dispatcher not woken sees it at its next
            // look at the outbox.
            if let Err(e) = self.announce_due_delivery().await {
                tracing::warn!(error = %e, "the resend was not announced to the dispatchers");
            }
            return Ok(ResendOutcome::Resent);
        }
        let exists: Option<String> = on_pool!(&self.pool, db => sqlx::query_scalar(
            "SELECT ordersn FROM callbacks WHERE ordersn = $1",
        )
        .bind(ordersn)
        .fetch_optional(db)
        .await?);
        Ok(match exists {
            Some(_) => ResendOutcome::InFlight,
            None => ResendOutcome::NoDelivery,
        })
    }

    /// The earliest due time after `now` of a pending delivery, if any (the dispatcher
    /// sleeps until then).
    pub async fn next_callback_due(&self, now: i64) -> Result<Option<i64>, StoreError> {
        let next: Option<i64> = on_pool!(&self.pool, db => sqlx::query_scalar(
            "SELECT MIN(next_attempt_at) FROM callbacks WHERE state = 'pending' AND next_attempt_at > $1",
        )
        .bind(now)
        .fetch_one(db)
        .await?);
        Ok(next)
    }
}
