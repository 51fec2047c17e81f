//! `[chains.<CHAIN>]`: the watched chains, their JSON-RPC providers or Omni Core nodes
//! (whose URLs, headers and credentials are secrets) and their scan settings.

use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroU32;
use std::time::Duration;

use serde::Deserialize;

use super::ConfigError;
use super::secrets::{Secret, SecretRef};

/// One `[chains.<CHAIN>]`: EVM JSON-RPC providers (TRC20, ERC20) or an Omni Core node
/// (OMNI).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainConfig {
    /// Endpoints, failover in order (may hold credentials: redacted in logs): the short
    /// form of `providers` (each URL a provider with no headers or rate limit).
    #[serde(default)]
    pub rpc_urls: Vec<Secret>,
    /// The providers, in order of preference (`[[chains.<CHAIN>.providers]]`); instead
    /// of `rpc_urls`.
    #[serde(default)]
    pub providers: Vec<ProviderConfig>,
    /// The token contract, `0x` hex (TRON: its 20-byte hex form). Required for TRC20 and
    /// ERC20; OMNI has none (USDT is Omni property 31).
    #[serde(default)]
    pub token_contract: String,
    /// The token's decimals.
    #[serde(default = "six")]
    pub decimals: u8,
    /// Time between rounds.
    #[serde(default = "four_seconds", with = "humantime_serde")]
    pub poll_interval: Duration,
    /// Most blocks per scan step.
    #[serde(default = "two_thousand")]
    pub max_blocks_per_scan: u64,
    /// Where a new gateway starts; unset: the head at first start.
    #[serde(default)]
    pub start_block: Option<u64>,
    /// When a deposit is confirmed: after the block counts of `[confirmations]`, or once
    /// its block is finalized (the node's `finalized` block: TRON's latest solidified
    /// block, Ethereum's finalized checkpoint).
    #[serde(default)]
    pub confirmation: ConfirmationDepth,
    /// Time one request may take, for providers that set no `timeout`.
    #[serde(default = "ten_seconds", with = "humantime_serde")]
    pub request_timeout: Duration,
    /// The initial and largest `eth_getLogs` block span; it shrinks when a provider
    /// refuses a range (TRON's `exceed max block range: 5000`).
    #[serde(default = "two_thousand")]
    pub block_span: u64,
    /// The largest number of watched addresses in one `eth_getLogs`; halved when a
    /// provider refuses as many (TRON: `exceed max topics: 1000`).
    #[serde(default = "five_hundred")]
    pub addresses_per_query: usize,
    /// Retries of one provider after a rate limit or server error before the next one.
    #[serde(default = "five")]
    pub max_retries: u32,
    /// Calls in a row a provider fails (after its retries) before it is skipped.
    #[serde(default = "one")]
    pub breaker_threshold: u32,
    /// How long a skipped provider stays skipped (longer if it announced a suspension,
    /// such as TronGrid's 30 s).
    #[serde(default = "thirty_seconds", with = "humantime_serde")]
    pub breaker_cooldown: Duration,
    /// OMNI: the Omni Core RPC user (`rpcuser`), inline.
    #[serde(default)]
    pub rpc_user: Option<Secret>,
    /// OMNI: the name of an environment variable holding the RPC user.
    #[serde(default)]
    pub rpc_user_env: Option<String>,
    /// OMNI: the Omni Core RPC password (`rpcpassword`), inline.
    #[serde(default)]
    pub rpc_password: Option<Secret>,
    /// OMNI: the name of an environment variable holding the RPC password.
    #[serde(default)]
    pub rpc_password_env: Option<String>,
}

/// When a chain's deposits are confirmed.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ConfirmationDepth {
    /// After the block counts of `[confirmations]` (the component's rule).
    #[default]
    Blocks,
    /// Once the deposit's block is at or below the node's `finalized` block.
    Finalized,
}

/// One `[[chains.<CHAIN>.providers]]`: a JSON-RPC provider.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// The endpoint (may hold credentials: redacted in logs).
    pub url: Secret,
    /// Headers with their values inline (secrets: never logged).
    #[serde(default)]
    pub headers: BTreeMap<String, Secret>,
    /// Headers whose values are read from environment variables: header name →
    /// variable name, e.g. `{ "TRON-PRO-API-KEY" = "TRONGRID_KEY" }`.
    #[serde(default)]
    pub headers_env: BTreeMap<String, String>,
    /// Most requests per second to this provider (evenly spaced); unset: no limit.
    #[serde(default)]
    pub rate_limit: Option<u32>,
    /// Time one request may take; unset: the chain's `request_timeout`.
    #[serde(default, with = "humantime_serde")]
    pub timeout: Option<Duration>,
}

