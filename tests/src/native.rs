//! The native library as a [`Protocol`].

use serde_json::{Value, json};
use usdt_recharge::address_requests::{self, AddressRequest};
use usdt_recharge::confirmations::{ConfirmationPolicy, ConfirmationRule, DepositState};
use usdt_recharge::derivation::{self, DerivationError};
use usdt_recharge::gateway::{Keyring, Merchant, OrderQuery};
use usdt_recharge::orders::Date;
use usdt_recharge::signing::{CallbackFields, OrderFields};
use usdt_recharge::{
    Chain, Rejection, addresses, amounts, callbacks, confirmations, gateway, orders, protocol,
    signing,
};

use crate::{
    CallbackFieldsV, MerchantV, OrderFieldsV, PolicyV, Protocol, RuleV, error, ok_or_error, verdict,
};

fn keyring(merchants: &[MerchantV], p: &PolicyV) -> Keyring {
    Keyring::new(
        merchants
            .iter()
            .map(|m| Merchant {
                appid: m.appid.clone(),
                secret: m.secret.clone(),
                next_secret: m.next_secret.clone(),
            })
            .collect(),
        policy(p),
    )
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

/// The native implementation.
pub struct Native;

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

fn chain(name: &str) -> Chain {
    Chain::from_wire(name).unwrap_or_else(|| panic!("vector names an unknown chain {name}"))
}

fn order_value(o: orders::OrderRequest) -> Value {
    json!({
        "appid": o.fields.appid, "username": o.fields.username,
        "localusermark": o.fields.localusermark, "address": o.fields.address,
        "orderid": o.fields.orderid, "amount": o.fields.amount,
        "chain": o.chain.as_str(), "canonical_address": o.canonical_address,
        "notify_url": o.notify_url, "sign": o.sign,
    })
}

fn address_value(a: addresses::AddressInfo) -> Value {
    json!({ "chain": a.chain.as_str(), "canonical": a.canonical, "evm_hex": a.evm_hex })
}

impl Protocol for Native {
    fn name(&self) -> &'static str {
        "native"
    }

    fn parse_usdt(&self, text: &str) -> Value {
        match amounts::parse_usdt(text) {
            Ok(scaled) => json!({ "scaled": scaled }),
            Err(r) => error(code(&r)),
        }
    }

    fn format_usdt(&self, scaled: u64) -> Value {
        json!(amounts::format_usdt(scaled))
    }

    fn chain_units(&self, value: &str, decimals: u8) -> Value {
        match amounts::from_chain_units(value, decimals) {
            Ok(a) => json!({ "scaled": a.scaled, "dust": a.dust }),
            Err(r) => error(code(&r)),
        }
    }

    fn order_sign(&self, f: &OrderFieldsV, secret: &str) -> Value {
        json!(signing::order_sign(&order_fields(f), secret))
    }

    fn verify_order_sign(&self, f: &OrderFieldsV, secret: &str, sign: &str) -> Value {
        verdict(signing::verify_order_sign(&order_fields(f), secret, sign).map_err(|r| code(&r)))
    }

    fn callback_sign(&self, f: &CallbackFieldsV, secret: &str) -> Value {
        json!(signing::callback_sign(&callback_fields(f), secret))
    }

    fn verify_callback_sign(&self, f: &CallbackFieldsV, secret: &str, sign: &str) -> Value {
        verdict(
            signing::verify_callback_sign(&callback_fields(f), secret, sign).map_err(|r| code(&r)),
        )
    }

    fn build_callback_body(&self, f: &CallbackFieldsV, secret: &str) -> Value {
        match signing::build_callback_body(&callback_fields(f), secret) {
            Ok(body) => json!(body),
            Err(r) => error(code(&r)),
        }
    }

    fn query_sign(&self, appid: &str, orderid: &str, secret: &str) -> Value {
        json!(signing::query_sign(appid, orderid, secret))
    }

    fn verify_query_sign(&self, appid: &str, orderid: &str, secret: &str, sign: &str) -> Value {
        verdict(signing::verify_query_sign(appid, orderid, secret, sign).map_err(|r| code(&r)))
    }

    fn parse_order(&self, body: &str, secret_of: &dyn Fn(&str) -> Option<String>) -> Value {
        match orders::parse_order(body) {
            Ok(o) => {
                let verify = secret_of(&o.fields.appid)
                    .map(|secret| verdict(orders::verify_order(&o, &secret).map_err(|r| code(&r))));
                json!({ "accept": order_value(o), "verify": verify })
            }
            Err(rs) => json!({ "reject": rs.iter().map(code).collect::<Vec<_>>() }),
        }
    }

    fn check_order(&self, body: &str, keys: &[(String, String)]) -> Value {
        let secret_of = |appid: &str| {
            keys.iter()
                .find(|(a, _)| a == appid)
                .map(|(_, s)| s.as_str())
        };
        match orders::check_order(body, secret_of) {
            Ok(o) => json!({ "accept": order_value(o) }),
            Err(rs) => json!({ "reject": rs.iter().map(code).collect::<Vec<_>>() }),
        }
    }

    fn verify_callback(&self, body: &str, secret: &str, now: u64, window: u32) -> Value {
        match callbacks::verify_callback(body, secret, now, window) {
            Ok(c) => json!({ "accept": {
                "orderid": c.fields.orderid, "localusermark": c.fields.localusermark,
                "amount": c.fields.amount, "t": c.fields.t, "sign": c.sign,
            }}),
            Err(r) => json!({ "reject": code(&r) }),
        }
    }

    fn inspect_address(&self, address: &str) -> Value {
        addresses::inspect_address(address).map_or_else(|r| error(code(&r)), address_value)
    }

    fn validate_address(&self, address: &str, chain_name: &str) -> Value {
        json!(addresses::validate_address(address, chain(chain_name)).is_ok())
    }

    fn tron_from_hex(&self, hex: &str) -> Value {
        match addresses::tron_from_hex(hex) {
            Ok(b) => json!({ "base58": b }),
            Err(r) => error(code(&r)),
        }
    }

    fn eip55_checksum(&self, address: &str) -> Value {
        addresses::eip55_checksum(address).map_or_else(|r| error(code(&r)), |a| json!(a))
    }

    fn make_orderid(&self, prefix: &str, (year, month, day): (u16, u8, u8), entropy: u64) -> Value {
        match orders::make_orderid(prefix, Date { year, month, day }, entropy) {
            Ok(id) => json!({ "orderid": id }),
            Err(r) => error(code(&r)),
        }
    }

    fn check_orderid(&self, orderid: &str) -> Value {
        match orders::check_orderid(orderid) {
            Ok(p) => json!({
                "prefix": p.prefix,
                "date": [p.date.year, p.date.month, p.date.day],
                "random": p.random,
            }),
            Err(r) => error(code(&r)),
        }
    }

    fn validate_policy(&self, p: &PolicyV) -> Value {
        match confirmations::validate_policy(&policy(p)) {
            Ok(()) => json!({ "ok": true }),
            Err(r) => error(code(&r)),
        }
    }

    fn required_confirmations(&self, chain_name: &str, amount: u64, p: &PolicyV) -> Value {
        json!(confirmations::required_confirmations(
            chain(chain_name),
            amount,
            &policy(p)
        ))
    }

    fn count_confirmations(&self, head: u64, block: u64) -> Value {
        json!(confirmations::count_confirmations(head, block))
    }

    fn deposit_state(&self, confirmations: u64, required: u32) -> Value {
        json!(
            match confirmations::deposit_state(confirmations, required) {
                DepositState::Pending => "pending",
                DepositState::Confirming => "confirming",
                DepositState::Confirmed => "confirmed",
            }
        )
    }

    fn facts(&self) -> Value {
        let f = protocol::FACTS;
        json!({
            "callback_window": f.callback_window, "max_retries": f.max_retries,
            "scale": f.scale, "max_order_amount": f.max_order_amount,
            "max_token_decimals": f.max_token_decimals,
        })
    }

    fn chains(&self) -> Value {
        Chain::ALL
            .iter()
            .map(|c| {
                json!({
                    "chain": c.as_str(), "wire": c.as_str(),
                    "usdt_decimals": protocol::usdt_decimals(*c),
                })
            })
            .collect()
    }

    fn parse_chain(&self, text: &str) -> Value {
        match protocol::parse_chain(text) {
            Ok(c) => json!({ "chain": c.as_str() }),
            Err(r) => error(code(&r)),
        }
    }

    fn validate_notify_url(&self, url: &str) -> Value {
        ok_or_error(protocol::validate_notify_url(url).map_err(|r| code(&r)))
    }

    fn validate_token_decimals(&self, decimals: u8) -> Value {
        ok_or_error(protocol::validate_token_decimals(decimals).map_err(|r| code(&r)))
    }

    fn to_chain_units(&self, scaled: u64, decimals: u8) -> Value {
        match amounts::to_chain_units(scaled, decimals) {
            Ok(units) => json!({ "units": units.to_string() }),
            Err(r) => error(code(&r)),
        }
    }

    fn parse_query(&self, body: &str) -> Value {
        query_value(gateway::parse_query(body))
    }

    fn check_query(&self, body: &str, merchants: &[MerchantV], p: &PolicyV) -> Value {
        query_value(keyring(merchants, p).check_query(body))
    }

    fn accept_order(&self, body: &str, merchants: &[MerchantV], p: &PolicyV) -> Value {
        match keyring(merchants, p).accept_order(body) {
            Ok(a) => json!({
                "accept": order_value(a.order),
                "required_confirmations": a.required_confirmations,
            }),
            Err(rs) => json!({ "reject": rs.iter().map(code).collect::<Vec<_>>() }),
        }
    }

    fn parse_xpub(&self, xpub: &str) -> Value {
        match derivation::parse_xpub(xpub) {
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
        match derivation::derive_xpub(xpub, index) {
            Ok(child) => json!({ "child": child }),
            Err(e) => derivation_error(&e),
        }
    }

    fn derive_address(&self, xpub: &str, chain_name: &str, index: u32) -> Value {
        match derivation::derive_address(xpub, chain(chain_name), index) {
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
        json!(signing::address_sign(
            appid,
            username,
            chain(chain_name),
            secret
        ))
    }

    fn parse_address_request(&self, body: &str) -> Value {
        address_request_value(address_requests::parse_address_request(body))
    }

    fn check_address_request(&self, body: &str, merchants: &[MerchantV]) -> Value {
        let keyring = keyring(merchants, &PolicyV::default());
        address_request_value(keyring.check_address_request(body))
    }
}
