//! `db check`: the configured database's money state.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use usdt_gateway::store::Store;

use usdt_gateway_core::Core;

use super::with_core;

// The `db` commands (no doc comment: clap would show it as help text).
#[derive(Debug, Subcommand)]
pub(super) enum DbCommand {
    /// List every order whose money state disagrees with its deposits or its callback
    /// (one JSON line each); exit 1 when there is one, 0 when the database is consistent.
    Check {
        /// A TOML file over the documented defaults.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
}

/// `db check`.
pub(super) fn db(command: DbCommand) -> anyhow::Result<ExitCode> {
    match command {
        DbCommand::Check { config } => with_core(config.as_deref(), check),
    }
}

/// `db check`: each violation as one JSON line, then the count on standard error.
async fn check(core: &Core<Store>) -> anyhow::Result<ExitCode> {
    let violations = core.check_consistency().await?;
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
}
