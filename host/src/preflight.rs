//! What the gateway loads and checks before anything runs, shared by `serve` and the
//! command line: the component (checked against the contract version), the
//! configuration judged by the protocol's rules, the confirmation policy, and the
//! merchants (dev mode's demo merchant included, its secret kept across restarts).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;

use crate::config::{Config, ConfigError, ConfirmationRuleConfig, Merchant, Secret};
use crate::rules::{ConfirmationPolicy, ConfirmationRule, ContractVersion, Rules, RulesLimits};

/// The appid of the merchant dev mode creates when none is configured.
pub const DEV_APPID: &str = "demo";

/// File under `data_dir` keeping the dev merchant's secret across restarts.
const DEV_SECRET_FILE: &str = "dev-merchant.secret";

/// The component to run: the command line's, else `rules.component`, else the embedded
/// one (`None`).
pub fn chosen_component(config: &Config, component: Option<PathBuf>) -> Option<PathBuf> {
    component.or_else(|| {
        (!config.rules.component.as_os_str().is_empty()).then(|| config.rules.component.clone())
    })
}

/// The component to run: `path` when given, else the one built into this binary. The
/// gateway needs `usdt:recharge@2.1.0` (its order and query paths are one call each);
/// merchants' `xpubs` need 2.2.0 (`check_protocol` refuses them on an older component,
/// whose address endpoint answers `RULES_UNAVAILABLE`).
pub fn load_rules(path: Option<&Path>, config: &Config) -> anyhow::Result<Arc<Rules>> {
    let limits = RulesLimits {
        max_memory_bytes: (config.rules.max_memory_mib as usize) << 20,
        call_timeout: config.rules.call_timeout,
        call_guard: Some(off_worker),
        ..RulesLimits::default()
    };
    let rules = match path {
        Some(path) => Rules::from_file(path, limits),
        None => Rules::builtin(limits),
    }
    .map_err(|e| anyhow::anyhow!("loading the protocol component: {e:#}"))?;
    if rules.version() < ContractVersion::V2_1 {
        anyhow::bail!(
            "the protocol component exports {}; the gateway needs {} (its `gateway` interface)",
            rules.version(),
            ContractVersion::V2_1
        );
    }
    Ok(rules)
}

/// Run a component call off the async worker it was made on (tokio's `block_in_place`,
/// whose blocking pool is bounded), so that a call running to its deadline never holds
/// the tasks queued on that worker. Only a call that outlasts `guard_after` (1 ms) in
/// place comes here, made again from the start: a call normally takes microseconds, and
/// handing the worker off for every call cost 15–25 % of the order throughput
/// (`scripts/bench-load`). Outside a multi-threaded runtime (a `current_thread` test, a
/// plain thread) the call runs in place.
fn off_worker(call: &mut dyn FnMut()) {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(call);
        }
        _ => call(),
    }
}

/// The configuration checked by the protocol's own rules, in the component: at most
/// `max-retries` callback retries, token decimals within the protocol's bound, and each
/// merchant's default `notify_url` by the rule orders' URLs follow.
pub fn check_protocol(config: &Config, rules: &Rules) -> anyhow::Result<()> {
    let facts = rules.facts()?;
    if config.notify.retry_delays.len() > facts.max_retries as usize {
        return Err(ConfigError(format!(
            "`notify.retry_delays`: the protocol allows at most {} retries",
            facts.max_retries
        ))
        .into());
    }
    for (chain, c) in &config.chains {
        rules
            .validate_token_decimals(c.decimals)?
            .map_err(|r| ConfigError(format!("`chains.{chain}.decimals`: {}", r.message)))?;
    }
    for (i, m) in config.merchants.iter().enumerate() {
        if let Some(url) = &m.notify_url {
            rules
                .validate_notify_url(url)?
                .map_err(|r| ConfigError(format!("`merchants[{i}].notify_url`: {}", r.message)))?;
        }
        check_xpubs(i, &m.xpubs, rules)?;
    }
    Ok(())
}

