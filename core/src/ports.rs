//! The ports: what the core needs from the world, as traits the adapters implement.
//! Storage is the `usdt-gateway-storage` crate (SQLite, PostgreSQL); the dispatcher's
//! wake-up is the gateway's; the clock is [`crate::clock::Clock`].

use std::future::Future;

use crate::delivery::ResendOutcome;
use crate::deposit::{AssignOutcome, DepositKey, DepositRecord};
use crate::ids::{AppId, OrderId, OrderSn};
use crate::order::OrderRecord;
use crate::states::DeliveryState;
use crate::units::{Height, UnixMillis};

/// A storage failure. Never the caller's mistake: front ends answer "unavailable, retry"
/// and nothing that was acknowledged is lost.
#[derive(Debug, thiserror::Error)]
#[error("storage: {0}")]
pub struct StorageError(pub Box<dyn std::error::Error + Send + Sync>);

/// What a storage call answers.
pub type Stored<T> = Result<T, StorageError>;

/// The orders, deposits, deliveries and chain cursors, durable. Every write is one
/// transaction, durable before the call returns.
pub trait Storage: Send + Sync {
    /// One order by the merchant's `(appid, orderid)`.
    fn find_order(
        &self,
        appid: &AppId,
        orderid: &OrderId,
    ) -> impl Future<Output = Stored<Option<OrderRecord>>> + Send;

    /// One order by the gateway's `ordersn`.
    fn order(&self, ordersn: &OrderSn) -> impl Future<Output = Stored<Option<OrderRecord>>> + Send;

    /// The deposit matched to an order (the live one: not orphaned), if any.
    fn order_deposit(
        &self,
        ordersn: &OrderSn,
    ) -> impl Future<Output = Stored<Option<DepositRecord>>> + Send;

    /// The chain's head as its watcher last stored it (`None`: never scanned).
    fn chain_head(&self, chain: &str) -> impl Future<Output = Stored<Option<Height>>> + Send;

    /// Where the order's callback delivery stands (`None`: no delivery yet).
    fn delivery_state(
        &self,
        ordersn: &OrderSn,
    ) -> impl Future<Output = Stored<Option<DeliveryState>>> + Send;

    /// Queue the order's delivery again, due `now`, with a fresh series of attempts —
    /// unless an attempt is in flight under a live lease.
    fn resend_delivery(
        &self,
        ordersn: &OrderSn,
        now: UnixMillis,
    ) -> impl Future<Output = Stored<ResendOutcome>> + Send;

    /// Give an unmatched, live deposit to a pending order on its chain and address, in
    /// one transaction: the order waits for the deposit's confirmations again.
    fn assign_deposit(
        &self,
        deposit: &DepositKey,
        ordersn: &OrderSn,
        now: UnixMillis,
    ) -> impl Future<Output = Stored<AssignOutcome>> + Send;
}

/// Wakes the background workers, so work queued now is done now rather than at their
/// next look (each also looks on its own at least once a second or a poll interval).
pub trait Wakeups: Send + Sync {
    /// Start a round of the callback dispatcher (a no-op where none runs in this
    /// process).
    fn wake_dispatcher(&self);

    /// Start a round of the watcher of `chain` (by its name, `TRC20` …).
    fn wake_watcher(&self, chain: &str);
}
