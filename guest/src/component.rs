//! The WebAssembly component adapter: `generate!`, `export!` and the `Guest` impls,
//! each a type conversion around the plain modules of this crate.
//!
//! With the feature `fault-injection` (a test build only, see `faults.rs`) the order
//! path first calls `faults::inject`, which hangs, bloats or traps on poisoned input.

wit_bindgen::generate!({
    world: "recharge",
    path: "../wit/recharge.wit",
});

use std::collections::HashMap;

use exports::usdt::recharge::types as wit;
use exports::usdt::recharge::{
    addresses, amounts, callbacks, confirmations, derivation, gateway, orders, protocol, signing,
};

struct Component;

export!(Component);

impl From<crate::Rejection> for wit::Rejection {
    fn from(r: crate::Rejection) -> Self {
        use crate::ErrorCode as C;
        use wit::ErrorCode as W;
        Self {
            code: match r.code {
                C::InvalidJson => W::InvalidJson,
                C::MissingField => W::MissingField,
                C::InvalidField => W::InvalidField,
                C::InvalidAmount => W::InvalidAmount,
                C::InvalidAddress => W::InvalidAddress,
                C::UnsupportedChain => W::UnsupportedChain,
                C::ChainMismatch => W::ChainMismatch,
                C::InvalidNotifyUrl => W::InvalidNotifyUrl,
                C::InvalidSign => W::InvalidSign,
                C::SignMismatch => W::SignMismatch,
                C::TimestampOutOfWindow => W::TimestampOutOfWindow,
                C::InvalidPolicy => W::InvalidPolicy,
                C::UnknownAppid => W::UnknownAppid,
            },
            field: r.field.map(str::to_owned),
            message: r.message,
        }
    }
}

fn chain_in(c: wit::Chain) -> crate::Chain {
    match c {
        wit::Chain::Trc20 => crate::Chain::Trc20,
        wit::Chain::Erc20 => crate::Chain::Erc20,
        wit::Chain::Omni => crate::Chain::Omni,
    }
}

fn chain_out(c: crate::Chain) -> wit::Chain {
    match c {
        crate::Chain::Trc20 => wit::Chain::Trc20,
        crate::Chain::Erc20 => wit::Chain::Erc20,
        crate::Chain::Omni => wit::Chain::Omni,
    }
}

fn order_fields_in(f: signing::OrderFields) -> crate::signing::OrderFields {
    crate::signing::OrderFields {
        appid: f.appid,
        username: f.username,
        localusermark: f.localusermark,
        address: f.address,
        orderid: f.orderid,
        amount: f.amount,
    }
}

fn order_fields_out(f: crate::signing::OrderFields) -> signing::OrderFields {
    signing::OrderFields {
        appid: f.appid,
        username: f.username,
        localusermark: f.localusermark,
        address: f.address,
        orderid: f.orderid,
        amount: f.amount,
    }
}

fn callback_fields_in(f: signing::CallbackFields) -> crate::signing::CallbackFields {
    crate::signing::CallbackFields {
        orderid: f.orderid,
        localusermark: f.localusermark,
        amount: f.amount,
        t: f.t,
    }
}

fn err<T>(r: Result<T, crate::Rejection>) -> Result<T, wit::Rejection> {
    r.map_err(Into::into)
}

impl amounts::Guest for Component {
    fn parse_usdt(text: String) -> Result<u64, wit::Rejection> {
        err(crate::amounts::parse_usdt(&text))
    }

    fn format_usdt(amount: u64) -> String {
        crate::amounts::format_usdt(amount)
    }

    fn from_chain_units(
        value: String,
        decimals: u8,
    ) -> Result<amounts::ChainAmount, wit::Rejection> {
        let a = err(crate::amounts::from_chain_units(&value, decimals))?;
        Ok(amounts::ChainAmount {
            scaled: a.scaled,
            dust: a.dust,
        })
    }
}

impl signing::Guest for Component {
    fn order_sign(fields: signing::OrderFields, secret: String) -> String {
        crate::signing::order_sign(&order_fields_in(fields), &secret)
    }

    fn verify_order_sign(
        fields: signing::OrderFields,
        secret: String,
        sign: String,
    ) -> Result<(), wit::Rejection> {
        err(crate::signing::verify_order_sign(
            &order_fields_in(fields),
            &secret,
            &sign,
        ))
    }

