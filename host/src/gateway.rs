//! Assembling and running the gateway from a [`Config`]: the component, the store, the
//! merchants, the policy, the order writer, and the HTTP server with a bounded drain.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use tokio::sync::{Notify, watch};
use usdt_callback_http::{CallbackHttp, TransportConfig};
use usdt_gateway_core::clock::SystemClock;
use usdt_gateway_core::ports::{AccountKeys, Wakeups};
use usdt_gateway_core::{AddressDesk, Core, OrderIntake};

use crate::api::access::{AdminAccess, TokenChange};
use crate::api::{self, AppState, Shared};
use crate::chain::{DevChain, EvmSource, OmniSource, Source};
use crate::config::{
    ChainConfig, Config, ConfigError, ConfirmationDepth, ConfirmationRuleConfig, Database, DevMode,
    HttpConfig, Merchant, Secret,
};
use crate::delivery::{DeliveryConfig, Dispatcher};
use crate::merchants::MerchantDirectory;
use crate::metrics::Metrics;
use crate::metrics::scrape::Providers;
use crate::policies::Policies;
use crate::rules::{
    Chain, ChainFacts, ConfirmationPolicy, ConfirmationRule, ContractVersion, Rules, RulesLimits,
};
use crate::server;
use crate::store::{self, Store};
use crate::wakeups::Workers;
use crate::watcher::{Watcher, WatcherConfig};
use crate::writer::{OrderWriter, WriterTask};

/// The appid of the merchant dev mode creates when none is configured.
pub const DEV_APPID: &str = "demo";

/// File under `data_dir` keeping the dev merchant's secret across restarts.
const DEV_SECRET_FILE: &str = "dev-merchant.secret";

/// The component to run: `path` when given, else the one built into this binary. The
/// gateway needs `usdt:recharge@2.1.0` (its order and query paths are one call each);
/// merchants' `xpubs` need 2.2.0 (`check_protocol` refuses them on an older component,
/// whose address endpoint answers `RULES_UNAVAILABLE`).
pub fn load_rules(path: Option<&Path>, config: &Config) -> anyhow::Result<Arc<Rules>> {
    let limits = RulesLimits {
        max_memory_bytes: (config.rules.max_memory_mib as usize) << 20,
        call_timeout: config.rules.call_timeout,
        call_guard: Some(off_worker),
        ..RulesLimits::default()
    };
    let rules = match path {
        Some(path) => Rules::from_file(path, limits),
        None => Rules::builtin(limits),
    }
    .map_err(|e| anyhow::anyhow!("loading the protocol component: {e:#}"))?;
    if rules.version() < ContractVersion::V2_1 {
        anyhow::bail!(
            "the protocol component exports {}; the gateway needs {} (its `gateway` interface)",
            rules.version(),
            ContractVersion::V2_1
        );
    }
    Ok(rules)
}

/// Run a component call off the async worker it was made on (tokio's `block_in_place`,
/// whose blocking pool is bounded), so that a call running to its deadline never holds
/// the tasks queued on that worker. Only a call that outlasts `guard_after` (1 ms) in
/// place comes here, made again from the start: a call normally takes microseconds, and
/// handing the worker off for every call cost 15–25 % of the order throughput
/// (`scripts/bench-load`). Outside a multi-threaded runtime (a `current_thread` test, a
/// plain thread) the call runs in place.
fn off_worker(call: &mut dyn FnMut()) {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(call);
        }
        _ => call(),
    }
}

/// The configuration checked by the protocol's own rules, in the component: at most
/// `max-retries` callback retries, token decimals within the protocol's bound, and each
/// merchant's default `notify_url` by the rule orders' URLs follow.
pub fn check_protocol(config: &Config, rules: &Rules) -> anyhow::Result<()> {
    let facts = rules.facts()?;
    if config.notify.retry_delays.len() > facts.max_retries as usize {
        return Err(ConfigError(format!(
            "`notify.retry_delays`: the protocol allows at most {} retries",
            facts.max_retries
        ))
        .into());
    }
    for (chain, c) in &config.chains {
        rules
            .validate_token_decimals(c.decimals)?
            .map_err(|r| ConfigError(format!("`chains.{chain}.decimals`: {}", r.message)))?;
    }
    for (i, m) in config.merchants.iter().enumerate() {
        if let Some(url) = &m.notify_url {
            rules
                .validate_notify_url(url)?
                .map_err(|r| ConfigError(format!("`merchants[{i}].notify_url`: {}", r.message)))?;
        }
        check_xpubs(i, &m.xpubs, rules)?;
    }
    Ok(())
}

