//! `addresses`: deposit addresses of each chain, inspected, validated and converted.

use crate::{AddressInfo, Chain, Rejection, Rules, RulesFault};

impl Rules {
    /// `addresses.inspect-address`.
    pub fn inspect_address(
        &self,
        address: &str,
    ) -> Result<Result<AddressInfo, Rejection>, RulesFault> {
        self.call(|r, s| r.addresses.call_inspect_address(s, address))
    }

    /// `addresses.validate-address`.
    pub fn validate_address(
        &self,
        address: &str,
        chain: Chain,
    ) -> Result<Result<AddressInfo, Rejection>, RulesFault> {
        self.call(|r, s| r.addresses.call_validate_address(s, address, chain))
    }

    /// `addresses.tron-from-hex`.
    pub fn tron_from_hex(&self, hex: &str) -> Result<Result<String, Rejection>, RulesFault> {
        self.call(|r, s| r.addresses.call_tron_from_hex(s, hex))
    }

    /// `addresses.eip55-checksum`.
    pub fn eip55_checksum(&self, address: &str) -> Result<Result<String, Rejection>, RulesFault> {
        self.call(|r, s| r.addresses.call_eip55_checksum(s, address))
    }
}
