//! Resending a callback: the operator's one action on a delivery.

use super::{Core, CoreError};
use crate::audit::Actor;
use crate::delivery::ResendOutcome;
use crate::ids::OrderSn;
use crate::ports::Storage;

impl<S: Storage> Core<S> {
    /// Queue the order's callback again, due now, with a fresh series of attempts, and
    /// wake the dispatcher. Refused (nothing changed) while an attempt is in flight.
    /// Audited.
    pub async fn resend_delivery(
        &self,
        actor: &Actor,
        ordersn: &OrderSn,
    ) -> Result<ResendOutcome, CoreError> {
        let outcome = self
            .storage
            .resend_delivery(ordersn, self.clock.now())
            .await?;
        tracing::info!(
            target: "audit",
            who = %actor.who,
            via = actor.via(),
            session = actor.session.as_deref(),
            action = "resend_callback",
            ordersn = %ordersn,
            found = outcome != ResendOutcome::NoDelivery,
            outcome = outcome.as_str(),
            "operator resent a callback"
        );
        if outcome == ResendOutcome::Resent {
            self.wakeups.wake_dispatcher();
        }
        Ok(outcome)
    }
}