/// A provider with its header values resolved from the configuration or the environment.
#[derive(Clone, Debug)]
pub struct ResolvedProvider {
    /// The endpoint.
    pub url: Secret,
    /// Header name and value.
    pub headers: Vec<(String, Secret)>,
    /// Requests per second.
    pub rate_limit: Option<NonZeroU32>,
    /// Time one request may take.
    pub timeout: Option<Duration>,
}

impl ChainConfig {
    /// The providers in order, `rpc_urls` or `providers`, header values read from the
    /// environment. `chain` names the table in errors.
    pub fn resolve_providers(&self, chain: &str) -> Result<Vec<ResolvedProvider>, ConfigError> {
        let from_urls = self.rpc_urls.iter().map(|url| {
            Ok(ResolvedProvider {
                url: url.clone(),
                headers: Vec::new(),
                rate_limit: None,
                timeout: None,
            })
        });
        let from_providers = self
            .providers
            .iter()
            .enumerate()
            .map(|(i, p)| p.resolve(&format!("chains.{chain}.providers[{i}]")));
        from_urls.chain(from_providers).collect()
    }

    /// The Omni Core RPC user and password of `[chains.<chain>]`, inline or from the
    /// environment; `None` when neither is set (the URLs may carry them).
    pub fn rpc_credentials(&self, chain: &str) -> Result<Option<(Secret, Secret)>, ConfigError> {
        let user = SecretRef::new(
            format!("chains.{chain}.rpc_user"),
            self.rpc_user.as_ref(),
            self.rpc_user_env.as_deref(),
        );
        let password = SecretRef::new(
            format!("chains.{chain}.rpc_password"),
            self.rpc_password.as_ref(),
            self.rpc_password_env.as_deref(),
        );
        match (user.resolve()?, password.resolve()?) {
            (Some(user), Some(password)) => Ok(Some((user, password))),
            (None, None) => Ok(None),
            _ => Err(ConfigError::key(
                format!("chains.{chain}.rpc_user"),
                "the RPC user and password go together: set both or neither",
            )),
        }
    }

    /// Whether any RPC credential key is set.
    fn has_rpc_credentials(&self) -> bool {
        self.rpc_user.is_some()
            || self.rpc_user_env.is_some()
            || self.rpc_password.is_some()
            || self.rpc_password_env.is_some()
    }

    /// Everything but the environment: the keys `chain`'s kind allows, one provider
    /// list, URLs, limits.
    pub(super) fn check(&self, chain: &str) -> Result<(), ConfigError> {
        match chain {
            "TRC20" | "ERC20" => self.check_evm(chain)?,
            "OMNI" => self.check_omni(chain)?,
            _ => {
                return Err(ConfigError::key(
                    format!("chains.{chain}"),
                    "a watched chain is TRC20 or ERC20 (EVM JSON-RPC) or OMNI (Omni Core)",
                ));
            }
        }
        self.check_providers(chain)?;
        self.check_scan_limits(chain)
    }

    /// An EVM chain: a token contract, no RPC user or password.
    fn check_evm(&self, chain: &str) -> Result<(), ConfigError> {
        if self.token_contract.is_empty() {
            return Err(ConfigError::key(
                format!("chains.{chain}.token_contract"),
                "is required (the token contract, 0x hex)",
            ));
        }
        if self.has_rpc_credentials() {
            return Err(ConfigError::key(
                format!("chains.{chain}.rpc_user"),
                "RPC user and password are for OMNI (EVM URLs carry their own)",
            ));
        }
        Ok(())
    }

