//! `[orders]`, `[notify]` and `[confirmations]`: an order's lifetime, its callbacks, and
//! how many confirmations its deposit needs.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::ConfigError;

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

/// Largest `orders.write_queue` (each slot is one small order; this bounds memory).
const MAX_WRITE_QUEUE: usize = 1 << 20;

impl OrdersConfig {
    /// A lifetime above zero, a write queue in range.
    pub(super) fn check(&self) -> Result<(), ConfigError> {
        if self.ttl.is_zero() {
            return Err(ConfigError::key("orders.ttl", "must be above zero"));
        }
        if !(1..=MAX_WRITE_QUEUE).contains(&self.write_queue) {
            return Err(ConfigError::key(
                "orders.write_queue",
                format_args!("must be 1..={MAX_WRITE_QUEUE}"),
            ));
        }
        Ok(())
    }
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

impl NotifyConfig {
    /// A timeout above zero, at least one attempt in flight. The retry limit is the
    /// component's rule (`gateway::check_protocol`).
    pub(super) fn check(&self) -> Result<(), ConfigError> {
        if self.timeout.is_zero() {
            return Err(ConfigError::key("notify.timeout", "must be above zero"));
        }
        for (key, value) in [
            (
                "notify.max_in_flight_per_merchant",
                self.max_in_flight_per_merchant,
            ),
            ("notify.max_in_flight", self.max_in_flight),
        ] {
            if value == 0 {
                return Err(ConfigError::key(key, "must be at least 1"));
            }
        }
        Ok(())
    }
}

/// A list of durations written as text (`["15s", "1m"]`).
fn durations<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Duration>, D::Error> {
    let list: Vec<humantime_serde::Serde<Duration>> = Deserialize::deserialize(d)?;
    Ok(list
        .into_iter()
        .map(humantime_serde::Serde::into_inner)
        .collect())
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

#[cfg(test)]
mod tests {
    use super::super::test_support::load;

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
}
