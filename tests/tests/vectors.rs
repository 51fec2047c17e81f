//! Every shared vector through the native library and through the component (loaded
//! with an empty linker, so it provably imports nothing); both must agree with the vector.

#![allow(clippy::panic, clippy::indexing_slicing)] // a failed expectation is a failed test

use serde_json::{Value, json};
use usdt_conformance::component::ComponentRules;
use usdt_conformance::native::Native;
use usdt_conformance::{
    CallbackFieldsV, MerchantV, OrderFieldsV, PolicyV, Protocol, RuleV, vectors,
};

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not a string in {v}"))
}

fn u(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} is not a u64 in {v}"))
}

fn order_fields(v: &Value) -> OrderFieldsV {
    OrderFieldsV {
        appid: s(v, "appid").into(),
        username: s(v, "username").into(),
        localusermark: s(v, "localusermark").into(),
        address: s(v, "address").into(),
        orderid: s(v, "orderid").into(),
        amount: u(v, "amount"),
    }
}

fn callback_fields(v: &Value) -> CallbackFieldsV {
    CallbackFieldsV {
        orderid: s(v, "orderid").into(),
        localusermark: s(v, "localusermark").into(),
        amount: u(v, "amount"),
        t: u(v, "t"),
    }
}

fn rule(v: &Value) -> RuleV {
    RuleV {
        default_required: u(v, "default_required") as u32,
        large_amount: u(v, "large_amount"),
        large_required: u(v, "large_required") as u32,
    }
}

fn policy(v: &Value) -> PolicyV {
    PolicyV {
        base: rule(&v["base"]),
        overrides: v["overrides"]
            .as_array()
            .expect("overrides")
            .iter()
            .map(|o| (o[0].as_str().expect("chain").to_owned(), rule(&o[1])))
            .collect(),
    }
}

fn cases<'a>(file: &'a Value, section: &str) -> &'a [Value] {
    let list = file[section]
        .as_array()
        .unwrap_or_else(|| panic!("section {section} missing"));
    assert!(!list.is_empty(), "section {section} is empty");
    list
}

/// Runs `check` on both implementations and collects every disagreement.
struct Run {
    impls: Vec<Box<dyn Protocol>>,
    failures: Vec<String>,
    checked: usize,
}

impl Run {
    fn new() -> Self {
        Self {
            impls: vec![Box::new(Native), Box::new(ComponentRules::builtin())],
            failures: Vec::new(),
            checked: 0,
        }
    }

    fn expect(&mut self, case: &Value, want: Value, got: impl Fn(&dyn Protocol) -> Value) {
        for imp in &self.impls {
            let got = got(imp.as_ref());
            self.checked += 1;
            if got != want {
                self.failures.push(format!(
                    "[{}] {}: want {want}, got {got}",
                    imp.name(),
                    case["name"]
                ));
            }
        }
    }

    fn finish(self, what: &str) {
        assert!(self.checked > 0);
        assert!(
            self.failures.is_empty(),
            "{what}: {} of {} checks failed:\n{}",
            self.failures.len(),
            self.checked,
            self.failures.join("\n")
        );
    }
}

/// The vector's expected outcome: the named keys when there is no `error`.
fn outcome(case: &Value, keys: &[&str]) -> Value {
    if let Some(code) = case.get("error") {
        return json!({ "error": code });
    }
    Value::Object(
        keys.iter()
            .map(|k| ((*k).to_owned(), case[*k].clone()))
            .collect(),
    )
}

