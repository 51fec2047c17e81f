//! The use cases over an in-memory storage, without SQL or HTTP: what each decides by
//! itself — the derived status a search keeps, the refusals of the intake, the resend's
//! wake-up — with the real rules component.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use usdt_gateway_core::address::{
    AllocateError, AllocatedAddress, Allocation, AllocationRequest, Derived, KnownAddress,
    RetireRequest, Retired, RetirementRecord,
};
use usdt_gateway_core::audit::Actor;
use usdt_gateway_core::chain::CursorRecord;
use usdt_gateway_core::clock::Clock;
use usdt_gateway_core::consistency::Violation;
use usdt_gateway_core::delivery::{AttemptView, CallbackRecord, ResendOutcome};
use usdt_gateway_core::deposit::{AssignOutcome, DepositKey, DepositRecord};
use usdt_gateway_core::ids::{AppId, OrderId, OrderSn};
use usdt_gateway_core::order::{CreateOutcome, NewOrder, OrderRecord};
use usdt_gateway_core::ports::{
    OrderPolicies, OrderSink, Storage, Stored, SubmitError, SubmitFuture, Wakeups,
};
use usdt_gateway_core::rules::{AcceptedOrder, Chain, OrderFields, OrderRequest, Rules};
use usdt_gateway_core::states::{DeliveryState, OrderState, OrderStatus};
use usdt_gateway_core::units::{Amount, Height, UnixMillis};
use usdt_gateway_core::usecases::OrderSearch;
use usdt_gateway_core::{Core, OrderIntake, Refusal};

/// The instant every test runs at.
const NOW: UnixMillis = UnixMillis(1_000_000);

/// A clock stopped at [`NOW`].
struct Stopped;

impl Clock for Stopped {
    fn now(&self) -> UnixMillis {
        NOW
    }
}

/// Counts the wake-ups.
#[derive(Default)]
struct Counted {
    dispatcher: AtomicUsize,
}

impl Wakeups for Counted {
    fn wake_dispatcher(&self) {
        self.dispatcher.fetch_add(1, Ordering::SeqCst);
    }

    fn wake_watcher(&self, _chain: &str) {}
}

/// Orders in memory, each delivery's resend outcome fixed, one allocation owner.
#[derive(Default)]
struct Memory {
    orders: Vec<OrderRecord>,
    resend: Option<ResendOutcome>,
    owner: Option<(AppId, String)>,
}

impl Storage for Memory {
    async fn find_order(&self, appid: &AppId, orderid: &OrderId) -> Stored<Option<OrderRecord>> {
        let found = self
            .orders
            .iter()
            .find(|r| &r.order.appid == appid && &r.order.orderid == orderid);
        Ok(found.cloned())
    }
    async fn order(&self, ordersn: &OrderSn) -> Stored<Option<OrderRecord>> {
        Ok(self
            .orders
            .iter()
            .find(|r| &r.order.ordersn == ordersn)
            .cloned())
    }
    async fn order_deposit(&self, _: &OrderSn) -> Stored<Option<DepositRecord>> {
        Ok(None)
    }
    async fn chain_head(&self, _: &str) -> Stored<Option<Height>> {
        Ok(None)
    }
    async fn delivery_state(&self, _: &OrderSn) -> Stored<Option<DeliveryState>> {
        Ok(None)
    }
    async fn resend_delivery(&self, _: &OrderSn, _: UnixMillis) -> Stored<ResendOutcome> {
        Ok(self.resend.unwrap_or(ResendOutcome::NoDelivery))
    }
    /// Every order, whatever the filter: the use case must keep the right ones.
    async fn search_orders(
        &self,
        _: &str,
        _: Option<OrderStatus>,
        _: UnixMillis,
        _: u32,
    ) -> Stored<Vec<OrderRecord>> {
        Ok(self.orders.clone())
    }
    async fn order_deposits(&self, _: &OrderSn) -> Stored<Vec<DepositRecord>> {
        Ok(Vec::new())
    }
    async fn unmatched_deposits(&self, _: u32) -> Stored<Vec<DepositRecord>> {
        Ok(Vec::new())
    }
    async fn deliveries(&self, _: Option<DeliveryState>, _: u32) -> Stored<Vec<CallbackRecord>> {
        Ok(Vec::new())
    }
    async fn delivery(&self, _: &OrderSn) -> Stored<Option<(CallbackRecord, Vec<AttemptView>)>> {
        Ok(None)
    }
    async fn chain_cursors(&self) -> Stored<Vec<CursorRecord>> {
        Ok(Vec::new())
    }
    async fn user_address(
        &self,
        _: &str,
        _: &str,
        _: &str,
        _: UnixMillis,
    ) -> Stored<Option<KnownAddress>> {
        Ok(None)
    }
    async fn allocate_address<E: Send>(
        &self,
        _: AllocationRequest<'_>,
        _: impl FnMut(u32) -> Result<Option<Derived>, E> + Send,
    ) -> Result<(AllocatedAddress, bool), AllocateError<E>> {
        Err(AllocateError::Exhausted)
    }
    async fn allocations(&self) -> Stored<Vec<Allocation>> {
        Ok(Vec::new())
    }
    async fn retire_idle(&self, _: RetireRequest<'_>) -> Stored<Vec<Retired>> {
        Ok(Vec::new())
    }
    async fn retirements(&self) -> Stored<Vec<RetirementRecord>> {
        Ok(Vec::new())
    }
    async fn check_consistency(&self) -> Stored<Vec<Violation>> {
        Ok(Vec::new())
    }
    async fn allocation_owner(&self, _: &str, _: &str) -> Stored<Option<(AppId, String)>> {
        Ok(self.owner.clone())
    }
    async fn assign_deposit(
        &self,
        _: &DepositKey,
        _: &OrderSn,
        _: UnixMillis,
    ) -> Stored<AssignOutcome> {
        Ok(AssignOutcome::NoDeposit)
    }
}

