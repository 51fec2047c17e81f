//! Callback deliveries: the outbox's one delivery per confirmed order, and the
//! operator's resend.

use std::time::Duration;

use serde::Serialize;

use crate::ids::{AppId, OrderSn};
use crate::states::{AttemptOutcome, DeliveryState};
use crate::units::{Amount, UnixMillis};

/// How far a retry's delay is spread around the schedule's (±20 %): retries of many
/// deliveries that failed together do not come back together.
pub const JITTER: std::ops::RangeInclusive<f64> = 0.8..=1.2;

/// Where a delivery goes after one attempt, and when it is due again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NextStep {
    /// Its state.
    pub state: DeliveryState,
    /// When its next attempt is due (for `pending`; the attempt's start otherwise).
    pub at: UnixMillis,
}

/// One attempt, as the state machine needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attempted {
    /// How it went.
    pub outcome: AttemptOutcome,
    /// Attempts made before it in this series.
    pub attempts: i64,
    /// The receiver's `Retry-After`, if it sent one.
    pub retry_after: Option<Duration>,
    /// When it started.
    pub started: UnixMillis,
    /// When it ended (a retry's delay counts from here).
    pub ended: UnixMillis,
}

/// The delivery state machine: after `attempt`,
///
/// - delivered → `delivered`; refused (it may never be sent) → `failed`; no callback URL
///   → `not_configured` (it waits for the operator);
/// - failed → `pending` again after the schedule's next delay (`schedule[attempts]`,
///   spread by `jitter` ∈ [`JITTER`], pushed later by the receiver's `Retry-After`,
///   never beyond the schedule's longest delay) — or `failed` once the schedule is used
///   up.
pub fn after_attempt(attempt: &Attempted, schedule: &[Duration], jitter: f64) -> NextStep {
    let started = attempt.started;
    let (state, at) = match attempt.outcome {
        AttemptOutcome::Delivered => (DeliveryState::Delivered, started),
        AttemptOutcome::Refused => (DeliveryState::Failed, started),
        AttemptOutcome::NotConfigured => (DeliveryState::NotConfigured, started),
        AttemptOutcome::Failed => {
            let next = usize::try_from(attempt.attempts)
                .ok()
                .and_then(|n| schedule.get(n));
            match next {
                None => (DeliveryState::Failed, started),
                Some(delay) => {
                    let wait = retry_delay(*delay, attempt.retry_after, schedule, jitter);
                    (DeliveryState::Pending, attempt.ended.plus(wait))
                }
            }
        }
    };
    NextStep { state, at }
}

/// The wait before a retry: the `scheduled` delay spread by `jitter`, pushed later by a
/// receiver's `Retry-After`, capped at the schedule's longest delay.
pub fn retry_delay(
    scheduled: Duration,
    retry_after: Option<Duration>,
    schedule: &[Duration],
    jitter: f64,
) -> Duration {
    let jittered = scheduled.mul_f64(jitter.clamp(*JITTER.start(), *JITTER.end()));
    let longest = schedule.iter().copied().max().unwrap_or(scheduled);
    match retry_after {
        Some(asked) if asked > jittered => asked.min(longest.max(jittered)),
        _ => jittered,
    }
}

/// A delivery as the operator sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CallbackRecord {
    /// The order.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub ordersn: OrderSn,
    /// The merchant.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub appid: AppId,
    /// Where it stands.
    pub state: DeliveryState,
    /// Attempts in the current series.
    pub attempts: i64,
    /// When the next attempt is due (Unix ms), for `pending`.
    #[cfg_attr(feature = "openapi", schema(value_type = i64))]
    pub next_attempt_at: UnixMillis,
    /// The last error.
    pub last_error: Option<String>,
    /// Scaled units.
    #[cfg_attr(feature = "openapi", schema(value_type = i64))]
    pub amount: Amount,
}