/// Each `merchants[i].xpubs` entry: a chain's wire name and an extended public key, both
/// judged by the component (a private key is refused; neither is echoed).
fn check_xpubs(
    i: usize,
    xpubs: &std::collections::BTreeMap<String, String>,
    rules: &Rules,
) -> anyhow::Result<()> {
    for (chain, xpub) in xpubs {
        let key = format!("merchants[{i}].xpubs.{chain}");
        rules
            .parse_chain(chain)?
            .map_err(|r| ConfigError(format!("`{key}`: {}", r.message)))?;
        let info = rules
            .parse_xpub(xpub)
            .map_err(|e| ConfigError(format!("`{key}`: {e}")))?;
        info.map_err(|e| ConfigError(format!("`{key}`: {} ({})", e.code.as_str(), e.message)))?;
    }
    Ok(())
}

/// The confirmation policy of the configuration, amounts parsed and the whole checked
/// by the component.
pub fn confirmation_policy(config: &Config, rules: &Rules) -> anyhow::Result<ConfirmationPolicy> {
    let rule = |key: &str, c: &ConfirmationRuleConfig| -> anyhow::Result<ConfirmationRule> {
        let large_amount = rules
            .parse_usdt(&c.large_amount)?
            .map_err(|r| ConfigError(format!("`{key}.large_amount`: {}", r.message)))?;
        Ok(ConfirmationRule {
            default_required: c.default,
            large_amount,
            large_required: c.large_required,
        })
    };
    let base = rule("confirmations", &config.confirmations.base())?;
    let mut overrides = Vec::new();
    for (name, c) in &config.confirmations.chains {
        let chain = rules
            .parse_chain(name)?
            .map_err(|r| ConfigError(format!("`confirmations.chains.{name}`: {}", r.message)))?;
        overrides.push((chain, rule(&format!("confirmations.chains.{name}"), c)?));
    }
    let policy = ConfirmationPolicy { base, overrides };
    rules
        .validate_policy(&policy)?
        .map_err(|r| ConfigError(format!("`confirmations`: {}", r.message)))?;
    Ok(policy)
}

/// The configured merchants, or in dev mode with none configured the demo merchant
/// (its secret made once and kept under `data_dir`). The flag says whether the demo
/// merchant was used.
pub fn merchants(config: &Config) -> anyhow::Result<(Vec<Merchant>, bool)> {
    let configured = config.resolve_merchants()?;
    if !configured.is_empty() || !config.dev_mode().on {
        return Ok((configured, false));
    }
    let path = config.data_dir.join(DEV_SECRET_FILE);
    let secret = match std::fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => text.trim().to_owned(),
        _ => {
            std::fs::create_dir_all(&config.data_dir)
                .with_context(|| format!("creating {}", config.data_dir.display()))?;
            let secret = format!(
                "{}{}",
                uuid::Uuid::new_v4().simple(),
                uuid::Uuid::new_v4().simple()
            );
            write_private(&path, &secret)?;
            secret
        }
    };
    Ok((
        vec![Merchant {
            appid: DEV_APPID.into(),
            secret: Secret::new(secret),
            next_secret: None,
            notify_url: None,
            checkout_page: true,
            xpubs: Default::default(),
            allocated_addresses_only: false,
            address_limits: config.addresses.into(),
        }],
        true,
    ))
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    Ok(())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use figment::providers::Env;

    use super::*;

    fn check(toml: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gateway.toml");
        std::fs::write(&path, toml).unwrap();
        let config =
            Config::load_with_env(Some(&path), Env::prefixed("USDT_GATEWAY_TEST_UNUSED_")).unwrap();
        let rules = Rules::builtin(RulesLimits::default()).unwrap();
        match check_protocol(&config, &rules) {
            Ok(()) => String::new(),
            Err(e) => e.to_string(),
        }
    }

    const MERCHANT: &str =
        "[[merchants]]\nappid = \"a\"\nsecret = \"0123456789abcdef0123456789abcdef\"\n";

    #[test]
    fn the_protocols_rules_judge_the_configuration() {
        assert_eq!(check(MERCHANT), "");
        let err = check(&format!("{MERCHANT}notify_url = \"ftp://x\"\n"));
        assert!(err.contains("merchants[0].notify_url"), "{err}");
        // The component's rule, not a URL parser's: credentials are refused too.
        let err = check(&format!(
            "{MERCHANT}notify_url = \"https://u:p@shop.example/n\"\n"
        ));
        assert!(err.contains("merchants[0].notify_url"), "{err}");
        let nine = "[notify]\nretry_delays = [\"1s\",\"1s\",\"1s\",\"1s\",\"1s\",\"1s\",\"1s\",\"1s\",\"1s\"]\n";
        let err = check(&format!("{nine}{MERCHANT}"));
        assert!(
            err.contains("notify.retry_delays") && err.contains('8'),
            "{err}"
        );
        let eight = nine.replacen("\"1s\",", "", 1);
        assert_eq!(check(&format!("{eight}{MERCHANT}")), "");
        let chain = "[chains.ERC20]\nrpc_urls = [\"http://127.0.0.1:8545\"]\ntoken_contract = \"0xdAC17F958D2ee523a2206206994597C13D831ec7\"\ndecimals = 19\n";
        let err = check(&format!("{chain}{MERCHANT}"));
        assert!(err.contains("chains.ERC20.decimals"), "{err}");
    }

    #[test]
    fn a_2_0_component_is_refused_by_the_gateway() {
        // The gateway's order and query paths need the 2.1.0 `gateway` interface.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("usdt_recharge_2.0.0.wasm");
        std::fs::write(
            &path,
            include_bytes!("../../runtime/tests/fixtures/usdt_recharge_2.0.0.wasm"),
        )
        .unwrap();
        let config =
            Config::load_with_env(None, Env::prefixed("USDT_GATEWAY_TEST_UNUSED_")).unwrap();
        let err = load_rules(Some(&path), &config).unwrap_err().to_string();
        assert!(err.contains("usdt:recharge@2.1.0"), "{err}");
    }
}

