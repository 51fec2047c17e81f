//! Configuration: the documented defaults (`config/defaults.toml`, embedded), then an
//! operator's TOML file, then `USDT_GATEWAY_*` environment variables. Loaded once at
//! start and validated; every error names the key at fault.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::Deserialize;

/// The documented defaults, the first layer of every configuration.
pub const DEFAULTS: &str = include_str!("../config/defaults.toml");

/// The prefix of environment overrides; nested keys are joined by `__`.
pub const ENV_PREFIX: &str = "USDT_GATEWAY_";

/// A value that must never reach a log: `Debug` and `Display` print `[redacted]`.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wrap a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the few places that must use it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

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

/// `[http]`: what one connection may hold, how many may be open, how long shutdown waits.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Time a connection has to send a complete request head, from when it opens (and,
    /// on HTTP/1.1, from the end of the previous response).
    #[serde(with = "humantime_serde")]
    pub header_read_timeout: Duration,
    /// A connection with no request in flight for this long is closed.
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Duration,
    /// Most connections open at once. At the cap a connection that has waited only on its
    /// client for `reclaim_after` is closed to make room; when none has, new ones wait in
    /// the listen backlog.
    pub max_connections: usize,
    /// Once half of `max_connections` are open, most connections one client address (an
    /// IPv6 /64) may hold; beyond it a new one is closed at once. Trusted proxies are
    /// exempt. 0: no limit.
    pub max_connections_per_client: usize,
    /// Time a ready response has to be written whole; a client that does not read it
    /// (HTTP/2 window at zero, full TCP window, slow reader) loses its connection.
    #[serde(with = "humantime_serde")]
    pub write_timeout: Duration,
    /// At the connection cap, a connection idle, silent or stalled on its client for this
    /// long may be closed to make room for a new one.
    #[serde(with = "humantime_serde")]
    pub reclaim_after: Duration,
    /// Requests per second one client may make to the public pages (checkout page, its
    /// status, the front door, assets), with `public_burst` at once; beyond: 429.
    pub public_rate: u32,
    /// The burst of `public_rate`.
    pub public_burst: u32,
    /// Public page requests handled at once, all clients together; beyond: 503.
    pub public_max_in_flight: usize,
    /// On shutdown, longest wait for in-flight requests before their connections close.
    #[serde(with = "humantime_serde")]
    pub drain_timeout: Duration,
    /// Reverse proxies whose `X-Forwarded-For` names the client (networks, e.g.
    /// `127.0.0.1/32`); empty: the peer address is the client, the header is ignored.
    #[serde(default)]
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

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

/// `[addresses]`: how many deposit addresses a merchant may allocate, and how fast
/// (`POST /api/merchant/v2/TraderRechargeAddress`); each `[[merchants]]` may override
/// any of them in its own `addresses` table. Only new allocations count: a user asking
/// again for their address always gets it.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AddressesConfig {
    /// Most addresses one merchant may allocate on one chain, ever (each is watched).
    pub max_per_chain: u32,
    /// New allocations per second one merchant may make, sustained (per process).
    pub rate: u32,
    /// New allocations one merchant may make at once above the rate (per process).
    pub burst: u32,
}

/// A merchant's own `addresses` table: each key unset takes `[addresses]`'s value.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AddressLimitsOverride {
    /// Instead of `addresses.max_per_chain`.
    #[serde(default)]
    pub max_per_chain: Option<u32>,
    /// Instead of `addresses.rate`.
    #[serde(default)]
    pub rate: Option<u32>,
    /// Instead of `addresses.burst`.
    #[serde(default)]
    pub burst: Option<u32>,
}

/// The largest `max_per_chain`: an account key has 2^31 addresses without a private key.
const MAX_ADDRESSES_PER_CHAIN: u32 = 1 << 31;

impl AddressesConfig {
    /// These limits with `over`'s keys in place of theirs.
    pub fn with(self, over: &AddressLimitsOverride) -> Self {
        Self {
            max_per_chain: over.max_per_chain.unwrap_or(self.max_per_chain),
            rate: over.rate.unwrap_or(self.rate),
            burst: over.burst.unwrap_or(self.burst),
        }
    }

