//! Configuration: the documented defaults (`config/defaults.toml`, embedded), then an
//! operator's TOML file, then `USDT_GATEWAY_*` environment variables. Loaded once at
//! start and validated; every error names the key at fault.
//!
//! This module holds the layering and the whole [`Config`]; each section's schema is in
//! its own module ([`secrets`] for every secret's value and how it is named), the checks
//! in `validate`, the dev-mode policy in `dev_mode`, and the resolved [`Merchant`] in
//! `merchant`. Everything is re-exported here: `config::{Config, Secret, Merchant, …}`.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::Deserialize;

mod chains;
mod dev_mode;
mod http;
mod merchant;
mod merchants;
mod operations;
mod orders;
pub mod secrets;
mod validate;

pub use chains::{ChainConfig, ConfirmationDepth, ProviderConfig, ResolvedProvider};
pub use dev_mode::DevMode;
pub use http::HttpConfig;
pub use merchant::Merchant;
pub use merchants::{AddressLimitsOverride, AddressesConfig, MerchantConfig};
pub use operations::{AdminConfig, DevConfig, LogConfig, LogFormat, MetricsConfig, RulesConfig};
pub use orders::{ConfirmationRuleConfig, ConfirmationsConfig, NotifyConfig, OrdersConfig};
pub use secrets::{
    MAX_TOKEN_CHARS, MIN_SECRET_CHARS, MIN_TOKEN_BITS, MIN_TOKEN_CHARS, Secret, SecretRef,
    SecretRule, check_secret_length, check_token_strength, estimated_bits,
};

/// The documented defaults, the first layer of every configuration.
pub const DEFAULTS: &str = include_str!("../../config/defaults.toml");

/// The prefix of environment overrides; nested keys are joined by `__`.
pub const ENV_PREFIX: &str = "USDT_GATEWAY_";

/// The whole configuration, as read (see `config/defaults.toml` for every key).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP API listens on.
    pub listen: SocketAddr,
    /// Folder of the embedded database and the dev merchant's secret.
    pub data_dir: PathBuf,
    /// `postgres://…` to use PostgreSQL instead of the embedded SQLite.
    #[serde(default)]
    pub database_url: Option<Secret>,
    /// Longest time a request may take.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// HTTP connection limits and the shutdown drain.
    pub http: HttpConfig,
    /// Logging.
    pub log: LogConfig,
    /// Development mode.
    pub dev: DevConfig,
    /// Order lifecycle.
    pub orders: OrdersConfig,
    /// Callback delivery.
    pub notify: NotifyConfig,
    /// Confirmation policy.
    pub confirmations: ConfirmationsConfig,
    /// The protocol component and its sandbox.
    pub rules: RulesConfig,
    /// The admin API.
    pub admin: AdminConfig,
    /// `GET /metrics`.
    #[serde(default)]
    pub metrics: MetricsConfig,
    /// Limits on the addresses each merchant allocates (`TraderRechargeAddress`).
    pub addresses: AddressesConfig,
    /// Real chains, by name (`TRC20`, `ERC20`).
    #[serde(default)]
    pub chains: BTreeMap<String, ChainConfig>,
    /// The merchants.
    #[serde(default)]
    pub merchants: Vec<MerchantConfig>,
    /// The file this was read from (`None`: defaults and environment only). Not a key.
    #[serde(skip)]
    pub source_file: Option<PathBuf>,
}

/// The top-level keys; environment variables are read only for these, so another
/// `USDT_GATEWAY_*` variable (a script's own, say) is not mistaken for a bad key.
const TOP_LEVEL_KEYS: [&str; 16] = [
    "listen",
    "data_dir",
    "database_url",
    "request_timeout",
    "http",
    "log",
    "dev",
    "orders",
    "notify",
    "confirmations",
    "rules",
    "admin",
    "metrics",
    "addresses",
    "chains",
    "merchants",
];

/// `USDT_GATEWAY_<KEY>` variables for the configuration's keys, nested keys joined by `__`.
fn environment() -> Env {
    Env::prefixed(ENV_PREFIX)
        .filter(|key| {
            let top = key.as_str().split("__").next().unwrap_or("");
            TOP_LEVEL_KEYS.iter().any(|k| top.eq_ignore_ascii_case(k))
        })
        .split("__")
}

/// A configuration that could not be loaded; the message names the key at fault.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

impl ConfigError {
    /// `key` (a dotted path, e.g. `chains.TRC20.rpc_urls[0]`) and what is wrong with it.
    pub fn key(key: impl fmt::Display, problem: impl fmt::Display) -> Self {
        Self(format!("`{key}`: {problem}"))
    }
}

/// Where the database lives.
#[derive(Clone, Debug)]
pub enum Database {
    /// The embedded SQLite database file.
    Sqlite(PathBuf),
    /// A PostgreSQL server.
    Postgres(Secret),
}

impl Database {
    /// For logs: the SQLite path, or `postgres` (the URL may hold a password).
    pub fn describe(&self) -> String {
        match self {
            Self::Sqlite(path) => format!("sqlite {}", path.display()),
            Self::Postgres(_) => "postgres".into(),
        }
    }
}

impl Config {
    /// Defaults, then `file` (when given), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_with_env(file, environment())
    }

    /// Defaults, then `file`, then the given environment provider (tests pass their own).
    pub fn load_with_env(file: Option<&Path>, env: Env) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Toml::string(DEFAULTS));
        if let Some(file) = file {
            if !file.is_file() {
                return Err(ConfigError(format!(
                    "the file {} does not exist",
                    file.display()
                )));
            }
            figment = figment.merge(Toml::file(file));
        }
        let mut config: Self = figment
            .merge(env)
            .extract()
            .map_err(|e| ConfigError(flatten_figment_error(e)))?;
        config.source_file = file.map(Path::to_path_buf);
        config.validate()?;
        Ok(config)
    }

    /// Where the database lives.
    pub fn database(&self) -> Database {
        match &self.database_url {
            Some(url) => Database::Postgres(url.clone()),
            None => Database::Sqlite(self.data_dir.join("gateway.db")),
        }
    }
}