/// Each `merchants[i].xpubs` entry: a chain's wire name and an extended public key, both
/// judged by the component (a private key is refused; neither is echoed).
fn check_xpubs(
    i: usize,
    xpubs: &std::collections::BTreeMap<String, String>,
    rules: &Rules,
) -> anyhow::Result<()> {
    for (chain, xpub) in xpubs {
        let key = format!("merchants[{i}].xpubs.{chain}");
        rules
            .parse_chain(chain)?
            .map_err(|r| ConfigError(format!("`{key}`: {}", r.message)))?;
        let info = rules
            .parse_xpub(xpub)
            .map_err(|e| ConfigError(format!("`{key}`: {e}")))?;
        info.map_err(|e| ConfigError(format!("`{key}`: {} ({})", e.code.as_str(), e.message)))?;
    }
    Ok(())
}

/// The confirmation policy of the configuration, amounts parsed and the whole checked
/// by the component.
pub fn confirmation_policy(config: &Config, rules: &Rules) -> anyhow::Result<ConfirmationPolicy> {
    let rule = |key: &str, c: &ConfirmationRuleConfig| -> anyhow::Result<ConfirmationRule> {
        let large_amount = rules
            .parse_usdt(&c.large_amount)?
            .map_err(|r| ConfigError(format!("`{key}.large_amount`: {}", r.message)))?;
        Ok(ConfirmationRule {
            default_required: c.default,
            large_amount,
            large_required: c.large_required,
        })
    };
    let base = rule("confirmations", &config.confirmations.base())?;
    let mut overrides = Vec::new();
    for (name, c) in &config.confirmations.chains {
        let chain = rules
            .parse_chain(name)?
            .map_err(|r| ConfigError(format!("`confirmations.chains.{name}`: {}", r.message)))?;
        overrides.push((chain, rule(&format!("confirmations.chains.{name}"), c)?));
    }
    let policy = ConfirmationPolicy { base, overrides };
    rules
        .validate_policy(&policy)?
        .map_err(|r| ConfigError(format!("`confirmations`: {}", r.message)))?;
    Ok(policy)
}

/// The configured merchants, or in dev mode with none configured the demo merchant
/// (its secret made once and kept under `data_dir`). The flag says whether the demo
/// merchant was used.
pub fn merchants(config: &Config) -> anyhow::Result<(Vec<Merchant>, bool)> {
    let configured = config.resolve_merchants()?;
    if !configured.is_empty() || !config.dev_mode().on {
        return Ok((configured, false));
    }
    let path = config.data_dir.join(DEV_SECRET_FILE);
    let secret = match std::fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => text.trim().to_owned(),
        _ => {
            std::fs::create_dir_all(&config.data_dir)
                .with_context(|| format!("creating {}", config.data_dir.display()))?;
            let secret = format!(
                "{}{}",
                uuid::Uuid::new_v4().simple(),
                uuid::Uuid::new_v4().simple()
            );
            write_private(&path, &secret)?;
            secret
        }
    };
    Ok((
        vec![Merchant {
            appid: DEV_APPID.into(),
            secret: Secret::new(secret),
            next_secret: None,
            notify_url: None,
            checkout_page: true,
            xpubs: Default::default(),
            allocated_addresses_only: false,
            address_limits: config.addresses.into(),
        }],
        true,
    ))
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    Ok(())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// A started gateway: everything but the listening socket.
#[derive(Debug)]
pub struct Gateway {
    state: AppState,
    writer_task: WriterTask,
    /// Connection limits and the drain time of [`Gateway::serve`].
    http: HttpConfig,
    /// Chain watchers and the callback dispatcher.
    background: Vec<JoinHandle<()>>,
    stop_background: watch::Sender<bool>,
    /// `metrics.listen`, bound: `GET /metrics` is served there alone.
    metrics_listener: Option<TcpListener>,
    /// Whether the demo merchant of dev mode is in use.
    pub dev_merchant: bool,
}