    /// Each limit at least 1, the total at most 2^31; `key` prefixes the key at fault.
    fn check(&self, key: &str) -> Result<(), ConfigError> {
        for (name, value) in [
            ("max_per_chain", self.max_per_chain),
            ("rate", self.rate),
            ("burst", self.burst),
        ] {
            if value == 0 {
                return Err(ConfigError::key(
                    format!("{key}.{name}"),
                    "must be at least 1",
                ));
            }
        }
        if self.max_per_chain > MAX_ADDRESSES_PER_CHAIN {
            return Err(ConfigError::key(
                format!("{key}.max_per_chain"),
                format_args!("must be at most {MAX_ADDRESSES_PER_CHAIN} (2^31)"),
            ));
        }
        Ok(())
    }
}

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
    pub rate_limit: Option<std::num::NonZeroU32>,
    /// Time one request may take.
    pub timeout: Option<Duration>,
}

impl ChainConfig {
    /// The providers in order, `rpc_urls` or `providers`, header values read from the
    /// environment. `chain` names the table in errors.
    pub fn resolve_providers(&self, chain: &str) -> Result<Vec<ResolvedProvider>, ConfigError> {
        let from_urls = self.rpc_urls.iter().map(|url| ResolvedProvider {
            url: url.clone(),
            headers: Vec::new(),
            rate_limit: None,
            timeout: None,
        });
        let mut out: Vec<ResolvedProvider> = from_urls.collect();
        for (i, p) in self.providers.iter().enumerate() {
            let mut headers: Vec<(String, Secret)> = p
                .headers
                .iter()
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect();
            for (name, var) in &p.headers_env {
                let value = std::env::var(var).map_err(|_| {
                    ConfigError::key(
                        format!("chains.{chain}.providers[{i}].headers_env.{name}"),
                        format_args!("the environment variable {var} is not set"),
                    )
                })?;
                headers.push((name.clone(), Secret::new(value)));
            }
            out.push(ResolvedProvider {
                url: p.url.clone(),
                headers,
                rate_limit: p.rate_limit.and_then(std::num::NonZeroU32::new),
                timeout: p.timeout,
            });
        }
        Ok(out)
    }

