//! `config check` and `config defaults`: the configuration as the gateway would run it.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use usdt_gateway::config::{Config, Merchant};
use usdt_gateway::gateway;
use usdt_gateway::rules::ConfirmationPolicy;

// The `config` commands (no doc comment: clap would show it as help text).
#[derive(Debug, Subcommand)]
pub(super) enum ConfigCommand {
    /// Load and validate the configuration, then print it (secrets redacted).
    Check {
        /// A TOML file over the documented defaults.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Print the documented defaults.
    Defaults,
}

/// `config check|defaults`.
pub(super) fn config(command: ConfigCommand) -> anyhow::Result<ExitCode> {
    match command {
        ConfigCommand::Check { config } => check(config),
        ConfigCommand::Defaults => {
            print!("{}", usdt_gateway::config::DEFAULTS);
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `config check`: everything the gateway checks at start-up (the protocol component,
/// the merchants, the admin token), then a summary with secrets redacted.
fn check(file: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let config = Config::load(file.as_deref())?;
    let policy = check_protocol(&config)?;
    let merchants = config.resolve_merchants()?;
    let admin_token = config.admin_token()?;
    println!("configuration OK");
    print_settings(&config, admin_token.is_some());
    print_merchants(&config, &merchants);
    print_confirmations(&policy);
    Ok(ExitCode::SUCCESS)
}

/// Load the configured protocol component, check it against the configuration, and
/// derive the confirmation policy from both.
fn check_protocol(config: &Config) -> anyhow::Result<ConfirmationPolicy> {
    let component =
        (!config.rules.component.as_os_str().is_empty()).then(|| config.rules.component.clone());
    let rules = gateway::load_rules(component.as_deref(), config)?;
    gateway::check_protocol(config, &rules)?;
    gateway::confirmation_policy(config, &rules)
}

/// Dev mode, where the gateway listens, the callback policy, the database, the admin
/// API and the metrics.
fn print_settings(config: &Config, admin_token: bool) {
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
        if admin_token {
            "on (admin token accepted)"
        } else {
            "off (no admin token)"
        }
    );
    println!("metrics: {}", metrics_summary(config));
}

/// Where `/metrics` is served.
fn metrics_summary(config: &Config) -> String {
    match (config.metrics.listen, config.metrics_on_main_port()) {
        (Some(addr), true) => format!("on {addr} and on the main port"),
        (Some(addr), false) => format!("on {addr}"),
        (None, true) => "on the main port".to_owned(),
        (None, false) => "not served (set metrics.listen)".to_owned(),
    }
}

/// Each merchant, its secret only as a length; dev mode's demo merchant when none.
fn print_merchants(config: &Config, merchants: &[Merchant]) {
    if merchants.is_empty() && config.dev_mode().on {
        println!(
            "merchants: none; dev mode creates the demo merchant `{}`",
            gateway::DEV_APPID
        );
    }
    for m in merchants {
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
}

/// The confirmations required below and at the large-amount line, and the overrides.
fn print_confirmations(policy: &ConfirmationPolicy) {
    println!(
        "confirmations: {} below {} units, {} at or above; {} chain override(s)",
        policy.base.default_required,
        policy.base.large_amount,
        policy.base.large_required,
        policy.overrides.len()
    );
}