    /// Omni: no token contract, nodes as `rpc_urls`, confirmations counted.
    fn check_omni(&self, chain: &str) -> Result<(), ConfigError> {
        if !self.token_contract.is_empty() {
            return Err(ConfigError::key(
                format!("chains.{chain}.token_contract"),
                "OMNI has no token contract (USDT is Omni property 31)",
            ));
        }
        if !self.providers.is_empty() {
            return Err(ConfigError::key(
                format!("chains.{chain}.providers"),
                "Omni Core nodes are given as rpc_urls (with rpc_user, rpc_password)",
            ));
        }
        if self.confirmation == ConfirmationDepth::Finalized {
            return Err(ConfigError::key(
                format!("chains.{chain}.confirmation"),
                "Bitcoin has no finalized block: OMNI counts confirmations",
            ));
        }
        Ok(())
    }

    /// `rpc_urls` or `providers`, not both and not neither; each URL and provider sound.
    fn check_providers(&self, chain: &str) -> Result<(), ConfigError> {
        let key = |k: &str| format!("chains.{chain}.{k}");
        match (self.rpc_urls.is_empty(), self.providers.is_empty()) {
            (true, true) => {
                return Err(ConfigError::key(
                    key("rpc_urls"),
                    "needs at least one URL (or [[providers]])",
                ));
            }
            (false, false) => {
                return Err(ConfigError::key(
                    key("providers"),
                    "set `rpc_urls` or `providers`, not both",
                ));
            }
            _ => {}
        }
        for (i, url) in self.rpc_urls.iter().enumerate() {
            SecretRef::inline(key(&format!("rpc_urls[{i}]")), url)
                .checked_by(check_url)
                .check_written()?;
        }
        for (i, p) in self.providers.iter().enumerate() {
            p.check(&key(&format!("providers[{i}]")))?;
        }
        Ok(())
    }

    /// Timeouts above zero, block spans, batches and the breaker threshold at least 1.
    fn check_scan_limits(&self, chain: &str) -> Result<(), ConfigError> {
        let key = |k: &str| format!("chains.{chain}.{k}");
        if self.request_timeout.is_zero() {
            return Err(ConfigError::key(
                key("request_timeout"),
                "must be above zero",
            ));
        }
        for (name, value) in [
            ("block_span", self.block_span),
            ("addresses_per_query", self.addresses_per_query as u64),
            ("breaker_threshold", u64::from(self.breaker_threshold)),
        ] {
            if value == 0 {
                return Err(ConfigError::key(key(name), "must be at least 1"));
            }
        }
        Ok(())
    }
}

impl ProviderConfig {
    /// Each header's value as configured: inline in `<key>.headers.<name>` or named by
    /// `<key>.headers_env.<name>`, `key` being the provider's (`chains.TRC20.providers[0]`).
    fn header_refs(&self, key: &str) -> Vec<(&str, SecretRef<'_>)> {
        let names: BTreeSet<&String> = self.headers.keys().chain(self.headers_env.keys()).collect();
        names
            .into_iter()
            .map(|name| {
                let value = SecretRef::new(
                    format!("{key}.headers.{name}"),
                    self.headers.get(name),
                    self.headers_env.get(name).map(String::as_str),
                )
                .with_env_key(format!("{key}.headers_env.{name}"));
                (name.as_str(), value)
            })
            .collect()
    }

    /// This provider with its header values read; `key` names it in errors.
    fn resolve(&self, key: &str) -> Result<ResolvedProvider, ConfigError> {
        let mut headers = Vec::new();
        for (name, value) in self.header_refs(key) {
            if let Some(value) = value.resolve()? {
                headers.push((name.to_owned(), value));
            }
        }
        Ok(ResolvedProvider {
            url: self.url.clone(),
            headers,
            rate_limit: self.rate_limit.and_then(NonZeroU32::new),
            timeout: self.timeout,
        })
    }

    /// An http(s) URL, a rate limit and timeout above zero if set, header names that are
    /// names; `key` is the provider's.
    fn check(&self, key: &str) -> Result<(), ConfigError> {
        SecretRef::inline(format!("{key}.url"), &self.url)
            .checked_by(check_url)
            .check_written()?;
        if self.rate_limit == Some(0) {
            return Err(ConfigError::key(
                format!("{key}.rate_limit"),
                "must be at least 1 (or unset)",
            ));
        }
        if self.timeout.is_some_and(|t| t.is_zero()) {
            return Err(ConfigError::key(
                format!("{key}.timeout"),
                "must be above zero",
            ));
        }
        for (name, value) in self.header_refs(key) {
            if !is_header_name(name) {
                return Err(ConfigError::key(
                    format!("{key}.headers"),
                    format_args!("{name:?} is not an HTTP header name"),
                ));
            }
            value.check_written()?;
        }
        Ok(())
    }
}