/// Re-reads the merchants and the admin token from the configuration the gateway
/// started with (its file, then the environment) and puts them in place at once.
#[derive(Debug)]
pub struct MerchantReload {
    /// The configuration file given at start, if any.
    source_file: Option<PathBuf>,
    /// Where the merchants go.
    directory: Arc<MerchantDirectory>,
    /// Where the admin token goes.
    admin: Arc<AdminAccess>,
}

/// What a reload put in place.
#[derive(Clone, Copy, Debug)]
pub struct ReloadOutcome {
    /// How many merchants are configured now.
    pub merchants: usize,
    /// Whether the admin token changed, and the console sessions that change ended.
    pub admin_token: TokenChange,
}

impl MerchantReload {
    /// Load the configuration again, check it whole (the admin token's strength
    /// included), and replace the merchants and the admin token (the rest of the
    /// configuration takes effect at the next start). On any error nothing changes.
    pub fn reload(&self) -> anyhow::Result<ReloadOutcome> {
        let config = Config::load(self.source_file.as_deref())?;
        check_protocol(&config, self.directory.rules())?;
        let token = config.admin_token()?;
        let (merchants, _) = merchants(&config)?;
        let count = merchants.len();
        self.directory.replace(merchants);
        let admin_token = self.admin.replace_token(token);
        tracing::info!(
            merchants = count,
            admin_token_changed = admin_token.changed,
            sessions_ended = admin_token.sessions_ended,
            "configuration reloaded"
        );
        Ok(ReloadOutcome {
            merchants: count,
            admin_token,
        })
    }
}

impl Gateway {
    /// Build everything from the configuration: component, store (migrated), merchants,
    /// policy, writer, the chain watchers and the callback dispatcher. `component`
    /// overrides `rules.component`.
    pub async fn start(config: &Config, component: Option<PathBuf>) -> anyhow::Result<Self> {
        let admin = Arc::new(AdminAccess::new(config.admin_token()?));
        let rules = load_rules(chosen_component(config, component).as_deref(), config)?;
        check_protocol(config, &rules)?;
        let policy = confirmation_policy(config, &rules)?;
        let dev_mode = config.dev_mode();
        announce_dev_mode(&dev_mode);
        let (merchants, dev_merchant) = merchants(config)?;
        let merchants = Arc::new(MerchantDirectory::new(
            Arc::clone(&rules),
            policy.clone(),
            merchants,
        ));
        let store = Store::open(&config.database())
            .await
            .context("opening the database")?;
        let providers = Providers::default();
        let metrics = Arc::new(Metrics::new(Arc::clone(&rules), providers.clone()));
        let metrics_listener = bind_metrics(config).await?;
        let (writer, writer_task) = OrderWriter::spawn(
            store.clone(),
            config.orders.write_queue,
            metrics.writer.clone(),
        )
        .context("starting the order writer")?;
        let (stop_background, stopped) = watch::channel(false);
        let parts = Parts {
            config,
            rules: &rules,
            store: &store,
            metrics: &metrics,
            stopped: &stopped,
        };
        let mut workers = Workers::default();
        let (mut background, dev_chains) =
            parts.start_watchers(&mut workers, &Arc::new(policy), &providers, dev_mode.on)?;
        background.push(parts.start_dispatcher(&merchants, &workers)?);
        let workers = Arc::new(workers);
        let state = AppState::new(Shared {
            core: parts.core(&workers),
            intake: parts.intake(&writer, &merchants),
            addresses: parts.addresses(&merchants, &workers),
            rules: Arc::clone(&rules),
            store: store.clone(),
            writer,
            merchants: Arc::clone(&merchants),
            reload: Arc::new(MerchantReload {
                source_file: config.source_file.clone(),
                directory: merchants,
                admin: Arc::clone(&admin),
            }),
            dev_mode: dev_mode.on,
            dev_chains: Arc::new(dev_chains),
            wakeups: workers,
            admin,
            metrics: Arc::clone(&metrics),
            metrics_route: config.metrics_on_main_port(),
            trusted_proxies: config.http.trusted_proxies.clone(),
            public_limits: api::public::PublicLimits::new(&config.http),
        });
        Ok(Self {
            state,
            writer_task,
            http: config.http.clone(),
            background,
            stop_background,
            metrics_listener,
            dev_merchant,
        })
    }

