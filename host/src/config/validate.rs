//! Validation: every check that needs no component, run at load and again after a
//! command-line override. Each section checks its own keys; this module runs them and
//! the checks that span sections. The protocol's own rules (retry limit, token decimals,
//! chain names, `notify_url`) are the component's: `gateway::check_protocol` applies
//! them once it is loaded.

use std::collections::HashSet;

use super::secrets::SecretRef;
use super::{Config, ConfigError};

impl Config {
    /// Every check that needs no component: ranges, duplicates, the merchant table,
    /// dev mode on a public address. Run again after a command-line override.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.check_sections()?;
        self.check_written_secrets()?;
        for (chain, c) in &self.chains {
            c.check(chain)?;
        }
        self.check_merchants()?;
        self.check_dev_listen()
    }

    /// The sections whose keys stand alone: timeouts, queues, limits, the sandbox.
    fn check_sections(&self) -> Result<(), ConfigError> {
        if self.request_timeout.is_zero() {
            return Err(ConfigError::key("request_timeout", "must be above zero"));
        }
        self.notify.check()?;
        self.orders.check()?;
        self.http.check()?;
        self.addresses.check("addresses")?;
        self.rules.check()
    }

    /// The secrets checked at load, before the environment is read: `database_url` and
    /// the admin token (one form, strong enough when inline). Merchant secrets and
    /// chain credentials are checked when resolved.
    fn check_written_secrets(&self) -> Result<(), ConfigError> {
        if let Some(url) = &self.database_url {
            SecretRef::inline("database_url", url)
                .checked_by(check_database_url)
                .check_written()?;
        }
        self.admin.token_ref().check_written()
    }

    /// At least one merchant outside dev mode; appids set and unique; each merchant's
    /// address limits in range.
    fn check_merchants(&self) -> Result<(), ConfigError> {
        if self.merchants.is_empty() && !self.dev_mode().on {
            return Err(ConfigError::key(
                "merchants",
                "at least one merchant is required outside dev mode",
            ));
        }
        let mut seen = HashSet::new();
        for (i, m) in self.merchants.iter().enumerate() {
            let key = format!("merchants[{i}].appid");
            if m.appid.is_empty() {
                return Err(ConfigError::key(key, "is empty"));
            }
            if !seen.insert(m.appid.as_str()) {
                return Err(ConfigError::key(
                    key,
                    format_args!("`{}` is configured twice", m.appid),
                ));
            }
            self.addresses
                .with(&m.addresses)
                .check(&format!("merchants[{i}].addresses"))?;
        }
        Ok(())
    }
}

/// A PostgreSQL URL (SQLite is the default, with no URL).
fn check_database_url(url: &str) -> Result<(), String> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(())
    } else {
        Err("must start with postgres:// (leave it unset for the embedded SQLite)".into())
    }
}
