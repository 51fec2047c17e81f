//! The sandbox: the engine (pooling allocator, epoch interruption), the instances of the
//! component with their stores and exports, the pool of idle ones, and the one way every
//! interface's function runs: [`Rules::with_instance`] (deadline, call guard, faults).

use std::sync::Weak;
use std::time::Duration;

use wasmtime::component::{InstancePre, ResourceAny};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig, Result, Store,
    StoreLimitsBuilder,
};

use crate::bindings::exports::usdt::recharge::{
    addresses, amounts, callbacks, confirmations, orders, signing,
};
use crate::compat::{NewerExports, NewerIndices};
use crate::stats::{FaultKind, Limiter};
use crate::{Rules, RulesFault, RulesLimits};

/// Core instances one component instance may hold (the guest module and the small shim
/// modules `wit-component` adds, e.g. for resource destructors).
const CORE_INSTANCES_PER_COMPONENT: u32 = 8;

/// Epoch ticks per second: the granularity of the call deadline.
const EPOCH_TICK: Duration = Duration::from_millis(1);

/// Whole epoch ticks in `duration`.
fn ticks(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis() / EPOCH_TICK.as_millis()).unwrap_or(u64::MAX)
}

/// Where each exported function is, found once per component.
pub(crate) struct Indices {
    amounts: amounts::GuestIndices,
    signing: signing::GuestIndices,
    orders: orders::GuestIndices,
    callbacks: callbacks::GuestIndices,
    addresses: addresses::GuestIndices,
    confirmations: confirmations::GuestIndices,
    /// The interfaces added since 2.0.0, where the component has them.
    pub(crate) newer: NewerIndices,
}

impl Indices {
    /// Find every exported interface; those of 2.0.0 must be there.
    pub(crate) fn new(pre: &InstancePre<Limiter>) -> Result<Self> {
        Ok(Self {
            amounts: amounts::GuestIndices::new(pre)?,
            signing: signing::GuestIndices::new(pre)?,
            orders: orders::GuestIndices::new(pre)?,
            callbacks: callbacks::GuestIndices::new(pre)?,
            addresses: addresses::GuestIndices::new(pre)?,
            confirmations: confirmations::GuestIndices::new(pre)?,
            newer: NewerIndices::find(pre),
        })
    }
}

/// The exported functions of one instance.
pub(crate) struct Exports {
    pub(crate) amounts: amounts::Guest,
    pub(crate) signing: signing::Guest,
    pub(crate) orders: orders::Guest,
    pub(crate) callbacks: callbacks::Guest,
    pub(crate) addresses: addresses::Guest,
    pub(crate) confirmations: confirmations::Guest,
    pub(crate) newer: NewerExports,
}

/// One live instance and the store it runs in.
pub(crate) struct Instance {
    pub(crate) store: Store<Limiter>,
    pub(crate) exports: Exports,
    /// This instance's 2.0 `merchant-keyring` and the generation of the merchants it holds.
    pub(crate) keyring: Option<(u64, ResourceAny)>,
    /// This instance's 2.1 `gateway.keyring` and the generation of the keyring it holds.
    pub(crate) gateway_keyring: Option<(u64, ResourceAny)>,
}

/// The engine for `limits`: Cranelift, epoch interruption, a pooling allocator with a
/// slot per instance that may exist.
pub(crate) fn engine(limits: &RulesLimits) -> Result<Engine> {
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
    Engine::new(&config)
}

impl Rules {
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

    /// A new instance in a store of its own, with the memory cap and the call deadline.
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
        let exports = Exports {
            amounts: i.amounts.load(&mut store, &instance)?,
            signing: i.signing.load(&mut store, &instance)?,
            orders: i.orders.load(&mut store, &instance)?,
            callbacks: i.callbacks.load(&mut store, &instance)?,
            addresses: i.addresses.load(&mut store, &instance)?,
            confirmations: i.confirmations.load(&mut store, &instance)?,
            newer: i.newer.load(&mut store, &instance)?,
        };
        Ok(Instance {
            store,
            exports,
            keyring: None,
            gateway_keyring: None,
        })
    }

    /// Run `f` on a pooled instance. A failed call discards the instance.
    pub(crate) fn call<R>(
        &self,
        mut f: impl FnMut(&Exports, &mut Store<Limiter>) -> Result<R>,
    ) -> Result<R, RulesFault> {
        self.with_instance(|i| f(&i.exports, &mut i.store))
    }

    /// Run `f` on a pooled instance. A failed call discards the instance. With a call
    /// guard, `f` runs in place first and again through the guard if it outlasts
    /// [`RulesLimits::guard_after`] (see there).
    pub(crate) fn with_instance<R>(
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
}

/// Advance the engine's epoch every millisecond while the rules are alive, so a call
/// that overruns its deadline is interrupted.
pub(crate) fn spawn_epoch_ticker(rules: Weak<Rules>) {
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
