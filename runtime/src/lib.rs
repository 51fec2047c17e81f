//! `usdt-recharge-runtime`: the protocol rules of `usdt:recharge@2.2.0`, run in the
//! sandboxed component, for any Rust program to embed (the gateway, a merchant's
//! receiver, tests, benchmarks). No HTTP, database or CLI dependency: wasmtime and the
//! component built from `guest/`.
//!
//! The component is compiled once; instances come from an [`InstancePre`] backed by the
//! pooling allocator, each in a cheap [`Store`] with memory caps
//! ([`StoreLimits`](wasmtime::StoreLimits)) and an epoch deadline, so a faulty build of
//! the rules can neither hang nor bloat the host. Instances are reused through a bounded
//! pool; one whose call trapped is thrown away. [`Rules::stats`] counts calls and faults.
//!
//! Calls are synchronous and short (microseconds; see `benches/`). The call deadline
//! bounds the worst case; an async program gives a [`RulesLimits::call_guard`] (e.g.
//! tokio's `block_in_place`) so that such a call does not hold its runtime's worker:
//! a call runs in place for at most [`RulesLimits::guard_after`], then, interrupted,
//! again from the start through the guard.
//!
//! A component built against 2.0.0 or 2.1.0 loads too; the functions added since then
//! fail with a [`RulesFault`] saying so (see [`Rules::version`]).

mod bindings;
mod stats;

use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;

use wasmtime::component::{Component, InstancePre, Linker, ResourceAny};
use wasmtime::error::Context;
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig, Result, Store,
    StoreLimitsBuilder,
};

use stats::{Counters, FaultKind, Limiter};

use bindings::exports::usdt::recharge::{
    addresses, amounts, callbacks, confirmations, derivation, gateway, orders, protocol, signing,
};

pub use bindings::exports::usdt::recharge::addresses::AddressInfo;
pub use bindings::exports::usdt::recharge::amounts::ChainAmount;
pub use bindings::exports::usdt::recharge::callbacks::Callback;
pub use bindings::exports::usdt::recharge::confirmations::{
    ConfirmationPolicy, ConfirmationRule, DepositState,
};
pub use bindings::exports::usdt::recharge::derivation::{
    AddressRequest, DerivationError, DerivationErrorCode, DerivedAddress, XpubInfo,
};
pub use bindings::exports::usdt::recharge::gateway::{AcceptedOrder, Merchant, OrderQuery};
use bindings::exports::usdt::recharge::orders::MerchantKey;
pub use bindings::exports::usdt::recharge::orders::{Date, OrderRequest, OrderidParts};
pub use bindings::exports::usdt::recharge::protocol::{ChainFacts, ProtocolFacts};
pub use bindings::exports::usdt::recharge::signing::{CallbackFields, OrderFields};
pub use bindings::exports::usdt::recharge::types::{Chain, ErrorCode, Rejection};
pub use stats::RulesStats;

/// Limits for each instance of the component.
#[derive(Clone, Debug)]
pub struct RulesLimits {
    /// Largest linear memory of one instance.
    pub max_memory_bytes: usize,
    /// How long one call may run before it is interrupted (epoch granularity 1 ms).
    pub call_timeout: Duration,
    /// Idle instances kept for reuse; more are created under load and dropped after.
    pub max_idle_instances: usize,
    /// Instances that may exist at once (the pooling allocator's slots).
    pub max_instances: u32,
    /// Runs each component call that outlasts [`RulesLimits::guard_after`], which it
    /// must call exactly once: for example inside tokio's `block_in_place`, so that a
    /// call running to its deadline does not hold an async runtime's worker and the
    /// tasks queued on it. `None`: calls run in place.
    pub call_guard: Option<CallGuard>,
    /// With a [`RulesLimits::call_guard`]: how long a call first runs in place (rounded
    /// up to the 1 ms epoch tick, plus at most one tick). A call still running then is
    /// interrupted, its instance thrown away, and the call made again from the start
    /// through the guard, with the whole `call_timeout`. Calls are pure (the component
    /// imports nothing), so making one twice changes nothing. Zero: every call goes
    /// through the guard.
    pub guard_after: Duration,
}

/// A function that runs a component call (see [`RulesLimits::call_guard`]).
pub type CallGuard = fn(&mut dyn FnMut());

impl Default for RulesLimits {
    fn default() -> Self {
        Self {
            max_memory_bytes: 16 << 20,
            call_timeout: Duration::from_millis(100),
            max_idle_instances: 64,
            max_instances: 256,
            call_guard: None,
            guard_after: Duration::from_millis(1),
        }
    }
}

