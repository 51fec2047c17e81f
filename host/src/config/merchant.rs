//! The domain's merchant: one `[[merchants]]` entry with its secrets resolved and its
//! address limits settled (see [`super::Config::resolve_merchants`]).

use std::collections::BTreeMap;

use usdt_gateway_core::address::AddressLimits;

use super::secrets::Secret;

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
    pub address_limits: AddressLimits,
}