    /// The Omni Core RPC user and password of `[chains.<chain>]`, inline or from the
    /// environment; `None` when neither is set (the URLs may carry them).
    pub fn rpc_credentials(&self, chain: &str) -> Result<Option<(Secret, Secret)>, ConfigError> {
        let key = |name: &str| format!("chains.{chain}.{name}");
        let one = |inline: &Option<Secret>, env: &Option<String>, name: &str| match (inline, env) {
            (Some(value), None) => Ok(Some(value.clone())),
            (None, Some(var)) => std::env::var(var)
                .map(|v| Some(Secret::new(v)))
                .map_err(|_| {
                    ConfigError::key(
                        key(&format!("{name}_env")),
                        format_args!("the environment variable {var} is not set"),
                    )
                }),
            (Some(_), Some(_)) => Err(ConfigError::key(
                key(name),
                format_args!("set `{name}` or `{name}_env`, not both"),
            )),
            (None, None) => Ok(None),
        };
        let user = one(&self.rpc_user, &self.rpc_user_env, "rpc_user")?;
        let password = one(&self.rpc_password, &self.rpc_password_env, "rpc_password")?;
        match (user, password) {
            (Some(user), Some(password)) => Ok(Some((user, password))),
            (None, None) => Ok(None),
            _ => Err(ConfigError::key(
                key("rpc_user"),
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

/// `[orders]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrdersConfig {
    /// A pending order with no deposit expires after this long.
    #[serde(with = "humantime_serde")]
    pub ttl: Duration,
    /// Orders that may wait for the writer; beyond this, new orders get 503 `OVERLOADED`.
    pub write_queue: usize,
}

/// `[notify]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    /// Delays before each retry of a callback.
    #[serde(deserialize_with = "durations")]
    pub retry_delays: Vec<Duration>,
    /// Time one attempt may take.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// Allow callbacks to private and loopback addresses (unset: as `dev.enabled`).
    #[serde(default)]
    pub allow_private_targets: Option<bool>,
    /// Attempts in flight per merchant.
    pub max_in_flight_per_merchant: usize,
    /// Attempts in flight for all merchants together (per process).
    pub max_in_flight: usize,
}

/// `[confirmations]`: the base rule and per-chain overrides.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfirmationsConfig {
    /// Required below the threshold.
    pub default: u32,
    /// The threshold in USDT, decimal text.
    pub large_amount: String,
    /// Required at or above the threshold.
    pub large_required: u32,
    /// Overrides keyed by chain name (`TRC20`, `ERC20`, `OMNI`).
    #[serde(default)]
    pub chains: BTreeMap<String, ConfirmationRuleConfig>,
}

impl ConfirmationsConfig {
    /// The base rule (the top-level keys of `[confirmations]`).
    pub fn base(&self) -> ConfirmationRuleConfig {
        ConfirmationRuleConfig {
            default: self.default,
            large_amount: self.large_amount.clone(),
            large_required: self.large_required,
        }
    }
}

/// One confirmation rule, as written in the configuration.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfirmationRuleConfig {
    /// Required below the threshold.
    pub default: u32,
    /// The threshold in USDT, decimal text.
    pub large_amount: String,
    /// Required at or above the threshold.
    pub large_required: u32,
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

/// One `[[merchants]]` entry.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MerchantConfig {
    /// The merchant's id.
    pub appid: String,
    /// The signing secret, inline.
    #[serde(default)]
    pub secret: Option<Secret>,
    /// The name of an environment variable holding the secret.
    #[serde(default)]
    pub secret_env: Option<String>,
    /// The secret that replaces `secret` (rotation): orders and queries signed with
    /// either are accepted; callbacks are signed with `secret`.
    #[serde(default)]
    pub next_secret: Option<Secret>,
    /// The name of an environment variable holding `next_secret`.
    #[serde(default)]
    pub next_secret_env: Option<String>,
    /// The default callback URL.
    #[serde(default)]
    pub notify_url: Option<String>,
    /// Serve the payer's checkout page `GET /pay/{ordersn}` for this merchant's orders
    /// (off by default: the `ordersn` is then the only key to the page).
    #[serde(default)]
    pub checkout_page: bool,
    /// Account-level extended public keys (`xpub…`, never a private key) by chain wire
    /// name (`TRC20 = "xpub…"`): `POST /api/merchant/v2/TraderRechargeAddress` hands each
    /// user the address `…/0/i` of the chain's key. A chain without one has no allocation.
    #[serde(default)]
    pub xpubs: BTreeMap<String, String>,
    /// Refuse orders whose address was not allocated to the order's user by
    /// `TraderRechargeAddress` (`ADDRESS_NOT_ALLOCATED`). Off by default.
    #[serde(default)]
    pub allocated_addresses_only: bool,
    /// This merchant's own address limits (`max_per_chain`, `rate`, `burst`), each key
    /// unset taking `[addresses]`'s value.
    #[serde(default)]
    pub addresses: AddressLimitsOverride,
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

/// A list of durations written as text (`["15s", "1m"]`).
fn durations<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Duration>, D::Error> {
    let list: Vec<humantime_serde::Serde<Duration>> = Deserialize::deserialize(d)?;
    Ok(list
        .into_iter()
        .map(humantime_serde::Serde::into_inner)
        .collect())
}

/// A configuration that could not be loaded; the message names the key at fault.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

impl ConfigError {
    fn key(key: impl fmt::Display, problem: impl fmt::Display) -> Self {
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

/// The shortest merchant secret accepted: 32 characters.
pub const MIN_SECRET_CHARS: usize = 32;

/// Whether dev mode is on, and why (for the start-up banner and `config check`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DevMode {
    /// On or off.
    pub on: bool,
    /// What decided it.
    pub reason: &'static str,
}

/// A merchant with its secrets resolved.
#[derive(Clone, Debug)]
pub struct Merchant {
    /// The merchant's id.
    pub appid: String,
    /// The signing secret: callbacks are signed with it, orders and queries checked.
    pub secret: Secret,
    /// The secret being rotated in: orders and queries signed with it pass too.
    pub next_secret: Option<Secret>,
    /// The default callback URL.
    pub notify_url: Option<String>,
    /// Whether the checkout page serves this merchant's orders.
    pub checkout_page: bool,
    /// Account-level extended public keys by chain wire name (checked by the component
    /// when the configuration is: `gateway::check_protocol`).
    pub xpubs: BTreeMap<String, String>,
    /// Whether orders must use an address allocated to their user.
    pub allocated_addresses_only: bool,
    /// How many addresses this merchant may allocate per chain, and how fast.
    pub address_limits: AddressesConfig,
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

    /// Whether dev mode is on: `dev.enabled` when set; unset, only for the
    /// zero-configuration run (no configuration file, no merchants, no `database_url`).
    pub fn dev_mode(&self) -> DevMode {
        match self.dev.enabled {
            Some(true) => DevMode {
                on: true,
                reason: "dev.enabled = true",
            },
            Some(false) => DevMode {
                on: false,
                reason: "dev.enabled = false",
            },
            None if self.source_file.is_none()
                && self.merchants.is_empty()
                && self.database_url.is_none() =>
            {
                DevMode {
                    on: true,
                    reason: "zero-configuration run: no configuration file, no merchants, no database_url",
                }
            }
            None => DevMode {
                on: false,
                reason: "a configuration is given and dev.enabled is not set",
            },
        }
    }

    /// Every check that needs no component: ranges, duplicates, the merchant table,
    /// dev mode on a public address. Run again after a command-line override.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.check()?;
        self.check_dev_listen()
    }

    /// Dev mode lets anyone who reaches the port mint deposits: off loopback it needs
    /// the explicit opt-in `dev.allow_public_listen`.
    fn check_dev_listen(&self) -> Result<(), ConfigError> {
        if self.dev_mode().on && !self.listen.ip().is_loopback() && !self.dev.allow_public_listen {
            return Err(ConfigError::key(
                "dev.allow_public_listen",
                format_args!(
                    "dev mode is on ({}) and `listen` is {}, not loopback: anyone reaching it could \
                     mint deposits; listen on 127.0.0.1, turn dev mode off, or set \
                     dev.allow_public_listen = true",
                    self.dev_mode().reason,
                    self.listen
                ),
            ));
        }
        Ok(())
    }

    /// Checks that need no component: ranges, duplicates, the merchant table. The
    /// protocol's own rules (retry limit, token decimals, chain names, `notify_url`) are
    /// the component's: `gateway::check_protocol` applies them once it is loaded.
    fn check(&self) -> Result<(), ConfigError> {
        if self.notify.timeout.is_zero() {
            return Err(ConfigError::key("notify.timeout", "must be above zero"));
        }
        if self.request_timeout.is_zero() {
            return Err(ConfigError::key("request_timeout", "must be above zero"));
        }
        if self.orders.ttl.is_zero() {
            return Err(ConfigError::key("orders.ttl", "must be above zero"));
        }
        if !(1..=MAX_WRITE_QUEUE).contains(&self.orders.write_queue) {
            return Err(ConfigError::key(
                "orders.write_queue",
                format_args!("must be 1..={MAX_WRITE_QUEUE}"),
            ));
        }
        self.http.check()?;
        self.addresses.check("addresses")?;
        if !(1..=4096).contains(&self.rules.max_memory_mib) {
            return Err(ConfigError::key("rules.max_memory_mib", "must be 1..=4096"));
        }
        if self.rules.call_timeout < Duration::from_millis(1) {
            return Err(ConfigError::key(
                "rules.call_timeout",
                "must be at least 1ms",
            ));
        }
        if let Some(url) = &self.database_url
            && !url.expose().starts_with("postgres://")
            && !url.expose().starts_with("postgresql://")
        {
            return Err(ConfigError::key(
                "database_url",
                "must start with postgres:// (leave it unset for the embedded SQLite)",
            ));
        }
        if self.notify.max_in_flight_per_merchant == 0 {
            return Err(ConfigError::key(
                "notify.max_in_flight_per_merchant",
                "must be at least 1",
            ));
        }
        if self.notify.max_in_flight == 0 {
            return Err(ConfigError::key(
                "notify.max_in_flight",
                "must be at least 1",
            ));
        }
        if self.admin.token.is_some() && self.admin.token_env.is_some() {
            return Err(ConfigError::key(
                "admin",
                "set `token` or `token_env`, not both",
            ));
        }
        if let Some(token) = &self.admin.token {
            crate::api::access::check_token_strength(token.expose())
                .map_err(|why| ConfigError::key("admin.token", why))?;
        }
        for (chain, c) in &self.chains {
            match chain.as_str() {
                "TRC20" | "ERC20" => {
                    if c.token_contract.is_empty() {
                        return Err(ConfigError::key(
                            format!("chains.{chain}.token_contract"),
                            "is required (the token contract, 0x hex)",
                        ));
                    }
                    if c.has_rpc_credentials() {
                        return Err(ConfigError::key(
                            format!("chains.{chain}.rpc_user"),
                            "RPC user and password are for OMNI (EVM URLs carry their own)",
                        ));
                    }
                }
                "OMNI" => {
                    if !c.token_contract.is_empty() {
                        return Err(ConfigError::key(
                            format!("chains.{chain}.token_contract"),
                            "OMNI has no token contract (USDT is Omni property 31)",
                        ));
                    }
                    if !c.providers.is_empty() {
                        return Err(ConfigError::key(
                            format!("chains.{chain}.providers"),
                            "Omni Core nodes are given as rpc_urls (with rpc_user, rpc_password)",
                        ));
                    }
                    if c.confirmation == ConfirmationDepth::Finalized {
                        return Err(ConfigError::key(
                            format!("chains.{chain}.confirmation"),
                            "Bitcoin has no finalized block: OMNI counts confirmations",
                        ));
                    }
                }
                _ => {
                    return Err(ConfigError::key(
                        format!("chains.{chain}"),
                        "a watched chain is TRC20 or ERC20 (EVM JSON-RPC) or OMNI (Omni Core)",
                    ));
                }
            }
            c.check(chain)?;
        }
        if self.merchants.is_empty() && !self.dev_mode().on {
            return Err(ConfigError::key(
                "merchants",
                "at least one merchant is required outside dev mode",
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, m) in self.merchants.iter().enumerate() {
            if m.appid.is_empty() {
                return Err(ConfigError::key(
                    format!("merchants[{i}].appid"),
                    "is empty",
                ));
            }
            if !seen.insert(m.appid.as_str()) {
                return Err(ConfigError::key(
                    format!("merchants[{i}].appid"),
                    format_args!("`{}` is configured twice", m.appid),
                ));
            }
            self.addresses
                .with(&m.addresses)
                .check(&format!("merchants[{i}].addresses"))?;
        }
        Ok(())
    }

    /// Whether `GET /metrics` is served on the main port: `metrics.on_main_port` when
    /// set; unset, only in dev mode on a loopback `listen` without `metrics.listen` (the
    /// metrics name merchants and show their volumes: a production gateway serves them
    /// on a private address).
    pub fn metrics_on_main_port(&self) -> bool {
        self.metrics.on_main_port.unwrap_or(
            self.dev_mode().on && self.listen.ip().is_loopback() && self.metrics.listen.is_none(),
        )
    }

    /// Whether callbacks may go to private and loopback addresses.
    pub fn allow_private_targets(&self) -> bool {
        self.notify
            .allow_private_targets
            .unwrap_or(self.dev_mode().on)
    }

    /// The admin API's token, if the admin API is on: refused unless strong enough
    /// ([`crate::api::access::check_token_strength`]).
    pub fn admin_token(&self) -> Result<Option<Secret>, ConfigError> {
        match (&self.admin.token, &self.admin.token_env) {
            (Some(token), _) => Ok(Some(token.clone())),
            (None, Some(var)) => std::env::var(var)
                .map(|t| Some(Secret::new(t)))
                .map_err(|_| {
                    ConfigError::key(
                        "admin.token_env",
                        format_args!("the environment variable {var} is not set"),
                    )
                }),
            (None, None) => Ok(None),
        }
        .and_then(|token| match token {
            Some(t) => crate::api::access::check_token_strength(t.expose())
                .map(|()| Some(t))
                .map_err(|why| ConfigError::key("admin.token", why)),
            None => Ok(None),
        })
    }

    /// Where the database lives.
    pub fn database(&self) -> Database {
        match &self.database_url {
            Some(url) => Database::Postgres(url.clone()),
            None => Database::Sqlite(self.data_dir.join("gateway.db")),
        }
    }

    /// The merchants with their secrets resolved from the configuration or the
    /// environment, each at least [`MIN_SECRET_CHARS`] long. Does not create the dev
    /// merchant (see [`crate::gateway`]).
    pub fn resolve_merchants(&self) -> Result<Vec<Merchant>, ConfigError> {
        self.merchants
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let key = |name: &str| format!("merchants[{i}].{name} (appid `{}`)", m.appid);
                let secret =
                    resolve_secret(&m.secret, &m.secret_env, "secret", &key)?.ok_or_else(|| {
                        ConfigError::key(key("secret"), "is missing (or set `secret_env`)")
                    })?;
                let next_secret =
                    resolve_secret(&m.next_secret, &m.next_secret_env, "next_secret", &key)?;
                Ok(Merchant {
                    appid: m.appid.clone(),
                    secret,
                    next_secret,
                    notify_url: m.notify_url.clone(),
                    checkout_page: m.checkout_page,
                    xpubs: m.xpubs.clone(),
                    allocated_addresses_only: m.allocated_addresses_only,
                    address_limits: self.addresses.with(&m.addresses),
                })
            })
            .collect()
    }
}

/// One secret of a merchant, inline or from the environment, checked for length.
fn resolve_secret(
    inline: &Option<Secret>,
    env: &Option<String>,
    name: &str,
    key: &dyn Fn(&str) -> String,
) -> Result<Option<Secret>, ConfigError> {
    let secret = match (inline, env) {
        (Some(s), None) => s.clone(),
        (None, Some(var)) => Secret::new(std::env::var(var).map_err(|_| {
            ConfigError::key(
                key(&format!("{name}_env")),
                format_args!("the environment variable {var} is not set"),
            )
        })?),
        (Some(_), Some(_)) => {
            return Err(ConfigError::key(
                key(name),
                format_args!("set `{name}` or `{name}_env`, not both"),
            ));
        }
        (None, None) => return Ok(None),
    };
    let chars = secret.expose().chars().count();
    if chars < MIN_SECRET_CHARS {
        return Err(ConfigError::key(
            key(name),
            format_args!("must be at least {MIN_SECRET_CHARS} characters (it has {chars})"),
        ));
    }
    Ok(Some(secret))
}

/// Largest `orders.write_queue` (each slot is one small order; this bounds memory).
const MAX_WRITE_QUEUE: usize = 1 << 20;

/// Largest `http.max_connections`.
const MAX_CONNECTIONS: usize = 1 << 20;

impl ChainConfig {
    /// Everything but the environment: one provider list, URLs, limits.
    fn check(&self, chain: &str) -> Result<(), ConfigError> {
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
            check_url(url.expose())
                .map_err(|p| ConfigError::key(key(&format!("rpc_urls[{i}]")), p))?;
        }
        for (i, p) in self.providers.iter().enumerate() {
            let pkey = |k: &str| key(&format!("providers[{i}].{k}"));
            check_url(p.url.expose()).map_err(|e| ConfigError::key(pkey("url"), e))?;
            if p.rate_limit == Some(0) {
                return Err(ConfigError::key(
                    pkey("rate_limit"),
                    "must be at least 1 (or unset)",
                ));
            }
            if p.timeout.is_some_and(|t| t.is_zero()) {
                return Err(ConfigError::key(pkey("timeout"), "must be above zero"));
            }
            for name in p.headers.keys().chain(p.headers_env.keys()) {
                if name.is_empty()
                    || !name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                {
                    return Err(ConfigError::key(
                        pkey("headers"),
                        format_args!("{name:?} is not an HTTP header name"),
                    ));
                }
            }
        }
        if self.request_timeout.is_zero() {
            return Err(ConfigError::key(
                key("request_timeout"),
                "must be above zero",
            ));
        }
        if self.block_span == 0 {
            return Err(ConfigError::key(key("block_span"), "must be at least 1"));
        }
        if self.addresses_per_query == 0 {
            return Err(ConfigError::key(
                key("addresses_per_query"),
                "must be at least 1",
            ));
        }
        if self.breaker_threshold == 0 {
            return Err(ConfigError::key(
                key("breaker_threshold"),
                "must be at least 1",
            ));
        }
        Ok(())
    }
}

impl HttpConfig {
    fn check(&self) -> Result<(), ConfigError> {
        if self.header_read_timeout.is_zero() {
            return Err(ConfigError::key(
                "http.header_read_timeout",
                "must be above zero",
            ));
        }
        if self.idle_timeout.is_zero() {
            return Err(ConfigError::key("http.idle_timeout", "must be above zero"));
        }
        if !(1..=MAX_CONNECTIONS).contains(&self.max_connections) {
            return Err(ConfigError::key(
                "http.max_connections",
                format_args!("must be 1..={MAX_CONNECTIONS}"),
            ));
        }
        if self.write_timeout.is_zero() {
            return Err(ConfigError::key("http.write_timeout", "must be above zero"));
        }
        if self.public_rate == 0 || self.public_burst == 0 {
            return Err(ConfigError::key(
                "http.public_rate",
                "public_rate and public_burst must be above zero",
            ));
        }
        if self.public_max_in_flight == 0 {
            return Err(ConfigError::key(
                "http.public_max_in_flight",
                "must be above zero",
            ));
        }
        Ok(())
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn load(toml: &str) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gateway.toml");
        std::fs::write(&path, toml).unwrap();
        Config::load_with_env(Some(&path), Env::prefixed("USDT_GATEWAY_TEST_UNUSED_"))
    }

