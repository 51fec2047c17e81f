//! `serve`: run the gateway until a shutdown signal; SIGHUP reloads the configuration.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;

use usdt_gateway::config::Config;
use usdt_gateway::gateway::{self, Gateway, MerchantReload};
use usdt_gateway::telemetry;
use usdt_gateway_core::audit::Actor;
use usdt_gateway_core::usecases;

// `serve`'s arguments (no doc comment: clap would show it as help text).
#[derive(Debug, Args)]
pub(super) struct ServeArgs {
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

/// `serve`: start the gateway and serve until a shutdown signal.
pub(super) fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
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
    let config = load_config(&args)?;
    telemetry::init(&config.log);
    runtime.block_on(run_gateway(config, args.component, hangups))
}

/// The configuration file over the defaults, with `--listen` in place of its `listen`.
fn load_config(args: &ServeArgs) -> anyhow::Result<Config> {
    let mut config = Config::load(args.config.as_deref())?;
    if let Some(listen) = args.listen {
        config.listen = listen;
        config.validate()?;
    }
    Ok(config)
}

/// Start the gateway, say where it listens, and serve until the shutdown signal.
async fn run_gateway(
    config: Config,
    component: Option<PathBuf>,
    hangups: Hangups,
) -> anyhow::Result<ExitCode> {
    let gateway = Gateway::start(&config, component).await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    let local = listener.local_addr()?;
    announce(&config, &gateway, local);
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
}

/// Print what an operator must know before the first request: dev mode's warning, the
/// demo merchant's credentials, where the metrics are.
fn announce(config: &Config, gateway: &Gateway, local: SocketAddr) {
    let dev_mode = config.dev_mode();
    if dev_mode.on {
        println!(
            "WARNING: dev mode is on ({}): POST /dev/chains/… lets anyone who reaches \
             {local} mint deposits. Never use it with real money.",
            dev_mode.reason
        );
    }
    if gateway.dev_merchant {
        print_demo_merchant(config, gateway);
    }
    if let Some(addr) = gateway.metrics_addr() {
        println!("usdt-gateway metrics on http://{addr}/metrics");
    }
}

/// Dev mode's demo merchant: its appid and secret, and where the secret is kept.
fn print_demo_merchant(config: &Config, gateway: &Gateway) {
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

/// One reload for a SIGHUP: the core's use case, which audits it (refused or not).
#[cfg(unix)]
fn hangup_reload(reload: &MerchantReload) {
    // Its outcome is the audit line; a refused reload changed nothing.
    let _ = usecases::reload_merchants(reload, &Actor::signal("SIGHUP"));
}