#[test]
fn signs() {
    let file = vectors("signs");
    let mut run = Run::new();
    for c in cases(&file, "order") {
        let f = order_fields(&c["fields"]);
        let secret = s(c, "secret");
        run.expect(c, c["sign"].clone(), |p| p.order_sign(&f, secret));
        run.expect(c, json!("OK"), |p| {
            p.verify_order_sign(&f, secret, s(c, "sign"))
        });
        run.expect(c, json!("SIGN_MISMATCH"), |p| {
            p.verify_order_sign(&f, &format!("{secret}x"), s(c, "sign"))
        });
        run.expect(c, json!("INVALID_SIGN"), |p| {
            p.verify_order_sign(&f, secret, &s(c, "sign").to_uppercase())
        });
    }
    for c in cases(&file, "callback") {
        let f = callback_fields(&c["fields"]);
        let secret = s(c, "secret");
        run.expect(c, c["sign"].clone(), |p| p.callback_sign(&f, secret));
        run.expect(c, json!("OK"), |p| {
            p.verify_callback_sign(&f, secret, s(c, "sign"))
        });
        run.expect(c, c["body"].clone(), |p| p.build_callback_body(&f, secret));
    }
    for c in cases(&file, "query") {
        let (appid, orderid, secret) = (s(c, "appid"), s(c, "orderid"), s(c, "secret"));
        run.expect(c, c["sign"].clone(), |p| {
            p.query_sign(appid, orderid, secret)
        });
        run.expect(c, json!("OK"), |p| {
            p.verify_query_sign(appid, orderid, secret, s(c, "sign"))
        });
        run.expect(c, json!("SIGN_MISMATCH"), |p| {
            p.verify_query_sign(appid, &format!("{orderid}0"), secret, s(c, "sign"))
        });
    }
    run.finish("signs.json");
}

#[test]
fn amounts() {
    let file = vectors("amounts");
    let mut run = Run::new();
    for c in cases(&file, "parse") {
        run.expect(c, outcome(c, &["scaled"]), |p| p.parse_usdt(s(c, "text")));
    }
    for c in cases(&file, "format") {
        run.expect(c, c["text"].clone(), |p| p.format_usdt(u(c, "scaled")));
    }
    for c in cases(&file, "chain_units") {
        let decimals = u8::try_from(u(c, "decimals")).expect("decimals fit u8");
        run.expect(c, outcome(c, &["scaled", "dust"]), |p| {
            p.chain_units(s(c, "value"), decimals)
        });
    }
    run.finish("amounts.json");
}

#[test]
fn addresses() {
    let file = vectors("addresses");
    let mut run = Run::new();
    for c in cases(&file, "inspect") {
        run.expect(c, outcome(c, &["chain", "canonical", "evm_hex"]), |p| {
            p.inspect_address(s(c, "address"))
        });
    }
    for c in cases(&file, "for_chain") {
        run.expect(c, c["ok"].clone(), |p| {
            p.validate_address(s(c, "address"), s(c, "chain"))
        });
    }
    for c in cases(&file, "tron_hex") {
        run.expect(c, outcome(c, &["base58"]), |p| p.tron_from_hex(s(c, "hex")));
    }
    for c in cases(&file, "eip55") {
        run.expect(c, c["checksummed"].clone(), |p| {
            p.eip55_checksum(s(c, "address"))
        });
    }
    run.finish("addresses.json");
}

#[test]
fn orders() {
    let file = vectors("orders");
    let secrets = file["secrets"].clone();
    let secret_of = |appid: &str| secrets[appid].as_str().map(str::to_owned);
    let keys: Vec<(String, String)> = secrets
        .as_object()
        .expect("secrets")
        .iter()
        .map(|(appid, secret)| (appid.clone(), secret.as_str().expect("secret").to_owned()))
        .collect();
    let mut run = Run::new();
    for c in cases(&file, "cases") {
        let (parsed, checked) = match c.get("reject") {
            Some(codes) => (json!({ "reject": codes }), json!({ "reject": codes })),
            None if c["verify"] == "OK" => (
                json!({ "accept": c["accept"], "verify": "OK" }),
                json!({ "accept": c["accept"] }),
            ),
            None => (
                json!({ "accept": c["accept"], "verify": c["verify"] }),
                json!({ "reject": [c["verify"]] }),
            ),
        };
        run.expect(c, parsed, |p| p.parse_order(s(c, "body"), &secret_of));
        run.expect(c, checked, |p| p.check_order(s(c, "body"), &keys));
    }
    // An appid the keyring does not know is refused after the body is found valid.
    let accepted = cases(&file, "cases")
        .iter()
        .find(|c| c["verify"] == "OK")
        .expect("an accepted case");
    run.expect(accepted, json!({ "reject": ["UNKNOWN_APPID"] }), |p| {
        p.check_order(s(accepted, "body"), &[])
    });
    run.finish("orders.json");
}

