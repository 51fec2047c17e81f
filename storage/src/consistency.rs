//! The consistency check of money state: one read-only query, the same on both
//! databases, that lists every order, deposit and delivery whose rows disagree — an
//! order showing money received with no live deposit behind it, a deposit credited to an
//! order whose amount or state says otherwise, a confirmed order without its callback.
//! `usdt-gateway db check` prints it; a chaos run asserts it is empty.

use super::{Store, StoreError, on_pool};

/// One disagreement between rows that must agree.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
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

/// The check's query: each rule a `SELECT` of `(check, ordersn, deposit)`.
const CHECK_SQL: &str = "\
SELECT 'order_without_deposit' AS \"check\", o.ordersn, CAST(NULL AS TEXT) AS deposit \
FROM orders o \
WHERE (o.status <> 'pending' OR o.received_amount <> 0) \
AND NOT EXISTS (SELECT 1 FROM deposits d WHERE d.ordersn = o.ordersn AND d.state <> 'orphaned') \
UNION ALL \
SELECT 'order_with_several_deposits', d.ordersn, CAST(NULL AS TEXT) \
FROM deposits d WHERE d.ordersn IS NOT NULL AND d.state <> 'orphaned' \
GROUP BY d.ordersn HAVING COUNT(*) > 1 \
UNION ALL \
SELECT 'deposit_disagrees_with_order', o.ordersn, \
d.chain || ':' || d.txid || ':' || CAST(d.log_index AS TEXT) \
FROM deposits d JOIN orders o ON o.ordersn = d.ordersn \
WHERE d.state <> 'orphaned' AND (o.received_amount <> d.amount OR o.chain <> d.chain \
OR o.canonical_address <> d.address \
OR NOT ((d.state = 'confirming' AND o.status = 'confirming') \
OR (d.state = 'confirmed' AND o.status = 'confirmed'))) \
UNION ALL \
SELECT 'confirmed_without_callback', o.ordersn, CAST(NULL AS TEXT) \
FROM orders o WHERE o.status = 'confirmed' \
AND NOT EXISTS (SELECT 1 FROM callbacks c WHERE c.ordersn = o.ordersn) \
UNION ALL \
SELECT 'callback_disagrees_with_order', o.ordersn, CAST(NULL AS TEXT) \
FROM callbacks c JOIN orders o ON o.ordersn = c.ordersn \
WHERE o.status <> 'confirmed' OR c.amount <> o.received_amount \
ORDER BY 2, 1";

impl Store {
    /// Every violation of the money-state rules (see [`Violation::check`]), by order.
    /// Empty when the database is consistent. Read-only; one statement, so on
    /// PostgreSQL one snapshot.
    pub async fn check_consistency(&self) -> Result<Vec<Violation>, StoreError> {
        Ok(on_pool!(&self.pool, db => sqlx::query_as(CHECK_SQL).fetch_all(db).await?))
    }
}
