//! The protocol rules, run in the sandboxed component.
//!
//! The component is compiled once; instances come from an [`InstancePre`] backed by the
//! pooling allocator, each in a cheap [`Store`] with memory caps ([`StoreLimits`]) and an
//! epoch deadline, so a faulty build of the rules can neither hang nor bloat the host.
//! Instances are reused through a bounded pool; one whose call trapped is thrown away.

mod bindings;

use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;

use wasmtime::component::{Component, Linker, ResourceAny};
use wasmtime::error::Context;
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig, Result, Store,
    StoreLimits, StoreLimitsBuilder,
};

use bindings::{Recharge, RechargePre};

pub use bindings::exports::usdt::recharge::addresses::AddressInfo;
pub use bindings::exports::usdt::recharge::amounts::ChainAmount;
pub use bindings::exports::usdt::recharge::callbacks::Callback;
pub use bindings::exports::usdt::recharge::confirmations::{
    ConfirmationPolicy, ConfirmationRule, DepositState,
};
use bindings::exports::usdt::recharge::orders::MerchantKey;
pub use bindings::exports::usdt::recharge::orders::{Date, OrderRequest, OrderidParts};
pub use bindings::exports::usdt::recharge::signing::{CallbackFields, OrderFields};
pub use bindings::exports::usdt::recharge::types::{Chain, ErrorCode, Rejection};

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
}

impl Default for RulesLimits {
    fn default() -> Self {
        Self {
            max_memory_bytes: 16 << 20,
            call_timeout: Duration::from_millis(100),
            max_idle_instances: 64,
            max_instances: 256,
        }
    }
}

/// Core instances one component instance may hold (the guest module and the small shim
/// modules `wit-component` adds, e.g. for resource destructors).
const CORE_INSTANCES_PER_COMPONENT: u32 = 8;

/// Epoch ticks per second: the granularity of the call deadline.
const EPOCH_TICK: Duration = Duration::from_millis(1);

/// One live instance and the store it runs in.
struct Instance {
    store: Store<StoreLimits>,
    bindings: Recharge,
    /// This instance's `merchant-keyring` and the generation of the merchants it holds.
    keyring: Option<(u64, ResourceAny)>,
}

/// The merchants' secrets as last set, numbered so instances notice a change.
struct Merchants {
    generation: u64,
    keys: Vec<(String, String)>,
}

/// The protocol rules: a compiled component and a pool of ready instances.
pub struct Rules {
    engine: Engine,
    pre: RechargePre<StoreLimits>,
    limits: RulesLimits,
    idle: Mutex<Vec<Instance>>,
    merchants: RwLock<Arc<Merchants>>,
}