/// Core instances one component instance may hold (the guest module and the small shim
/// modules `wit-component` adds, e.g. for resource destructors).
const CORE_INSTANCES_PER_COMPONENT: u32 = 8;

/// Epoch ticks per second: the granularity of the call deadline.
const EPOCH_TICK: Duration = Duration::from_millis(1);

/// Whole epoch ticks in `duration`.
fn ticks(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis() / EPOCH_TICK.as_millis()).unwrap_or(u64::MAX)
}

/// The version of the `usdt:recharge` contract a component exports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ContractVersion {
    /// `usdt:recharge@2.0.0`: no `protocol` or `gateway` interface.
    V2_0,
    /// `usdt:recharge@2.1.0`: no `derivation` interface.
    V2_1,
    /// `usdt:recharge@2.2.0`: every interface.
    V2_2,
}

impl std::fmt::Display for ContractVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::V2_0 => "usdt:recharge@2.0.0",
            Self::V2_1 => "usdt:recharge@2.1.0",
            Self::V2_2 => "usdt:recharge@2.2.0",
        })
    }
}

/// Where each exported function is, found once per component.
struct Indices {
    amounts: amounts::GuestIndices,
    signing: signing::GuestIndices,
    orders: orders::GuestIndices,
    callbacks: callbacks::GuestIndices,
    addresses: addresses::GuestIndices,
    confirmations: confirmations::GuestIndices,
    /// Since 2.1.0: both or neither.
    v2_1: Option<(protocol::GuestIndices, gateway::GuestIndices)>,
    /// Since 2.2.0 (only with `v2_1`).
    v2_2: Option<derivation::GuestIndices>,
}

impl Indices {
    fn new(pre: &InstancePre<Limiter>) -> Result<Self> {
        let v2_1 = match (
            protocol::GuestIndices::new(pre),
            gateway::GuestIndices::new(pre),
        ) {
            (Ok(p), Ok(g)) => Some((p, g)),
            _ => None,
        };
        let v2_2 = v2_1
            .as_ref()
            .and_then(|_| derivation::GuestIndices::new(pre).ok());
        Ok(Self {
            amounts: amounts::GuestIndices::new(pre)?,
            signing: signing::GuestIndices::new(pre)?,
            orders: orders::GuestIndices::new(pre)?,
            callbacks: callbacks::GuestIndices::new(pre)?,
            addresses: addresses::GuestIndices::new(pre)?,
            confirmations: confirmations::GuestIndices::new(pre)?,
            v2_1,
            v2_2,
        })
    }
}

/// The exported functions of one instance.
struct Exports {
    amounts: amounts::Guest,
    signing: signing::Guest,
    orders: orders::Guest,
    callbacks: callbacks::Guest,
    addresses: addresses::Guest,
    confirmations: confirmations::Guest,
    protocol: Option<protocol::Guest>,
    gateway: Option<gateway::Guest>,
    derivation: Option<derivation::Guest>,
}

/// One live instance and the store it runs in.
struct Instance {
    store: Store<Limiter>,
    exports: Exports,
    /// This instance's 2.0 `merchant-keyring` and the generation of the merchants it holds.
    keyring: Option<(u64, ResourceAny)>,
    /// This instance's 2.1 `gateway.keyring` and the generation of the keyring it holds.
    gateway_keyring: Option<(u64, ResourceAny)>,
}

/// The merchants' secrets as last set, numbered so instances notice a change.
struct Merchants {
    generation: u64,
    keys: Vec<MerchantKey>,
}

/// The merchants and the policy of the 2.1 keyring as last set, numbered likewise.
struct GatewayKeyring {
    generation: u64,
    merchants: Vec<Merchant>,
    policy: ConfirmationPolicy,
}

/// The protocol rules: a compiled component and a pool of ready instances.
pub struct Rules {
    engine: Engine,
    pre: InstancePre<Limiter>,
    indices: Indices,
    limits: RulesLimits,
    idle: Mutex<Vec<Instance>>,
    merchants: RwLock<Arc<Merchants>>,
    gateway_keyring: RwLock<Arc<GatewayKeyring>>,
    counters: Counters,
}

impl std::fmt::Debug for Rules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rules")
            .field("version", &self.version())
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// The call failed inside the component (a trap, the deadline, a memory cap), or the
/// component lacks the function (a 2.0.0 build asked for a 2.1.0 function). A trapped
/// instance was discarded; the input was not judged.
#[derive(Debug)]
pub struct RulesFault(wasmtime::Error);

impl std::fmt::Display for RulesFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the rules component failed: {:#}", self.0)
    }
}

impl std::error::Error for RulesFault {}

