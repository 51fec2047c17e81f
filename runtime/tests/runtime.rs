//! The runtime on its own: the builtin 2.2.0 component, the keyring's one-call paths, and
//! components built against the frozen 2.0.0 and 2.1.0 contracts.

#![allow(clippy::panic, clippy::expect_used, clippy::unwrap_used)] // a failed expectation is a failed test

use usdt_recharge_runtime::{
    Chain, ConfirmationPolicy, ConfirmationRule, ContractVersion, ErrorCode, Merchant, Rules,
    RulesLimits,
};

/// `usdt:recharge@2.0.0` exactly as released: `target/component/usdt_recharge.wasm` built
/// from the commit before 2.1.0 (`git show 462e437:wit/recharge.wit`), kept as a binary
/// so that this test proves a 2.0.0 build still loads.
const COMPONENT_2_0: &[u8] = include_bytes!("fixtures/usdt_recharge_2.0.0.wasm");

/// `usdt:recharge@2.1.0` exactly as released: `target/component/usdt_recharge.wasm` built
/// from the commit before 2.2.0 (`git show c58bf3f:wit/recharge.wit`).
const COMPONENT_2_1: &[u8] = include_bytes!("fixtures/usdt_recharge_2.1.0.wasm");

/// BIP32 test vector 1's master key.
const TV1_MASTER: &str = "xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet8";

fn codes(rs: &[usdt_recharge_runtime::Rejection]) -> Vec<ErrorCode> {
    rs.iter().map(|r| r.code).collect()
}

fn policy() -> ConfirmationPolicy {
    ConfirmationPolicy {
        base: ConfirmationRule {
            default_required: 1,
            large_amount: 100_000_000,
            large_required: 3,
        },
        overrides: vec![(
            Chain::Erc20,
            ConfirmationRule {
                default_required: 12,
                large_amount: 100_000_000,
                large_required: 20,
            },
        )],
    }
}

fn order_body(rules: &Rules, address: &str, secret: &str) -> String {
    let fields = usdt_recharge_runtime::OrderFields {
        appid: "m".into(),
        username: "alice".into(),
        localusermark: "u1".into(),
        address: address.into(),
        orderid: "m-20260101-abcdef".into(),
        amount: 1_000_000,
    };
    let sign = rules.order_sign(&fields, secret).unwrap();
    format!(
        r#"{{"appid":"m","username":"alice","localusermark":"u1","address":"{address}","orderid":"m-20260101-abcdef","amount":1000000,"sign":"{sign}"}}"#
    )
}

#[test]
fn the_builtin_component_is_2_2_and_states_the_protocol_facts() {
    let rules = Rules::builtin(RulesLimits::default()).unwrap();
    assert_eq!(rules.version(), ContractVersion::V2_2);
    let facts = rules.facts().unwrap();
    assert_eq!(facts.callback_window, 300);
    assert_eq!(facts.max_retries, 8);
    assert_eq!(facts.scale, 10_000);
    // The runtime's `Chain::as_str` (used on the hot path, no call) agrees with the
    // component's own names, and parse-chain maps them back.
    let chains = rules.chains().unwrap();
    assert_eq!(chains.len(), 3);
    for c in chains {
        assert_eq!(c.chain.as_str(), c.name);
        assert_eq!(rules.parse_chain(&c.name).unwrap().unwrap(), c.chain);
    }
    assert_eq!(
        rules.parse_chain("trc20").unwrap().unwrap_err().code,
        ErrorCode::UnsupportedChain
    );
}

#[test]
fn the_keyring_accepts_orders_with_their_confirmations_and_follows_changes() {
    let rules = Rules::builtin(RulesLimits::default()).unwrap();
    let erc = "0x52908400098527886E0F7030069857D2E4169EE7";
    let tron = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t";
    // No keyring yet: every appid is unknown.
    let body = order_body(&rules, tron, "old");
    assert_eq!(
        codes(&rules.accept_order(&body).unwrap().unwrap_err()),
        [ErrorCode::UnknownAppid]
    );
    rules.set_keyring(
        vec![Merchant {
            appid: "m".into(),
            secret: "old".into(),
            next_secret: Some("new".into()),
        }],
        policy(),
    );
    let accepted = rules.accept_order(&body).unwrap().unwrap();
    assert_eq!(accepted.required_confirmations, 1);
    let erc_body = order_body(&rules, erc, "new");
    let accepted = rules.accept_order(&erc_body).unwrap().unwrap();
    assert_eq!(
        (accepted.order.chain, accepted.required_confirmations),
        (Chain::Erc20, 12)
    );
    // The rotation ends: the next secret alone is current, the old one no longer signs.
    rules.set_keyring(
        vec![Merchant {
            appid: "m".into(),
            secret: "new".into(),
            next_secret: None,
        }],
        policy(),
    );
    assert_eq!(
        codes(&rules.accept_order(&body).unwrap().unwrap_err()),
        [ErrorCode::SignMismatch]
    );
    assert!(rules.accept_order(&erc_body).unwrap().is_ok());
}

