//! The money state's consistency: the disagreements between rows that must agree.

use serde::Serialize;

/// One disagreement between rows that must agree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// Which rule it breaks:
    /// - `order_without_deposit`: the order is `confirming` or `confirmed`, or shows a
    ///   `received_amount`, and no live (not orphaned) deposit is credited to it;
    /// - `order_with_several_deposits`: more than one live deposit is credited to it;
    /// - `deposit_disagrees_with_order`: a live deposit credited to the order differs
    ///   from it in amount, chain or address, or its state does not go with the order's
    ///   (`confirming` with `confirming`, `confirmed` with `confirmed`);
    /// - `confirmed_without_callback`: a confirmed order has no delivery in the outbox;
    /// - `callback_disagrees_with_order`: a delivery whose order is not confirmed, or
    ///   whose amount is not the order's `received_amount`.
    pub check: String,
    /// The order.
    pub ordersn: String,
    /// The deposit concerned (`chain:txid:log_index`), when the rule is about one.
    pub deposit: Option<String>,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} order {}", self.check, self.ordersn)?;
        if let Some(deposit) = &self.deposit {
            write!(f, " deposit {deposit}")?;
        }
        Ok(())
    }
}