/// The error of a 2.1.0 function called on a 2.0.0 component.
fn needs_2_1(what: &str) -> wasmtime::Error {
    wasmtime::format_err!("`{what}` needs a usdt:recharge@2.1.0 component; this one is 2.0.0")
}

/// The error of a 2.2.0 function called on an older component.
fn needs_2_2(what: &str) -> wasmtime::Error {
    wasmtime::format_err!(
        "`{what}` needs a usdt:recharge@2.2.0 component; this one is older (no `derivation`)"
    )
}

impl Rules {
    /// The component this workspace builds, embedded in the binary.
    pub fn builtin(limits: RulesLimits) -> Result<Arc<Self>> {
        Self::from_bytes(usdt_recharge_component::COMPONENT, limits)
    }

    /// A component build read from `path` (an operator rolling out new rules without
    /// rebuilding the host).
    pub fn from_file(path: &std::path::Path, limits: RulesLimits) -> Result<Arc<Self>> {
        let bytes = std::fs::read(path)
            .with_context(|| format!("reading the component {}", path.display()))?;
        Self::from_bytes(&bytes, limits)
    }

    /// Compile a component from its bytes and prepare instantiation. The linker is empty:
    /// a component that imports anything is refused here. It must export
    /// `usdt:recharge@2.2.0`, `@2.1.0` or `@2.0.0` (then the newer functions fail).
    pub fn from_bytes(bytes: &[u8], limits: RulesLimits) -> Result<Arc<Self>> {
        let mut pooling = PoolingAllocationConfig::default();
        pooling
            .total_component_instances(limits.max_instances)
            .total_core_instances(limits.max_instances * CORE_INSTANCES_PER_COMPONENT)
            .total_memories(limits.max_instances * CORE_INSTANCES_PER_COMPONENT)
            .total_tables(limits.max_instances * CORE_INSTANCES_PER_COMPONENT)
            .max_memory_size(limits.max_memory_bytes);
        let mut config = Config::new();
        config
            .cranelift_opt_level(OptLevel::Speed)
            .epoch_interruption(true)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
        let engine = Engine::new(&config)?;
        let component = Component::new(&engine, bytes).context("compiling the component")?;
        let linker = Linker::<Limiter>::new(&engine);
        let pre = linker
            .instantiate_pre(&component)
            .context("the component must import nothing")?;
        let indices = Indices::new(&pre)
            .context("the component must export usdt:recharge/recharge@2.2.0, @2.1.0 or @2.0.0")?;
        let empty = ConfirmationPolicy {
            base: ConfirmationRule {
                default_required: 1,
                large_amount: 0,
                large_required: 1,
            },
            overrides: Vec::new(),
        };
        let rules = Arc::new(Self {
            engine,
            pre,
            indices,
            limits,
            idle: Mutex::new(Vec::new()),
            merchants: RwLock::new(Arc::new(Merchants {
                generation: 0,
                keys: Vec::new(),
            })),
            gateway_keyring: RwLock::new(Arc::new(GatewayKeyring {
                generation: 0,
                merchants: Vec::new(),
                policy: empty,
            })),
            counters: Counters::default(),
        });
        spawn_epoch_ticker(Arc::downgrade(&rules));
        Ok(rules)
    }

    /// The contract version the component exports.
    pub fn version(&self) -> ContractVersion {
        match (&self.indices.v2_1, &self.indices.v2_2) {
            (Some(_), Some(_)) => ContractVersion::V2_2,
            (Some(_), None) => ContractVersion::V2_1,
            (None, _) => ContractVersion::V2_0,
        }
    }

    /// Calls and faults so far, and the idle instances now.
    pub fn stats(&self) -> RulesStats {
        let idle = self.idle.lock().map_or(0, |idle| idle.len());
        self.counters.snapshot(idle)
    }

    /// The call timeout in epoch ticks (at least one).
    fn deadline_ticks(&self) -> u64 {
        ticks(self.limits.call_timeout).max(1)
    }

    /// The in-place budget of a guarded call in epoch ticks: the next tick may come at
    /// once, so one more than `guard_after` holds.
    fn in_place_ticks(&self) -> u64 {
        ticks(
            self.limits
                .guard_after
                .saturating_add(EPOCH_TICK - Duration::from_nanos(1)),
        )
        .saturating_add(1)
    }