/// One recorded attempt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AttemptView {
    /// Its number in the history.
    pub attempt: i64,
    /// When it started (Unix ms).
    #[cfg_attr(feature = "openapi", schema(value_type = i64))]
    pub started_at: UnixMillis,
    /// The signed `t`.
    pub t: i64,
    /// The HTTP status.
    pub status_code: Option<i64>,
    /// The first KiB of the answer.
    pub body_prefix: Option<String>,
    /// How long it took.
    pub latency_ms: i64,
    /// What went wrong.
    pub error: Option<String>,
    /// How it went.
    pub outcome: AttemptOutcome,
}

/// What became of an operator's resend.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum ResendOutcome {
    /// The delivery is pending again, due now, with a fresh series of attempts.
    Resent,
    /// The order has no delivery.
    NoDelivery,
    /// An attempt is in flight under a live lease; nothing changed. Its outcome is
    /// recorded within the lease (`2 × notify.timeout + 5 s` at most); resend after.
    InFlight,
}

impl ResendOutcome {
    /// Its name in the audit log: `resent`, `no_delivery`, `in_flight`.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEDULE: [Duration; 2] = [Duration::from_secs(15), Duration::from_secs(60)];
    const AT: UnixMillis = UnixMillis(1_000);

    fn after(outcome: AttemptOutcome, attempts: i64, retry_after: Option<u64>) -> NextStep {
        let attempt = Attempted {
            outcome,
            attempts,
            retry_after: retry_after.map(Duration::from_secs),
            started: AT,
            ended: UnixMillis(AT.0 + 500),
        };
        after_attempt(&attempt, &SCHEDULE, 1.0)
    }

    #[test]
    fn each_outcome_moves_the_delivery_on() {
        let step = |state, at| NextStep { state, at };
        let delivered = after(AttemptOutcome::Delivered, 0, None);
        assert_eq!(delivered, step(DeliveryState::Delivered, AT));
        let refused = after(AttemptOutcome::Refused, 0, None);
        assert_eq!(refused, step(DeliveryState::Failed, AT));
        let unset = after(AttemptOutcome::NotConfigured, 0, None);
        assert_eq!(unset, step(DeliveryState::NotConfigured, AT));
        let first = after(AttemptOutcome::Failed, 0, None);
        assert_eq!(first, step(DeliveryState::Pending, UnixMillis(16_500)));
        let second = after(AttemptOutcome::Failed, 1, None);
        assert_eq!(second, step(DeliveryState::Pending, UnixMillis(61_500)));
        let spent = after(AttemptOutcome::Failed, 2, None);
        assert_eq!(spent, step(DeliveryState::Failed, AT));
        let pushed = after(AttemptOutcome::Failed, 0, Some(40));
        assert_eq!(pushed, step(DeliveryState::Pending, UnixMillis(41_500)));
    }

    #[test]
    fn delays_are_jittered_within_twenty_percent() {
        let fifteen = Duration::from_secs(15);
        assert_eq!(
            retry_delay(fifteen, None, &SCHEDULE, 0.8),
            Duration::from_secs(12)
        );
        assert_eq!(
            retry_delay(fifteen, None, &SCHEDULE, 1.2),
            Duration::from_secs(18)
        );
        assert_eq!(
            retry_delay(fifteen, None, &SCHEDULE, 5.0),
            Duration::from_secs(18)
        );
        assert_eq!(
            retry_delay(fifteen, None, &SCHEDULE, 0.0),
            Duration::from_secs(12)
        );
    }

    #[test]
    fn retry_after_pushes_later_within_bounds() {
        let fifteen = Duration::from_secs(15);
        let asked = |secs| retry_delay(fifteen, Some(Duration::from_secs(secs)), &SCHEDULE, 1.0);
        assert_eq!(asked(40), Duration::from_secs(40));
        assert_eq!(
            asked(86_400),
            Duration::from_secs(60),
            "capped at the longest delay"
        );
        assert_eq!(asked(1), fifteen, "never earlier than the schedule");
    }

    #[test]
    fn outcomes_have_their_audit_names() {
        assert_eq!(ResendOutcome::Resent.as_str(), "resent");
        assert_eq!(ResendOutcome::NoDelivery.as_str(), "no_delivery");
        assert_eq!(ResendOutcome::InFlight.as_str(), "in_flight");
        assert_eq!(crate::deposit::AssignOutcome::NoOrder.as_str(), "no_order");
    }
}
