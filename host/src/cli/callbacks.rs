//! `callbacks`: the callback deliveries in the configured database.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::Subcommand;
use serde_json::json;

use usdt_gateway::config::Config;
use usdt_gateway::preflight::{chosen_component, load_rules};
use usdt_gateway::store::{DeliveryState, ResendOutcome, Store};
use usdt_gateway::telemetry;
use usdt_gateway::wakeups::NoWorkers;
use usdt_gateway_core::Core;
use usdt_gateway_core::audit::Actor;
use usdt_gateway_core::clock::SystemClock;

use super::{runtime, with_store};

// The `callbacks` commands (no doc comment: clap would show it as help text).
#[derive(Debug, Subcommand)]
pub(super) enum CallbacksCommand {
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

/// `callbacks list|show|resend`.
pub(super) fn callbacks(command: CallbacksCommand) -> anyhow::Result<ExitCode> {
    match command {
        CallbacksCommand::List {
            config,
            state,
            limit,
        } => with_store(config.as_deref(), async |store| {
            list(store, state, limit).await
        }),
        CallbacksCommand::Show { config, ordersn } => {
            with_store(config.as_deref(), async |store| show(store, &ordersn).await)
        }
        CallbacksCommand::Resend { config, ordersn } => resend(config.as_deref(), &ordersn),
    }
}

/// `callbacks list`: one JSON line per delivery.
async fn list(store: &Store, state: Option<DeliveryState>, limit: i64) -> anyhow::Result<ExitCode> {
    for c in store.list_callbacks(state, limit).await? {
        println!("{}", serde_json::to_string(&c)?);
    }
    Ok(ExitCode::SUCCESS)
}

/// `callbacks show`: the delivery and its attempts as one JSON line; exit 1 when the
/// order has none.
async fn show(store: &Store, ordersn: &str) -> anyhow::Result<ExitCode> {
    Ok(match store.callback(ordersn).await? {
        Some((callback, attempts)) => {
            println!("{}", json!({"callback": callback, "attempts": attempts}));
            ExitCode::SUCCESS
        }
        None => {
            eprintln!("no callback for {ordersn}");
            ExitCode::from(1)
        }
    })
}

/// `callbacks resend`: the core's resend (audited in the log, as the admin API's and the
/// console's are), then what happened. A running gateway's dispatcher is told at once on
/// PostgreSQL (the storage announces the delivery) and sees it within a second on SQLite.
fn resend(file: Option<&Path>, ordersn: &str) -> anyhow::Result<ExitCode> {
    let config = Config::load(file)?;
    telemetry::init(&config.log);
    let rules = load_rules(chosen_component(&config, None).as_deref(), &config)?;
    runtime()?.block_on(async {
        let store = Store::open(&config.database()).await?;
        let core = Core::new(
            store.clone(),
            rules,
            Arc::new(NoWorkers),
            Arc::new(SystemClock),
        );
        let outcome = core.resend_delivery(&Actor::cli(), &ordersn.into()).await;
        store.close().await;
        Ok(report_resend(ordersn, outcome?))
    })
}

/// What `callbacks resend` did, and its exit code (1 when nothing was queued).
fn report_resend(ordersn: &str, outcome: ResendOutcome) -> ExitCode {
    match outcome {
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