    /// The shared state (tests build their own router from it).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Where `GET /metrics` is served alone (`metrics.listen`), if it is.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    /// Serve the API on `listener` (HTTP/1.1 keep-alive and HTTP/2 prior knowledge on
    /// the same port, within the `[http]` limits) until `shutdown` resolves; then stop
    /// accepting, close idle connections, let in-flight requests finish for at most
    /// `http.drain_timeout`, drain the order writer and close the database.
    /// `GET /metrics` is served on its own address too when `metrics.listen` is set,
    /// and stops with the API.
    pub async fn serve(
        mut self,
        listener: TcpListener,
        request_timeout: std::time::Duration,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stopping, stopped) = watch::channel(false);
        let metrics_server = self.metrics_listener.take().map(|metrics_listener| {
            let router = api::metrics_app(self.state.clone());
            let http = self.http.clone();
            let mut stopped = stopped.clone();
            tokio::spawn(async move {
                let until = async move {
                    let _ = stopped.wait_for(|stop| *stop).await;
                };
                server::serve(metrics_listener, router, &http, Default::default(), until).await;
            })
        });
        let router = api::app(self.state.clone(), request_timeout);
        let connections = self.state.metrics.connections.clone();
        server::serve(listener, router, &self.http, connections, shutdown).await;
        stopping.send_replace(true);
        if let Some(task) = metrics_server
            && let Err(e) = task.await
        {
            tracing::error!(error = %e, "the metrics server ended abnormally");
        }
        self.stop().await;
        Ok(())
    }

    /// Stop the watchers and the dispatcher (attempts in flight finish and are
    /// recorded), stop the writer (new orders are refused; every queued order is
    /// committed and answered) and close the database.
    pub async fn stop(self) {
        let Self {
            state,
            writer_task,
            background,
            stop_background,
            ..
        } = self;
        let _ = stop_background.send(true);
        for task in background {
            if let Err(e) = task.await {
                tracing::error!(error = %e, "a background task ended abnormally");
            }
        }
        let store = state.store.clone();
        drop(state);
        writer_task.stop().await;
        store.close().await;
    }
}

/// Resolves on SIGTERM or Ctrl-C. The SIGTERM handler is installed by this call, not
/// when the future is first polled: call it before announcing the address, so a SIGTERM
/// sent right after start-up is a clean shutdown, never the default (fatal) action.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        let ctrl_c = async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        #[cfg(unix)]
        let term = async move {
            match term {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            () = ctrl_c => {},
            () = term => {},
        }
        tracing::info!("shutting down: draining in-flight requests");
    }
}

#[cfg(test)]
mod tests {
    use figment::providers::Env;

    use super::*;

    fn check(toml: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gateway.toml");
        std::fs::write(&path, toml).unwrap();
        let config =
            Config::load_with_env(Some(&path), Env::prefixed("USDT_GATEWAY_TEST_UNUSED_")).unwrap();
        let rules = Rules::builtin(RulesLimits::default()).unwrap();
        match check_protocol(&config, &rules) {
            Ok(()) => String::new(),
            Err(e) => e.to_string(),
        }
    }

    const MERCHANT: &str =
        "[[merchants]]\nappid = \"a\"\nsecret = \"0123456789abcdef0123456789abcdef\"\n";

    #[test]
    fn the_protocols_rules_judge_the_configuration() {
        assert_eq!(check(MERCHANT), "");
        let err = check(&format!("{MERCHANT}notify_url = \"ftp://x\"\n"));
        assert!(err.contains("merchants[0].notify_url"), "{err}");
        // The component's rule, not a URL parser's: credentials are refused too.
        let err = check(&format!(
            "{MERCHANT}notify_url = \"https://u:p@shop.example/n\"\n"
        ));
        assert!(err.contains("merchants[0].notify_url"), "{err}");
        let nine = "[notify]\nretry_delays = [\"1s\",\"1s\",\"1s\",\"1s\",\"1s\",\"1s\",\"1s\",\"1s\",\"1s\"]\n";
        let err = check(&format!("{nine}{MERCHANT}"));
        assert!(
            err.contains("notify.retry_delays") && err.contains('8'),
            "{err}"
        );
        let eight = nine.replacen("\"1s\",", "", 1);
        assert_eq!(check(&format!("{eight}{MERCHANT}")), "");
        let chain = "[chains.ERC20]\nrpc_urls = [\"http://127.0.0.1:8545\"]\ntoken_contract = \"0xdAC17F958D2ee523a2206206994597C13D831ec7\"\ndecimals = 19\n";
        let err = check(&format!("{chain}{MERCHANT}"));
        assert!(err.contains("chains.ERC20.decimals"), "{err}");
    }