    fn instantiate(&self) -> Result<Instance> {
        let limits = StoreLimitsBuilder::new()
            .memory_size(self.limits.max_memory_bytes)
            .instances(CORE_INSTANCES_PER_COMPONENT as usize)
            .trap_on_grow_failure(true)
            .build();
        let mut store = Store::new(&self.engine, Limiter::new(limits));
        store.limiter(|l| l);
        store.set_epoch_deadline(self.deadline_ticks());
        let instance = self.pre.instantiate(&mut store)?;
        let i = &self.indices;
        let (protocol, gateway) = match &i.v2_1 {
            Some((p, g)) => (
                Some(p.load(&mut store, &instance)?),
                Some(g.load(&mut store, &instance)?),
            ),
            None => (None, None),
        };
        let derivation = match &i.v2_2 {
            Some(d) => Some(d.load(&mut store, &instance)?),
            None => None,
        };
        let exports = Exports {
            amounts: i.amounts.load(&mut store, &instance)?,
            signing: i.signing.load(&mut store, &instance)?,
            orders: i.orders.load(&mut store, &instance)?,
            callbacks: i.callbacks.load(&mut store, &instance)?,
            addresses: i.addresses.load(&mut store, &instance)?,
            confirmations: i.confirmations.load(&mut store, &instance)?,
            protocol,
            gateway,
            derivation,
        };
        Ok(Instance {
            store,
            exports,
            keyring: None,
            gateway_keyring: None,
        })
    }

    /// Run `f` on a pooled instance. A failed call discards the instance.
    fn call<R>(
        &self,
        mut f: impl FnMut(&Exports, &mut Store<Limiter>) -> Result<R>,
    ) -> Result<R, RulesFault> {
        self.with_instance(|i| f(&i.exports, &mut i.store))
    }

    /// Run `f` on the `protocol` interface of a pooled instance (2.1.0).
    fn call_protocol<R>(
        &self,
        what: &str,
        mut f: impl FnMut(&protocol::Guest, &mut Store<Limiter>) -> Result<R>,
    ) -> Result<R, RulesFault> {
        if self.indices.v2_1.is_none() {
            return Err(RulesFault(needs_2_1(what)));
        }
        self.with_instance(|i| match &i.exports.protocol {
            Some(p) => f(p, &mut i.store),
            None => Err(needs_2_1(what)),
        })
    }

    /// Run `f` on a pooled instance. A failed call discards the instance. With a call
    /// guard, `f` runs in place first and again through the guard if it outlasts
    /// [`RulesLimits::guard_after`] (see there).
    fn with_instance<R>(
        &self,
        mut f: impl FnMut(&mut Instance) -> Result<R>,
    ) -> Result<R, RulesFault> {
        self.counters.call();
        let Some(guard) = self.limits.call_guard else {
            return self
                .run_once(self.deadline_ticks(), &mut f)
                .map_err(|e| self.fault(e));
        };
        if !self.limits.guard_after.is_zero() {
            match self.run_once(self.in_place_ticks(), &mut f) {
                Err((FaultKind::Deadline, _)) => self.counters.rerun_in_guard(),
                done => return done.map_err(|e| self.fault(e)),
            }
        }
        let mut out = None;
        guard(&mut || out = Some(self.run_once(self.deadline_ticks(), &mut f)));
        let not_run = || wasmtime::format_err!("the call guard did not run the call");
        out.unwrap_or_else(|| Err((FaultKind::Other, not_run())))
            .map_err(|e| self.fault(e))
    }

    /// Run `f` once on a pooled instance (a new one if none is idle) with a deadline of
    /// `ticks`. A failed call discards the instance; its error comes with its kind.
    fn run_once<R>(
        &self,
        ticks: u64,
        f: &mut impl FnMut(&mut Instance) -> Result<R>,
    ) -> Result<R, (FaultKind, wasmtime::Error)> {
        let pooled = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let mut instance = match pooled {
            Some(instance) => instance,
            None => self.instantiate().map_err(|e| (FaultKind::Other, e))?,
        };
        instance.store.set_epoch_deadline(ticks);
        instance.store.data_mut().reset();
        let out = f(&mut instance).map_err(|e| {
            let kind = FaultKind::of(&e, instance.store.data().memory_refused());
            (kind, e)
        })?;
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < self.limits.max_idle_instances
        {
            idle.push(instance);
        }
        Ok(out)
    }

    /// Count a failed call under its kind.
    fn fault(&self, (kind, error): (FaultKind, wasmtime::Error)) -> RulesFault {
        self.counters.fault(kind);
        RulesFault(error)
    }

    /// `amounts.parse-usdt`.
    pub fn parse_usdt(&self, text: &str) -> Result<Result<u64, Rejection>, RulesFault> {
        self.call(|r, s| r.amounts.call_parse_usdt(s, text))
    }

    /// `amounts.format-usdt`.
    pub fn format_usdt(&self, amount: u64) -> Result<String, RulesFault> {
        self.call(|r, s| r.amounts.call_format_usdt(s, amount))
    }

