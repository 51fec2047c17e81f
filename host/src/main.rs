//! `usdt-gateway`: serve the API, or help merchants and operators from the command line.

use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use serde_json::json;

use usdt_gateway::clock::now_millis;
use usdt_gateway::config::Config;
use usdt_gateway::gateway::{self, Gateway, MerchantReload};
use usdt_gateway::rules::{CallbackFields, OrderFields, Rules};
use usdt_gateway::store::{DeliveryState, MIN_IDLE_MS, ResendOutcome, RetireRequest, Store};
use usdt_gateway::telemetry;

/// A self-hosted USDT deposit gateway (USDT Recharge API V2).
#[derive(Debug, Parser)]
#[command(name = "usdt-gateway", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the gateway (no configuration needed: SQLite under ./data, dev mode, a demo merchant).
    Serve(ServeArgs),
    /// Compute a sign (and a ready-to-send body) the way a merchant must.
    #[command(subcommand)]
    Sign(SignCommand),
    /// Check a callback body (from FILE or standard input) as a merchant's receiver must.
    VerifyCallback(VerifyArgs),
    /// Configuration tools.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// The embedded dev chain of a running gateway in dev mode.
    Dev(DevArgs),
    /// Callback deliveries: list them, send one again (reads the configured database).
    #[command(subcommand)]
    Callbacks(CallbacksCommand),
    /// Deposit addresses from account keys (xpub): derive them, list the allocations,
    /// retire idle ones.
    #[command(subcommand)]
    Address(AddressCommand),
    /// The configured database: check that its money state is consistent.
    #[command(subcommand)]
    Db(DbCommand),
}

