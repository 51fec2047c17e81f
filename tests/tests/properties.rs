//! Property tests, natively and through the component.

#![allow(clippy::panic, clippy::indexing_slicing)] // a failed expectation is a failed test

use std::sync::{Arc, OnceLock};

use proptest::prelude::*;
use serde_json::json;
use usdt_recharge::{amounts, derivation, orders, signing};
use usdt_recharge_runtime::{Chain, Rules, RulesLimits};

/// The native library's chain for the runtime's.
fn native_chain(chain: Chain) -> usdt_recharge::Chain {
    match chain {
        Chain::Trc20 => usdt_recharge::Chain::Trc20,
        Chain::Erc20 => usdt_recharge::Chain::Erc20,
        Chain::Omni => usdt_recharge::Chain::Omni,
    }
}

fn component() -> &'static Arc<Rules> {
    static RULES: OnceLock<Arc<Rules>> = OnceLock::new();
    RULES.get_or_init(|| Rules::builtin(RulesLimits::default()).expect("component loads"))
}

const ADDRESSES: [&str; 3] = [
    "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
];

/// Fields that satisfy every field rule: ids of `[A-Za-z0-9_-]`, free text without
/// `|`, control characters or surrounding whitespace (non-ASCII included).
fn order_fields() -> impl Strategy<Value = signing::OrderFields> {
    let id = "[A-Za-z0-9_-]{1,64}";
    let text = |max: usize| {
        proptest::string::string_regex(&format!(
            "[a-zA-Z0-9张三李四💰]([a-zA-Z0-9 _.@张三李四💰]{{0,{}}}[a-zA-Z0-9张三💰])?",
            max - 2
        ))
        .expect("regex")
    };
    (
        id,
        text(64),
        text(128),
        0..ADDRESSES.len(),
        id,
        1..=usdt_recharge::MAX_ORDER_AMOUNT,
    )
        .prop_map(|(appid, username, localusermark, a, orderid, amount)| {
            signing::OrderFields {
                appid,
                username,
                localusermark,
                address: ADDRESSES[a].to_owned(),
                orderid,
                amount,
            }
        })
}

/// The body a merchant would send: the signed fields and `sign`, compact JSON.
fn signed_body(f: &signing::OrderFields, secret: &str) -> String {
    json!({
        "appid": f.appid, "username": f.username, "localusermark": f.localusermark,
        "address": f.address, "orderid": f.orderid, "amount": f.amount,
        "sign": signing::order_sign(f, secret),
    })
    .to_string()
}

