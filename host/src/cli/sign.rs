//! `sign`: compute a sign, or a whole request body, the way a merchant must.

use std::process::ExitCode;

use clap::Subcommand;
use serde_json::{Value, json};

use usdt_gateway::rules::{OrderFields, Rules};

use super::SecretArgs;

// The `sign` commands (no doc comment: clap would show it as help text).
#[derive(Debug, Subcommand)]
pub(super) enum SignCommand {
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

/// `sign order|query|address`: print the sign, or with `--body` the whole request body.
pub(super) fn sign(command: SignCommand) -> anyhow::Result<ExitCode> {
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
            sign_order(&rules, &fields, body, notify_url, &secret)?;
        }
        SignCommand::Address {
            appid,
            username,
            chain,
            body,
            secret,
        } => sign_address(&rules, &appid, &username, &chain, body, &secret)?,
        SignCommand::Query {
            appid,
            orderid,
            body,
            secret,
        } => sign_query(&rules, &appid, &orderid, body, &secret)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `sign order`; `notify_url` goes into the body only.
fn sign_order(
    rules: &Rules,
    fields: &OrderFields,
    body: bool,
    notify_url: Option<String>,
    secret: &SecretArgs,
) -> anyhow::Result<()> {
    let sign = rules.order_sign(fields, &secret.resolve()?)?;
    let body = body.then(|| {
        json!({
            "appid": fields.appid,
            "username": fields.username,
            "localusermark": fields.localusermark,
            "address": fields.address,
            "orderid": fields.orderid,
            "amount": fields.amount,
            "notify_url": notify_url,
            "sign": sign,
        })
    });
    print_sign(&sign, body);
    Ok(())
}

/// `sign address`: the chain is checked by the component first.
fn sign_address(
    rules: &Rules,
    appid: &str,
    username: &str,
    chain: &str,
    body: bool,
    secret: &SecretArgs,
) -> anyhow::Result<()> {
    let wire = rules
        .parse_chain(chain)?
        .map_err(|r| anyhow::anyhow!("--chain: {}", r.message))?;
    let sign = rules.address_sign(appid, username, wire, &secret.resolve()?)?;
    let body =
        body.then(|| json!({"appid": appid, "username": username, "chain": chain, "sign": sign}));
    print_sign(&sign, body);
    Ok(())
}

/// `sign query`.
fn sign_query(
    rules: &Rules,
    appid: &str,
    orderid: &str,
    body: bool,
    secret: &SecretArgs,
) -> anyhow::Result<()> {
    let sign = rules.query_sign(appid, orderid, &secret.resolve()?)?;
    let body = body.then(|| json!({"appid": appid, "orderid": orderid, "sign": sign}));
    print_sign(&sign, body);
    Ok(())
}

/// The whole request body when there is one, else the sign alone.
fn print_sign(sign: &str, body: Option<Value>) {
    match body {
        Some(body) => println!("{body}"),
        None => println!("{sign}"),
    }
}