#[test]
fn callbacks() {
    let file = vectors("callbacks");
    let mut run = Run::new();
    for c in cases(&file, "cases") {
        let want = match c.get("reject") {
            Some(code) => json!({ "reject": code }),
            None => json!({ "accept": c["accept"] }),
        };
        let window = u32::try_from(u(c, "window")).expect("window fits u32");
        run.expect(c, want, |p| {
            p.verify_callback(s(c, "body"), s(c, "secret"), u(c, "now"), window)
        });
    }
    run.finish("callbacks.json");
}

#[test]
fn orderids() {
    let file = vectors("orderids");
    let mut run = Run::new();
    let date = |v: &Value| {
        let n = |i: usize| v[i].as_u64().expect("date part");
        (n(0) as u16, n(1) as u8, n(2) as u8)
    };
    for c in cases(&file, "make") {
        run.expect(c, outcome(c, &["orderid"]), |p| {
            p.make_orderid(s(c, "prefix"), date(&c["date"]), u(c, "entropy"))
        });
    }
    for c in cases(&file, "check") {
        run.expect(c, outcome(c, &["prefix", "date", "random"]), |p| {
            p.check_orderid(s(c, "orderid"))
        });
    }
    run.finish("orderids.json");
}

#[test]
fn confirmations() {
    let file = vectors("confirmations");
    let mut run = Run::new();
    for c in cases(&file, "required") {
        let pol = policy(&c["policy"]);
        run.expect(c, c["required"].clone(), |p| {
            p.required_confirmations(s(c, "chain"), u(c, "amount"), &pol)
        });
    }
    for c in cases(&file, "policy") {
        let pol = policy(&c["policy"]);
        run.expect(c, outcome(c, &["ok"]), |p| p.validate_policy(&pol));
    }
    for c in cases(&file, "count") {
        run.expect(c, c["confirmations"].clone(), |p| {
            p.count_confirmations(u(c, "head"), u(c, "block"))
        });
    }
    for c in cases(&file, "state") {
        let required = u32::try_from(u(c, "required")).expect("required fits u32");
        run.expect(c, c["state"].clone(), |p| {
            p.deposit_state(u(c, "confirmations"), required)
        });
    }
    run.finish("confirmations.json");
}

fn decimals(v: &Value) -> u8 {
    u8::try_from(u(v, "decimals")).expect("decimals fit u8")
}

#[test]
fn protocol() {
    let file = vectors("protocol");
    let mut run = Run::new();
    let facts = json!({ "name": "facts" });
    run.expect(&facts, file["facts"].clone(), |p| p.facts());
    let chains: Vec<Value> = cases(&file, "chains")
        .iter()
        .map(|c| json!({ "chain": c["chain"], "wire": c["wire"], "usdt_decimals": c["usdt_decimals"] }))
        .collect();
    run.expect(&json!({ "name": "chains" }), json!(chains), |p| p.chains());
    for c in cases(&file, "parse_chain") {
        run.expect(c, outcome(c, &["chain"]), |p| p.parse_chain(s(c, "text")));
    }
    for c in cases(&file, "notify_url") {
        run.expect(c, outcome(c, &["ok"]), |p| {
            p.validate_notify_url(s(c, "url"))
        });
    }
    for c in cases(&file, "token_decimals") {
        run.expect(c, outcome(c, &["ok"]), |p| {
            p.validate_token_decimals(decimals(c))
        });
    }
    for c in cases(&file, "to_chain_units") {
        run.expect(c, outcome(c, &["units"]), |p| {
            p.to_chain_units(u(c, "scaled"), decimals(c))
        });
    }
    run.finish("protocol.json");
}