    #[test]
    fn a_2_0_component_is_refused_by_the_gateway() {
        // The gateway's order and query paths need the 2.1.0 `gateway` interface.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("usdt_recharge_2.0.0.wasm");
        std::fs::write(
            &path,
            include_bytes!("../../runtime/tests/fixtures/usdt_recharge_2.0.0.wasm"),
        )
        .unwrap();
        let config =
            Config::load_with_env(None, Env::prefixed("USDT_GATEWAY_TEST_UNUSED_")).unwrap();
        let err = load_rules(Some(&path), &config).unwrap_err().to_string();
        assert!(err.contains("usdt:recharge@2.1.0"), "{err}");
    }
}

#[cfg(test)]
mod off_worker_tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};

    use super::{load_rules, off_worker};
    use crate::config::Config;
    use figment::providers::Env;

    /// On a runtime with one worker, a task queued behind a long component call still
    /// runs while the call is under way: the call left the worker.
    #[test]
    fn a_long_call_does_not_hold_the_tasks_queued_on_its_worker() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let other_ran_during_the_call = runtime.block_on(async {
            let other_ran = Arc::new(AtomicBool::new(false));
            let flag = Arc::clone(&other_ran);
            let call = tokio::spawn(async move {
                let mut seen = false;
                off_worker(&mut || {
                    // The call: wait (up to 5 s) for the other task to run meanwhile.
                    for _ in 0..500 {
                        if flag.load(Ordering::SeqCst) {
                            seen = true;
                            break;
                        }
                        std::thread::sleep(Duration::from_millis(10));
                    }
                });
                seen
            });
            tokio::task::yield_now().await;
            let other = Arc::clone(&other_ran);
            tokio::spawn(async move { other.store(true, Ordering::SeqCst) });
            call.await.expect("the call task ran")
        });
        assert!(other_ran_during_the_call);
    }

    /// The gateway's rules, the fault-injection build, on a runtime with one worker: a
    /// hanging call leaves the worker after `guard_after` (1 ms in place), so a task
    /// queued behind it runs within milliseconds, not at the call's deadline.
    #[test]
    fn a_hanging_component_call_leaves_its_worker_long_before_its_deadline() {
        let mut config =
            Config::load_with_env(None, Env::prefixed("USDT_GATEWAY_TEST_UNUSED_")).unwrap();
        config.rules.call_timeout = Duration::from_secs(1);
        let faults = std::path::Path::new(usdt_recharge_component::FAULTS_COMPONENT_PATH);
        let rules = load_rules(Some(faults), &config).expect("the faulty build loads");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let started = Instant::now();
        let calling = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&calling);
        let call = runtime.spawn(async move {
            flag.store(true, Ordering::SeqCst);
            let hung = rules.check_order(r#"{"username":"__hang__"}"#);
            (hung.is_err(), started.elapsed())
        });
        while !calling.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_micros(100));
        }
        let other = runtime.spawn(async move { started.elapsed() });
        let (other_ran_at, (faulted, call_ended_at)) =
            runtime.block_on(async { (other.await.expect("ran"), call.await.expect("ran")) });
        assert!(faulted, "the hanging call must end in a fault");
        assert!(
            call_ended_at >= Duration::from_millis(500),
            "{call_ended_at:?}"
        );
        assert!(
            other_ran_at < call_ended_at / 4,
            "the queued task ran at {other_ran_at:?}, the call ended at {call_ended_at:?}"
        );
    }

    #[test]
    fn outside_a_multi_threaded_runtime_the_call_runs_in_place() {
        let mut ran = false;
        off_worker(&mut || ran = true);
        assert!(ran);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let ran = runtime.block_on(async {
            let mut ran = false;
            off_worker(&mut || ran = true);
            ran
        });
        assert!(ran);
    }
}

