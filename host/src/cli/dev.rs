//! `dev`: drive the embedded dev chain of a running gateway in dev mode.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::runtime;

// `dev`'s arguments (no doc comment: clap would show it as help text).
#[derive(Debug, Args)]
pub(super) struct DevArgs {
    /// The running gateway.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    gateway: String,
    /// `TRC20`, `ERC20` or `OMNI`.
    #[arg(long)]
    chain: String,
    #[command(subcommand)]
    command: DevCommand,
}

// The `dev` commands (no doc comment: clap would show it as help text).
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

/// `dev transfer|mine|reorg`: post the action to the gateway's dev chain and print its
/// answer; exit 1 when the gateway refused it.
pub(super) fn dev(args: DevArgs) -> anyhow::Result<ExitCode> {
    let (action, body) = dev_request(args.command);
    let url = format!(
        "{}/dev/chains/{}/{action}",
        args.gateway.trim_end_matches('/'),
        args.chain
    );
    runtime()?.block_on(post(&url, &body))
}

/// The dev chain's action (the last part of its path) and its JSON body.
fn dev_request(command: DevCommand) -> (&'static str, Value) {
    match command {
        DevCommand::Transfer { to, amount } => ("transfers", json!({"to": to, "amount": amount})),
        DevCommand::Mine { blocks } => ("mine", json!({"blocks": blocks})),
        DevCommand::Reorg { depth } => ("reorg", json!({"depth": depth})),
    }
}

/// POST `body` to `url` and print the answer.
async fn post(url: &str, body: &Value) -> anyhow::Result<ExitCode> {
    let response = reqwest::Client::new()
        .post(url)
        .json(body)
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
}
