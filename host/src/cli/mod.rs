//! The command line: [`run`] parses the arguments and hands each command group to its
//! module.

mod address;
mod callbacks;
mod config;
mod db;
mod dev;
mod serve;
mod sign;
mod verify;

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use usdt_gateway::config::Config;
use usdt_gateway::preflight::{chosen_component, load_rules};
use usdt_gateway::store::Store;
use usdt_gateway::telemetry;
use usdt_gateway::wakeups::NoWorkers;
use usdt_gateway_core::Core;
use usdt_gateway_core::clock::SystemClock;

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
    Serve(serve::ServeArgs),
    /// Compute a sign (and a ready-to-send body) the way a merchant must.
    #[command(subcommand)]
    Sign(sign::SignCommand),
    /// Check a callback body (from FILE or standard input) as a merchant's receiver must.
    VerifyCallback(verify::VerifyArgs),
    /// Configuration tools.
    #[command(subcommand)]
    Config(config::ConfigCommand),
    /// The embedded dev chain of a running gateway in dev mode.
    Dev(dev::DevArgs),
    /// Callback deliveries: list them, send one again (reads the configured database).
    #[command(subcommand)]
    Callbacks(callbacks::CallbacksCommand),
    /// Deposit addresses from account keys (xpub): derive them, list the allocations,
    /// retire idle ones.
    #[command(subcommand)]
    Address(address::AddressCommand),
    /// The configured database: check that its money state is consistent.
    #[command(subcommand)]
    Db(db::DbCommand),
}

/// Run the command line: the command's exit code, or 2 after printing its error.
pub fn run() -> ExitCode {
    match dispatch(Cli::parse().command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Hand the command to its group's module.
fn dispatch(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve(args) => serve::serve(args),
        Command::Sign(command) => sign::sign(command),
        Command::VerifyCallback(args) => verify::verify_callback(args),
        Command::Config(command) => config::config(command),
        Command::Dev(args) => dev::dev(args),
        Command::Callbacks(command) => callbacks::callbacks(command),
        Command::Address(command) => address::address(command),
        Command::Db(command) => db::db(command),
    }
}

// A merchant's secret, given on the command line or through an environment variable.
// (No doc comment on clap's argument structs: it would become help text.)
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
    /// The secret itself.
    fn resolve(&self) -> anyhow::Result<String> {
        match (&self.secret, &self.secret_env) {
            (Some(s), _) => Ok(s.clone()),
            (None, Some(var)) => std::env::var(var)
                .with_context(|| format!("the environment variable {var} is not set")),
            (None, None) => anyhow::bail!("--secret or --secret-env is required"),
        }
    }
}

/// A single-threaded runtime for a command's few network or database calls.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// Load the configuration from `file` (its log settings too: the use cases' audit lines
/// go to standard error), open its database, run `work` on the use cases over it, close
/// it. No worker runs here: a delivery queued due now is announced to every gateway's
/// dispatcher on PostgreSQL, and seen within a second on SQLite.
fn with_core(
    file: Option<&Path>,
    work: impl AsyncFnOnce(&Core<Store>) -> anyhow::Result<ExitCode>,
) -> anyhow::Result<ExitCode> {
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
        let outcome = work(&core).await;
        store.close().await;
        outcome
    })
}