impl std::fmt::Debug for Rules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rules")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// The call failed inside the component (a trap, the deadline, a memory cap). The
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
    /// a component that imports anything is refused here.
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
        let linker = Linker::<StoreLimits>::new(&engine);
        let pre = linker
            .instantiate_pre(&component)
            .context("the component must import nothing")?;
        let pre = RechargePre::new(pre)
            .context("the component must export usdt:recharge/recharge@2.0.0")?;
        let rules = Arc::new(Self {
            engine,
            pre,
            limits,
            idle: Mutex::new(Vec::new()),
            merchants: RwLock::new(Arc::new(Merchants {
                generation: 0,
                keys: Vec::new(),
            })),
        });
        spawn_epoch_ticker(Arc::downgrade(&rules));
        Ok(rules)
    }

    /// The call timeout in epoch ticks (at least one).
    fn deadline_ticks(&self) -> u64 {
        let ticks = self.limits.call_timeout.as_millis() / EPOCH_TICK.as_millis();
        u64::try_from(ticks).unwrap_or(u64::MAX).max(1)
    }

    fn instantiate(&self) -> Result<Instance> {
        let limits = StoreLimitsBuilder::new()
            .memory_size(self.limits.max_memory_bytes)
            .instances(CORE_INSTANCES_PER_COMPONENT as usize)
            .trap_on_grow_failure(true)
            .build();
        let mut store = Store::new(&self.engine, limits);
        store.limiter(|l| l);
        store.set_epoch_deadline(self.deadline_ticks());
        let bindings = self.pre.instantiate(&mut store)?;
        Ok(Instance {
            store,
            bindings,
            keyring: None,
        })
    }

    /// Run `f` on a pooled instance. A failed call discards the instance.
    fn call<R>(
        &self,
        f: impl FnOnce(&Recharge, &mut Store<StoreLimits>) -> Result<R>,
    ) -> Result<R, RulesFault> {
        self.with_instance(|i| f(&i.bindings, &mut i.store))
    }

    /// Run `f` on a pooled instance. A failed call discards the instance.
    fn with_instance<R>(
        &self,
        f: impl FnOnce(&mut Instance) -> Result<R>,
    ) -> Result<R, RulesFault> {
        let pooled = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let mut instance = match pooled {
            Some(instance) => instance,
            None => self.instantiate().map_err(RulesFault)?,
        };
        instance.store.set_epoch_deadline(self.deadline_ticks());
        let out = f(&mut instance).map_err(RulesFault)?;
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < self.limits.max_idle_instances
        {
            idle.push(instance);
        }
        Ok(out)
    }

    /// `amounts.parse-usdt`.
    pub fn parse_usdt(&self, text: &str) -> Result<Result<u64, Rejection>, RulesFault> {
        self.call(|r, s| r.usdt_recharge_amounts().call_parse_usdt(s, text))
    }

    /// `amounts.format-usdt`.
    pub fn format_usdt(&self, amount: u64) -> Result<String, RulesFault> {
        self.call(|r, s| r.usdt_recharge_amounts().call_format_usdt(s, amount))
    }

    /// `amounts.from-chain-units`.
    pub fn from_chain_units(
        &self,
        value: &str,
        decimals: u8,
    ) -> Result<Result<ChainAmount, Rejection>, RulesFault> {
        self.call(|r, s| {
            r.usdt_recharge_amounts()
                .call_from_chain_units(s, value, decimals)
        })
    }

    /// `signing.order-sign`.
    pub fn order_sign(&self, fields: &OrderFields, secret: &str) -> Result<String, RulesFault> {
        self.call(|r, s| r.usdt_recharge_signing().call_order_sign(s, fields, secret))
    }

    /// `signing.verify-order-sign`.
    pub fn verify_order_sign(
        &self,
        fields: &OrderFields,
        secret: &str,
        sign: &str,
    ) -> Result<Result<(), Rejection>, RulesFault> {
        self.call(|r, s| {
            r.usdt_recharge_signing()
                .call_verify_order_sign(s, fields, secret, sign)
        })
    }

    /// `signing.callback-sign`.
    pub fn callback_sign(
        &self,
        fields: &CallbackFields,
        secret: &str,
    ) -> Result<String, RulesFault> {
        self.call(|r, s| {
            r.usdt_recharge_signing()
                .call_callback_sign(s, fields, secret)
        })
    }

    /// `signing.verify-callback-sign`.
    pub fn verify_callback_sign(
        &self,
        fields: &CallbackFields,
        secret: &str,
        sign: &str,
    ) -> Result<Result<(), Rejection>, RulesFault> {
        self.call(|r, s| {
            r.usdt_recharge_signing()
                .call_verify_callback_sign(s, fields, secret, sign)
        })
    }

    /// `signing.query-sign`.
    pub fn query_sign(
        &self,
        appid: &str,
        orderid: &str,
        secret: &str,
    ) -> Result<String, RulesFault> {
        self.call(|r, s| {
            r.usdt_recharge_signing()
                .call_query_sign(s, appid, orderid, secret)
        })
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
            r.usdt_recharge_signing()
                .call_verify_query_sign(s, appid, orderid, secret, sign)
        })
    }

    /// `signing.build-callback-body`.
    pub fn build_callback_body(
        &self,
        fields: &CallbackFields,
        secret: &str,
    ) -> Result<Result<String, Rejection>, RulesFault> {
        self.call(|r, s| {
            r.usdt_recharge_signing()
                .call_build_callback_body(s, fields, secret)
        })
    }

    /// `orders.parse-order`.
    pub fn parse_order(
        &self,
        body: &str,
    ) -> Result<Result<OrderRequest, Vec<Rejection>>, RulesFault> {
        self.call(|r, s| r.usdt_recharge_orders().call_parse_order(s, body))
    }

    /// `orders.verify-order`.
    pub fn verify_order(
        &self,
        order: &OrderRequest,
        secret: &str,
    ) -> Result<Result<(), Rejection>, RulesFault> {
        self.call(|r, s| r.usdt_recharge_orders().call_verify_order(s, order, secret))
    }

    /// Replace the merchants whose orders [`Rules::check_order`] accepts: `(appid,
    /// secret)` pairs. Each instance loads them into its keyring on its next use.
    pub fn set_merchants(&self, keys: Vec<(String, String)>) {
        if let Ok(mut merchants) = self.merchants.write() {
            let generation = merchants.generation + 1;
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
            let keyrings = i.bindings.usdt_recharge_orders().merchant_keyring();
            let keyring = match i.keyring {
                Some((generation, keyring)) if generation == merchants.generation => keyring,
                stale => {
                    if let Some((_, old)) = stale {
                        old.resource_drop(&mut i.store)?;
                    }
                    let keys: Vec<MerchantKey> = merchants
                        .keys
                        .iter()
                        .map(|(appid, secret)| MerchantKey {
                            appid: appid.clone(),
                            secret: secret.clone(),
                        })
                        .collect();
                    let keyring = keyrings.call_constructor(&mut i.store, &keys)?;
                    i.keyring = Some((merchants.generation, keyring));
                    keyring
                }
            };
            keyrings.call_check_order(&mut i.store, keyring, body)
        })
    }

    /// `orders.make-orderid`.
    pub fn make_orderid(
        &self,
        prefix: &str,
        date: Date,
        entropy: u64,
    ) -> Result<Result<String, Rejection>, RulesFault> {
        self.call(|r, s| {
            r.usdt_recharge_orders()
                .call_make_orderid(s, prefix, date, entropy)
        })
    }

    /// `orders.check-orderid`.
    pub fn check_orderid(
        &self,
        orderid: &str,
    ) -> Result<Result<OrderidParts, Rejection>, RulesFault> {
        self.call(|r, s| r.usdt_recharge_orders().call_check_orderid(s, orderid))
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
            r.usdt_recharge_callbacks()
                .call_verify_callback(s, body, secret, now, window)
        })
    }

    /// `addresses.inspect-address`.
    pub fn inspect_address(
        &self,
        address: &str,
    ) -> Result<Result<AddressInfo, Rejection>, RulesFault> {
        self.call(|r, s| r.usdt_recharge_addresses().call_inspect_address(s, address))
    }

    /// `addresses.validate-address`.
    pub fn validate_address(
        &self,
        address: &str,
        chain: Chain,
    ) -> Result<Result<AddressInfo, Rejection>, RulesFault> {
        self.call(|r, s| {
            r.usdt_recharge_addresses()
                .call_validate_address(s, address, chain)
        })
    }

    /// `addresses.tron-from-hex`.
    pub fn tron_from_hex(&self, hex: &str) -> Result<Result<String, Rejection>, RulesFault> {
        self.call(|r, s| r.usdt_recharge_addresses().call_tron_from_hex(s, hex))
    }

    /// `addresses.eip55-checksum`.
    pub fn eip55_checksum(&self, address: &str) -> Result<Result<String, Rejection>, RulesFault> {
        self.call(|r, s| r.usdt_recharge_addresses().call_eip55_checksum(s, address))
    }

    /// `confirmations.validate-policy`.
    pub fn validate_policy(
        &self,
        policy: &ConfirmationPolicy,
    ) -> Result<Result<(), Rejection>, RulesFault> {
        self.call(|r, s| {
            r.usdt_recharge_confirmations()
                .call_validate_policy(s, policy)
        })
    }

    /// `confirmations.required-confirmations`.
    pub fn required_confirmations(
        &self,
        chain: Chain,
        amount: u64,
        policy: &ConfirmationPolicy,
    ) -> Result<u32, RulesFault> {
        self.call(|r, s| {
            r.usdt_recharge_confirmations()
                .call_required_confirmations(s, chain, amount, policy)
        })
    }

    /// `confirmations.count-confirmations`.
    pub fn count_confirmations(&self, head: u64, block: u64) -> Result<u64, RulesFault> {
        self.call(|r, s| {
            r.usdt_recharge_confirmations()
                .call_count_confirmations(s, head, block)
        })
    }

    /// `confirmations.deposit-state-of`.
    pub fn deposit_state_of(
        &self,
        confirmations: u64,
        required: u32,
    ) -> Result<DepositState, RulesFault> {
        self.call(|r, s| {
            r.usdt_recharge_confirmations()
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