/// Letters, digits, `-` and `_`, at least one.
fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A node's JSON-RPC URL: absolute http(s) with a host.
fn check_url(url: &str) -> Result<(), String> {
    let uri: axum::http::Uri = url.parse().map_err(|e| format!("not a URL: {e}"))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => return Err("must start with http:// or https://".into()),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err("has no host".into());
    }
    Ok(())
}

fn six() -> u8 {
    6
}

fn four_seconds() -> Duration {
    Duration::from_secs(4)
}

fn two_thousand() -> u64 {
    2_000
}

fn five_hundred() -> usize {
    500
}

fn five() -> u32 {
    5
}

fn one() -> u32 {
    1
}

fn ten_seconds() -> Duration {
    Duration::from_secs(10)
}

fn thirty_seconds() -> Duration {
    Duration::from_secs(30)
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use super::super::test_support::{GOOD_SECRET, load};
    use super::super::{Config, ConfigError};
    use super::*;

    const TRC20: &str =
        "[chains.TRC20]\ntoken_contract = \"0xa614f803b6fd780986a42c78ec9c7f77e6ded13c\"\n";
    fn with_chain(chain: &str) -> Result<Config, ConfigError> {
        load(&format!(
            "[[merchants]]\nappid = \"m\"\nsecret = \"{GOOD_SECRET}\"\n{chain}"
        ))
    }

    #[test]
    fn the_old_rpc_urls_form_still_works_with_today_s_scan_defaults() {
        let config = with_chain(&format!(
            "{TRC20}rpc_urls = [\"https://api.trongrid.io/jsonrpc\"]\n"
        ))
        .unwrap();
        let c = &config.chains["TRC20"];
        let providers = c.resolve_providers("TRC20").unwrap();
        assert_eq!(providers.len(), 1);
        assert_eq!(providers[0].url.expose(), "https://api.trongrid.io/jsonrpc");
        assert!(providers[0].headers.is_empty() && providers[0].rate_limit.is_none());
        assert_eq!(c.request_timeout, Duration::from_secs(10));
        assert_eq!(c.block_span, 2_000);
        assert_eq!(c.addresses_per_query, 500);
        assert_eq!(c.max_retries, 5);
        assert_eq!(c.breaker_threshold, 1);
        assert_eq!(c.breaker_cooldown, Duration::from_secs(30));
        assert_eq!(c.confirmation, ConfirmationDepth::Blocks);
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail API
    fn providers_take_headers_from_the_environment_and_never_print_them() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "gateway.toml",
                &format!(
                    "[[merchants]]\nappid = \"m\"\nsecret = \"{GOOD_SECRET}\"\n{TRC20}\
                     confirmation = \"finalized\"\nblock_span = 4000\naddresses_per_query = 900\n\
                     [[chains.TRC20.providers]]\nurl = \"https://api.trongrid.io/jsonrpc\"\n\
                     headers_env = {{ \"TRON-PRO-API-KEY\" = \"TRONGRID_KEY_FOR_TEST\" }}\n\
                     rate_limit = 15\ntimeout = \"5s\"\n\
                     [[chains.TRC20.providers]]\nurl = \"https://tron.backup.example/jsonrpc\"\n\
                     headers = {{ \"X-Api-Key\" = \"inline-secret-value\" }}\n"
                ),
            )?;
            let config = Config::load(Some(Path::new("gateway.toml"))).unwrap();
            let c = &config.chains["TRC20"];
            assert_eq!(c.confirmation, ConfirmationDepth::Finalized);
            assert_eq!((c.block_span, c.addresses_per_query), (4_000, 900));
            let err = c.resolve_providers("TRC20").unwrap_err().to_string();
            assert!(
                err.contains("chains.TRC20.providers[0].headers_env.TRON-PRO-API-KEY")
                    && err.contains("TRONGRID_KEY_FOR_TEST"),
                "{err}"
            );
            jail.set_env("TRONGRID_KEY_FOR_TEST", "env-secret-key-value");
            let providers = c.resolve_providers("TRC20").unwrap();
            assert_eq!(providers[0].headers[0].0, "TRON-PRO-API-KEY");
            assert_eq!(providers[0].headers[0].1.expose(), "env-secret-key-value");
            assert_eq!(providers[0].rate_limit.map(|r| r.get()), Some(15));
            assert_eq!(providers[0].timeout, Some(Duration::from_secs(5)));
            assert_eq!(providers[1].headers[0].1.expose(), "inline-secret-value");
            let printed = format!("{config:?} {providers:?}");
            assert!(
                !printed.contains("env-secret-key-value")
                    && !printed.contains("inline-secret-value"),
                "{printed}"
            );
            Ok(())
        });
    }

    #[test]
    fn a_header_is_inline_or_from_the_environment_not_both() {
        let err = with_chain(&format!(
            "{TRC20}[[chains.TRC20.providers]]\nurl = \"http://b.example\"\n\
             headers = {{ \"X-Api-Key\" = \"inline-value\" }}\n\
             headers_env = {{ \"X-Api-Key\" = \"X_API_KEY\" }}\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("`chains.TRC20.providers[0].headers.X-Api-Key`")
                && err.contains("`chains.TRC20.providers[0].headers_env.X-Api-Key`"),
            "{err}"
        );
        assert!(!err.contains("inline-value"), "{err}");
    }

    #[test]
    fn provider_settings_are_checked() {
        for (chain, key) in [
            (TRC20.to_owned(), "chains.TRC20.rpc_urls"),
            (
                format!(
                    "{TRC20}rpc_urls = [\"http://a.example\"]\n[[chains.TRC20.providers]]\nurl = \"http://b.example\"\n"
                ),
                "chains.TRC20.providers",
            ),
            (
                format!("{TRC20}[[chains.TRC20.providers]]\nurl = \"ftp://b.example\"\n"),
                "chains.TRC20.providers[0].url",
            ),
            (
                format!(
                    "{TRC20}[[chains.TRC20.providers]]\nurl = \"http://b.example\"\nrate_limit = 0\n"
                ),
                "chains.TRC20.providers[0].rate_limit",
            ),
            (
                format!(
                    "{TRC20}[[chains.TRC20.providers]]\nurl = \"http://b.example\"\ntimeout = \"0s\"\n"
                ),
                "chains.TRC20.providers[0].timeout",
            ),
            (
                format!(
                    "{TRC20}[[chains.TRC20.providers]]\nurl = \"http://b.example\"\nheaders = {{ \"bad name\" = \"v\" }}\n"
                ),
                "chains.TRC20.providers[0].headers",
            ),
            (
                format!("{TRC20}rpc_urls = [\"http://a.example\"]\nblock_span = 0\n"),
                "chains.TRC20.block_span",
            ),
            (
                format!("{TRC20}rpc_urls = [\"http://a.example\"]\naddresses_per_query = 0\n"),
                "chains.TRC20.addresses_per_query",
            ),
            (
                format!("{TRC20}rpc_urls = [\"http://a.example\"]\nconfirmation = \"safe\"\n"),
                "confirmation",
            ),
        ] {
            let err = with_chain(&chain).unwrap_err().to_string();
            assert!(err.contains(key), "{chain}: {err}");
        }
    }

    #[test]
    fn omni_is_configured_with_rpc_credentials_and_no_token_contract() {
        let base = format!("[[merchants]]\nappid = \"m\"\nsecret = \"{GOOD_SECRET}\"\n");
        let config = load(&format!(
            "{base}[chains.OMNI]\nrpc_urls = [\"http://127.0.0.1:8332\"]\n\
             rpc_user = \"omnicorerpc\"\nrpc_password = \"hunter2-rpc-password\"\n"
        ))
        .unwrap();
        let omni = &config.chains["OMNI"];
        let (user, password) = omni.rpc_credentials("OMNI").unwrap().unwrap();
        assert_eq!(user.expose(), "omnicorerpc");
        assert_eq!(password.expose(), "hunter2-rpc-password");
        let printed = format!("{config:?}");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(!printed.contains("omnicorerpc"), "{printed}");

        // Credentials in the URL only: none apart.
        let config = load(&format!(
            "{base}[chains.OMNI]\nrpc_urls = [\"http://u:hunter2@127.0.0.1:8332\"]\n"
        ))
        .unwrap();
        assert!(
            config.chains["OMNI"]
                .rpc_credentials("OMNI")
                .unwrap()
                .is_none()
        );
        assert!(!format!("{config:?}").contains("hunter2"));
    }

    #[test]
    fn an_omni_table_takes_only_omni_keys_and_other_chains_none_of_them() {
        let base = format!("[[merchants]]\nappid = \"m\"\nsecret = \"{GOOD_SECRET}\"\n");
        for (table, key) in [
            (
                "[chains.OMNI]\nrpc_urls = [\"http://n:8332\"]\ntoken_contract = \"0xdac17f958d2ee523a2206206994597c13d831ec7\"\n",
                "chains.OMNI.token_contract",
            ),
            ("[chains.OMNI]\nrpc_urls = []\n", "chains.OMNI.rpc_urls"),
            (
                "[chains.OMNI]\nrpc_urls = [\"n:8332\"]\n",
                "chains.OMNI.rpc_urls[0]",
            ),
            (
                "[chains.BTC]\nrpc_urls = [\"http://n:8332\"]\n",
                "chains.BTC",
            ),
            (
                "[chains.ERC20]\nrpc_urls = [\"http://n:8545\"]\n",
                "chains.ERC20.token_contract",
            ),
            (
                "[chains.ERC20]\nrpc_urls = [\"http://n:8545\"]\ntoken_contract = \"0xdac17f958d2ee523a2206206994597c13d831ec7\"\nrpc_user = \"u\"\n",
                "chains.ERC20.rpc_user",
            ),
            (
                "[chains.OMNI]\nrpc_urls = [\"http://n:8332\"]\nrpc_pass = \"x\"\n",
                "rpc_pass",
            ),
            (
                "[chains.OMNI]\n[[chains.OMNI.providers]]\nurl = \"http://n:8332\"\n",
                "chains.OMNI.providers",
            ),
            (
                "[chains.OMNI]\nrpc_urls = [\"http://n:8332\"]\nconfirmation = \"finalized\"\n",
                "chains.OMNI.confirmation",
            ),
        ] {
            let err = load(&format!("{base}{table}")).unwrap_err().to_string();
            assert!(err.contains(key), "{table}: {err}");
        }
    }

    #[test]
    fn omni_rpc_credential_errors_name_the_key() {
        let base = format!("[[merchants]]\nappid = \"m\"\nsecret = \"{GOOD_SECRET}\"\n");
        // Half a pair, both forms of one, or an unset variable: the key is named.
        for (keys, key) in [
            ("rpc_user = \"u\"\n", "chains.OMNI.rpc_user"),
            (
                "rpc_user = \"u\"\nrpc_user_env = \"X\"\nrpc_password = \"p\"\n",
                "chains.OMNI.rpc_user",
            ),
            (
                "rpc_user = \"u\"\nrpc_password_env = \"USDT_GATEWAY_TEST_SURELY_UNSET_PASSWORD\"\n",
                "chains.OMNI.rpc_password_env",
            ),
        ] {
            let config = load(&format!(
                "{base}[chains.OMNI]\nrpc_urls = [\"http://n:8332\"]\n{keys}"
            ))
            .unwrap();
            let err = config.chains["OMNI"]
                .rpc_credentials("OMNI")
                .unwrap_err()
                .to_string();
            assert!(err.contains(key), "{keys}: {err}");
        }
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail API
    fn omni_rpc_credentials_come_from_the_environment() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "gateway.toml",
                &format!(
                    "[[merchants]]\nappid = \"m\"\nsecret = \"{GOOD_SECRET}\"\n\
                     [chains.OMNI]\nrpc_urls = [\"http://127.0.0.1:8332\"]\n\
                     rpc_user_env = \"OMNI_RPC_USER\"\nrpc_password_env = \"OMNI_RPC_PASSWORD\"\n"
                ),
            )?;
            jail.set_env("OMNI_RPC_USER", "omnicorerpc");
            jail.set_env("OMNI_RPC_PASSWORD", "from-the-environment");
            let config = Config::load(Some(Path::new("gateway.toml"))).unwrap();
            let (user, password) = config.chains["OMNI"]
                .rpc_credentials("OMNI")
                .unwrap()
                .unwrap();
            assert_eq!(user.expose(), "omnicorerpc");
            assert_eq!(password.expose(), "from-the-environment");
            Ok(())
        });
    }
}
