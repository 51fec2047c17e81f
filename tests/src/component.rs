//! The component, run by the sandboxed runtime (`usdt-recharge-runtime`), as a
//! [`Protocol`].
//! A trap is never an answer: it fails the test.

use std::sync::Arc;

use serde_json::{Value, json};
use usdt_recharge_runtime::{
    AddressInfo, AddressRequest, CallbackFields, Chain, ConfirmationPolicy, ConfirmationRule, Date,
    DepositState, DerivationError, Merchant, OrderFields, OrderQuery, OrderRequest, Rejection,
    Rules, RulesFault, RulesLimits,
};

use crate::{
    CallbackFieldsV, MerchantV, OrderFieldsV, PolicyV, Protocol, RuleV, error, ok_or_error, verdict,
};

fn merchants(list: &[MerchantV]) -> Vec<Merchant> {
    list.iter()
        .map(|m| Merchant {
            appid: m.appid.clone(),
            secret: m.secret.clone(),
            next_secret: m.next_secret.clone(),
        })
        .collect()
}

fn query_value(result: Result<OrderQuery, Vec<Rejection>>) -> Value {
    match result {
        Ok(q) => json!({ "accept": { "appid": q.appid, "orderid": q.orderid, "sign": q.sign } }),
        Err(rs) => json!({ "reject": rs.iter().map(code).collect::<Vec<_>>() }),
    }
}

fn derivation_error(e: &DerivationError) -> Value {
    error(e.code.as_str())
}

fn address_request_value(result: Result<AddressRequest, Vec<Rejection>>) -> Value {
    match result {
        Ok(r) => json!({ "accept": {
            "appid": r.appid, "username": r.username, "chain": r.chain.as_str(), "sign": r.sign,
        } }),
        Err(rs) => json!({ "reject": rs.iter().map(code).collect::<Vec<_>>() }),
    }
}

/// The component implementation.
pub struct ComponentRules(pub Arc<Rules>);

impl ComponentRules {
    /// The component this workspace built, loaded with an empty linker.
    pub fn builtin() -> Self {
        Self(Rules::builtin(RulesLimits::default()).expect("the built component loads"))
    }
}

fn ok<T>(r: Result<T, RulesFault>) -> T {
    r.unwrap_or_else(|fault| panic!("the component trapped: {fault}"))
}

fn code(r: &Rejection) -> &'static str {
    r.code.as_str()
}

fn order_fields(f: &OrderFieldsV) -> OrderFields {
    OrderFields {
        appid: f.appid.clone(),
        username: f.username.clone(),
        localusermark: f.localusermark.clone(),
        address: f.address.clone(),
        orderid: f.orderid.clone(),
        amount: f.amount,
    }
}

fn callback_fields(f: &CallbackFieldsV) -> CallbackFields {
    CallbackFields {
        orderid: f.orderid.clone(),
        localusermark: f.localusermark.clone(),
        amount: f.amount,
        t: f.t,
    }
}

fn chain(name: &str) -> Chain {
    match name {
        "TRC20" => Chain::Trc20,
        "ERC20" => Chain::Erc20,
        "OMNI" => Chain::Omni,
        other => panic!("vector names an unknown chain {other}"),
    }
}

fn rule(r: RuleV) -> ConfirmationRule {
    ConfirmationRule {
        default_required: r.default_required,
        large_amount: r.large_amount,
        large_required: r.large_required,
    }
}

fn policy(p: &PolicyV) -> ConfirmationPolicy {
    ConfirmationPolicy {
        base: rule(p.base),
        overrides: p
            .overrides
            .iter()
            .map(|(c, r)| (chain(c), rule(*r)))
            .collect(),
    }
}

fn order_value(o: OrderRequest) -> Value {
    json!({
        "appid": o.fields.appid, "username": o.fields.username,
        "localusermark": o.fields.localusermark, "address": o.fields.address,
        "orderid": o.fields.orderid, "amount": o.fields.amount,
        "chain": o.chain.as_str(), "canonical_address": o.canonical_address,
        "notify_url": o.notify_url, "sign": o.sign,
    })
}

fn address_value(a: AddressInfo) -> Value {
    json!({ "chain": a.chain.as_str(), "canonical": a.canonical, "evm_hex": a.evm_hex })
}

