//! Reloading the merchants and the admin token from the configuration the gateway
//! started with (`POST /admin/merchants/reload`, SIGHUP).

use std::path::PathBuf;
use std::sync::Arc;

use crate::api::access::{AdminAccess, TokenChange};
use crate::config::Config;
use crate::merchants::MerchantDirectory;

use crate::preflight::{check_protocol, merchants};
use usdt_gateway_core::usecases::{MerchantSource, Reloaded};

/// Re-reads the merchants and the admin token from the configuration the gateway
/// started with (its file, then the environment) and puts them in place at once.
#[derive(Debug)]
pub struct MerchantReload {
    /// The configuration file given at start, if any.
    source_file: Option<PathBuf>,
    /// Where the merchants go.
    directory: Arc<MerchantDirectory>,
    /// Where the admin token goes.
    admin: Arc<AdminAccess>,
}

/// What a reload put in place.
#[derive(Clone, Copy, Debug)]
pub struct ReloadOutcome {
    /// How many merchants are configured now.
    pub merchants: usize,
    /// Whether the admin token changed, and the console sessions that change ended.
    pub admin_token: TokenChange,
}

impl MerchantReload {
    /// Reloads from `source_file` (and the environment) into `directory` and `admin`.
    pub fn new(
        source_file: Option<PathBuf>,
        directory: Arc<MerchantDirectory>,
        admin: Arc<AdminAccess>,
    ) -> Self {
        Self {
            source_file,
            directory,
            admin,
        }
    }

    /// Load the configuration again, check it whole (the admin token's strength
    /// included), and replace the merchants and the admin token (the rest of the
    /// configuration takes effect at the next start). On any error nothing changes.
    pub fn reload(&self) -> anyhow::Result<ReloadOutcome> {
        let config = Config::load(self.source_file.as_deref())?;
        check_protocol(&config, self.directory.rules())?;
        let token = config.admin_token()?;
        let (merchants, _) = merchants(&config)?;
        let count = merchants.len();
        self.directory.replace(merchants);
        let admin_token = self.admin.replace_token(token);
        tracing::info!(
            merchants = count,
            admin_token_changed = admin_token.changed,
            sessions_ended = admin_token.sessions_ended,
            "configuration reloaded"
        );
        Ok(ReloadOutcome {
            merchants: count,
            admin_token,
        })
    }
}

impl MerchantSource for MerchantReload {
    fn reload(&self) -> Result<Reloaded, String> {
        let outcome = MerchantReload::reload(self).map_err(|e| format!("{e:#}"))?;
        Ok(Reloaded {
            merchants: outcome.merchants,
            admin_token_changed: outcome.admin_token.changed,
            sessions_ended: outcome.admin_token.sessions_ended,
        })
    }
}