    fn callback_sign(fields: signing::CallbackFields, secret: String) -> String {
        crate::signing::callback_sign(&callback_fields_in(fields), &secret)
    }

    fn verify_callback_sign(
        fields: signing::CallbackFields,
        secret: String,
        sign: String,
    ) -> Result<(), wit::Rejection> {
        err(crate::signing::verify_callback_sign(
            &callback_fields_in(fields),
            &secret,
            &sign,
        ))
    }

    fn query_sign(appid: String, orderid: String, secret: String) -> String {
        crate::signing::query_sign(&appid, &orderid, &secret)
    }

    fn verify_query_sign(
        appid: String,
        orderid: String,
        secret: String,
        sign: String,
    ) -> Result<(), wit::Rejection> {
        err(crate::signing::verify_query_sign(
            &appid, &orderid, &secret, &sign,
        ))
    }

    fn build_callback_body(
        fields: signing::CallbackFields,
        secret: String,
    ) -> Result<String, wit::Rejection> {
        err(crate::signing::build_callback_body(
            &callback_fields_in(fields),
            &secret,
        ))
    }
}

fn date_in(d: orders::Date) -> crate::orders::Date {
    crate::orders::Date {
        year: d.year,
        month: d.month,
        day: d.day,
    }
}

fn order_out(
    result: Result<crate::orders::OrderRequest, Vec<crate::Rejection>>,
) -> Result<orders::OrderRequest, Vec<wit::Rejection>> {
    match result {
        Ok(o) => Ok(orders::OrderRequest {
            fields: order_fields_out(o.fields),
            chain: chain_out(o.chain),
            canonical_address: o.canonical_address,
            notify_url: o.notify_url,
            sign: o.sign,
        }),
        Err(rs) => Err(rs.into_iter().map(Into::into).collect()),
    }
}

/// The merchants' secrets by appid, inside the component.
struct Keyring(HashMap<String, String>);

impl orders::GuestMerchantKeyring for Keyring {
    fn new(merchants: Vec<orders::MerchantKey>) -> Self {
        Self(merchants.into_iter().map(|m| (m.appid, m.secret)).collect())
    }

    fn check_order(&self, body: String) -> Result<orders::OrderRequest, Vec<wit::Rejection>> {
        #[cfg(feature = "fault-injection")]
        crate::faults::inject(&body);
        order_out(crate::orders::check_order(&body, |appid| {
            self.0.get(appid).map(String::as_str)
        }))
    }
}

impl orders::Guest for Component {
    type MerchantKeyring = Keyring;

    fn parse_order(body: String) -> Result<orders::OrderRequest, Vec<wit::Rejection>> {
        #[cfg(feature = "fault-injection")]
        crate::faults::inject(&body);
        order_out(crate::orders::parse_order(&body))
    }

    fn verify_order(order: orders::OrderRequest, secret: String) -> Result<(), wit::Rejection> {
        err(crate::signing::verify_order_sign(
            &order_fields_in(order.fields),
            &secret,
            &order.sign,
        ))
    }

    fn make_orderid(
        prefix: String,
        date: orders::Date,
        entropy: u64,
    ) -> Result<String, wit::Rejection> {
        err(crate::orders::make_orderid(&prefix, date_in(date), entropy))
    }

    fn check_orderid(orderid: String) -> Result<orders::OrderidParts, wit::Rejection> {
        let p = err(crate::orders::check_orderid(&orderid))?;
        Ok(orders::OrderidParts {
            prefix: p.prefix,
            date: orders::Date {
                year: p.date.year,
                month: p.date.month,
                day: p.date.day,
            },
            random: p.random,
        })
    }
}

impl callbacks::Guest for Component {
    fn verify_callback(
        body: String,
        secret: String,
        now: u64,
        window: u32,
    ) -> Result<callbacks::Callback, wit::Rejection> {
        let c = err(crate::callbacks::verify_callback(
            &body, &secret, now, window,
        ))?;
        Ok(callbacks::Callback {
            fields: signing::CallbackFields {
                orderid: c.fields.orderid,
                localusermark: c.fields.localusermark,
                amount: c.fields.amount,
                t: c.fields.t,
            },
            sign: c.sign,
        })
    }
}

