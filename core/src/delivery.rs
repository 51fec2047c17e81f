//! Callback deliveries: the outbox's one delivery per confirmed order, and the
//! operator's resend.

use serde::Serialize;

use crate::states::{AttemptOutcome, DeliveryState};

/// A delivery as the operator sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CallbackRecord {
    /// The order.
    pub ordersn: String,
    /// The merchant.
    pub appid: String,
    /// Where it stands.
    pub state: DeliveryState,
    /// Attempts in the current series.
    pub attempts: i64,
    /// When the next attempt is due (Unix ms), for `pending`.
    pub next_attempt_at: i64,
    /// The last error.
    pub last_error: Option<String>,
    /// Scaled units.
    pub amount: i64,
}

/// One recorded attempt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AttemptView {
    /// Its number in the history.
    pub attempt: i64,
    /// When it started (Unix ms).
    pub started_at: i64,
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

    #[test]
    fn outcomes_have_their_audit_names() {
        assert_eq!(ResendOutcome::Resent.as_str(), "resent");
        assert_eq!(ResendOutcome::NoDelivery.as_str(), "no_delivery");
        assert_eq!(ResendOutcome::InFlight.as_str(), "in_flight");
        assert_eq!(crate::deposit::AssignOutcome::NoOrder.as_str(), "no_order");
    }
}