/// Answers every submission with one outcome, and keeps what was submitted.
struct Sink {
    outcome: fn(NewOrder) -> CreateOutcome,
    submitted: Mutex<Vec<NewOrder>>,
}

impl OrderSink for Sink {
    fn submit(&self, order: NewOrder) -> SubmitFuture<'_> {
        Box::pin(async move {
            if let Ok(mut submitted) = self.submitted.lock() {
                submitted.push(order.clone());
            }
            Ok::<_, SubmitError>((self.outcome)(order))
        })
    }
}

/// A policy refusing private targets and, for `allocated_only`, every merchant's
/// unallocated addresses.
struct Policy {
    allocated_only: bool,
}

impl OrderPolicies for Policy {
    fn check_notify_target(&self, url: &str) -> Result<(), String> {
        if url.contains("127.0.0.1") {
            Err("a loopback address".into())
        } else {
            Ok(())
        }
    }
    fn allocated_addresses_only(&self, _: &str) -> bool {
        self.allocated_only
    }
}

fn rules() -> Arc<Rules> {
    Rules::builtin(Default::default()).expect("the built-in component")
}

fn record(orderid: &str, status: OrderState, expires_at: i64) -> OrderRecord {
    OrderRecord {
        order: NewOrder {
            ordersn: format!("cz-{orderid}").into(),
            appid: "shop".into(),
            orderid: orderid.into(),
            username: "u".into(),
            localusermark: String::new(),
            address: "0xabc".into(),
            canonical_address: "0xabc".into(),
            chain: "ERC20".into(),
            amount: Amount(10_000),
            notify_url: None,
            required_confirmations: 1,
            created_at: UnixMillis(0),
            expires_at: UnixMillis(expires_at),
        },
        status,
        received_amount: Amount(0),
    }
}

fn core(storage: Memory, wakeups: Arc<Counted>) -> Core<Memory> {
    Core::new(storage, rules(), wakeups, Arc::new(Stopped))
}

#[tokio::test]
async fn a_search_keeps_only_the_orders_whose_derived_status_was_asked_for() {
    let storage = Memory {
        orders: vec![
            record("live", OrderState::Pending, NOW.0 + 1),
            record("late", OrderState::Pending, NOW.0),
            record("paid", OrderState::Confirmed, 0),
        ],
        ..Memory::default()
    };
    let core = core(storage, Arc::default());
    let search = |status| OrderSearch {
        text: String::new(),
        status,
        limit: 10,
    };
    let found = |listing: Vec<usdt_gateway_core::usecases::OrderListing>| {
        listing
            .into_iter()
            .map(|l| (l.record.order.orderid.into_string(), l.status))
            .collect::<Vec<_>>()
    };
    let expired = core
        .search_orders(&search(Some(OrderStatus::Expired)))
        .await
        .unwrap();
    assert_eq!(found(expired), [("late".to_owned(), OrderStatus::Expired)]);
    let pending = core
        .search_orders(&search(Some(OrderStatus::Pending)))
        .await
        .unwrap();
    assert_eq!(found(pending), [("live".to_owned(), OrderStatus::Pending)]);
    let all = core.search_orders(&search(None)).await.unwrap();
    assert_eq!(all.len(), 3);
}