    /// `amounts.from-chain-units`.
    pub fn from_chain_units(
        &self,
        value: &str,
        decimals: u8,
    ) -> Result<Result<ChainAmount, Rejection>, RulesFault> {
        self.call(|r, s| r.amounts.call_from_chain_units(s, value, decimals))
    }

    /// `signing.order-sign`.
    pub fn order_sign(&self, fields: &OrderFields, secret: &str) -> Result<String, RulesFault> {
        self.call(|r, s| r.signing.call_order_sign(s, fields, secret))
    }

    /// `signing.verify-order-sign`.
    pub fn verify_order_sign(
        &self,
        fields: &OrderFields,
        secret: &str,
        sign: &str,
    ) -> Result<Result<(), Rejection>, RulesFault> {
        self.call(|r, s| r.signing.call_verify_order_sign(s, fields, secret, sign))
    }

    /// `signing.callback-sign`.
    pub fn callback_sign(
        &self,
        fields: &CallbackFields,
        secret: &str,
    ) -> Result<String, RulesFault> {
        self.call(|r, s| r.signing.call_callback_sign(s, fields, secret))
    }

    /// `signing.verify-callback-sign`.
    pub fn verify_callback_sign(
        &self,
        fields: &CallbackFields,
        secret: &str,
        sign: &str,
    ) -> Result<Result<(), Rejection>, RulesFault> {
        self.call(|r, s| r.signing.call_verify_callback_sign(s, fields, secret, sign))
    }

    /// `signing.query-sign`.
    pub fn query_sign(
        &self,
        appid: &str,
        orderid: &str,
        secret: &str,
    ) -> Result<String, RulesFault> {
        self.call(|r, s| r.signing.call_query_sign(s, appid, orderid, secret))
    }

    /// `signing.verify-query-sign`.
    pub fn verify_query_sign(
        &self,
        appid: &str,
        orderid: &str,
        secret: &str,
        sign: &str,
    ) -> Result<Result<(), Rejection>, RulesFault> {
        self.call(|r, s| {
            r.signing
                .call_verify_query_sign(s, appid, orderid, secret, sign)
        })
    }

    /// `signing.build-callback-body`.
    pub fn build_callback_body(
        &self,
        fields: &CallbackFields,
        secret: &str,
    ) -> Result<Result<String, Rejection>, RulesFault> {
        self.call(|r, s| r.signing.call_build_callback_body(s, fields, secret))
    }

    /// `orders.parse-order`.
    pub fn parse_order(
        &self,
        body: &str,
    ) -> Result<Result<OrderRequest, Vec<Rejection>>, RulesFault> {
        self.call(|r, s| r.orders.call_parse_order(s, body))
    }

    /// `orders.verify-order`.
    pub fn verify_order(
        &self,
        order: &OrderRequest,
        secret: &str,
    ) -> Result<Result<(), Rejection>, RulesFault> {
        self.call(|r, s| r.orders.call_verify_order(s, order, secret))
    }

    /// Replace the merchants whose orders [`Rules::check_order`] (the 2.0.0 keyring)
    /// accepts: `(appid, secret)` pairs. Each instance loads them on its next use.
    pub fn set_merchants(&self, keys: Vec<(String, String)>) {
        if let Ok(mut merchants) = self.merchants.write() {
            let generation = merchants.generation + 1;
            let keys = keys
                .into_iter()
                .map(|(appid, secret)| MerchantKey { appid, secret })
                .collect();
            *merchants = Arc::new(Merchants { generation, keys });
        }
    }

    /// `merchant-keyring.check-order` with the merchants of [`Rules::set_merchants`]:
    /// parse, find the merchant, verify the sign, in one call into the component.
    pub fn check_order(
        &self,
        body: &str,
    ) -> Result<Result<OrderRequest, Vec<Rejection>>, RulesFault> {
        let merchants = self
            .merchants
            .read()
            .map(|m| Arc::clone(&m))
            .map_err(|_| RulesFault(wasmtime::format_err!("merchant table poisoned")))?;
        self.with_instance(|i| {
            let keyrings = i.exports.orders.merchant_keyring();
            let keyring = match i.keyring {
                Some((generation, keyring)) if generation == merchants.generation => keyring,
                stale => {
                    if let Some((_, old)) = stale {
                        old.resource_drop(&mut i.store)?;
                    }
                    let keyring = keyrings.call_constructor(&mut i.store, &merchants.keys)?;
                    i.keyring = Some((merchants.generation, keyring));
                    keyring
                }
            };
            keyrings.call_check_order(&mut i.store, keyring, body)
        })
    }

