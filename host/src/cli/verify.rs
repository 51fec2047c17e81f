//! `verify-callback`: check a callback body as a merchant's receiver must.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use clap::Args;
use serde_json::json;

use usdt_gateway::rules::{CallbackFields, Rejection, Rules};

use super::SecretArgs;

// `verify-callback`'s arguments (no doc comment: clap would show it as help text).
#[derive(Debug, Args)]
pub(super) struct VerifyArgs {
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

/// `verify-callback`: print the verdict as one JSON line; exit 1 when the callback is
/// rejected.
pub(super) fn verify_callback(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let body = read_body(args.file.as_deref())?;
    let now = args.now.unwrap_or_else(unix_seconds_now);
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
            print_valid(&rules, callback.fields)?;
            Ok(ExitCode::SUCCESS)
        }
        Err(rejection) => {
            print_rejection(&rejection);
            Ok(ExitCode::from(1))
        }
    }
}

/// The body from `file`, or from standard input when it is `-` or absent.
fn read_body(file: Option<&Path>) -> anyhow::Result<String> {
    match file {
        Some(path) if path.as_os_str() != "-" => {
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
        }
        _ => {
            let mut body = String::new();
            std::io::stdin().read_to_string(&mut body)?;
            Ok(body)
        }
    }
}

/// Now, in Unix seconds.
fn unix_seconds_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A valid callback's fields, the amount also as USDT text.
fn print_valid(rules: &Rules, fields: CallbackFields) -> anyhow::Result<()> {
    let CallbackFields {
        orderid,
        localusermark,
        amount,
        t,
    } = fields;
    let usdt = rules.format_usdt(amount)?;
    println!(
        "{}",
        json!({"valid": true, "orderid": orderid, "localusermark": localusermark,
               "amount": amount.to_string(), "usdt": usdt, "t": t.to_string()})
    );
    Ok(())
}

/// Why the callback is rejected: the code, the field and the message.
fn print_rejection(rejection: &Rejection) {
    println!(
        "{}",
        json!({"valid": false, "code": rejection.code.as_str(), "field": rejection.field,
               "msg": rejection.message})
    );
}
