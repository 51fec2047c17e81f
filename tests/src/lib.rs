//! The protocol as a table of outcomes, run by two implementations: the native library
//! (`usdt-recharge`) and the component through wasmtime (`usdt-recharge-runtime`).
//!
//! Each method returns the outcome in the shape the vector files use (`tests/vectors/
//! FORMAT.md`), so one comparison checks both implementations against the vectors.

// Test support: a vector that cannot be read or a trap is a failed test.
#![allow(clippy::panic, clippy::expect_used)]

use serde_json::{Value, json};

pub mod component;
pub mod native;

/// Where the vector files live.
pub const VECTORS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/vectors");

/// Load a vector file by name (`signs`, `orders`, …).
pub fn vectors(name: &str) -> Value {
    let path = format!("{VECTORS_DIR}/{name}.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The order fields of a vector (`{"appid", …, "amount"}`).
#[derive(Clone, Debug)]
pub struct OrderFieldsV {
    /// appid
    pub appid: String,
    /// username
    pub username: String,
    /// localusermark
    pub localusermark: String,
    /// address
    pub address: String,
    /// orderid
    pub orderid: String,
    /// amount
    pub amount: u64,
}

/// The callback fields of a vector.
#[derive(Clone, Debug)]
pub struct CallbackFieldsV {
    /// orderid
    pub orderid: String,
    /// localusermark
    pub localusermark: String,
    /// amount
    pub amount: u64,
    /// t
    pub t: u64,
}

/// A confirmation rule of a vector.
#[derive(Clone, Copy, Debug, Default)]
pub struct RuleV {
    /// default_required
    pub default_required: u32,
    /// large_amount
    pub large_amount: u64,
    /// large_required
    pub large_required: u32,
}

/// A confirmation policy of a vector.
#[derive(Clone, Debug, Default)]
pub struct PolicyV {
    /// base
    pub base: RuleV,
    /// overrides: chain wire name and rule
    pub overrides: Vec<(String, RuleV)>,
}

/// A merchant of a 2.1.0 keyring in a vector.
#[derive(Clone, Debug)]
pub struct MerchantV {
    /// appid
    pub appid: String,
    /// secret
    pub secret: String,
    /// next_secret
    pub next_secret: Option<String>,
}

/// Every operation of the protocol, answering in the vectors' shape.
pub trait Protocol {
    /// A short name for messages.
    fn name(&self) -> &'static str;
    /// `{"scaled"}` or `{"error"}`.
    fn parse_usdt(&self, text: &str) -> Value;
    /// The text.
    fn format_usdt(&self, scaled: u64) -> Value;
    /// `{"scaled","dust"}` or `{"error"}`.
    fn chain_units(&self, value: &str, decimals: u8) -> Value;
    /// The sign.
    fn order_sign(&self, f: &OrderFieldsV, secret: &str) -> Value;
    /// `"OK"` or the code.
    fn verify_order_sign(&self, f: &OrderFieldsV, secret: &str, sign: &str) -> Value;
    /// The sign.
    fn callback_sign(&self, f: &CallbackFieldsV, secret: &str) -> Value;
    /// `"OK"` or the code.
    fn verify_callback_sign(&self, f: &CallbackFieldsV, secret: &str, sign: &str) -> Value;
    /// The body or `{"error"}`.
    fn build_callback_body(&self, f: &CallbackFieldsV, secret: &str) -> Value;
    /// The sign.
    fn query_sign(&self, appid: &str, orderid: &str, secret: &str) -> Value;
    /// `"OK"` or the code.
    fn verify_query_sign(&self, appid: &str, orderid: &str, secret: &str, sign: &str) -> Value;
    /// `{"accept": {…}}` or `{"reject": [codes]}`; with a secret table, `"verify"` too.
    fn parse_order(&self, body: &str, secret_of: &dyn Fn(&str) -> Option<String>) -> Value;
    /// Parse, find the merchant among `keys` (appid, secret) and verify, in one call:
    /// `{"accept": {…}}` or `{"reject": [codes]}`.
    fn check_order(&self, body: &str, keys: &[(String, String)]) -> Value;
    /// `{"accept": {…}}` or `{"reject": code}`.
    fn verify_callback(&self, body: &str, secret: &str, now: u64, window: u32) -> Value;
    /// `{"chain","canonical","evm_hex"}` or `{"error"}`.
    fn inspect_address(&self, address: &str) -> Value;
    /// `true` when valid for the chain.
    fn validate_address(&self, address: &str, chain: &str) -> Value;
    /// `{"base58"}` or `{"error"}`.
    fn tron_from_hex(&self, hex: &str) -> Value;
    /// The checksummed address or `{"error"}`.
    fn eip55_checksum(&self, address: &str) -> Value;
    /// `{"orderid"}` or `{"error"}`.
    fn make_orderid(&self, prefix: &str, date: (u16, u8, u8), entropy: u64) -> Value;
    /// `{"prefix","date","random"}` or `{"error"}`.
    fn check_orderid(&self, orderid: &str) -> Value;
    /// `{"ok": true}` or `{"error"}`.
    fn validate_policy(&self, policy: &PolicyV) -> Value;
    /// The count.
    fn required_confirmations(&self, chain: &str, amount: u64, policy: &PolicyV) -> Value;
    /// The count.
    fn count_confirmations(&self, head: u64, block: u64) -> Value;
    /// `"pending"`, `"confirming"` or `"confirmed"`.
    fn deposit_state(&self, confirmations: u64, required: u32) -> Value;
    /// `{"callback_window","max_retries","scale","max_order_amount","max_token_decimals"}`.
    fn facts(&self) -> Value;
    /// `[{"chain","wire","usdt_decimals"}]` in the protocol's order.
    fn chains(&self) -> Value;
    /// `{"chain"}` or `{"error"}`.
    fn parse_chain(&self, text: &str) -> Value;
    /// `{"ok": true}` or `{"error"}`.
    fn validate_notify_url(&self, url: &str) -> Value;
    /// `{"ok": true}` or `{"error"}`.
    fn validate_token_decimals(&self, decimals: u8) -> Value;
    /// `{"units"}` (decimal text) or `{"error"}`.
    fn to_chain_units(&self, scaled: u64, decimals: u8) -> Value;
    /// `{"accept": {"appid","orderid","sign"}}` or `{"reject": [codes]}`.
    fn parse_query(&self, body: &str) -> Value;
    /// A keyring of `merchants` under `policy` checks a query:
    /// `{"accept": {"appid","orderid","sign"}}` or `{"reject": [codes]}`.
    fn check_query(&self, body: &str, merchants: &[MerchantV], policy: &PolicyV) -> Value;
    /// A keyring of `merchants` under `policy` accepts an order:
    /// `{"accept": {…}, "required_confirmations"}` or `{"reject": [codes]}`.
    fn accept_order(&self, body: &str, merchants: &[MerchantV], policy: &PolicyV) -> Value;
    /// `{"depth","parent_fingerprint","child_number","fingerprint","public_key"}` or
    /// `{"error"}`.
    fn parse_xpub(&self, xpub: &str) -> Value;
    /// `{"child"}` (the child's xpub) or `{"error"}`.
    fn derive_xpub(&self, xpub: &str, index: u32) -> Value;
    /// `{"chain","index","address","public_key"}` or `{"error"}`.
    fn derive_address(&self, xpub: &str, chain: &str, index: u32) -> Value;
    /// The address request's sign.
    fn address_sign(&self, appid: &str, username: &str, chain: &str, secret: &str) -> Value;
    /// `{"accept": {"appid","username","chain","sign"}}` or `{"reject": [codes]}`.
    fn parse_address_request(&self, body: &str) -> Value;
    /// A keyring of `merchants` checks an address request: as `parse_address_request`.
    fn check_address_request(&self, body: &str, merchants: &[MerchantV]) -> Value;
}

/// `{"ok": true}` or `{"error": code}`.
pub fn ok_or_error(result: Result<(), &str>) -> Value {
    match result {
        Ok(()) => json!({ "ok": true }),
        Err(code) => error(code),
    }
}

/// `{"error": code}`.
pub fn error(code: &str) -> Value {
    json!({ "error": code })
}

/// `"OK"` or the code.
pub fn verdict(result: Result<(), &str>) -> Value {
    match result {
        Ok(()) => json!("OK"),
        Err(code) => json!(code),
    }
}