    /// Replace the merchants (with their next secrets during a rotation) and the
    /// confirmation policy of the 2.1.0 `gateway.keyring` used by
    /// [`Rules::accept_order`] and [`Rules::check_query`]. Each instance loads them on
    /// its next use. The policy should have passed [`Rules::validate_policy`].
    pub fn set_keyring(&self, merchants: Vec<Merchant>, policy: ConfirmationPolicy) {
        if let Ok(mut keyring) = self.gateway_keyring.write() {
            let generation = keyring.generation + 1;
            *keyring = Arc::new(GatewayKeyring {
                generation,
                merchants,
                policy,
            });
        }
    }

    /// Run `f` with this instance's exports and its `gateway.keyring`, rebuilt when
    /// [`Rules::set_keyring`] changed it.
    fn with_gateway_keyring<R>(
        &self,
        what: &str,
        mut f: impl FnMut(&Exports, &mut Store<Limiter>, ResourceAny) -> Result<R>,
    ) -> Result<R, RulesFault> {
        if self.indices.v2_1.is_none() {
            return Err(RulesFault(needs_2_1(what)));
        }
        let current = self
            .gateway_keyring
            .read()
            .map(|k| Arc::clone(&k))
            .map_err(|_| RulesFault(wasmtime::format_err!("keyring poisoned")))?;
        self.with_instance(|i| {
            let Some(gateway) = &i.exports.gateway else {
                return Err(needs_2_1(what));
            };
            let keyrings = gateway.keyring();
            let keyring = match i.gateway_keyring {
                Some((generation, keyring)) if generation == current.generation => keyring,
                stale => {
                    if let Some((_, old)) = stale {
                        old.resource_drop(&mut i.store)?;
                    }
                    let keyring = keyrings.call_constructor(
                        &mut i.store,
                        &current.merchants,
                        &current.policy,
                    )?;
                    i.gateway_keyring = Some((current.generation, keyring));
                    keyring
                }
            };
            f(&i.exports, &mut i.store, keyring)
        })
    }