impl Protocol for ComponentRules {
    fn name(&self) -> &'static str {
        "component"
    }

    fn parse_usdt(&self, text: &str) -> Value {
        match ok(self.0.parse_usdt(text)) {
            Ok(scaled) => json!({ "scaled": scaled }),
            Err(r) => error(code(&r)),
        }
    }

    fn format_usdt(&self, scaled: u64) -> Value {
        json!(ok(self.0.format_usdt(scaled)))
    }

    fn chain_units(&self, value: &str, decimals: u8) -> Value {
        match ok(self.0.from_chain_units(value, decimals)) {
            Ok(a) => json!({ "scaled": a.scaled, "dust": a.dust }),
            Err(r) => error(code(&r)),
        }
    }

    fn order_sign(&self, f: &OrderFieldsV, secret: &str) -> Value {
        json!(ok(self.0.order_sign(&order_fields(f), secret)))
    }

    fn verify_order_sign(&self, f: &OrderFieldsV, secret: &str, sign: &str) -> Value {
        verdict(ok(self.0.verify_order_sign(&order_fields(f), secret, sign)).map_err(|r| code(&r)))
    }

    fn callback_sign(&self, f: &CallbackFieldsV, secret: &str) -> Value {
        json!(ok(self.0.callback_sign(&callback_fields(f), secret)))
    }

    fn verify_callback_sign(&self, f: &CallbackFieldsV, secret: &str, sign: &str) -> Value {
        verdict(
            ok(self
                .0
                .verify_callback_sign(&callback_fields(f), secret, sign))
            .map_err(|r| code(&r)),
        )
    }

    fn build_callback_body(&self, f: &CallbackFieldsV, secret: &str) -> Value {
        match ok(self.0.build_callback_body(&callback_fields(f), secret)) {
            Ok(body) => json!(body),
            Err(r) => error(code(&r)),
        }
    }

    fn query_sign(&self, appid: &str, orderid: &str, secret: &str) -> Value {
        json!(ok(self.0.query_sign(appid, orderid, secret)))
    }

    fn verify_query_sign(&self, appid: &str, orderid: &str, secret: &str, sign: &str) -> Value {
        verdict(ok(self.0.verify_query_sign(appid, orderid, secret, sign)).map_err(|r| code(&r)))
    }

    fn parse_order(&self, body: &str, secret_of: &dyn Fn(&str) -> Option<String>) -> Value {
        match ok(self.0.parse_order(body)) {
            Ok(o) => {
                let verify = secret_of(&o.fields.appid).map(|secret| {
                    verdict(ok(self.0.verify_order(&o, &secret)).map_err(|r| code(&r)))
                });
                json!({ "accept": order_value(o), "verify": verify })
            }
            Err(rs) => json!({ "reject": rs.iter().map(code).collect::<Vec<_>>() }),
        }
    }

    fn check_order(&self, body: &str, keys: &[(String, String)]) -> Value {
        self.0.set_merchants(keys.to_vec());
        match ok(self.0.check_order(body)) {
            Ok(o) => json!({ "accept": order_value(o) }),
            Err(rs) => json!({ "reject": rs.iter().map(code).collect::<Vec<_>>() }),
        }
    }

    fn verify_callback(&self, body: &str, secret: &str, now: u64, window: u32) -> Value {
        match ok(self.0.verify_callback(body, secret, now, window)) {
            Ok(c) => json!({ "accept": {
                "orderid": c.fields.orderid, "localusermark": c.fields.localusermark,
                "amount": c.fields.amount, "t": c.fields.t, "sign": c.sign,
            }}),
            Err(r) => json!({ "reject": code(&r) }),
        }
    }

    fn inspect_address(&self, address: &str) -> Value {
        ok(self.0.inspect_address(address)).map_or_else(|r| error(code(&r)), address_value)
    }

    fn validate_address(&self, address: &str, chain_name: &str) -> Value {
        json!(ok(self.0.validate_address(address, chain(chain_name))).is_ok())
    }

    fn tron_from_hex(&self, hex: &str) -> Value {
        match ok(self.0.tron_from_hex(hex)) {
            Ok(b) => json!({ "base58": b }),
            Err(r) => error(code(&r)),
        }
    }

    fn eip55_checksum(&self, address: &str) -> Value {
        ok(self.0.eip55_checksum(address)).map_or_else(|r| error(code(&r)), |a| json!(a))
    }

    fn make_orderid(&self, prefix: &str, (year, month, day): (u16, u8, u8), entropy: u64) -> Value {
        match ok(self
            .0
            .make_orderid(prefix, Date { year, month, day }, entropy))
        {
            Ok(id) => json!({ "orderid": id }),
            Err(r) => error(code(&r)),
        }
    }

    fn check_orderid(&self, orderid: &str) -> Value {
        match ok(self.0.check_orderid(orderid)) {
            Ok(p) => json!({
                "prefix": p.prefix,
                "date": [p.date.year, p.date.month, p.date.day],
                "random": p.random,
            }),
            Err(r) => error(code(&r)),
        }
    }

    fn validate_policy(&self, p: &PolicyV) -> Value {
        match ok(self.0.validate_policy(&policy(p))) {
            Ok(()) => json!({ "ok": true }),
            Err(r) => error(code(&r)),
        }
    }

    fn required_confirmations(&self, chain_name: &str, amount: u64, p: &PolicyV) -> Value {
        json!(ok(self.0.required_confirmations(
            chain(chain_name),
            amount,
            &policy(p)
        )))
    }

    fn count_confirmations(&self, head: u64, block: u64) -> Value {
        json!(ok(self.0.count_confirmations(head, block)))
    }

    fn deposit_state(&self, confirmations: u64, required: u32) -> Value {
        json!(match ok(self.0.deposit_state_of(confirmations, required)) {
            DepositState::Pending => "pending",
            DepositState::Confirming => "confirming",
            DepositState::Confirmed => "confirmed",
        })
    }

    fn facts(&self) -> Value {
        let f = ok(self.0.facts());
        json!({
            "callback_window": f.callback_window, "max_retries": f.max_retries,
            "scale": f.scale, "max_order_amount": f.max_order_amount,
            "max_token_decimals": f.max_token_decimals,
        })
    }

    fn chains(&self) -> Value {
        ok(self.0.chains())
            .into_iter()
            .map(|c| json!({ "chain": c.chain.as_str(), "wire": c.name, "usdt_decimals": c.usdt_decimals }))
            .collect()
    }

    fn parse_chain(&self, text: &str) -> Value {
        match ok(self.0.parse_chain(text)) {
            Ok(c) => json!({ "chain": c.as_str() }),
            Err(r) => error(code(&r)),
        }
    }

    fn validate_notify_url(&self, url: &str) -> Value {
        ok_or_error(ok(self.0.validate_notify_url(url)).map_err(|r| code(&r)))
    }

    fn validate_token_decimals(&self, decimals: u8) -> Value {
        ok_or_error(ok(self.0.validate_token_decimals(decimals)).map_err(|r| code(&r)))
    }

    fn to_chain_units(&self, scaled: u64, decimals: u8) -> Value {
        match ok(self.0.to_chain_units(scaled, decimals)) {
            Ok(units) => json!({ "units": units }),
            Err(r) => error(code(&r)),
        }
    }

    fn parse_query(&self, body: &str) -> Value {
        query_value(ok(self.0.parse_query(body)))
    }

    fn check_query(&self, body: &str, list: &[MerchantV], p: &PolicyV) -> Value {
        self.0.set_keyring(merchants(list), policy(p));
        query_value(ok(self.0.check_query(body)))
    }

    fn accept_order(&self, body: &str, list: &[MerchantV], p: &PolicyV) -> Value {
        self.0.set_keyring(merchants(list), policy(p));
        match ok(self.0.accept_order(body)) {
            Ok(a) => json!({
                "accept": order_value(a.order),
                "required_confirmations": a.required_confirmations,
            }),
            Err(rs) => json!({ "reject": rs.iter().map(code).collect::<Vec<_>>() }),
        }
    }

    fn parse_xpub(&self, xpub: &str) -> Value {
        match ok(self.0.parse_xpub(xpub)) {
            Ok(i) => json!({
                "depth": i.depth,
                "parent_fingerprint": i.parent_fingerprint,
                "child_number": i.child_number,
                "fingerprint": i.fingerprint,
                "public_key": i.public_key,
            }),
            Err(e) => derivation_error(&e),
        }
    }

    fn derive_xpub(&self, xpub: &str, index: u32) -> Value {
        match ok(self.0.derive_xpub(xpub, index)) {
            Ok(child) => json!({ "child": child }),
            Err(e) => derivation_error(&e),
        }
    }

    fn derive_address(&self, xpub: &str, chain_name: &str, index: u32) -> Value {
        match ok(self.0.derive_address(xpub, chain(chain_name), index)) {
            Ok(a) => json!({
                "chain": a.chain.as_str(),
                "index": a.index,
                "address": a.address,
                "public_key": a.public_key,
            }),
            Err(e) => derivation_error(&e),
        }
    }

    fn address_sign(&self, appid: &str, username: &str, chain_name: &str, secret: &str) -> Value {
        json!(ok(self.0.address_sign(
            appid,
            username,
            chain(chain_name),
            secret
        )))
    }

    fn parse_address_request(&self, body: &str) -> Value {
        address_request_value(ok(self.0.parse_address_request(body)))
    }

    fn check_address_request(&self, body: &str, list: &[MerchantV]) -> Value {
        self.0
            .set_keyring(merchants(list), policy(&PolicyV::default()));
        address_request_value(ok(self.0.check_address_request(body)))
    }
}