#[test]
fn a_2_0_component_still_loads_and_runs_the_2_0_functions() {
    let rules = Rules::from_bytes(COMPONENT_2_0, RulesLimits::default()).unwrap();
    assert_eq!(rules.version(), ContractVersion::V2_0);
    // 2.0 functions work, the 2.0 keyring included.
    assert_eq!(rules.parse_usdt("100.5").unwrap().unwrap(), 1_005_000);
    rules.set_merchants(vec![("m".into(), "old".into())]);
    let body = order_body(&rules, "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", "old");
    assert_eq!(rules.check_order(&body).unwrap().unwrap().fields.appid, "m");
    // The functions 2.1.0 added fail plainly, without trapping anything.
    for fault in [
        rules.facts().map(|_| ()),
        rules.parse_query("{}").map(|_| ()),
        rules.accept_order(&body).map(|_| ()),
    ] {
        let message = fault.unwrap_err().to_string();
        assert!(message.contains("2.1.0"), "{message}");
    }
    let message = rules.parse_xpub(TV1_MASTER).unwrap_err().to_string();
    assert!(message.contains("2.2.0"), "{message}");
    assert_eq!(rules.count_confirmations(10, 5).unwrap(), 6);
}

/// Component calls the counting guard below has run.
static GUARDED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn counting_guard(call: &mut dyn FnMut()) {
    GUARDED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    call();
}

/// A guard that forgets to run the call.
fn idle_guard(_call: &mut dyn FnMut()) {}

/// Calls the counting guard has run since `before`.
fn guarded_since(before: usize) -> usize {
    GUARDED.load(std::sync::atomic::Ordering::SeqCst) - before
}

#[test]
fn a_quick_call_runs_in_place_and_guard_after_zero_sends_every_call_through_the_guard() {
    let rules = Rules::builtin(RulesLimits {
        call_guard: Some(counting_guard),
        guard_after: std::time::Duration::from_secs(1),
        ..RulesLimits::default()
    })
    .expect("component loads");
    let before = GUARDED.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(rules.format_usdt(1_000_000).expect("no fault"), "100.0000");
    assert_eq!(rules.count_confirmations(10, 8).expect("no fault"), 3);
    let stats = rules.stats();
    assert_eq!((stats.calls, stats.reruns_in_guard), (2, 0), "{stats:?}");

    let rules = Rules::builtin(RulesLimits {
        call_guard: Some(counting_guard),
        guard_after: std::time::Duration::ZERO,
        ..RulesLimits::default()
    })
    .expect("component loads");
    assert_eq!(rules.format_usdt(1_000_000).expect("no fault"), "100.0000");
    assert_eq!(rules.count_confirmations(10, 8).expect("no fault"), 3);
    // Other tests in this binary do not use the counting guard: none ran in place.
    assert_eq!(guarded_since(before), 2);
    let stats = rules.stats();
    assert_eq!((stats.calls, stats.reruns_in_guard), (2, 0), "{stats:?}");
}

#[test]
fn a_guard_that_skips_the_call_is_a_fault() {
    let rules = Rules::builtin(RulesLimits {
        call_guard: Some(idle_guard),
        guard_after: std::time::Duration::ZERO,
        ..RulesLimits::default()
    })
    .expect("component loads");
    let fault = rules.format_usdt(1).expect_err("the call never ran");
    assert!(fault.to_string().contains("call guard"), "{fault}");
    assert_eq!(rules.stats().other, 1);
}

#[test]
fn a_2_1_component_still_loads_and_runs_the_2_1_functions() {
    let rules = Rules::from_bytes(COMPONENT_2_1, RulesLimits::default()).unwrap();
    assert_eq!(rules.version(), ContractVersion::V2_1);
    rules.set_keyring(
        vec![Merchant {
            appid: "m".into(),
            secret: "old".into(),
            next_secret: None,
        }],
        policy(),
    );
    let body = order_body(&rules, "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", "old");
    let accepted = rules.accept_order(&body).unwrap().unwrap();
    assert_eq!(accepted.required_confirmations, 1);
    assert_eq!(rules.facts().unwrap().callback_window, 300);
    // The functions 2.2.0 added fail plainly, without trapping anything.
    for fault in [
        rules.parse_xpub(TV1_MASTER).map(|_| ()),
        rules
            .derive_address(TV1_MASTER, Chain::Trc20, 0)
            .map(|_| ()),
        rules.check_address_request("{}").map(|_| ()),
    ] {
        let message = fault.unwrap_err().to_string();
        assert!(message.contains("2.2.0"), "{message}");
    }
    // The instance pool still serves 2.1.0 calls after the refusals.
    assert!(rules.accept_order(&body).unwrap().is_ok());
}

#[test]
fn the_builtin_component_derives_and_refuses_private_keys_without_echoing_them() {
    let rules = Rules::builtin(RulesLimits::default()).unwrap();
    let info = rules.parse_xpub(TV1_MASTER).unwrap().unwrap();
    assert_eq!((info.depth, info.fingerprint), (0, 0x3442_193e));
    let xprv = "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi";
    let refused = rules.parse_xpub(xprv).unwrap().unwrap_err();
    assert_eq!(refused.code.as_str(), "PRIVATE_KEY_REFUSED");
    assert!(!refused.message.contains(&xprv[4..20]), "{refused}");
    let hardened = rules.derive_address(TV1_MASTER, Chain::Omni, 1 << 31);
    assert_eq!(
        hardened.unwrap().unwrap_err().code.as_str(),
        "INVALID_INDEX"
    );
}