    /// The `gateway` interface of exports loaded for a 2.1.0 component or later.
    fn gateway_of<'e>(exports: &'e Exports, what: &str) -> Result<&'e gateway::Guest> {
        exports.gateway.as_ref().ok_or_else(|| needs_2_1(what))
    }

    /// `gateway.keyring.accept-order` (2.1.0) with the keyring of
    /// [`Rules::set_keyring`]: parse, find the merchant, verify the sign (current or next
    /// secret) and add the required confirmations, in one call into the component.
    pub fn accept_order(
        &self,
        body: &str,
    ) -> Result<Result<AcceptedOrder, Vec<Rejection>>, RulesFault> {
        self.with_gateway_keyring("accept-order", |e, s, keyring| {
            Self::gateway_of(e, "accept-order")?
                .keyring()
                .call_accept_order(s, keyring, body)
        })
    }

    /// `gateway.keyring.check-query` (2.1.0) with the keyring of [`Rules::set_keyring`]:
    /// parse the query and verify its sign (current or next secret) in one call.
    pub fn check_query(
        &self,
        body: &str,
    ) -> Result<Result<OrderQuery, Vec<Rejection>>, RulesFault> {
        self.with_gateway_keyring("check-query", |e, s, keyring| {
            Self::gateway_of(e, "check-query")?
                .keyring()
                .call_check_query(s, keyring, body)
        })
    }

    /// `gateway.parse-query` (2.1.0).
    pub fn parse_query(
        &self,
        body: &str,
    ) -> Result<Result<OrderQuery, Vec<Rejection>>, RulesFault> {
        if self.indices.v2_1.is_none() {
            return Err(RulesFault(needs_2_1("parse-query")));
        }
        self.with_instance(|i| match &i.exports.gateway {
            Some(g) => g.call_parse_query(&mut i.store, body),
            None => Err(needs_2_1("parse-query")),
        })
    }

    /// `protocol.facts` (2.1.0): the callback window, the retry limit, the scale, the
    /// largest order amount, the most token decimals.
    pub fn facts(&self) -> Result<ProtocolFacts, RulesFault> {
        self.call_protocol("facts", |p, s| p.call_facts(s))
    }

    /// `protocol.chains` (2.1.0): every chain with its wire name and USDT decimals.
    pub fn chains(&self) -> Result<Vec<ChainFacts>, RulesFault> {
        self.call_protocol("chains", |p, s| p.call_chains(s))
    }

    /// `protocol.parse-chain` (2.1.0).
    pub fn parse_chain(&self, name: &str) -> Result<Result<Chain, Rejection>, RulesFault> {
        self.call_protocol("parse-chain", |p, s| p.call_parse_chain(s, name))
    }

    /// `protocol.validate-notify-url` (2.1.0).
    pub fn validate_notify_url(&self, url: &str) -> Result<Result<(), Rejection>, RulesFault> {
        self.call_protocol("validate-notify-url", |p, s| {
            p.call_validate_notify_url(s, url)
        })
    }

    /// `protocol.validate-token-decimals` (2.1.0).
    pub fn validate_token_decimals(
        &self,
        decimals: u8,
    ) -> Result<Result<(), Rejection>, RulesFault> {
        self.call_protocol("validate-token-decimals", |p, s| {
            p.call_validate_token_decimals(s, decimals)
        })
    }

    /// `protocol.to-chain-units` (2.1.0): scaled units to the token's base units, as
    /// decimal integer text.
    pub fn to_chain_units(
        &self,
        amount: u64,
        decimals: u8,
    ) -> Result<Result<String, Rejection>, RulesFault> {
        self.call_protocol("to-chain-units", |p, s| {
            p.call_to_chain_units(s, amount, decimals)
        })
    }

    /// Run `f` on the `derivation` interface of a pooled instance (2.2.0).
    fn call_derivation<R>(
        &self,
        what: &str,
        mut f: impl FnMut(&derivation::Guest, &mut Store<Limiter>) -> Result<R>,
    ) -> Result<R, RulesFault> {
        if self.indices.v2_2.is_none() {
            return Err(RulesFault(needs_2_2(what)));
        }
        self.with_instance(|i| match &i.exports.derivation {
            Some(d) => f(d, &mut i.store),
            None => Err(needs_2_2(what)),
        })
    }

    /// `derivation.parse-xpub` (2.2.0): what an extended public key is; a private key
    /// is refused.
    pub fn parse_xpub(&self, xpub: &str) -> Result<Result<XpubInfo, DerivationError>, RulesFault> {
        self.call_derivation("parse-xpub", |d, s| d.call_parse_xpub(s, xpub))
    }

    /// `derivation.derive-xpub` (2.2.0): one public derivation step.
    pub fn derive_xpub(
        &self,
        xpub: &str,
        index: u32,
    ) -> Result<Result<String, DerivationError>, RulesFault> {
        self.call_derivation("derive-xpub", |d, s| d.call_derive_xpub(s, xpub, index))
    }

    /// `derivation.derive-address` (2.2.0): the address at `…/0/index` of an account
    /// key, encoded for `chain`.
    pub fn derive_address(
        &self,
        xpub: &str,
        chain: Chain,
        index: u32,
    ) -> Result<Result<DerivedAddress, DerivationError>, RulesFault> {
        self.call_derivation("derive-address", |d, s| {
            d.call_derive_address(s, xpub, chain, index)
        })
    }

    /// `derivation.address-sign` (2.2.0): `md5(appid|username|chain|secret)`.
    pub fn address_sign(
        &self,
        appid: &str,
        username: &str,
        chain: Chain,
        secret: &str,
    ) -> Result<String, RulesFault> {
        self.call_derivation("address-sign", |d, s| {
            d.call_address_sign(s, appid, username, chain, secret)
        })
    }

    /// `derivation.parse-address-request` (2.2.0).
    pub fn parse_address_request(
        &self,
        body: &str,
    ) -> Result<Result<AddressRequest, Vec<Rejection>>, RulesFault> {
        self.call_derivation("parse-address-request", |d, s| {
            d.call_parse_address_request(s, body)
        })
    }

    /// `derivation.check-address-request` (2.2.0) with the keyring of
    /// [`Rules::set_keyring`]: parse the address request and verify its sign (current or
    /// next secret) in one call.
    pub fn check_address_request(
        &self,
        body: &str,
    ) -> Result<Result<AddressRequest, Vec<Rejection>>, RulesFault> {
        const WHAT: &str = "check-address-request";
        if self.indices.v2_2.is_none() {
            return Err(RulesFault(needs_2_2(WHAT)));
        }
        self.with_gateway_keyring(WHAT, |e, s, keyring| {
            let derivation = e.derivation.as_ref().ok_or_else(|| needs_2_2(WHAT))?;
            derivation.call_check_address_request(s, keyring, body)
        })
    }

    /// `orders.make-orderid`.
    pub fn make_orderid(
        &self,
        prefix: &str,
        date: Date,
        entropy: u64,
    ) -> Result<Result<String, Rejection>, RulesFault> {
        self.call(|r, s| r.orders.call_make_orderid(s, prefix, date, entropy))
    }

    /// `orders.check-orderid`.
    pub fn check_orderid(
        &self,
        orderid: &str,
    ) -> Result<Result<OrderidParts, Rejection>, RulesFault> {
        self.call(|r, s| r.orders.call_check_orderid(s, orderid))
    }

    /// `callbacks.verify-callback`.
    pub fn verify_callback(
        &self,
        body: &str,
        secret: &str,
        now: u64,
        window: u32,
    ) -> Result<Result<Callback, Rejection>, RulesFault> {
        self.call(|r, s| {
            r.callbacks
                .call_verify_callback(s, body, secret, now, window)
        })
    }

    /// `addresses.inspect-address`.
    pub fn inspect_address(
        &self,
        address: &str,
    ) -> Result<Result<AddressInfo, Rejection>, RulesFault> {
        self.call(|r, s| r.addresses.call_inspect_address(s, address))
    }

    /// `addresses.validate-address`.
    pub fn validate_address(
        &self,
        address: &str,
        chain: Chain,
    ) -> Result<Result<AddressInfo, Rejection>, RulesFault> {
        self.call(|r, s| r.addresses.call_validate_address(s, address, chain))
    }

    /// `addresses.tron-from-hex`.
    pub fn tron_from_hex(&self, hex: &str) -> Result<Result<String, Rejection>, RulesFault> {
        self.call(|r, s| r.addresses.call_tron_from_hex(s, hex))
    }

    /// `addresses.eip55-checksum`.
    pub fn eip55_checksum(&self, address: &str) -> Result<Result<String, Rejection>, RulesFault> {
        self.call(|r, s| r.addresses.call_eip55_checksum(s, address))
    }

    /// `confirmations.validate-policy`.
    pub fn validate_policy(
        &self,
        policy: &ConfirmationPolicy,
    ) -> Result<Result<(), Rejection>, RulesFault> {
        self.call(|r, s| r.confirmations.call_validate_policy(s, policy))
    }

    /// `confirmations.required-confirmations`.
    pub fn required_confirmations(
        &self,
        chain: Chain,
        amount: u64,
        policy: &ConfirmationPolicy,
    ) -> Result<u32, RulesFault> {
        self.call(|r, s| {
            r.confirmations
                .call_required_confirmations(s, chain, amount, policy)
        })
    }

    /// `confirmations.count-confirmations`.
    pub fn count_confirmations(&self, head: u64, block: u64) -> Result<u64, RulesFault> {
        self.call(|r, s| r.confirmations.call_count_confirmations(s, head, block))
    }

    /// `confirmations.deposit-state-of`.
    pub fn deposit_state_of(
        &self,
        confirmations: u64,
        required: u32,
    ) -> Result<DepositState, RulesFault> {
        self.call(|r, s| {
            r.confirmations
                .call_deposit_state_of(s, confirmations, required)
        })
    }
}