    #[test]
    fn defaults_alone_are_valid_and_documented_values_hold() {
        let config =
            Config::load_with_env(None, Env::prefixed("USDT_GATEWAY_TEST_UNUSED_")).unwrap();
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
    fn metrics_are_off_the_main_port_outside_dev_mode_unless_asked_for() {
        let merchant = format!("[[merchants]]\nappid = \"m\"\nsecret = \"{GOOD_SECRET}\"\n");
        assert!(!load(&merchant).unwrap().metrics_on_main_port());
        let opt_in = load(&format!("[metrics]\non_main_port = true\n{merchant}")).unwrap();
        assert!(opt_in.metrics_on_main_port());
        let elsewhere =
            load("[metrics]\nlisten = \"127.0.0.1:9464\"\n[dev]\nenabled = true\n").unwrap();
        assert!(!elsewhere.metrics_on_main_port());
        let dev_off = load("[metrics]\non_main_port = false\n[dev]\nenabled = true\n").unwrap();
        assert!(!dev_off.metrics_on_main_port());
    }

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
    fn http_limits_and_the_write_queue_have_safe_defaults_and_are_checked() {
        let config =
            Config::load_with_env(None, Env::prefixed("USDT_GATEWAY_TEST_UNUSED_")).unwrap();
        assert_eq!(config.http.header_read_timeout, Duration::from_secs(10));
        assert_eq!(config.http.idle_timeout, Duration::from_secs(60));
        assert_eq!(config.http.max_connections, 1024);
        assert_eq!(config.http.drain_timeout, Duration::from_secs(10));
        assert_eq!(config.orders.write_queue, 8192);

        for (toml, key) in [
            (
                "[http]\nheader_read_timeout = \"0s\"\n",
                "http.header_read_timeout",
            ),
            ("[http]\nidle_timeout = \"0s\"\n", "http.idle_timeout"),
            ("[http]\nmax_connections = 0\n", "http.max_connections"),
            ("[http]\nmax_connections = -1\n", "http.max_connections"),
            ("[http]\ndrain_timeout = \"soon\"\n", "http.drain_timeout"),
            ("[http]\nlimit = 1\n", "limit"),
            ("[orders]\nwrite_queue = 0\n", "orders.write_queue"),
            ("[orders]\nwrite_queue = 99999999\n", "orders.write_queue"),
        ] {
            let err = load(&format!(
                "{toml}[[merchants]]\nappid = \"m\"\nsecret = \"s\"\n"
            ))
            .unwrap_err()
            .to_string();
            assert!(err.contains(key), "{toml}: {err}");
        }
        let config = load(
            "[http]\ndrain_timeout = \"0s\"\nmax_connections = 3\n\
             [orders]\nwrite_queue = 1\n[[merchants]]\nappid = \"m\"\nsecret = \"s\"\n",
        )
        .unwrap();
        assert!(config.http.drain_timeout.is_zero(), "no drain is allowed");
        assert_eq!(config.http.max_connections, 3);
        assert_eq!(config.orders.write_queue, 1);
    }

    #[test]
    fn address_limits_have_documented_defaults_merchant_overrides_and_checks() {
        let config =
            Config::load_with_env(None, Env::prefixed("USDT_GATEWAY_TEST_UNUSED_")).unwrap();
        let defaults = AddressesConfig {
            max_per_chain: 100_000,
            rate: 2,
            burst: 100,
        };
        assert_eq!(config.addresses, defaults);
        let secret = "s".repeat(MIN_SECRET_CHARS);
        let merchants = format!(
            "[[merchants]]\nappid = \"a\"\nsecret = \"{secret}\"\n\
             addresses = {{ max_per_chain = 5, burst = 3 }}\n\
             [[merchants]]\nappid = \"b\"\nsecret = \"{secret}\"\n"
        );
        let config = load(&format!("[addresses]\nrate = 7\n{merchants}")).unwrap();
        let resolved = config.resolve_merchants().unwrap();
        assert_eq!(
            resolved[0].address_limits,
            AddressesConfig {
                max_per_chain: 5,
                rate: 7,
                burst: 3
            }
        );
        assert_eq!(
            resolved[1].address_limits,
            AddressesConfig {
                rate: 7,
                ..defaults
            }
        );
        for (toml, key) in [
            ("[addresses]\nrate = 0\n", "`addresses.rate`"),
            ("[addresses]\nburst = 0\n", "`addresses.burst`"),
            (
                "[addresses]\nmax_per_chain = 0\n",
                "`addresses.max_per_chain`",
            ),
            (
                "[addresses]\nmax_per_chain = 2147483649\n",
                "`addresses.max_per_chain`",
            ),
        ] {
            let err = load(&format!("{toml}{merchants}")).unwrap_err().to_string();
            assert!(err.contains(key), "{toml}: {err}");
        }
        let zero = merchants.replace("burst = 3", "burst = 0");
        let err = load(&zero).unwrap_err().to_string();
        assert!(err.contains("`merchants[0].addresses.burst`"), "{err}");
        let unknown = merchants.replace("burst = 3", "per_day = 3");
        let err = load(&unknown).unwrap_err().to_string();
        assert!(err.contains("per_day"), "{err}");
    }

    #[test]
    fn max_in_flight_defaults_to_256_and_must_be_positive() {
        const DEV: &str = "[dev]\nenabled = true\n";
        assert_eq!(load(DEV).unwrap().notify.max_in_flight, 256);
        assert_eq!(
            load(&format!("{DEV}[notify]\nmax_in_flight = 8\n"))
                .unwrap()
                .notify
                .max_in_flight,
            8
        );
        let err = load(&format!("{DEV}[notify]\nmax_in_flight = 0\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("notify.max_in_flight"), "{err}");
    }

    #[test]
    fn secrets_come_from_the_environment_and_never_print() {
        let var = "USDT_GATEWAY_TEST_SECRET_FOR_CONFIG_TEST";
        let config = load(&format!(
            "[[merchants]]\nappid = \"m\"\nsecret_env = \"{var}\"\n"
        ))
        .unwrap();
        let err = config.resolve_merchants().unwrap_err().to_string();
        assert!(err.contains("merchants[0].secret_env"), "{err}");

        let config = load(
            "[[merchants]]\nappid = \"m\"\nsecret = \"hunter2-very-secret-0123456789abcdef\"\n",
        )
        .unwrap();
        let merchants = config.resolve_merchants().unwrap();
        assert_eq!(
            merchants[0].secret.expose(),
            "hunter2-very-secret-0123456789abcdef"
        );
        let printed = format!("{config:?} {merchants:?}");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(printed.contains("[redacted]"));
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

    const GOOD_SECRET: &str = "0123456789abcdef0123456789abcdef";

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
    fn a_production_shaped_file_is_not_dev_mode() {
        let config = load(&format!(
            "[[merchants]]\nappid = \"m\"\nsecret = \"{GOOD_SECRET}\"\n"
        ))
        .unwrap();
        let mode = config.dev_mode();
        assert!(!mode.on, "a configured merchant and no [dev]: {mode:?}");
        assert!(!config.allow_private_targets(), "the SSRF guard is on");

        let config = load(&format!(
            "database_url = \"postgres://db/x\"\n[[merchants]]\nappid = \"m\"\nsecret = \"{GOOD_SECRET}\"\n"
        ))
        .unwrap();
        assert!(!config.dev_mode().on);

        let err = load("").unwrap_err().to_string();
        assert!(
            err.contains("`merchants`"),
            "an empty file is not dev mode: {err}"
        );

        let config = load("[dev]\nenabled = true\n").unwrap();
        assert!(config.dev_mode().on, "explicitly on");
        assert!(config.allow_private_targets());
    }

    #[test]
    fn dev_mode_off_loopback_needs_the_opt_in() {
        let err = load("listen = \"0.0.0.0:8080\"\n[dev]\nenabled = true\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("dev.allow_public_listen"), "{err}");
        let config =
            load("listen = \"0.0.0.0:8080\"\n[dev]\nenabled = true\nallow_public_listen = true\n")
                .unwrap();
        assert!(config.dev_mode().on);
        let mut config = load("[dev]\nenabled = true\n").unwrap();
        config.listen = "[::]:8080".parse().unwrap();
        assert!(
            config.validate().is_err(),
            "a command-line override is checked too"
        );
        let config = load(&format!(
            "listen = \"0.0.0.0:8080\"\n[[merchants]]\nappid = \"m\"\nsecret = \"{GOOD_SECRET}\"\n"
        ))
        .unwrap();
        assert!(
            !config.dev_mode().on,
            "production on a public address is fine"
        );
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

    #[test]
    fn secrets_are_at_least_32_characters_and_rotate_with_next_secret() {
        let config = load(
            "[[merchants]]\nappid = \"shop-a\"\nsecret = \"0123456789abcdef0123456789abcde\"\n",
        )
        .unwrap();
        let err = config.resolve_merchants().unwrap_err().to_string();
        assert!(err.contains("merchants[0].secret"), "{err}");
        assert!(err.contains("shop-a"), "names the merchant: {err}");
        assert!(err.contains("32"), "{err}");
        assert!(
            !err.contains("0123456789abcdef"),
            "never prints the secret: {err}"
        );

        let config = load(&format!(
            "[[merchants]]\nappid = \"m\"\nsecret = \"{GOOD_SECRET}\"\nnext_secret = \"short\"\n"
        ))
        .unwrap();
        let err = config.resolve_merchants().unwrap_err().to_string();
        assert!(err.contains("merchants[0].next_secret"), "{err}");

        let next = "fedcba9876543210fedcba9876543210";
        let config = load(&format!(
            "[[merchants]]\nappid = \"m\"\nsecret = \"{GOOD_SECRET}\"\nnext_secret = \"{next}\"\n"
        ))
        .unwrap();
        let merchants = config.resolve_merchants().unwrap();
        assert_eq!(
            merchants[0].next_secret.as_ref().map(Secret::expose),
            Some(next)
        );
        assert!(!format!("{merchants:?}").contains(next));
    }
}