/// Whether a body is accepted and verifies with `secret`, natively and in the component;
/// the two must agree.
fn verifies(body: &str, secret: &str) -> bool {
    let native = orders::parse_order(body).is_ok_and(|o| orders::verify_order(&o, secret).is_ok());
    let rules = component();
    let parsed = rules.parse_order(body).expect("no trap");
    let wasm = parsed.is_ok_and(|o| rules.verify_order(&o, secret).expect("no trap").is_ok());
    assert_eq!(native, wasm, "native and component disagree on {body}");
    native
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn amount_text_round_trips(amount in 0..=usdt_recharge::MAX_STORED_AMOUNT) {
        let text = amounts::format_usdt(amount);
        prop_assert_eq!(amounts::parse_usdt(&text), Ok(amount));
        let rules = component();
        prop_assert_eq!(rules.format_usdt(amount).expect("no trap"), text.clone());
        prop_assert_eq!(rules.parse_usdt(&text).expect("no trap").ok(), Some(amount));
    }

    #[test]
    fn any_signed_order_verifies(f in order_fields(), secret in "\\PC{1,40}") {
        let body = signed_body(&f, &secret);
        prop_assert!(verifies(&body, &secret), "{}", body);
    }

    #[test]
    fn changing_any_byte_of_a_signed_body_fails(
        f in order_fields(),
        secret in "[ -~]{1,40}",
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let body = signed_body(&f, &secret);
        let mut bytes = body.clone().into_bytes();
        let i = at.index(bytes.len());
        prop_assume!(bytes[i] != byte);
        bytes[i] = byte;
        // A body that is no longer UTF-8 is refused by the gateway before any rule runs.
        if let Ok(tampered) = String::from_utf8(bytes) {
            prop_assert!(!verifies(&tampered, &secret), "tampered body verified: {}", tampered);
        }
    }

    #[test]
    fn arbitrary_input_never_traps(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let text = String::from_utf8_lossy(&bytes);
        let rules = component();
        // `expect` fails the property on a trap; rejections are fine.
        let _ = rules.parse_order(&text).expect("parse-order trapped");
        let _ = rules.verify_callback(&text, "secret", 1_700_000_000, 300).expect("verify-callback trapped");
        let _ = rules.parse_usdt(&text).expect("parse-usdt trapped");
        let _ = rules.from_chain_units(&text, 6).expect("from-chain-units trapped");
        let _ = rules.inspect_address(&text).expect("inspect-address trapped");
        let _ = rules.tron_from_hex(&text).expect("tron-from-hex trapped");
        let _ = rules.check_orderid(&text).expect("check-orderid trapped");
        let _ = orders::parse_order(&text);
    }

    #[test]
    fn any_extended_key_payload_never_traps(
        payload in proptest::collection::vec(any::<u8>(), 70..86),
        version in prop_oneof![Just([0x04u8, 0x88, 0xB2, 0x1E]), Just([0x04, 0x88, 0xAD, 0xE4]), any::<[u8; 4]>()],
        prefix in prop_oneof![Just(2u8), Just(3), any::<u8>()],
        index in any::<u32>(),
        chain in prop_oneof![Just(Chain::Trc20), Just(Chain::Erc20), Just(Chain::Omni)],
    ) {
        // Well-checksummed bytes of about the right length, mostly the xpub version and a
        // key prefix of 02/03: the paths past the checksum (curve points, depth rules,
        // derivation) get exercised, not only the base58 decoder.
        let mut bytes = version.to_vec();
        bytes.extend_from_slice(&payload);
        if let Some(key) = bytes.get_mut(45) {
            *key = prefix;
        }
        let text = bs58::encode(&bytes).with_check().into_string();
        let rules = component();
        let native = derivation::derive_address(&text, native_chain(chain), index).map(|a| a.address);
        let wasm = rules.derive_address(&text, chain, index).expect("derive-address trapped");
        prop_assert_eq!(native.ok(), wasm.ok().map(|a| a.address));
        let _ = rules.parse_xpub(&text).expect("parse-xpub trapped");
        let _ = rules.derive_xpub(&text, index).expect("derive-xpub trapped");
    }

    #[test]
    fn arbitrary_text_is_never_an_xpub(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let text = String::from_utf8_lossy(&bytes);
        let rules = component();
        let _ = rules.parse_xpub(&text).expect("parse-xpub trapped");
        let _ = rules.parse_address_request(&text).expect("parse-address-request trapped");
        prop_assert!(derivation::parse_xpub(&text).is_err());
    }

    #[test]
    fn json_shaped_input_never_traps(
        amount in prop_oneof![Just("1e400".to_owned()), Just("-0".to_owned()), "[0-9]{1,400}", "\\PC{0,20}"],
        nesting in 0usize..2000,
    ) {
        let rules = component();
        let deep = format!("{}{}", "[".repeat(nesting), "]".repeat(nesting));
        for body in [
            format!(r#"{{"amount":{amount},"appid":{deep}}}"#),
            format!(r#"{{"amount":"{amount}","t":{deep}}}"#),
        ] {
            let _ = rules.parse_order(&body).expect("parse-order trapped");
            let _ = rules.verify_callback(&body, "k", 0, 300).expect("verify-callback trapped");
        }
    }
}
