//! `amounts`: USDT amounts as text and as integers of the scale, and chain units.

use crate::{ChainAmount, Rejection, Rules, RulesFault};

impl Rules {
    /// `amounts.parse-usdt`.
    pub fn parse_usdt(&self, text: &str) -> Result<Result<u64, Rejection>, RulesFault> {
        self.call(|r, s| r.amounts.call_parse_usdt(s, text))
    }

    /// `amounts.format-usdt`.
    pub fn format_usdt(&self, amount: u64) -> Result<String, RulesFault> {
        self.call(|r, s| r.amounts.call_format_usdt(s, amount))
    }

    /// `amounts.from-chain-units`.
    pub fn from_chain_units(
        &self,
        value: &str,
        decimals: u8,
    ) -> Result<Result<ChainAmount, Rejection>, RulesFault> {
        self.call(|r, s| r.amounts.call_from_chain_units(s, value, decimals))
    }
}