fn address_out(a: crate::addresses::AddressInfo) -> addresses::AddressInfo {
    addresses::AddressInfo {
        chain: chain_out(a.chain),
        canonical: a.canonical,
        evm_hex: a.evm_hex,
    }
}

impl addresses::Guest for Component {
    fn inspect_address(address: String) -> Result<addresses::AddressInfo, wit::Rejection> {
        err(crate::addresses::inspect_address(&address)).map(address_out)
    }

    fn validate_address(
        address: String,
        chain: wit::Chain,
    ) -> Result<addresses::AddressInfo, wit::Rejection> {
        err(crate::addresses::validate_address(
            &address,
            chain_in(chain),
        ))
        .map(address_out)
    }

    fn tron_from_hex(hex: String) -> Result<String, wit::Rejection> {
        err(crate::addresses::tron_from_hex(&hex))
    }

    fn eip55_checksum(address: String) -> Result<String, wit::Rejection> {
        err(crate::addresses::eip55_checksum(&address))
    }
}

fn rule_in(r: confirmations::ConfirmationRule) -> crate::confirmations::ConfirmationRule {
    crate::confirmations::ConfirmationRule {
        default_required: r.default_required,
        large_amount: r.large_amount,
        large_required: r.large_required,
    }
}

fn policy_in(p: confirmations::ConfirmationPolicy) -> crate::confirmations::ConfirmationPolicy {
    crate::confirmations::ConfirmationPolicy {
        base: rule_in(p.base),
        overrides: p
            .overrides
            .into_iter()
            .map(|(c, r)| (chain_in(c), rule_in(r)))
            .collect(),
    }
}

impl confirmations::Guest for Component {
    fn validate_policy(policy: confirmations::ConfirmationPolicy) -> Result<(), wit::Rejection> {
        err(crate::confirmations::validate_policy(&policy_in(policy)))
    }

    fn required_confirmations(
        chain: wit::Chain,
        amount: u64,
        policy: confirmations::ConfirmationPolicy,
    ) -> u32 {
        crate::confirmations::required_confirmations(chain_in(chain), amount, &policy_in(policy))
    }

    fn count_confirmations(head: u64, block: u64) -> u64 {
        crate::confirmations::count_confirmations(head, block)
    }

    fn deposit_state_of(confirmations: u64, required: u32) -> confirmations::DepositState {
        use crate::confirmations::DepositState as S;
        match crate::confirmations::deposit_state(confirmations, required) {
            S::Pending => confirmations::DepositState::Pending,
            S::Confirming => confirmations::DepositState::Confirming,
            S::Confirmed => confirmations::DepositState::Confirmed,
        }
    }
}

impl protocol::Guest for Component {
    fn facts() -> protocol::ProtocolFacts {
        let f = crate::protocol::FACTS;
        protocol::ProtocolFacts {
            callback_window: f.callback_window,
            max_retries: f.max_retries,
            scale: f.scale,
            max_order_amount: f.max_order_amount,
            max_token_decimals: f.max_token_decimals,
        }
    }

    fn chains() -> Vec<protocol::ChainFacts> {
        crate::Chain::ALL
            .into_iter()
            .map(|c| protocol::ChainFacts {
                chain: chain_out(c),
                name: c.as_str().to_owned(),
                usdt_decimals: crate::protocol::usdt_decimals(c),
            })
            .collect()
    }

    fn parse_chain(name: String) -> Result<wit::Chain, wit::Rejection> {
        err(crate::protocol::parse_chain(&name)).map(chain_out)
    }

    fn validate_notify_url(url: String) -> Result<(), wit::Rejection> {
        err(crate::protocol::validate_notify_url(&url))
    }

    fn validate_token_decimals(decimals: u8) -> Result<(), wit::Rejection> {
        err(crate::protocol::validate_token_decimals(decimals))
    }

    fn to_chain_units(amount: u64, decimals: u8) -> Result<String, wit::Rejection> {
        err(crate::amounts::to_chain_units(amount, decimals)).map(|units| units.to_string())
    }
}

fn rejections_out(rs: Vec<crate::Rejection>) -> Vec<wit::Rejection> {
    rs.into_iter().map(Into::into).collect()
}