#[derive(Debug, Subcommand)]
enum DbCommand {
    /// List every order whose money state disagrees with its deposits or its callback
    /// (one JSON line each); exit 1 when there is one, 0 when the database is consistent.
    Check {
        /// A TOML file over the documented defaults.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
struct DevArgs {
    /// The running gateway.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    gateway: String,
    /// `TRC20`, `ERC20` or `OMNI`.
    #[arg(long)]
    chain: String,
    #[command(subcommand)]
    command: DevCommand,
}

#[derive(Debug, Subcommand)]
enum DevCommand {
    /// Send USDT to an address (mined into a new block at once).
    Transfer {
        /// The receiving address.
        #[arg(long)]
        to: String,
        /// USDT, decimal text (`100.5`).
        #[arg(long)]
        amount: String,
    },
    /// Mine empty blocks.
    Mine {
        /// How many.
        #[arg(long, default_value_t = 1)]
        blocks: u64,
    },
    /// Replace the newest blocks, dropping their transfers.
    Reorg {
        /// How many blocks.
        #[arg(long)]
        depth: u64,
    },
}

#[derive(Debug, Subcommand)]
enum CallbacksCommand {
    /// Deliveries (all, or in one state), oldest first.
    List {
        /// A TOML file over the documented defaults.
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// `pending`, `delivered` or `failed`.
        #[arg(long)]
        state: Option<DeliveryState>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// One delivery with every attempt.
    Show {
        /// A TOML file over the documented defaults.
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// The order.
        ordersn: String,
    },
    /// Send a delivery again, now (a running gateway picks it up within a second).
    Resend {
        /// A TOML file over the documented defaults.
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// The order.
        ordersn: String,
    },
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// A TOML file over the documented defaults.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Run this build of the protocol component instead of the built-in one.
    #[arg(long)]
    component: Option<PathBuf>,
    /// Listen here instead of `listen` from the configuration.
    #[arg(long)]
    listen: Option<SocketAddr>,
}

#[derive(Debug, Args)]
struct SecretArgs {
    /// The merchant's secret.
    #[arg(
        long,
        conflicts_with = "secret_env",
        required_unless_present = "secret_env"
    )]
    secret: Option<String>,
    /// The name of an environment variable holding the secret (keeps it out of `ps`).
    #[arg(long)]
    secret_env: Option<String>,
}

impl SecretArgs {
    fn resolve(&self) -> anyhow::Result<String> {
        match (&self.secret, &self.secret_env) {
            (Some(s), _) => Ok(s.clone()),
            (None, Some(var)) => std::env::var(var)
                .with_context(|| format!("the environment variable {var} is not set")),
            (None, None) => anyhow::bail!("--secret or --secret-env is required"),
        }
    }
}

#[derive(Debug, Subcommand)]
enum SignCommand {
    /// `md5(appid|username|localusermark|address|orderid|amount|secret)`.
    Order {
        #[arg(long)]
        appid: String,
        #[arg(long)]
        username: String,
        #[arg(long)]
        localusermark: String,
        #[arg(long)]
        address: String,
        #[arg(long)]
        orderid: String,
        /// Scaled units: 1 USDT = 10000.
        #[arg(long)]
        amount: u64,
        /// Print the whole JSON request body, not just the sign.
        #[arg(long)]
        body: bool,
        /// Add `notify_url` to the body.
        #[arg(long, requires = "body")]
        notify_url: Option<String>,
        #[command(flatten)]
        secret: SecretArgs,
    },
    /// `md5(appid|orderid|secret)`.
    Query {
        #[arg(long)]
        appid: String,
        #[arg(long)]
        orderid: String,
        /// Print the whole JSON request body, not just the sign.
        #[arg(long)]
        body: bool,
        #[command(flatten)]
        secret: SecretArgs,
    },
    /// An address request: `md5(appid|username|chain|secret)`.
    Address {
        #[arg(long)]
        appid: String,
        #[arg(long)]
        username: String,
        /// `TRC20`, `ERC20` or `OMNI`.
        #[arg(long)]
        chain: String,
        /// Print the whole JSON request body, not just the sign.
        #[arg(long)]
        body: bool,
        #[command(flatten)]
        secret: SecretArgs,
    },
}

#[derive(Debug, Subcommand)]
enum AddressCommand {
    /// Print the addresses `…/0/i` of an account's extended public key, one JSON line
    /// each, to compare with a wallet (the protocol component derives them; a private
    /// key is refused).
    Derive {
        /// The account-level extended public key (`xpub…`).
        #[arg(long)]
        xpub: String,
        /// `TRC20`, `ERC20` or `OMNI`.
        #[arg(long)]
        chain: String,
        /// The first index.
        #[arg(long, default_value_t = 0)]
        from: u32,
        /// How many addresses (1..=1000).
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
        count: u32,
    },
    /// Every allocated address, one JSON line each (reads the configured database).
    List {
        /// A TOML file over the documented defaults.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Stop watching the addresses nobody used for `--idle-for` (at least 30 days): no
    /// open order, no deposit still confirming, and no order, deposit or address request
    /// since. A payment to a retired address is not seen until the next order, address
    /// request or deposit on it revives it. Prints each address, one JSON line; every
    /// retirement is kept in the database (`address retirements`).
    Retire {
        /// A TOML file over the documented defaults.
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// How long unused, e.g. `180d` (at least `30d`).
        #[arg(long, value_parser = humantime::parse_duration)]
        idle_for: std::time::Duration,
        /// Only this chain's addresses (`TRC20`, `ERC20`, `OMNI`).
        #[arg(long)]
        chain: Option<String>,
        /// Only this merchant's addresses.
        #[arg(long)]
        appid: Option<String>,
        /// List what would be retired; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Every retirement and what revived it, one JSON line each.
    Retirements {
        /// A TOML file over the documented defaults.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
struct VerifyArgs {
    /// The callback body; `-` or absent reads standard input.
    file: Option<PathBuf>,
    /// The time to check `t` against (Unix seconds); default now.
    #[arg(long)]
    now: Option<u64>,
    /// The replay window in seconds; default the protocol's (the component's
    /// `callback-window`, 300).
    #[arg(long)]
    window: Option<u32>,
    #[command(flatten)]
    secret: SecretArgs,
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Load and validate the configuration, then print it (secrets redacted).
    Check {
        /// A TOML file over the documented defaults.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Print the documented defaults.
    Defaults,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve(args),
        Command::Sign(command) => sign(command),
        Command::VerifyCallback(args) => verify_callback(args),
        Command::Config(ConfigCommand::Check { config }) => config_check(config),
        Command::Dev(args) => dev(args),
        Command::Callbacks(command) => callbacks(command),
        Command::Address(command) => address(command),
        Command::Db(DbCommand::Check { config }) => db_check(config),
        Command::Config(ConfigCommand::Defaults) => {
            print!("{}", usdt_gateway::config::DEFAULTS);
            Ok(ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    // SIGHUP is caught before anything slow (the configuration, the database, the
    // component's compilation): one sent during start-up is a reload request that
    // waits for the gateway to be up, never the default (fatal) action.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let hangups = {
        let _entered = runtime.enter();
        watch_hangups()
    };
    let mut config = Config::load(args.config.as_deref())?;
    if let Some(listen) = args.listen {
        config.listen = listen;
        config.validate()?;
    }
    telemetry::init(&config.log);
    runtime.block_on(async move {
        let gateway = Gateway::start(&config, args.component).await?;
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("listening on {}", config.listen))?;
        let local = listener.local_addr()?;
        let dev_mode = config.dev_mode();
        if dev_mode.on {
            println!(
                "WARNING: dev mode is on ({}): POST /dev/chains/… lets anyone who reaches \
                 {local} mint deposits. Never use it with real money.",
                dev_mode.reason
            );
        }
        if gateway.dev_merchant {
            let secret = gateway
                .state()
                .merchants
                .snapshot()
                .get(gateway::DEV_APPID)
                .map(|m| m.secret.expose().to_owned())
                .unwrap_or_default();
            println!(
                "dev mode: demo merchant appid={} secret={secret} (kept in {})",
                gateway::DEV_APPID,
                config.data_dir.display()
            );
        }
        if let Some(addr) = gateway.metrics_addr() {
            println!("usdt-gateway metrics on http://{addr}/metrics");
        }
        let shutdown = gateway::shutdown_signal();
        println!("usdt-gateway listening on http://{local}");
        tokio::spawn(reload_on_hangup(
            hangups,
            Arc::clone(&gateway.state().reload),
        ));
        tracing::info!(%local, database = %config.database().describe(), "usdt-gateway started");
        gateway
            .serve(listener, config.request_timeout, shutdown)
            .await?;
        tracing::info!("usdt-gateway stopped");
        Ok(ExitCode::SUCCESS)
    })
}

/// SIGHUPs, caught from this call on (`None`: they cannot be watched).
#[cfg(unix)]
type Hangups = Option<tokio::signal::unix::Signal>;
/// No SIGHUP off Unix.
#[cfg(not(unix))]
type Hangups = ();

/// Catch SIGHUP from now on (inside a runtime): each one is kept for
/// [`reload_on_hangup`], however early it comes.
fn watch_hangups() -> Hangups {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        signal(SignalKind::hangup()).ok()
    }
}

/// Reload the configuration (merchants and admin token) on every SIGHUP; one that came
/// during start-up is applied now. A failed reload changes nothing. Holds only the
/// reloader, so the gateway's state is free to drain at shutdown.
async fn reload_on_hangup(hangups: Hangups, reload: Arc<MerchantReload>) {
    #[cfg(unix)]
    {
        let Some(mut hangups) = hangups else {
            tracing::warn!(
                "SIGHUP cannot be watched: reload the configuration through the admin API"
            );
            return;
        };
        let during_start = tokio::select! {
            biased;
            got = hangups.recv() => got.is_some(),
            () = std::future::ready(()) => false,
        };
        if during_start {
            tracing::info!("SIGHUP during start-up: reloading now that the gateway is up");
            hangup_reload(&reload);
        }
        while hangups.recv().await.is_some() {
            tracing::info!("SIGHUP: reloading the configuration");
            hangup_reload(&reload);
        }
    }
    #[cfg(not(unix))]
    let _ = (hangups, reload);
}

/// One reload for a SIGHUP, its outcome logged.
#[cfg(unix)]
fn hangup_reload(reload: &MerchantReload) {
    match reload.reload() {
        Ok(outcome) => {
            if outcome.admin_token.changed {
                tracing::info!(target: "audit", action = "reload_admin_token", sessions_ended = outcome.admin_token.sessions_ended, "SIGHUP: admin token replaced; every console session ended");
            }
        }
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "reload refused; nothing changed");
        }
    }
}

fn sign(command: SignCommand) -> anyhow::Result<ExitCode> {
    let rules = Rules::builtin(Default::default())?;
    match command {
        SignCommand::Order {
            appid,
            username,
            localusermark,
            address,
            orderid,
            amount,
            body,
            notify_url,
            secret,
        } => {
            let fields = OrderFields {
                appid,
                username,
                localusermark,
                address,
                orderid,
                amount,
            };
            let sign = rules.order_sign(&fields, &secret.resolve()?)?;
            if body {
                let value = json!({
                    "appid": fields.appid,
                    "username": fields.username,
                    "localusermark": fields.localusermark,
                    "address": fields.address,
                    "orderid": fields.orderid,
                    "amount": fields.amount,
                    "notify_url": notify_url,
                    "sign": sign,
                });
                println!("{value}");
            } else {
                println!("{sign}");
            }
        }
        SignCommand::Address {
            appid,
            username,
            chain,
            body,
            secret,
        } => {
            let wire = rules
                .parse_chain(&chain)?
                .map_err(|r| anyhow::anyhow!("--chain: {}", r.message))?;
            let sign = rules.address_sign(&appid, &username, wire, &secret.resolve()?)?;
            if body {
                let value =
                    json!({"appid": appid, "username": username, "chain": chain, "sign": sign});
                println!("{value}");
            } else {
                println!("{sign}");
            }
        }
        SignCommand::Query {
            appid,
            orderid,
            body,
            secret,
        } => {
            let sign = rules.query_sign(&appid, &orderid, &secret.resolve()?)?;
            if body {
                println!(
                    "{}",
                    json!({"appid": appid, "orderid": orderid, "sign": sign})
                );
            } else {
                println!("{sign}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn verify_callback(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let mut body = String::new();
    match args.file.as_deref() {
        None => std::io::stdin().read_to_string(&mut body)?,
        Some(p) if p.as_os_str() == "-" => std::io::stdin().read_to_string(&mut body)?,
        Some(p) => {
            body =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            body.len()
        }
    };
    let now = args.now.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    });
    let rules = Rules::builtin(Default::default())?;
    let window = match args.window {
        Some(window) => window,
        None => rules.facts()?.callback_window,
    };
    match rules.verify_callback(
        body.trim_end_matches(['\n', '\r']),
        &args.secret.resolve()?,
        now,
        window,
    )? {
        Ok(callback) => {
            let CallbackFields {
                orderid,
                localusermark,
                amount,
                t,
            } = callback.fields;
            let usdt = rules.format_usdt(amount)?;
            println!(
                "{}",
                json!({"valid": true, "orderid": orderid, "localusermark": localusermark,
                       "amount": amount.to_string(), "usdt": usdt, "t": t.to_string()})
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(rejection) => {
            println!(
                "{}",
                json!({"valid": false, "code": rejection.code.as_str(), "field": rejection.field,
                       "msg": rejection.message})
            );
            Ok(ExitCode::from(1))
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

fn dev(args: DevArgs) -> anyhow::Result<ExitCode> {
    let (action, body) = match args.command {
        DevCommand::Transfer { to, amount } => ("transfers", json!({"to": to, "amount": amount})),
        DevCommand::Mine { blocks } => ("mine", json!({"blocks": blocks})),
        DevCommand::Reorg { depth } => ("reorg", json!({"depth": depth})),
    };
    let url = format!(
        "{}/dev/chains/{}/{action}",
        args.gateway.trim_end_matches('/'),
        args.chain
    );
    runtime()?.block_on(async {
        let response = reqwest::Client::new()
            .post(&url)
            .json(&body)
            .send()
            .await
            .with_context(|| format!("calling {url}"))?;
        let ok = response.status().is_success();
        println!("{}", response.text().await?);
        Ok(if ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        })
    })
}

fn address(command: AddressCommand) -> anyhow::Result<ExitCode> {
    match command {
        AddressCommand::Derive {
            xpub,
            chain,
            from,
            count,
        } => address_derive(&xpub, &chain, from, count),
        AddressCommand::List { config } => {
            let config = Config::load(config.as_deref())?;
            runtime()?.block_on(async {
                let store = Store::open(&config.database()).await?;
                for a in store.allocations().await? {
                    println!("{}", serde_json::to_string(&a)?);
                }
                store.close().await;
                Ok(ExitCode::SUCCESS)
            })
        }
        AddressCommand::Retire {
            config,
            idle_for,
            chain,
            appid,
            dry_run,
        } => {
            let idle_ms = i64::try_from(idle_for.as_millis()).unwrap_or(i64::MAX);
            if idle_ms < MIN_IDLE_MS {
                anyhow::bail!(
                    "--idle-for must be at least 30 days (a user may pay to a saved address at any time)"
                );
            }
            let config = Config::load(config.as_deref())?;
            runtime()?.block_on(async {
                let store = Store::open(&config.database()).await?;
                let now = now_millis();
                let request = RetireRequest {
                    chain: chain.as_deref(),
                    appid: appid.as_deref(),
                    idle_since: now.saturating_sub(idle_ms),
                    now,
                    dry_run,
                };
                let retired = store.retire_idle(request).await?;
                for r in &retired {
                    println!("{}", serde_json::to_string(r)?);
                }
                let verb = if dry_run { "would retire" } else { "retired" };
                eprintln!(
                    "{verb} {} address(es) idle for {}",
                    retired.len(),
                    humantime::format_duration(idle_for)
                );
                store.close().await;
                Ok(ExitCode::SUCCESS)
            })
        }
        AddressCommand::Retirements { config } => {
            let config = Config::load(config.as_deref())?;
            runtime()?.block_on(async {
                let store = Store::open(&config.database()).await?;
                for r in store.retirements().await? {
                    println!("{}", serde_json::to_string(&r)?);
                }
                store.close().await;
                Ok(ExitCode::SUCCESS)
            })
        }
    }
}

/// `address derive`: each address with its index, or the component's refusal (exit 1).
fn address_derive(xpub: &str, chain: &str, from: u32, count: u32) -> anyhow::Result<ExitCode> {
    let rules = Rules::builtin(Default::default())?;
    let wire = rules
        .parse_chain(chain)?
        .map_err(|r| anyhow::anyhow!("--chain: {}", r.message))?;
    for index in (from..).take(count as usize) {
        match rules.derive_address(xpub, wire, index)? {
            Ok(a) => println!(
                "{}",
                json!({"chain": chain, "index": a.index, "address": a.address})
            ),
            Err(e) => {
                eprintln!("{}: {}", e.code.as_str(), e.message);
                return Ok(ExitCode::from(1));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn callbacks(command: CallbacksCommand) -> anyhow::Result<ExitCode> {
    let file = match &command {
        CallbacksCommand::List { config, .. }
        | CallbacksCommand::Show { config, .. }
        | CallbacksCommand::Resend { config, .. } => config.clone(),
    };
    let config = Config::load(file.as_deref())?;
    runtime()?.block_on(async {
        let store = Store::open(&config.database()).await?;
        let code = match command {
            CallbacksCommand::List { state, limit, .. } => {
                for c in store.list_callbacks(state, limit).await? {
                    println!("{}", serde_json::to_string(&c)?);
                }
                ExitCode::SUCCESS
            }
            CallbacksCommand::Show { ordersn, .. } => match store.callback(&ordersn).await? {
                Some((callback, attempts)) => {
                    println!("{}", json!({"callback": callback, "attempts": attempts}));
                    ExitCode::SUCCESS
                }
                None => {
                    eprintln!("no callback for {ordersn}");
                    ExitCode::from(1)
                }
            },
            CallbacksCommand::Resend { ordersn, .. } => {
                match store.resend_callback(&ordersn, now_millis()).await? {
                    ResendOutcome::Resent => {
                        println!("{ordersn}: queued for delivery now");
                        ExitCode::SUCCESS
                    }
                    ResendOutcome::NoDelivery => {
                        eprintln!("no callback for {ordersn}");
                        ExitCode::from(1)
                    }
                    ResendOutcome::InFlight => {
                        eprintln!(
                            "{ordersn}: an attempt is in flight; nothing changed \
                             (resend once its outcome is recorded)"
                        );
                        ExitCode::from(1)
                    }
                }
            }
        };
        store.close().await;
        Ok(code)
    })
}

fn db_check(file: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let config = Config::load(file.as_deref())?;
    runtime()?.block_on(async {
        let store = Store::open(&config.database()).await?;
        let violations = store.check_consistency().await;
        store.close().await;
        let violations = violations?;
        for v in &violations {
            println!("{}", serde_json::to_string(v)?);
        }
        if violations.is_empty() {
            eprintln!("database consistent");
            Ok(ExitCode::SUCCESS)
        } else {
            eprintln!("{} violation(s)", violations.len());
            Ok(ExitCode::from(1))
        }
    })
}

fn config_check(file: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let config = Config::load(file.as_deref())?;
    let component =
        (!config.rules.component.as_os_str().is_empty()).then(|| config.rules.component.clone());
    let rules = gateway::load_rules(component.as_deref(), &config)?;
    gateway::check_protocol(&config, &rules)?;
    let policy = gateway::confirmation_policy(&config, &rules)?;
    let merchants = config.resolve_merchants()?;
    let admin_token = config.admin_token()?;
    println!("configuration OK");
    let dev_mode = config.dev_mode();
    println!(
        "dev mode: {} ({})",
        if dev_mode.on { "on" } else { "off" },
        dev_mode.reason
    );
    println!("listen: {}", config.listen);
    println!(
        "callbacks to private addresses: {}",
        if config.allow_private_targets() {
            "allowed"
        } else {
            "refused"
        }
    );
    println!("database: {}", config.database().describe());
    println!(
        "admin API and console: {}",
        if admin_token.is_some() {
            "on (admin token accepted)"
        } else {
            "off (no admin token)"
        }
    );
    let main_port = config.metrics_on_main_port();
    let metrics = match (config.metrics.listen, main_port) {
        (Some(addr), true) => format!("on {addr} and on the main port"),
        (Some(addr), false) => format!("on {addr}"),
        (None, true) => "on the main port".to_owned(),
        (None, false) => "not served (set metrics.listen)".to_owned(),
    };
    println!("metrics: {metrics}");
    if merchants.is_empty() && dev_mode.on {
        println!(
            "merchants: none; dev mode creates the demo merchant `{}`",
            gateway::DEV_APPID
        );
    }
    for m in &merchants {
        println!(
            "merchant {}: secret {} characters{}, notify_url {}",
            m.appid,
            m.secret.expose().chars().count(),
            if m.next_secret.is_some() {
                ", next_secret set (rotation in progress)"
            } else {
                ""
            },
            m.notify_url.as_deref().unwrap_or("(none)")
        );
    }
    println!(
        "confirmations: {} below {} units, {} at or above; {} chain override(s)",
        policy.base.default_required,
        policy.base.large_amount,
        policy.base.large_required,
        policy.overrides.len()
    );
    Ok(ExitCode::SUCCESS)
}
