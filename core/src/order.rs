//! Orders: what an accepted order is, what is stored of it, and what every viewer — the
//! merchant's query, the payer's page, the operator's console — is shown of it, derived
//! here once ([`OrderProgress::derive`]).

use std::time::Duration;

use serde::Serialize;

use crate::ids::{AppId, ChainName, OrderId, OrderSn};
use crate::rules::OrderFields;
use crate::states::{OrderState, OrderStatus};
use crate::units::{Amount, Height, UnixMillis};

/// An accepted order, ready to be stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewOrder {
    /// The gateway's order number, `cz-<uuid v4>`.
    pub ordersn: OrderSn,
    /// The merchant.
    pub appid: AppId,
    /// The merchant's order id.
    pub orderid: OrderId,
    /// The merchant's user.
    pub username: String,
    /// The merchant's reference, echoed in the callback.
    pub localusermark: String,
    /// The address as sent and signed.
    pub address: String,
    /// The canonical address (bindings and watchers).
    pub canonical_address: String,
    /// `TRC20`, `ERC20` or `OMNI`.
    pub chain: ChainName,
    /// The amount ordered.
    pub amount: Amount,
    /// The per-order callback URL.
    pub notify_url: Option<String>,
    /// Confirmations the deposit needs.
    pub required_confirmations: u32,
    /// When it was accepted.
    pub created_at: UnixMillis,
    /// After this a pending order is expired.
    pub expires_at: UnixMillis,
}

impl NewOrder {
    /// The fields the order's `sign` covers, as the component defines them (its
    /// `order-fields` record: a field added there does not compile here until mapped).
    fn signed_fields(&self) -> Option<OrderFields> {
        Some(OrderFields {
            appid: self.appid.as_str().to_owned(),
            username: self.username.clone(),
            localusermark: self.localusermark.clone(),
            address: self.address.clone(),
            orderid: self.orderid.as_str().to_owned(),
            amount: u64::try_from(self.amount.0).ok()?,
        })
    }

    /// Whether `other` carries the same signed fields: an identical retry, answered
    /// with the order stored first; anything else under the same `orderid` is a
    /// duplicate.
    pub fn same_signed_fields(&self, other: &NewOrder) -> bool {
        matches!(
            (self.signed_fields(), other.signed_fields()),
            (Some(mine), Some(theirs)) if mine == theirs
        )
    }
}

/// What became of one order submitted for storing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CreateOutcome {
    /// Stored now.
    Created(NewOrder),
    /// An identical order was stored before: this is it (same `ordersn`).
    Existing(NewOrder),
    /// The same `(appid, orderid)` was stored before with other signed fields.
    Duplicate,
    /// The address is bound to another `(appid, username)`.
    AddressBound,
}

/// A stored order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderRecord {
    /// Everything the order was created with.
    pub order: NewOrder,
    /// Where it stands, as stored.
    pub status: OrderState,
    /// The amount received so far.
    pub received_amount: Amount,
}

/// A deposit's confirmations: counted by the component from the chain's head and the
/// deposit's block, and how many the order needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Confirmations {
    /// Counted so far (0 without a deposit).
    pub count: u64,
    /// Needed before the order is confirmed.
    pub required: u64,
}

/// Where the order's deposit is: its block, and the chain's head as the watcher last
/// saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DepositPosition {
    /// The deposit's block.
    pub block: Height,
    /// The chain's head (`None`: never scanned).
    pub head: Option<Height>,
}

/// What every viewer is shown of an order at one instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderProgress {
    /// `pending`, `confirming`, `confirmed` or `expired`.
    pub status: OrderStatus,
    /// The deposit's confirmations.
    pub confirmations: Confirmations,
    /// Time left before a pending order expires (zero in every other status).
    pub expires_in: Duration,
}