/// Advance the engine's epoch every millisecond while the rules are alive, so a call
/// that overruns its deadline is interrupted.
fn spawn_epoch_ticker(rules: Weak<Rules>) {
    std::thread::Builder::new()
        .name("rules-epoch".into())
        .spawn(move || {
            while let Some(rules) = rules.upgrade() {
                rules.engine.increment_epoch();
                drop(rules);
                std::thread::sleep(EPOCH_TICK);
            }
        })
        .ok();
}

impl ErrorCode {
    /// The stable wire code, e.g. `SIGN_MISMATCH`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidJson => "INVALID_JSON",
            Self::MissingField => "MISSING_FIELD",
            Self::InvalidField => "INVALID_FIELD",
            Self::InvalidAmount => "INVALID_AMOUNT",
            Self::InvalidAddress => "INVALID_ADDRESS",
            Self::UnsupportedChain => "UNSUPPORTED_CHAIN",
            Self::ChainMismatch => "CHAIN_MISMATCH",
            Self::InvalidNotifyUrl => "INVALID_NOTIFY_URL",
            Self::InvalidSign => "INVALID_SIGN",
            Self::SignMismatch => "SIGN_MISMATCH",
            Self::TimestampOutOfWindow => "TIMESTAMP_OUT_OF_WINDOW",
            Self::InvalidPolicy => "INVALID_POLICY",
            Self::UnknownAppid => "UNKNOWN_APPID",
        }
    }
}

impl DerivationErrorCode {
    /// The stable code, e.g. `PRIVATE_KEY_REFUSED`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidXpub => "INVALID_XPUB",
            Self::PrivateKeyRefused => "PRIVATE_KEY_REFUSED",
            Self::InvalidIndex => "INVALID_INDEX",
            Self::InvalidChildKey => "INVALID_CHILD_KEY",
        }
    }
}

impl Chain {
    /// The wire name: `TRC20`, `ERC20` or `OMNI`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Trc20 => "TRC20",
            Self::Erc20 => "ERC20",
            Self::Omni => "OMNI",
        }
    }
}
