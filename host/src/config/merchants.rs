//! `[[merchants]]` and `[addresses]`: each merchant as written, the address limits they
//! share or override, and their resolution into [`Merchant`]s.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::merchant::Merchant;
use super::secrets::{Secret, SecretRef, check_secret_length};
use super::{Config, ConfigError};

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

impl From<AddressesConfig> for usdt_gateway_core::address::AddressLimits {
    fn from(c: AddressesConfig) -> Self {
        Self {
            max_per_chain: c.max_per_chain,
            rate: c.rate,
            burst: c.burst,
        }
    }
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
    pub(super) fn check(&self, key: &str) -> Result<(), ConfigError> {
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

impl MerchantConfig {
    /// `merchants[i].secret` or `secret_env`, checked by [`check_secret_length`].
    fn secret_ref(&self, i: usize) -> SecretRef<'_> {
        SecretRef::new(
            format!("merchants[{i}].secret"),
            self.secret.as_ref(),
            self.secret_env.as_deref(),
        )
        .checked_by(check_secret_length)
    }

    /// `merchants[i].next_secret` or `next_secret_env`, checked like the secret.
    fn next_secret_ref(&self, i: usize) -> SecretRef<'_> {
        SecretRef::new(
            format!("merchants[{i}].next_secret"),
            self.next_secret.as_ref(),
            self.next_secret_env.as_deref(),
        )
        .checked_by(check_secret_length)
    }

    /// This entry, `i`th in the table, with its secrets resolved and `limits` (the
    /// `[addresses]` table) overridden by its own. Errors name the merchant.
    fn resolve(&self, i: usize, limits: AddressesConfig) -> Result<Merchant, ConfigError> {
        let named = |e: ConfigError| ConfigError(format!("{} (appid `{}`)", e.0, self.appid));
        let secret = self
            .secret_ref(i)
            .resolve()
            .map_err(named)?
            .ok_or_else(|| {
                named(ConfigError::key(
                    format!("merchants[{i}].secret"),
                    "is missing (or set `secret_env`)",
                ))
            })?;
        Ok(Merchant {
            appid: self.appid.clone(),
            secret,
            next_secret: self.next_secret_ref(i).resolve().map_err(named)?,
            notify_url: self.notify_url.clone(),
            checkout_page: self.checkout_page,
            xpubs: self.xpubs.clone(),
            allocated_addresses_only: self.allocated_addresses_only,
            address_limits: limits.with(&self.addresses).into(),
        })
    }
}

impl Config {
    /// The merchants with their secrets resolved from the configuration or the
    /// environment, each at least [`super::MIN_SECRET_CHARS`] long. Does not create the
    /// dev merchant (see [`crate::gateway`]).
    pub fn resolve_merchants(&self) -> Result<Vec<Merchant>, ConfigError> {
        self.merchants
            .iter()
            .enumerate()
            .map(|(i, m)| m.resolve(i, self.addresses))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{GOOD_SECRET, defaults, load};
    use super::super::{MIN_SECRET_CHARS, Secret};
    use super::*;

    #[test]
    fn address_limits_have_documented_defaults_merchant_overrides_and_checks() {
        let config = defaults();
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
            .into()
        );
        assert_eq!(
            resolved[1].address_limits,
            AddressesConfig {
                rate: 7,
                ..defaults
            }
            .into()
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