impl<'a> From<&'a Database> for store::Database<'a> {
    fn from(database: &'a Database) -> Self {
        match database {
            Database::Sqlite(path) => Self::Sqlite(path),
            Database::Postgres(url) => Self::Postgres(url.expose()),
        }
    }
}

/// The component to run: the command line's, else `rules.component`, else the embedded
/// one (`None`).
fn chosen_component(config: &Config, component: Option<PathBuf>) -> Option<PathBuf> {
    component.or_else(|| {
        (!config.rules.component.as_os_str().is_empty()).then(|| config.rules.component.clone())
    })
}

/// Say loudly that dev mode is on, and why.
fn announce_dev_mode(dev_mode: &DevMode) {
    if dev_mode.on {
        tracing::warn!(
            reason = dev_mode.reason,
            "DEV MODE: /dev/… routes let anyone who reaches this port mint deposits; never run it with real money"
        );
    }
}

/// `metrics.listen`, bound; says where `GET /metrics` is not served.
async fn bind_metrics(config: &Config) -> anyhow::Result<Option<TcpListener>> {
    let listener = match config.metrics.listen {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .with_context(|| format!("listening on {addr} (metrics.listen)"))?,
        ),
        None => None,
    };
    if listener.is_none() && !config.metrics_on_main_port() {
        tracing::info!(
            "GET /metrics is not served: set metrics.listen (a private address), or metrics.on_main_port = true"
        );
    }
    Ok(listener)
}

/// What the background workers and the use cases are built from.
struct Parts<'a> {
    config: &'a Config,
    rules: &'a Arc<Rules>,
    store: &'a Store,
    metrics: &'a Arc<Metrics>,
    stopped: &'a watch::Receiver<bool>,
}

/// A chain's deposits come from: a configured node, else the dev chain in dev mode.
type ChainFeed = (Source, WatcherConfig);