#[cfg(test)]
mod off_worker_tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};

    use super::{load_rules, off_worker};
    use crate::config::Config;
    use figment::providers::Env;

    /// On a runtime with one worker, a task queued behind a long component call still
    /// runs while the call is under way: the call left the worker.
    #[test]
    fn a_long_call_does_not_hold_the_tasks_queued_on_its_worker() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let other_ran_during_the_call = runtime.block_on(async {
            let other_ran = Arc::new(AtomicBool::new(false));
            let flag = Arc::clone(&other_ran);
            let call = tokio::spawn(async move {
                let mut seen = false;
                off_worker(&mut || {
                    // The call: wait (up to 5 s) for the other task to run meanwhile.
                    for _ in 0..500 {
                        if flag.load(Ordering::SeqCst) {
                            seen = true;
                            break;
                        }
                        std::thread::sleep(Duration::from_millis(10));
                    }
                });
                seen
            });
            tokio::task::yield_now().await;
            let other = Arc::clone(&other_ran);
            tokio::spawn(async move { other.store(true, Ordering::SeqCst) });
            call.await.expect("the call task ran")
        });
        assert!(other_ran_during_the_call);
    }

    /// The gateway's rules, the fault-injection build, on a runtime with one worker: a
    /// hanging call leaves the worker after `guard_after` (1 ms in place), so a task
    /// queued behind it runs within milliseconds, not at the call's deadline.
    #[test]
    fn a_hanging_component_call_leaves_its_worker_long_before_its_deadline() {
        let mut config =
            Config::load_with_env(None, Env::prefixed("USDT_GATEWAY_TEST_UNUSED_")).unwrap();
        config.rules.call_timeout = Duration::from_secs(1);
        let faults = std::path::Path::new(usdt_recharge_component::FAULTS_COMPONENT_PATH);
        let rules = load_rules(Some(faults), &config).expect("the faulty build loads");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let started = Instant::now();
        let calling = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&calling);
        let call = runtime.spawn(async move {
            flag.store(true, Ordering::SeqCst);
            let hung = rules.check_order(r#"{"username":"__hang__"}"#);
            (hung.is_err(), started.elapsed())
        });
        while !calling.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_micros(100));
        }
        let other = runtime.spawn(async move { started.elapsed() });
        let (other_ran_at, (faulted, call_ended_at)) =
            runtime.block_on(async { (other.await.expect("ran"), call.await.expect("ran")) });
        assert!(faulted, "the hanging call must end in a fault");
        assert!(
            call_ended_at >= Duration::from_millis(500),
            "{call_ended_at:?}"
        );
        assert!(
            other_ran_at < call_ended_at / 4,
            "the queued task ran at {other_ran_at:?}, the call ended at {call_ended_at:?}"
        );
    }

    #[test]
    fn outside_a_multi_threaded_runtime_the_call_runs_in_place() {
        let mut ran = false;
        off_worker(&mut || ran = true);
        assert!(ran);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let ran = runtime.block_on(async {
            let mut ran = false;
            off_worker(&mut || ran = true);
            ran
        });
        assert!(ran);
    }
}
