//! The sections that run and operate the process: `[log]`, `[dev]`, `[admin]`,
//! `[metrics]` and `[rules]` (the protocol component's sandbox).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::secrets::{Secret, SecretRef, check_token_strength};
use super::{Config, ConfigError};

/// `[log]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// Output format.
    pub format: LogFormat,
    /// A `tracing` filter directive.
    pub level: String,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// `[dev]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevConfig {
    /// Development mode: a demo merchant when none is configured, dev chains and the
    /// `/dev/…` routes. Unset: on only for the zero-configuration run (see [`Config::dev_mode`]).
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Allow dev mode on an address other than loopback (anyone reaching it can mint
    /// deposits): an explicit opt-in, off by default.
    #[serde(default)]
    pub allow_public_listen: bool,
    /// How often dev chains' watchers look for blocks.
    #[serde(with = "humantime_serde")]
    pub poll_interval: Duration,
}

/// `[admin]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    /// The admin API's bearer token.
    #[serde(default)]
    pub token: Option<Secret>,
    /// The name of an environment variable holding it.
    #[serde(default)]
    pub token_env: Option<String>,
}

impl AdminConfig {
    /// The admin token as configured (`token` or `token_env`), checked by
    /// [`check_token_strength`].
    pub(super) fn token_ref(&self) -> SecretRef<'_> {
        SecretRef::new(
            "admin.token",
            self.token.as_ref(),
            self.token_env.as_deref(),
        )
        .checked_by(check_token_strength)
    }
}

/// `[metrics]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// Serve `GET /metrics` on this address only.
    #[serde(default)]
    pub listen: Option<SocketAddr>,
    /// Serve `GET /metrics` on the main port too. Unset: only in dev mode (see
    /// [`Config::metrics_on_main_port`]).
    #[serde(default)]
    pub on_main_port: Option<bool>,
}

/// `[rules]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesConfig {
    /// Path of a component build to run instead of the built-in one (empty: built-in).
    pub component: PathBuf,
    /// Largest linear memory of one instance, MiB.
    pub max_memory_mib: u32,
    /// Longest time one call may run.
    #[serde(with = "humantime_serde")]
    pub call_timeout: Duration,
}

impl RulesConfig {
    /// The sandbox's memory 1..=4096 MiB, its call timeout at least 1 ms.
    pub(super) fn check(&self) -> Result<(), ConfigError> {
        if !(1..=4096).contains(&self.max_memory_mib) {
            return Err(ConfigError::key("rules.max_memory_mib", "must be 1..=4096"));
        }
        if self.call_timeout < Duration::from_millis(1) {
            return Err(ConfigError::key(
                "rules.call_timeout",
                "must be at least 1ms",
            ));
        }
        Ok(())
    }
}

impl Config {
    /// The admin API's token, if the admin API is on: read from the configuration or
    /// the environment, refused unless strong enough ([`check_token_strength`]).
    pub fn admin_token(&self) -> Result<Option<Secret>, ConfigError> {
        self.admin.token_ref().resolve()
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::load;

    #[test]
    fn a_weak_admin_token_is_refused_with_the_key_and_never_echoed() {
        let dev = "[dev]\nenabled = true\n";
        for weak in [
            "aaaaaaaaaaaaaaaa",
            "0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            let err = load(&format!("{dev}[admin]\ntoken = \"{weak}\"\n"))
                .unwrap_err()
                .to_string();
            assert!(err.contains("admin.token"), "{err}");
            assert!(!err.contains(weak), "{err}");
        }
        let strong = "9f2c4e71b0d35a86e4c1f07b92d8a63e5b1c0f4d7a29e86c3b50d1f7e4a92c68";
        let config = load(&format!("{dev}[admin]\ntoken = \"{strong}\"\n")).unwrap();
        assert_eq!(config.admin_token().unwrap().unwrap().expose(), strong);
    }

    #[test]
    fn the_admin_token_is_inline_or_from_the_environment_not_both() {
        let strong = "9f2c4e71b0d35a86e4c1f07b92d8a63e5b1c0f4d7a29e86c3b50d1f7e4a92c68";
        let err = load(&format!(
            "[dev]\nenabled = true\n[admin]\ntoken = \"{strong}\"\ntoken_env = \"T\"\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("`admin.token`") && err.contains("`admin.token_env`"),
            "{err}"
        );
        assert!(!err.contains(strong), "{err}");

        let var = "USDT_GATEWAY_TEST_SURELY_UNSET_ADMIN_TOKEN";
        let config = load(&format!(
            "[dev]\nenabled = true\n[admin]\ntoken_env = \"{var}\"\n"
        ))
        .unwrap();
        let err = config.admin_token().unwrap_err().to_string();
        assert!(
            err.contains("`admin.token_env`") && err.contains(var),
            "{err}"
        );
    }

    #[test]
    fn metrics_listen_takes_an_address_and_nothing_else() {
        let config =
            load("[metrics]\nlisten = \"127.0.0.1:9464\"\n[dev]\nenabled = true\n").unwrap();
        assert_eq!(
            config.metrics.listen,
            Some("127.0.0.1:9464".parse().unwrap())
        );
        let err = load("[metrics]\nlisten = \"nowhere\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("metrics.listen"), "{err}");
        let err = load("[metrics]\npath = \"/m\"\n").unwrap_err().to_string();
        assert!(err.contains("path"), "{err}");
    }
}
