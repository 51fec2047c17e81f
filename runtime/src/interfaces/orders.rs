//! `orders`: order bodies parsed and verified, order ids made and checked, and the 2.0.0
//! `merchant-keyring` that checks an order in one call.

use std::sync::Arc;

use crate::bindings::exports::usdt::recharge::orders::MerchantKey;
use crate::{Date, OrderRequest, OrderidParts, Rejection, Rules, RulesFault};

/// The merchants' secrets as last set, numbered so instances notice a change.
pub(crate) struct Merchants {
    generation: u64,
    keys: Vec<MerchantKey>,
}

impl Merchants {
    /// No merchant yet.
    pub(crate) fn none() -> Self {
        Self {
            generation: 0,
            keys: Vec::new(),
        }
    }
}

impl Rules {
    /// `orders.parse-order`.
    pub fn parse_order(
        &self,
        body: &str,
    ) -> Result<Result<OrderRequest, Vec<Rejection>>, RulesFault> {
        self.call(|r, s| r.orders.call_parse_order(s, body))
    }

    /// `orders.verify-order`.
    pub fn verify_order(
        &self,
        order: &OrderRequest,
        secret: &str,
    ) -> Result<Result<(), Rejection>, RulesFault> {
        self.call(|r, s| r.orders.call_verify_order(s, order, secret))
    }

    /// `orders.make-orderid`.
    pub fn make_orderid(
        &self,
        prefix: &str,
        date: Date,
        entropy: u64,
    ) -> Result<Result<String, Rejection>, RulesFault> {
        self.call(|r, s| r.orders.call_make_orderid(s, prefix, date, entropy))
    }

    /// `orders.check-orderid`.
    pub fn check_orderid(
        &self,
        orderid: &str,
    ) -> Result<Result<OrderidParts, Rejection>, RulesFault> {
        self.call(|r, s| r.orders.call_check_orderid(s, orderid))
    }

    /// Replace the merchants whose orders [`Rules::check_order`] (the 2.0.0 keyring)
    /// accepts: `(appid, secret)` pairs. Each instance loads them on its next use.
    pub fn set_merchants(&self, keys: Vec<(String, String)>) {
        if let Ok(mut merchants) = self.merchants.write() {
            let generation = merchants.generation + 1;
            let keys = keys
                .into_iter()
                .map(|(appid, secret)| MerchantKey { appid, secret })
                .collect();
            *merchants = Arc::new(Merchants { generation, keys });
        }
    }

    /// `merchant-keyring.check-order` with the merchants of [`Rules::set_merchants`]:
    /// parse, find the merchant, verify the sign, in one call into the component.
    pub fn check_order(
        &self,
        body: &str,
    ) -> Result<Result<OrderRequest, Vec<Rejection>>, RulesFault> {
        let merchants = self
            .merchants
            .read()
            .map(|m| Arc::clone(&m))
            .map_err(|_| RulesFault(wasmtime::format_err!("merchant table poisoned")))?;
        self.with_instance(|i| {
            let keyrings = i.exports.orders.merchant_keyring();
            let keyring = match i.keyring {
                Some((generation, keyring)) if generation == merchants.generation => keyring,
                stale => {
                    if let Some((_, old)) = stale {
                        old.resource_drop(&mut i.store)?;
                    }
                    let keyring = keyrings.call_constructor(&mut i.store, &merchants.keys)?;
                    i.keyring = Some((merchants.generation, keyring));
                    keyring
                }
            };
            keyrings.call_check_order(&mut i.store, keyring, body)
        })
    }
}