impl Parts<'_> {
    /// One watcher per chain with a source, each with its wake-up in `workers`; the
    /// tasks and the dev chains.
    fn start_watchers(
        &self,
        workers: &mut Workers,
        policy: &Arc<ConfirmationPolicy>,
        providers: &Providers,
        dev_mode: bool,
    ) -> anyhow::Result<(Vec<JoinHandle<()>>, HashMap<&'static str, DevChain>)> {
        let mut tasks = Vec::new();
        let mut dev_chains = HashMap::new();
        for facts in self.rules.chains()? {
            let chain = facts.chain;
            let feed = match self.config.chains.get(chain.as_str()) {
                Some(c) => {
                    let feed = node_feed(c, &facts)?;
                    providers.add(chain.as_str(), feed.0.clone());
                    feed
                }
                None if dev_mode => {
                    let dev = self.dev_chain(&facts);
                    dev_chains.insert(chain.as_str(), dev.clone());
                    (Source::Dev(dev), self.dev_watch())
                }
                None => {
                    tracing::warn!(
                        chain = chain.as_str(),
                        "no node configured: deposits on this chain are not watched"
                    );
                    continue;
                }
            };
            let wake = Arc::new(Notify::new());
            workers.watchers.insert(chain.as_str(), Arc::clone(&wake));
            let watcher = Watcher::new(
                feed.0,
                self.store.clone(),
                Arc::clone(self.rules),
                Arc::clone(policy),
                feed.1,
                Arc::clone(&workers.dispatcher),
                self.metrics.chains.recorder(chain.as_str()),
            );
            tasks.push(tokio::spawn(watcher.run(wake, self.stopped.clone())));
        }
        Ok((tasks, dev_chains))
    }

    /// The embedded dev chain of `facts`' chain.
    fn dev_chain(&self, facts: &ChainFacts) -> DevChain {
        DevChain::new(
            self.store.clone(),
            Arc::clone(self.rules),
            facts.chain,
            facts.usdt_decimals,
        )
    }

    /// How the dev chain is watched: from its genesis block, at `dev.poll_interval`.
    fn dev_watch(&self) -> WatcherConfig {
        WatcherConfig {
            poll_interval: self.config.dev.poll_interval,
            max_blocks_per_scan: 10_000,
            start_block: Some(0),
            confirm_finalized: false,
        }
    }

    /// The callback dispatcher, woken through `workers`.
    fn start_dispatcher(
        &self,
        merchants: &Arc<MerchantDirectory>,
        workers: &Workers,
    ) -> anyhow::Result<JoinHandle<()>> {
        let notify = &self.config.notify;
        let http = CallbackHttp::new(TransportConfig {
            timeout: notify.timeout,
            allow_private_targets: self.config.allow_private_targets(),
            max_in_flight_per_merchant: notify.max_in_flight_per_merchant,
            max_in_flight_total: notify.max_in_flight,
            ..TransportConfig::default()
        })
        .context("the callback HTTP client")?;
        let dispatcher = Dispatcher::new(
            self.store.clone(),
            Arc::clone(self.rules),
            http,
            Arc::clone(merchants),
            DeliveryConfig {
                retry_delays: notify.retry_delays.clone(),
                timeout: notify.timeout,
                max_in_flight_per_merchant: notify.max_in_flight_per_merchant,
                max_in_flight: notify.max_in_flight,
            },
            self.metrics.callbacks.clone(),
        );
        Ok(tokio::spawn(dispatcher.run(
            Arc::clone(&workers.dispatcher),
            self.stopped.clone(),
        )))
    }

    /// The use cases over the store, waking `workers`.
    fn core(&self, workers: &Arc<Workers>) -> Core<Store> {
        Core::new(
            self.store.clone(),
            Arc::clone(self.rules),
            Arc::clone(workers) as Arc<dyn Wakeups>,
            Arc::new(SystemClock),
        )
    }

    /// The address desk: the merchants' account keys, waking `workers`' watchers.
    fn addresses(
        &self,
        merchants: &Arc<MerchantDirectory>,
        workers: &Arc<Workers>,
    ) -> AddressDesk<Store> {
        AddressDesk::new(
            self.store.clone(),
            Arc::clone(self.rules),
            Arc::clone(merchants) as Arc<dyn AccountKeys>,
            Arc::clone(workers) as Arc<dyn Wakeups>,
            Arc::new(SystemClock),
        )
    }

    /// The order intake: through `writer`, after the merchants' and the network's
    /// policies.
    fn intake(
        &self,
        writer: &OrderWriter,
        merchants: &Arc<MerchantDirectory>,
    ) -> OrderIntake<Store> {
        OrderIntake::new(
            self.store.clone(),
            Arc::new(writer.clone()),
            Arc::new(Policies {
                merchants: Arc::clone(merchants),
                allow_private_targets: self.config.allow_private_targets(),
            }),
            Arc::new(SystemClock),
            self.config.orders.ttl,
        )
    }
}

/// A configured node's source of `facts`' chain, and how it is watched.
fn node_feed(c: &ChainConfig, facts: &ChainFacts) -> anyhow::Result<ChainFeed> {
    let chain = facts.chain;
    let source = if matches!(chain, Chain::Omni) {
        Source::Omni(omni_source(c, facts)?)
    } else {
        Source::Evm(EvmSource::new(chain, c)?)
    };
    let watch = WatcherConfig {
        poll_interval: c.poll_interval,
        max_blocks_per_scan: c.max_blocks_per_scan,
        start_block: c.start_block,
        confirm_finalized: c.confirmation == ConfirmationDepth::Finalized,
    };
    Ok((source, watch))
}

/// An Omni Core node, whose amounts must have the decimals the protocol says.
fn omni_source(c: &ChainConfig, facts: &ChainFacts) -> anyhow::Result<OmniSource> {
    let urls = c.rpc_urls.iter().map(|u| u.expose().to_owned()).collect();
    let credentials = c
        .rpc_credentials(facts.chain.as_str())?
        .map(|(u, p)| (u.expose().to_owned(), p.expose().to_owned()));
    let omni = OmniSource::new(urls, credentials)?;
    if omni.decimals() != facts.usdt_decimals {
        return Err(ConfigError(format!(
            "`chains.OMNI`: Omni amounts have {} decimals, the protocol says {}",
            omni.decimals(),
            facts.usdt_decimals
        ))
        .into());
    }
    Ok(omni)
}
