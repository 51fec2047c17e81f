//! `address`: deposit addresses from account keys, their allocations and retirements.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Subcommand;
use serde_json::json;

use usdt_gateway::rules::Rules;
use usdt_gateway::store::Store;
use usdt_gateway_core::Core;
use usdt_gateway_core::audit::Actor;
use usdt_gateway_core::usecases::{RetireRefusal, Retirement};

use super::with_core;

// The `address` commands (no doc comment: clap would show it as help text).
#[derive(Debug, Subcommand)]
pub(super) enum AddressCommand {
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
        idle_for: Duration,
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

/// `address derive|list|retire|retirements`.
pub(super) fn address(command: AddressCommand) -> anyhow::Result<ExitCode> {
    match command {
        AddressCommand::Derive {
            xpub,
            chain,
            from,
            count,
        } => derive(&xpub, &chain, from, count),
        AddressCommand::List { config } => with_core(config.as_deref(), list),
        AddressCommand::Retire {
            config,
            idle_for,
            chain,
            appid,
            dry_run,
        } => {
            let retirement = Retirement {
                idle_for,
                chain,
                appid,
                dry_run,
            };
            with_core(config.as_deref(), async |core| {
                retire(core, &retirement).await
            })
        }
        AddressCommand::Retirements { config } => with_core(config.as_deref(), retirements),
    }
}

/// `address derive`: each address with its index, or the component's refusal (exit 1).
fn derive(xpub: &str, chain: &str, from: u32, count: u32) -> anyhow::Result<ExitCode> {
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

/// `address list`: one JSON line per allocation.
async fn list(core: &Core<Store>) -> anyhow::Result<ExitCode> {
    for a in core.allocations().await? {
        println!("{}", serde_json::to_string(&a)?);
    }
    Ok(ExitCode::SUCCESS)
}

/// `address retire`: the core's retirement (audited unless dry): each retired (or, dry,
/// retirable) address as one JSON line, then the count on standard error.
async fn retire(core: &Core<Store>, retirement: &Retirement) -> anyhow::Result<ExitCode> {
    let retired = match core
        .retire_idle_addresses(&Actor::cli(), retirement)
        .await?
    {
        Ok(retired) => retired,
        Err(RetireRefusal::TooRecent) => anyhow::bail!(
            "--idle-for must be at least 30 days (a user may pay to a saved address at any time)"
        ),
    };
    for r in &retired {
        println!("{}", serde_json::to_string(r)?);
    }
    let verb = if retirement.dry_run {
        "would retire"
    } else {
        "retired"
    };
    eprintln!(
        "{verb} {} address(es) idle for {}",
        retired.len(),
        humantime::format_duration(retirement.idle_for)
    );
    Ok(ExitCode::SUCCESS)
}

/// `address retirements`: one JSON line per retirement.
async fn retirements(core: &Core<Store>) -> anyhow::Result<ExitCode> {
    for r in core.retirements().await? {
        println!("{}", serde_json::to_string(&r)?);
    }
    Ok(ExitCode::SUCCESS)
}
