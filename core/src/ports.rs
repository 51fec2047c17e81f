//! The ports: what the core needs from the world, as traits the adapters implement.
//! Storage is the `usdt-gateway-storage` crate (SQLite, PostgreSQL); the order sink (the
//! group-commit writer), the policies and the workers' wake-ups are the gateway's; the
//! clock is [`crate::clock::Clock`].

use std::future::Future;
use std::pin::Pin;

use crate::address::{
    AddressLimits, AllocateError, AllocatedAddress, Allocation, AllocationRequest, Derived,
    KnownAddress, RetireRequest, Retired, RetirementRecord,
};
use crate::chain::CursorRecord;
use crate::consistency::Violation;
use crate::delivery::{AttemptView, CallbackRecord, ResendOutcome};
use crate::deposit::{AssignOutcome, DepositKey, DepositRecord};
use crate::ids::{AppId, OrderId, OrderSn};
use crate::order::{CreateOutcome, NewOrder, OrderRecord};
use crate::states::{DeliveryState, OrderStatus};
use crate::units::{Height, UnixMillis};

pub use crate::fault::{StorageError, Stored};

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

    /// Orders, newest first, at most `limit`: `text` (when not empty) equals the
    /// orderid, ordersn, address (as sent or canonical) or username; `status` (when
    /// given) is the status [`crate::order::OrderProgress::derive`] shows at `now` — a
    /// pending order is `expired` from its `expires_at` on.
    fn search_orders(
        &self,
        text: &str,
        status: Option<OrderStatus>,
        now: UnixMillis,
        limit: u32,
    ) -> impl Future<Output = Stored<Vec<OrderRecord>>> + Send;

    /// Every deposit ever credited to an order, orphaned ones too, oldest first.
    fn order_deposits(
        &self,
        ordersn: &OrderSn,
    ) -> impl Future<Output = Stored<Vec<DepositRecord>>> + Send;

    /// Deposits no order took (live ones), newest first, at most `limit`.
    fn unmatched_deposits(
        &self,
        limit: u32,
    ) -> impl Future<Output = Stored<Vec<DepositRecord>>> + Send;

    /// Deliveries in `state` (any when `None`), oldest first, at most `limit`.
    fn deliveries(
        &self,
        state: Option<DeliveryState>,
        limit: u32,
    ) -> impl Future<Output = Stored<Vec<CallbackRecord>>> + Send;

    /// One order's delivery with its attempts, oldest first.
    fn delivery(
        &self,
        ordersn: &OrderSn,
    ) -> impl Future<Output = Stored<Option<(CallbackRecord, Vec<AttemptView>)>>> + Send;

    /// Every chain watcher's cursor.
    fn chain_cursors(&self) -> impl Future<Output = Stored<Vec<CursorRecord>>> + Send;

    /// The address allocated to `username` of `appid` on `chain`, if any, and whether
    /// answering it at `now` changes nothing (read without a write transaction).
    fn user_address(
        &self,
        appid: &str,
        chain: &str,
        username: &str,
        now: UnixMillis,
    ) -> impl Future<Output = Stored<Option<KnownAddress>>> + Send;

    /// The user's address: the one allocated before (revived if retired), or a new one
    /// at the next free index, derived by `derive` (`Ok(None)`: no address at this
    /// index, take the next), committed with its binding before the answer; whether
    /// the watchers have an address to read (new or revived).
    fn allocate_address<E: Send>(
        &self,
        request: AllocationRequest<'_>,
        derive: impl FnMut(u32) -> Result<Option<Derived>, E> + Send,
    ) -> impl Future<Output = Result<(AllocatedAddress, bool), AllocateError<E>>> + Send;

    /// Every allocation, by merchant, chain and index.
    fn allocations(&self) -> impl Future<Output = Stored<Vec<Allocation>>> + Send;

    /// Retire the addresses idle as `request` says (with `dry_run`, list them only):
    /// they are no longer watched until an order, an allocation or a deposit revives
    /// them. Each retirement is kept in the trail.
    fn retire_idle(
        &self,
        request: RetireRequest<'_>,
    ) -> impl Future<Output = Stored<Vec<Retired>>> + Send;

    /// The retirements' trail.
    fn retirements(&self) -> impl Future<Output = Stored<Vec<RetirementRecord>>> + Send;

    /// Every disagreement of the money state, by order.
    fn check_consistency(&self) -> impl Future<Output = Stored<Vec<Violation>>> + Send;

    /// The merchant and user an address was allocated to (`None`: not an allocated
    /// address).
    fn allocation_owner(
        &self,
        chain: &str,
        canonical_address: &str,
    ) -> impl Future<Output = Stored<Option<(AppId, String)>>> + Send;

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

/// Why an order could not be stored. Nothing was acknowledged; the client may retry.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// More orders are waiting than the database keeps up with: refused at once.
    #[error("the order queue is full")]
    Overloaded,
    /// The storage failed, or the gateway is stopping.
    #[error(transparent)]
    Unavailable(#[from] StorageError),
}

/// A boxed future of an [`OrderSink`] (the sink is shared as a trait object).
pub type SubmitFuture<'a> =
    Pin<Box<dyn Future<Output = Result<CreateOutcome, SubmitError>> + Send + 'a>>;

/// Where accepted orders are stored: the gateway's group-commit writer (one transaction
/// per batch of concurrent orders). Answers after the commit.
pub trait OrderSink: Send + Sync {
    /// Store `order`, or find the identical one stored before.
    fn submit(&self, order: NewOrder) -> SubmitFuture<'_>;
}

/// The operator's policies an order must meet beyond the protocol's rules.
pub trait OrderPolicies: Send + Sync {
    /// Whether a callback may be sent to `url` (the network policy: no private or
    /// loopback targets unless allowed). `Err` says why not.
    fn check_notify_target(&self, url: &str) -> Result<(), String>;

    /// Whether merchant `appid` takes orders only on addresses allocated to the user.
    fn allocated_addresses_only(&self, appid: &str) -> bool;
}

/// The merchants' account keys and allocation limits.
pub trait AccountKeys: Send + Sync {
    /// Merchant `appid`'s account key (xpub) for `chain` and its limits (`None`: no key
    /// for the chain).
    fn account_key(&self, appid: &str, chain: &str) -> Option<(String, AddressLimits)>;

    /// Take one new allocation from `appid`'s bucket; `Err` with the time until the
    /// next one may go.
    fn take_allocation(
        &self,
        appid: &str,
        limits: AddressLimits,
    ) -> Result<(), std::time::Duration>;
}
