//! `derivation` (since 2.2.0): watch-only BIP32 derivation of deposit addresses from a
//! merchant's account key, and the address requests that ask for one.

use wasmtime::{Result, Store};

use crate::bindings::exports::usdt::recharge::derivation;
use crate::stats::Limiter;
use crate::{
    AddressRequest, Chain, ContractVersion, DerivationError, DerivationErrorCode, DerivedAddress,
    Rejection, Rules, RulesFault, XpubInfo,
};

impl Rules {
    /// Run `f` on the `derivation` interface of a pooled instance (2.2.0).
    fn call_derivation<R>(
        &self,
        what: &str,
        mut f: impl FnMut(&derivation::Guest, &mut Store<Limiter>) -> Result<R>,
    ) -> Result<R, RulesFault> {
        self.require(ContractVersion::V2_2, what)?;
        self.with_instance(|i| f(i.exports.newer.derivation(what)?, &mut i.store))
    }

    /// `derivation.parse-xpub` (2.2.0): what an extended public key is; a private key
    /// is refused.
    pub fn parse_xpub(&self, xpub: &str) -> Result<Result<XpubInfo, DerivationError>, RulesFault> {
        self.call_derivation("parse-xpub", |d, s| d.call_parse_xpub(s, xpub))
    }

    /// `derivation.derive-xpub` (2.2.0): one public derivation step.
    pub fn derive_xpub(
        &self,
        xpub: &str,
        index: u32,
    ) -> Result<Result<String, DerivationError>, RulesFault> {
        self.call_derivation("derive-xpub", |d, s| d.call_derive_xpub(s, xpub, index))
    }

    /// `derivation.derive-address` (2.2.0): the address at `…/0/index` of an account
    /// key, encoded for `chain`.
    pub fn derive_address(
        &self,
        xpub: &str,
        chain: Chain,
        index: u32,
    ) -> Result<Result<DerivedAddress, DerivationError>, RulesFault> {
        self.call_derivation("derive-address", |d, s| {
            d.call_derive_address(s, xpub, chain, index)
        })
    }

    /// `derivation.address-sign` (2.2.0): `md5(appid|username|chain|secret)`.
    pub fn address_sign(
        &self,
        appid: &str,
        username: &str,
        chain: Chain,
        secret: &str,
    ) -> Result<String, RulesFault> {
        self.call_derivation("address-sign", |d, s| {
            d.call_address_sign(s, appid, username, chain, secret)
        })
    }

    /// `derivation.parse-address-request` (2.2.0).
    pub fn parse_address_request(
        &self,
        body: &str,
    ) -> Result<Result<AddressRequest, Vec<Rejection>>, RulesFault> {
        self.call_derivation("parse-address-request", |d, s| {
            d.call_parse_address_request(s, body)
        })
    }

    /// `derivation.check-address-request` (2.2.0) with the keyring of
    /// [`Rules::set_keyring`]: parse the address request and verify its sign (current or
    /// next secret) in one call.
    pub fn check_address_request(
        &self,
        body: &str,
    ) -> Result<Result<AddressRequest, Vec<Rejection>>, RulesFault> {
        const WHAT: &str = "check-address-request";
        self.require(ContractVersion::V2_2, WHAT)?;
        self.with_gateway_keyring(WHAT, |e, s, keyring| {
            e.derivation(WHAT)?
                .call_check_address_request(s, keyring, body)
        })
    }
}

impl DerivationErrorCode {
    /// The stable code, e.g. `PRIVATE_KEY_REFUSED`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidXpub => "INVALID_XPUB",
            Self::PrivateKeyRefused => "PRIVATE_KEY_REFUSED",
            Self::InvalidIndex => "INVALID_INDEX",
            Self::InvalidChildKey => "INVALID_CHILD_KEY",
        }
    }
}