impl OrderProgress {
    /// The one derivation of an order's status and confirmations.
    ///
    /// - A pending order past `expires_at` is `expired` (expiry is not stored).
    /// - Confirmations are the component's count (`counted`, from the deposit's block
    ///   and the chain's head) while the order waits for them; once it is confirmed they
    ///   are at least the number required, since the watcher confirmed it at that depth
    ///   (or at the chain's finality) even if the head it last stored lags.
    pub fn derive(record: &OrderRecord, counted: Option<u64>, now: UnixMillis) -> Self {
        let order = &record.order;
        let required = u64::from(order.required_confirmations);
        let count = counted.unwrap_or(0);
        let (status, count) = match record.status {
            OrderState::Confirmed => (OrderStatus::Confirmed, count.max(required)),
            OrderState::Confirming => (OrderStatus::Confirming, count),
            OrderState::Pending if now >= order.expires_at => (OrderStatus::Expired, count),
            OrderState::Pending => (OrderStatus::Pending, count),
        };
        Self {
            status,
            confirmations: Confirmations { count, required },
            expires_in: match status {
                OrderStatus::Pending => now.until(order.expires_at),
                _ => Duration::ZERO,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(status: OrderState, required: u32) -> OrderRecord {
        OrderRecord {
            order: NewOrder {
                ordersn: "cz-1".into(),
                appid: "shop".into(),
                orderid: "o-1".into(),
                username: "u".into(),
                localusermark: String::new(),
                address: "T…".into(),
                canonical_address: "T…".into(),
                chain: "TRC20".into(),
                amount: Amount(10_000),
                notify_url: None,
                required_confirmations: required,
                created_at: UnixMillis(1_000),
                expires_at: UnixMillis(61_000),
            },
            status,
            received_amount: Amount(0),
        }
    }

    #[test]
    fn a_pending_order_counts_down_then_expires() {
        let r = record(OrderState::Pending, 3);
        let before = OrderProgress::derive(&r, None, UnixMillis(31_000));
        assert_eq!(before.status, OrderStatus::Pending);
        assert_eq!(before.expires_in, Duration::from_secs(30));
        assert_eq!(
            before.confirmations,
            Confirmations {
                count: 0,
                required: 3
            }
        );
        let at = OrderProgress::derive(&r, None, UnixMillis(61_000));
        assert_eq!(at.status, OrderStatus::Expired);
        assert_eq!(at.expires_in, Duration::ZERO);
    }

    #[test]
    fn a_confirming_order_shows_the_count_and_never_expires() {
        let r = record(OrderState::Confirming, 3);
        let p = OrderProgress::derive(&r, Some(1), UnixMillis(999_000));
        assert_eq!(p.status, OrderStatus::Confirming);
        assert_eq!(
            p.confirmations,
            Confirmations {
                count: 1,
                required: 3
            }
        );
        assert_eq!(p.expires_in, Duration::ZERO);
    }

    #[test]
    fn a_confirmed_order_shows_at_least_the_required_count() {
        let r = record(OrderState::Confirmed, 3);
        let lagging = OrderProgress::derive(&r, Some(1), UnixMillis(0));
        assert_eq!(lagging.confirmations.count, 3);
        let deeper = OrderProgress::derive(&r, Some(7), UnixMillis(0));
        assert_eq!(deeper.confirmations.count, 7);
        assert_eq!(deeper.status, OrderStatus::Confirmed);
    }

    #[test]
    fn identical_retries_are_told_from_duplicates_by_the_signed_fields() {
        let a = record(OrderState::Pending, 1).order;
        let mut b = a.clone();
        b.ordersn = "cz-2".into();
        b.notify_url = Some("https://shop.example/cb".into());
        assert!(
            a.same_signed_fields(&b),
            "ordersn and notify_url are not signed"
        );
        b.amount = Amount(20_000);
        assert!(!a.same_signed_fields(&b));
        let mut negative = a.clone();
        negative.amount = Amount(-1);
        assert!(!negative.same_signed_fields(&negative.clone()));
    }
}