#[test]
fn gateway() {
    let file = vectors("gateway");
    let keyring = &file["keyring"];
    let merchants: Vec<MerchantV> = keyring["merchants"]
        .as_array()
        .expect("merchants")
        .iter()
        .map(|m| MerchantV {
            appid: s(m, "appid").into(),
            secret: s(m, "secret").into(),
            next_secret: m["next_secret"].as_str().map(str::to_owned),
        })
        .collect();
    let pol = policy(&keyring["policy"]);
    let verdict = |c: &Value, extra: &[&str]| match c.get("reject") {
        Some(codes) => json!({ "reject": codes }),
        None => {
            let mut want = json!({ "accept": c["accept"] });
            for key in extra {
                want[*key] = c[*key].clone();
            }
            want
        }
    };
    let mut run = Run::new();
    for c in cases(&file, "parse_query") {
        run.expect(c, verdict(c, &[]), |p| p.parse_query(s(c, "body")));
    }
    for c in cases(&file, "check_query") {
        run.expect(c, verdict(c, &[]), |p| {
            p.check_query(s(c, "body"), &merchants, &pol)
        });
    }
    for c in cases(&file, "accept_order") {
        run.expect(c, verdict(c, &["required_confirmations"]), |p| {
            p.accept_order(s(c, "body"), &merchants, &pol)
        });
    }
    run.finish("gateway.json");
}

fn index(v: &Value) -> u32 {
    u32::try_from(u(v, "index")).expect("an index fits u32")
}

#[test]
fn derivation() {
    let file = vectors("derivation");
    let mut run = Run::new();
    for c in cases(&file, "steps") {
        run.expect(c, outcome(c, &["child"]), |p| {
            p.derive_xpub(s(c, "xpub"), index(c))
        });
    }
    let info = [
        "depth",
        "parent_fingerprint",
        "child_number",
        "fingerprint",
        "public_key",
    ];
    for c in cases(&file, "parse") {
        run.expect(c, outcome(c, &info), |p| p.parse_xpub(s(c, "xpub")));
    }
    for c in cases(&file, "addresses") {
        let want = outcome(c, &["chain", "index", "address", "public_key"]);
        run.expect(c, want, |p| {
            p.derive_address(s(c, "xpub"), s(c, "chain"), index(c))
        });
    }
    run.finish("derivation.json");
}

#[test]
fn address_requests() {
    let file = vectors("derivation");
    let requests = &file["requests"];
    let merchants: Vec<MerchantV> = requests["keyring"]["merchants"]
        .as_array()
        .expect("merchants")
        .iter()
        .map(|m| MerchantV {
            appid: s(m, "appid").into(),
            secret: s(m, "secret").into(),
            next_secret: m["next_secret"].as_str().map(str::to_owned),
        })
        .collect();
    let verdict = |c: &Value| match c.get("reject") {
        Some(codes) => json!({ "reject": codes }),
        None => json!({ "accept": c["accept"] }),
    };
    let mut run = Run::new();
    for c in cases(requests, "address_sign") {
        run.expect(c, c["sign"].clone(), |p| {
            p.address_sign(
                s(c, "appid"),
                s(c, "username"),
                s(c, "chain"),
                s(c, "secret"),
            )
        });
    }
    for c in cases(requests, "parse") {
        run.expect(c, verdict(c), |p| p.parse_address_request(s(c, "body")));
    }
    for c in cases(requests, "check") {
        run.expect(c, verdict(c), |p| {
            p.check_address_request(s(c, "body"), &merchants)
        });
    }
    run.finish("derivation.json requests");
}

#[test]
fn vector_files_are_current() {
    // The vectors are produced by tests/vectors/generate.py; prove the committed JSON is
    // exactly what it produces, so no file was edited by hand.
    let status = std::process::Command::new("python3")
        .arg(format!("{}/generate.py", usdt_conformance::VECTORS_DIR))
        .arg("--check")
        .status()
        .expect("python3 runs the vector generator");
    assert!(
        status.success(),
        "tests/vectors/*.json differ from generate.py's output"
    );
}
