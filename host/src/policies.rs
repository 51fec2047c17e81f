//! The operator's order policies behind the core's [`OrderPolicies`] port: the callback
//! URL's network policy (`notify.allow_private_targets`, checked by the callback HTTP
//! crate) and each merchant's `allocated_addresses_only` (the merchant directory).

use std::sync::Arc;

use usdt_gateway_core::ports::OrderPolicies;

use crate::merchants::MerchantDirectory;

/// The policies of this gateway's configuration.
#[derive(Debug)]
pub struct Policies {
    /// The merchants, as last reloaded.
    pub merchants: Arc<MerchantDirectory>,
    /// Whether callbacks may go to private and loopback addresses.
    pub allow_private_targets: bool,
}

impl OrderPolicies for Policies {
    fn check_notify_target(&self, url: &str) -> Result<(), String> {
        usdt_callback_http::check_target_url(url, self.allow_private_targets)
            .map_err(|e| e.to_string())
    }

    fn allocated_addresses_only(&self, appid: &str) -> bool {
        self.merchants
            .snapshot()
            .get(appid)
            .is_some_and(|m| m.allocated_addresses_only)
    }
}
