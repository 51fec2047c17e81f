//! `gateway` (since 2.1.0): the keyring of merchants (with their next secrets during a
//! rotation) and confirmation policy that accepts an order or checks a query in one call.

use std::sync::Arc;

use wasmtime::component::ResourceAny;
use wasmtime::{Result, Store};

use crate::compat::NewerExports;
use crate::stats::Limiter;
use crate::{
    AcceptedOrder, ConfirmationPolicy, ConfirmationRule, ContractVersion, Merchant, OrderQuery,
    Rejection, Rules, RulesFault,
};

/// The merchants and the policy of the 2.1 keyring as last set, numbered likewise.
pub(crate) struct GatewayKeyring {
    generation: u64,
    merchants: Vec<Merchant>,
    policy: ConfirmationPolicy,
}

impl GatewayKeyring {
    /// No merchant yet, one confirmation for everything.
    pub(crate) fn none() -> Self {
        Self {
            generation: 0,
            merchants: Vec::new(),
            policy: ConfirmationPolicy {
                base: ConfirmationRule {
                    default_required: 1,
                    large_amount: 0,
                    large_required: 1,
                },
                overrides: Vec::new(),
            },
        }
    }
}

impl Rules {
    /// Replace the merchants (with their next secrets during a rotation) and the
    /// confirmation policy of the 2.1.0 `gateway.keyring` used by
    /// [`Rules::accept_order`] and [`Rules::check_query`]. Each instance loads them on
    /// its next use. The policy should have passed [`Rules::validate_policy`].
    pub fn set_keyring(&self, merchants: Vec<Merchant>, policy: ConfirmationPolicy) {
        if let Ok(mut keyring) = self.gateway_keyring.write() {
            let generation = keyring.generation + 1;
            *keyring = Arc::new(GatewayKeyring {
                generation,
                merchants,
                policy,
            });
        }
    }

    /// Run `f` with this instance's exports and its `gateway.keyring`, rebuilt when
    /// [`Rules::set_keyring`] changed it.
    pub(crate) fn with_gateway_keyring<R>(
        &self,
        what: &str,
        mut f: impl FnMut(&NewerExports, &mut Store<Limiter>, ResourceAny) -> Result<R>,
    ) -> Result<R, RulesFault> {
        self.require(ContractVersion::V2_1, what)?;
        let current = self
            .gateway_keyring
            .read()
            .map(|k| Arc::clone(&k))
            .map_err(|_| RulesFault(wasmtime::format_err!("keyring poisoned")))?;
        self.with_instance(|i| {
            let keyrings = i.exports.newer.gateway(what)?.keyring();
            let keyring = match i.gateway_keyring {
                Some((generation, keyring)) if generation == current.generation => keyring,
                stale => {
                    if let Some((_, old)) = stale {
                        old.resource_drop(&mut i.store)?;
                    }
                    let keyring = keyrings.call_constructor(
                        &mut i.store,
                        &current.merchants,
                        &current.policy,
                    )?;
                    i.gateway_keyring = Some((current.generation, keyring));
                    keyring
                }
            };
            f(&i.exports.newer, &mut i.store, keyring)
        })
    }

    /// `gateway.keyring.accept-order` (2.1.0) with the keyring of
    /// [`Rules::set_keyring`]: parse, find the merchant, verify the sign (current or next
    /// secret) and add the required confirmations, in one call into the component.
    pub fn accept_order(
        &self,
        body: &str,
    ) -> Result<Result<AcceptedOrder, Vec<Rejection>>, RulesFault> {
        self.with_gateway_keyring("accept-order", |e, s, keyring| {
            e.gateway("accept-order")?
                .keyring()
                .call_accept_order(s, keyring, body)
        })
    }

    /// `gateway.keyring.check-query` (2.1.0) with the keyring of [`Rules::set_keyring`]:
    /// parse the query and verify its sign (current or next secret) in one call.
    pub fn check_query(
        &self,
        body: &str,
    ) -> Result<Result<OrderQuery, Vec<Rejection>>, RulesFault> {
        self.with_gateway_keyring("check-query", |e, s, keyring| {
            e.gateway("check-query")?
                .keyring()
                .call_check_query(s, keyring, body)
        })
    }

    /// `gateway.parse-query` (2.1.0).
    pub fn parse_query(
        &self,
        body: &str,
    ) -> Result<Result<OrderQuery, Vec<Rejection>>, RulesFault> {
        const WHAT: &str = "parse-query";
        self.require(ContractVersion::V2_1, WHAT)?;
        self.with_instance(|i| {
            i.exports
                .newer
                .gateway(WHAT)?
                .call_parse_query(&mut i.store, body)
        })
    }
}