#[tokio::test]
async fn a_resend_wakes_the_dispatcher_only_when_something_was_queued() {
    for (outcome, wakes) in [
        (ResendOutcome::Resent, 1),
        (ResendOutcome::InFlight, 0),
        (ResendOutcome::NoDelivery, 0),
    ] {
        let wakeups = Arc::new(Counted::default());
        let storage = Memory {
            resend: Some(outcome),
            ..Memory::default()
        };
        let core = core(storage, Arc::clone(&wakeups));
        let done = core
            .resend_delivery(&Actor::cli(), &"cz-1".into())
            .await
            .unwrap();
        assert_eq!(done, outcome);
        assert_eq!(
            wakeups.dispatcher.load(Ordering::SeqCst),
            wakes,
            "{outcome:?}"
        );
    }
}

fn accepted(notify_url: Option<&str>) -> AcceptedOrder {
    AcceptedOrder {
        order: OrderRequest {
            fields: OrderFields {
                appid: "shop".into(),
                username: "alice".into(),
                localusermark: "m".into(),
                address: "0xAbC".into(),
                orderid: "o-1".into(),
                amount: 12_345,
            },
            chain: Chain::Erc20,
            canonical_address: "0xabc".into(),
            notify_url: notify_url.map(str::to_owned),
            sign: "0".repeat(32),
        },
        required_confirmations: 3,
    }
}

fn intake_with(
    owner: Option<(AppId, String)>,
    allocated_only: bool,
    outcome: fn(NewOrder) -> CreateOutcome,
) -> (OrderIntake<Memory>, Arc<Sink>) {
    let sink = Arc::new(Sink {
        outcome,
        submitted: Mutex::new(Vec::new()),
    });
    let intake = OrderIntake::new(
        Memory {
            owner,
            ..Memory::default()
        },
        Arc::clone(&sink) as Arc<dyn OrderSink>,
        Arc::new(Policy { allocated_only }),
        Arc::new(Stopped),
        Duration::from_secs(60),
    );
    (intake, sink)
}

#[tokio::test]
async fn the_intake_numbers_stamps_and_stores_an_accepted_order() {
    let (intake, sink) = intake_with(None, false, CreateOutcome::Created);
    let placed = intake.place_order(accepted(None)).await.unwrap().unwrap();
    assert!(placed.ordersn.as_str().starts_with("cz-"), "{placed:?}");
    assert_eq!(placed.amount, Amount(12_345));
    assert_eq!(placed.required_confirmations, 3);
    assert_eq!(placed.created_at, NOW);
    assert_eq!(placed.expires_at, UnixMillis(NOW.0 + 60_000));
    assert_eq!(placed.canonical_address, "0xabc");
    assert_eq!(sink.submitted.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn the_intake_refuses_before_storing_and_maps_what_the_store_decided() {
    let (intake, sink) = intake_with(None, false, CreateOutcome::Created);
    let refused = intake
        .place_order(accepted(Some("http://127.0.0.1/cb")))
        .await
        .unwrap();
    assert!(
        matches!(refused, Err(Refusal::ForbiddenNotifyTarget(_))),
        "{refused:?}"
    );
    assert!(sink.submitted.lock().unwrap().is_empty(), "nothing stored");

    let (intake, sink) = intake_with(
        Some(("shop".into(), "bob".into())),
        true,
        CreateOutcome::Created,
    );
    let refused = intake.place_order(accepted(None)).await.unwrap();
    assert_eq!(refused, Err(Refusal::AddressNotAllocated));
    assert!(sink.submitted.lock().unwrap().is_empty(), "nothing stored");

    let (intake, _) = intake_with(
        Some(("shop".into(), "alice".into())),
        true,
        CreateOutcome::Created,
    );
    assert!(intake.place_order(accepted(None)).await.unwrap().is_ok());

    let (intake, _) = intake_with(None, false, |_| CreateOutcome::Duplicate);
    let refused = intake.place_order(accepted(None)).await.unwrap();
    assert_eq!(refused, Err(Refusal::DuplicateOrder));
    let (intake, _) = intake_with(None, false, |_| CreateOutcome::AddressBound);
    let refused = intake.place_order(accepted(None)).await.unwrap();
    assert_eq!(refused, Err(Refusal::AddressBoundToOtherUser));
}

#[tokio::test]
async fn fewer_than_30_idle_days_retire_nothing() {
    use usdt_gateway_core::usecases::{RetireRefusal, Retirement};
    let core = core(Memory::default(), Arc::default());
    let retirement = |days: u64| Retirement {
        idle_for: Duration::from_secs(days * 86_400),
        chain: None,
        appid: None,
        dry_run: true,
    };
    let early = core
        .retire_idle_addresses(&Actor::cli(), &retirement(29))
        .await;
    assert_eq!(early.unwrap(), Err(RetireRefusal::TooRecent));
    let due = core
        .retire_idle_addresses(&Actor::cli(), &retirement(30))
        .await;
    assert_eq!(due.unwrap(), Ok(Vec::new()));
}
