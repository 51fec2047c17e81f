//! Assigning an unmatched deposit: the operator gives a transfer the watcher could not
//! match (wrong amount, late) to a pending order on its chain and address.

use super::{Core, CoreError};
use crate::audit::Actor;
use crate::deposit::{AssignOutcome, DepositKey};
use crate::ids::OrderSn;
use crate::ports::Storage;

impl<S: Storage> Core<S> {
    /// Give the deposit `key` to the pending order `ordersn`: the order waits for the
    /// deposit's confirmations again (its chain's watcher is woken to count them), then
    /// is confirmed and its callback queued by the watcher. Audited.
    pub async fn assign_deposit(
        &self,
        actor: &Actor,
        key: &DepositKey,
        ordersn: &OrderSn,
    ) -> Result<AssignOutcome, CoreError> {
        let outcome = self
            .storage
            .assign_deposit(key, ordersn, self.clock.now())
            .await?;
        tracing::info!(
            target: "audit",
            who = %actor.who,
            via = actor.via(),
            session = actor.session.as_deref(),
            action = "assign_deposit",
            chain = %key.chain,
            txid = %key.txid,
            log_index = key.log_index,
            ordersn = %ordersn,
            outcome = outcome.as_str(),
            "operator assigned a deposit"
        );
        if outcome == AssignOutcome::Assigned {
            self.wakeups.wake_watcher(&key.chain);
        }
        Ok(outcome)
    }
}
