//! `callbacks`: the callback deliveries in the configured database.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use serde_json::json;

use usdt_gateway::store::{DeliveryState, ResendOutcome, Store};
use usdt_gateway_core::Core;
use usdt_gateway_core::audit::Actor;

use super::with_core;

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
        limit: u32,
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
        } => with_core(config.as_deref(), async |core| {
            list(core, state, limit).await
        }),
        CallbacksCommand::Show { config, ordersn } => {
            with_core(config.as_deref(), async |core| show(core, &ordersn).await)
        }
        CallbacksCommand::Resend { config, ordersn } => {
            with_core(config.as_deref(), async |core| resend(core, &ordersn).await)
        }
    }
}

/// `callbacks list`: one JSON line per delivery.
async fn list(
    core: &Core<Store>,
    state: Option<DeliveryState>,
    limit: u32,
) -> anyhow::Result<ExitCode> {
    for c in core.deliveries(state, limit).await? {
        println!("{}", serde_json::to_string(&c)?);
    }
    Ok(ExitCode::SUCCESS)
}

/// `callbacks show`: the delivery and its attempts as one JSON line; exit 1 when the
/// order has none.
async fn show(core: &Core<Store>, ordersn: &str) -> anyhow::Result<ExitCode> {
    Ok(match core.delivery(&ordersn.into()).await? {
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
async fn resend(core: &Core<Store>, ordersn: &str) -> anyhow::Result<ExitCode> {
    let outcome = core.resend_delivery(&Actor::cli(), &ordersn.into()).await?;
    Ok(report_resend(ordersn, outcome))
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