/// figment reports the key path and the source of the value; keep it on one line.
fn flatten_figment_error(error: figment::Error) -> String {
    error
        .into_iter()
        .map(|e| {
            let key = e.path.join(".");
            let detail = e.kind.to_string();
            let source = e
                .metadata
                .as_ref()
                .map(|m| format!(" (from {})", m.name))
                .unwrap_or_default();
            if key.is_empty() {
                format!("{detail}{source}")
            } else {
                format!("`{key}`: {detail}{source}")
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// What the tests of every section share: a configuration from TOML text alone.
#[cfg(test)]
mod test_support {
    use super::{Config, ConfigError, Env};

    /// A merchant secret that meets the length rule.
    pub(super) const GOOD_SECRET: &str = "0123456789abcdef0123456789abcdef";

    /// Defaults, then `toml` as the file; no environment.
    pub(super) fn load(toml: &str) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gateway.toml");
        std::fs::write(&path, toml).unwrap();
        Config::load_with_env(Some(&path), Env::prefixed("USDT_GATEWAY_TEST_UNUSED_"))
    }

    /// The defaults alone.
    pub(super) fn defaults() -> Config {
        Config::load_with_env(None, Env::prefixed("USDT_GATEWAY_TEST_UNUSED_")).unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{defaults, load};
    use super::*;

    #[test]
    fn defaults_alone_are_valid_and_documented_values_hold() {
        let config = defaults();
        assert_eq!(config.listen, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(config.data_dir, PathBuf::from("./data"));
        assert_eq!(config.dev.enabled, None);
        assert!(
            config.dev_mode().on,
            "the zero-configuration run is dev mode"
        );
        assert_eq!(config.notify.retry_delays.len(), 8);
        assert_eq!(config.notify.retry_delays[0], Duration::from_secs(15));
        assert_eq!(config.notify.retry_delays[7], Duration::from_secs(6 * 3600));
        assert_eq!(config.notify.timeout, Duration::from_secs(6));
        assert!(
            config.allow_private_targets(),
            "dev mode allows private targets"
        );
        assert_eq!(config.dev.poll_interval, Duration::from_millis(500));
        assert!(config.chains.is_empty());
        assert!(config.admin_token().unwrap().is_none());
        assert_eq!(config.confirmations.default, 1);
        assert_eq!(config.confirmations.large_amount, "10000");
        assert_eq!(config.confirmations.large_required, 3);
        assert_eq!(config.orders.ttl, Duration::from_secs(24 * 3600));
        assert!(matches!(config.database(), Database::Sqlite(p) if p.ends_with("gateway.db")));
        assert_eq!(config.metrics.listen, None);
        assert!(
            config.metrics_on_main_port(),
            "the zero-configuration run serves /metrics on its (loopback) port"
        );
    }

    #[test]
    fn a_file_overrides_defaults_and_names_bad_keys() {
        let config = load(
            "listen = \"0.0.0.0:9000\"\n[notify]\ntimeout = \"2s\"\n\
             [[merchants]]\nappid = \"m1\"\nsecret = \"s\"\n",
        )
        .unwrap();
        assert_eq!(config.listen.port(), 9000);
        assert_eq!(config.notify.timeout, Duration::from_secs(2));
        assert_eq!(
            config.notify.retry_delays.len(),
            8,
            "untouched keys keep defaults"
        );

        let err = load("[notify]\ntimeout = \"soon\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("notify.timeout"), "{err}");
        let err = load("[confirmations]\ndefault = -1\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("confirmations.default"), "{err}");
        let err = load("listen = \"nowhere\"\n").unwrap_err().to_string();
        assert!(err.contains("listen"), "{err}");
        let err = load("typo = 1\n").unwrap_err().to_string();
        assert!(err.contains("typo"), "{err}");
        let err = load("[[merchants]]\nappid = \"a\"\nsecret = \"s\"\n[[merchants]]\nappid = \"a\"\nsecret = \"t\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("merchants[1].appid"), "{err}");
        let err = load("[dev]\nenabled = false\n").unwrap_err().to_string();
        assert!(err.contains("`merchants`"), "{err}");
        let err = load("database_url = \"mysql://x\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("database_url"), "{err}");
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail API
    fn environment_overrides_the_file() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "gateway.toml",
                "[notify]\ntimeout = \"2s\"\n[[merchants]]\nappid = \"m\"\nsecret_env = \"M_SECRET\"\n",
            )?;
            jail.set_env("USDT_GATEWAY_NOTIFY__TIMEOUT", "9s");
            jail.set_env("USDT_GATEWAY_LISTEN", "127.0.0.1:1234");
            jail.set_env("USDT_GATEWAY_DATABASE_URL", "postgres://u:pw@db/x");
            jail.set_env("USDT_GATEWAY_BIN", "/some/script/variable");
            let config = Config::load(Some(Path::new("gateway.toml"))).unwrap();
            assert_eq!(config.notify.timeout, Duration::from_secs(9));
            assert_eq!(config.listen.port(), 1234);
            assert!(matches!(config.database(), Database::Postgres(_)));
            assert!(!format!("{config:?}").contains("pw@db"));
            Ok(())
        });
    }
}
