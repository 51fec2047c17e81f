//! Callback deliveries: the outbox's one delivery per confirmed order, and the
//! operator's resend.

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
