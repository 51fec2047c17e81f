//! `protocol` (since 2.1.0): the protocol's facts and chains, and the checks of a
//! deployment's settings.

use wasmtime::{Result, Store};

use crate::bindings::exports::usdt::recharge::protocol;
use crate::stats::Limiter;
use crate::{Chain, ChainFacts, ContractVersion, ProtocolFacts, Rejection, Rules, RulesFault};

impl Rules {
    /// Run `f` on the `protocol` interface of a pooled instance (2.1.0).
    fn call_protocol<R>(
        &self,
        what: &str,
        mut f: impl FnMut(&protocol::Guest, &mut Store<Limiter>) -> Result<R>,
    ) -> Result<R, RulesFault> {
        self.require(ContractVersion::V2_1, what)?;
        self.with_instance(|i| f(i.exports.newer.protocol(what)?, &mut i.store))
    }

    /// `protocol.facts` (2.1.0): the callback window, the retry limit, the scale, the
    /// largest order amount, the most token decimals.
    pub fn facts(&self) -> Result<ProtocolFacts, RulesFault> {
        self.call_protocol("facts", |p, s| p.call_facts(s))
    }

    /// `protocol.chains` (2.1.0): every chain with its wire name and USDT decimals.
    pub fn chains(&self) -> Result<Vec<ChainFacts>, RulesFault> {
        self.call_protocol("chains", |p, s| p.call_chains(s))
    }

    /// `protocol.parse-chain` (2.1.0).
    pub fn parse_chain(&self, name: &str) -> Result<Result<Chain, Rejection>, RulesFault> {
        self.call_protocol("parse-chain", |p, s| p.call_parse_chain(s, name))
    }

    /// `protocol.validate-notify-url` (2.1.0).
    pub fn validate_notify_url(&self, url: &str) -> Result<Result<(), Rejection>, RulesFault> {
        self.call_protocol("validate-notify-url", |p, s| {
            p.call_validate_notify_url(s, url)
        })
    }

    /// `protocol.validate-token-decimals` (2.1.0).
    pub fn validate_token_decimals(
        &self,
        decimals: u8,
    ) -> Result<Result<(), Rejection>, RulesFault> {
        self.call_protocol("validate-token-decimals", |p, s| {
            p.call_validate_token_decimals(s, decimals)
        })
    }

    /// `protocol.to-chain-units` (2.1.0): scaled units to the token's base units, as
    /// decimal integer text.
    pub fn to_chain_units(
        &self,
        amount: u64,
        decimals: u8,
    ) -> Result<Result<String, Rejection>, RulesFault> {
        self.call_protocol("to-chain-units", |p, s| {
            p.call_to_chain_units(s, amount, decimals)
        })
    }
}