fn query_out(q: crate::gateway::OrderQuery) -> gateway::OrderQuery {
    gateway::OrderQuery {
        appid: q.appid,
        orderid: q.orderid,
        sign: q.sign,
    }
}

impl gateway::GuestKeyring for crate::gateway::Keyring {
    fn new(merchants: Vec<gateway::Merchant>, policy: confirmations::ConfirmationPolicy) -> Self {
        crate::gateway::Keyring::new(
            merchants
                .into_iter()
                .map(|m| crate::gateway::Merchant {
                    appid: m.appid,
                    secret: m.secret,
                    next_secret: m.next_secret,
                })
                .collect(),
            policy_in(policy),
        )
    }

    fn accept_order(&self, body: String) -> Result<gateway::AcceptedOrder, Vec<wit::Rejection>> {
        #[cfg(feature = "fault-injection")]
        crate::faults::inject(&body);
        match crate::gateway::Keyring::accept_order(self, &body) {
            Ok(a) => Ok(gateway::AcceptedOrder {
                order: order_out(Ok(a.order))?,
                required_confirmations: a.required_confirmations,
            }),
            Err(rs) => Err(rejections_out(rs)),
        }
    }

    fn check_query(&self, body: String) -> Result<gateway::OrderQuery, Vec<wit::Rejection>> {
        crate::gateway::Keyring::check_query(self, &body)
            .map(query_out)
            .map_err(rejections_out)
    }
}

impl gateway::Guest for Component {
    type Keyring = crate::gateway::Keyring;

    fn parse_query(body: String) -> Result<gateway::OrderQuery, Vec<wit::Rejection>> {
        crate::gateway::parse_query(&body)
            .map(query_out)
            .map_err(rejections_out)
    }
}

impl From<crate::derivation::DerivationError> for derivation::DerivationError {
    fn from(e: crate::derivation::DerivationError) -> Self {
        use crate::derivation::DerivationCode as C;
        use derivation::DerivationErrorCode as W;
        Self {
            code: match e.code {
                C::InvalidXpub => W::InvalidXpub,
                C::PrivateKeyRefused => W::PrivateKeyRefused,
                C::InvalidIndex => W::InvalidIndex,
                C::InvalidChildKey => W::InvalidChildKey,
            },
            message: e.message,
        }
    }
}

fn address_request_out(r: crate::address_requests::AddressRequest) -> derivation::AddressRequest {
    derivation::AddressRequest {
        appid: r.appid,
        username: r.username,
        chain: chain_out(r.chain),
        sign: r.sign,
    }
}

impl derivation::Guest for Component {
    fn parse_xpub(xpub: String) -> Result<derivation::XpubInfo, derivation::DerivationError> {
        let i = crate::derivation::parse_xpub(&xpub)?;
        Ok(derivation::XpubInfo {
            depth: i.depth,
            parent_fingerprint: i.parent_fingerprint,
            child_number: i.child_number,
            fingerprint: i.fingerprint,
            public_key: i.public_key,
        })
    }

    fn derive_xpub(xpub: String, index: u32) -> Result<String, derivation::DerivationError> {
        Ok(crate::derivation::derive_xpub(&xpub, index)?)
    }

    fn derive_address(
        xpub: String,
        chain: wit::Chain,
        index: u32,
    ) -> Result<derivation::DerivedAddress, derivation::DerivationError> {
        let a = crate::derivation::derive_address(&xpub, chain_in(chain), index)?;
        Ok(derivation::DerivedAddress {
            chain: chain_out(a.chain),
            index: a.index,
            address: a.address,
            public_key: a.public_key,
        })
    }

    fn address_sign(appid: String, username: String, chain: wit::Chain, secret: String) -> String {
        crate::signing::address_sign(&appid, &username, chain_in(chain), &secret)
    }

    fn parse_address_request(
        body: String,
    ) -> Result<derivation::AddressRequest, Vec<wit::Rejection>> {
        crate::address_requests::parse_address_request(&body)
            .map(address_request_out)
            .map_err(rejections_out)
    }

    fn check_address_request(
        keyring: gateway::KeyringBorrow<'_>,
        body: String,
    ) -> Result<derivation::AddressRequest, Vec<wit::Rejection>> {
        keyring
            .get::<crate::gateway::Keyring>()
            .check_address_request(&body)
            .map(address_request_out)
            .map_err(rejections_out)
    }
}
