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
//!
//! The crate follows the WIT world: [`Rules`] and its limits here, the sandbox in `pool`,
//! a module per interface in `interfaces`, the older contract versions in `compat`.

mod bindings;
mod compat;
mod interfaces;
mod pool;
mod stats;

use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use wasmtime::component::{Component, InstancePre, Linker};
use wasmtime::error::Context;
use wasmtime::{Engine, Result};

use interfaces::gateway::GatewayKeyring;
use interfaces::orders::Merchants;
use pool::{Indices, Instance};
use stats::{Counters, Limiter};

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
pub use bindings::exports::usdt::recharge::orders::{Date, OrderRequest, OrderidParts};
pub use bindings::exports::usdt::recharge::protocol::{ChainFacts, ProtocolFacts};
pub use bindings::exports::usdt::recharge::signing::{CallbackFields, OrderFields};
pub use bindings::exports::usdt::recharge::types::{Chain, ErrorCode, Rejection};
pub use compat::ContractVersion;
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
    pub fn from_bytes(bytes: &[u8], limits: RulesLimits) -> Result<Arc<Self>> {
        let engine = pool::engine(&limits)?;
        let component = Component::new(&engine, bytes).context("compiling the component")?;
        let linker = Linker::<Limiter>::new(&engine);
        let pre = linker
            .instantiate_pre(&component)
            .context("the component must import nothing")?;
        let indices = Indices::new(&pre)
            .context("the component must export usdt:recharge/recharge@2.2.0, @2.1.0 or @2.0.0")?;
        let rules = Arc::new(Self {
            engine,
            pre,
            indices,
            limits,
            idle: Mutex::new(Vec::new()),
            merchants: RwLock::new(Arc::new(Merchants::none())),
            gateway_keyring: RwLock::new(Arc::new(GatewayKeyring::none())),
            counters: Counters::default(),
        });
        pool::spawn_epoch_ticker(Arc::downgrade(&rules));
        Ok(rules)
    }

    /// Calls and faults so far, and the idle instances now.
    pub fn stats(&self) -> RulesStats {
        let idle = self.idle.lock().map_or(0, |idle| idle.len());
        self.counters.snapshot(idle)
    }
}
