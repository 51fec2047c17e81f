//! What a gateway runs per request, each path in one call (WIT interface `gateway`,
//! since 2.1.0): order queries parsed, and a keyring of merchants and the confirmation
//! policy that accepts orders with their required confirmations and checks queries.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::address_requests::{AddressRequest, parse_address_request};
use crate::confirmations::{ConfirmationPolicy, required_confirmations};
use crate::orders::{OrderRequest, parse_object, parse_order, required, string_value};
use crate::signing::{verify_address_sign, verify_order_sign, verify_query_sign};
use crate::{ErrorCode, Rejection};

/// An order query, parsed; its sign not yet checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderQuery {
    /// The merchant's id.
    pub appid: String,
    /// The merchant's order id.
    pub orderid: String,
    /// The `sign` field as sent.
    pub sign: String,
}

/// The query body as raw JSON values; a known field given twice fails the whole body.
#[derive(Deserialize)]
struct RawQuery<'a> {
    #[serde(borrow)]
    appid: Option<&'a RawValue>,
    #[serde(borrow)]
    orderid: Option<&'a RawValue>,
    #[serde(borrow)]
    sign: Option<&'a RawValue>,
}

/// Parse a query body. Every rejection is returned, in field order appid, orderid, sign.
pub fn parse_query(body: &str) -> Result<OrderQuery, Vec<Rejection>> {
    let raw: RawQuery<'_> = parse_object(body).map_err(|r| vec![r])?;
    let field = |name: &'static str, value: Option<&RawValue>| {
        string_value(name, required(name, value)?, ErrorCode::InvalidField)
    };
    match (
        field("appid", raw.appid),
        field("orderid", raw.orderid),
        field("sign", raw.sign),
    ) {
        (Ok(appid), Ok(orderid), Ok(sign)) => Ok(OrderQuery {
            appid,
            orderid,
            sign,
        }),
        (appid, orderid, sign) => Err([appid.err(), orderid.err(), sign.err()]
            .into_iter()
            .flatten()
            .collect()),
    }
}

/// One merchant of a keyring.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Merchant {
    /// The merchant's id.
    pub appid: String,
    /// The signing secret.
    pub secret: String,
    /// The next secret during a rotation.
    pub next_secret: Option<String>,
}

/// An accepted order and the confirmations its deposit needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcceptedOrder {
    /// The order, its sign checked.
    pub order: OrderRequest,
    /// The confirmations its deposit needs under the keyring's policy.
    pub required_confirmations: u32,
}

/// The secrets of one merchant.
#[derive(Debug)]
struct Secrets {
    current: String,
    next: Option<String>,
}

/// Merchants by appid and the confirmation policy.
#[derive(Debug)]
pub struct Keyring {
    merchants: HashMap<String, Secrets>,
    policy: ConfirmationPolicy,
}

fn unknown_appid() -> Vec<Rejection> {
    vec![Rejection::field(
        ErrorCode::UnknownAppid,
        "appid",
        "appid is not a registered merchant",
    )]
}

/// `check(current)`, and when that fails with `SIGN_MISMATCH`, `check(next)`; the first
/// failure is the one reported.
fn with_rotation(
    secrets: &Secrets,
    check: impl Fn(&str) -> Result<(), Rejection>,
) -> Result<(), Vec<Rejection>> {
    match check(&secrets.current) {
        Ok(()) => Ok(()),
        Err(first) => match &secrets.next {
            Some(next) if first.code == ErrorCode::SignMismatch && check(next).is_ok() => Ok(()),
            _ => Err(vec![first]),
        },
    }
}

impl Keyring {
    /// A keyring of `merchants` (a later duplicate appid replaces an earlier one) under
    /// `policy`.
    pub fn new(merchants: Vec<Merchant>, policy: ConfirmationPolicy) -> Self {
        Self {
            merchants: merchants
                .into_iter()
                .map(|m| {
                    let secrets = Secrets {
                        current: m.secret,
                        next: m.next_secret,
                    };
                    (m.appid, secrets)
                })
                .collect(),
            policy,
        }
    }

    fn secrets(&self, appid: &str) -> Result<&Secrets, Vec<Rejection>> {
        self.merchants.get(appid).ok_or_else(unknown_appid)
    }

    /// Parse an order, check its sign (current secret, then the next one), and add the
    /// confirmations it needs.
    pub fn accept_order(&self, body: &str) -> Result<AcceptedOrder, Vec<Rejection>> {
        let order = parse_order(body)?;
        let secrets = self.secrets(&order.fields.appid)?;
        with_rotation(secrets, |secret| {
            verify_order_sign(&order.fields, secret, &order.sign)
        })?;
        let required_confirmations =
            required_confirmations(order.chain, order.fields.amount, &self.policy);
        Ok(AcceptedOrder {
            order,
            required_confirmations,
        })
    }

    /// Parse an address request and check its sign `md5(appid|username|chain|secret)`
    /// (current secret, then the next one). Since 2.2.0.
    pub fn check_address_request(&self, body: &str) -> Result<AddressRequest, Vec<Rejection>> {
        let request = parse_address_request(body)?;
        let secrets = self.secrets(&request.appid)?;
        with_rotation(secrets, |secret| {
            verify_address_sign(
                &request.appid,
                &request.username,
                request.chain,
                secret,
                &request.sign,
            )
        })?;
        Ok(request)
    }

    /// Parse a query and check its sign (current secret, then the next one).
    pub fn check_query(&self, body: &str) -> Result<OrderQuery, Vec<Rejection>> {
        let query = parse_query(body)?;
        let secrets = self.secrets(&query.appid)?;
        with_rotation(secrets, |secret| {
            verify_query_sign(&query.appid, &query.orderid, secret, &query.sign)
        })?;
        Ok(query)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::query_sign;

    fn codes(r: Result<OrderQuery, Vec<Rejection>>) -> Vec<ErrorCode> {
        r.err().unwrap_or_default().iter().map(|r| r.code).collect()
    }

    #[test]
    fn query_parsing() {
        use ErrorCode as C;
        assert!(parse_query(r#"{"appid":"a","orderid":"o","sign":"s","x":1}"#).is_ok());
        assert_eq!(codes(parse_query("[]")), [C::InvalidJson]);
        assert_eq!(
            codes(parse_query(r#"{"appid":"a","appid":"b"}"#)),
            [C::InvalidJson]
        );
        assert_eq!(
            codes(parse_query(r#"{"appid":null,"orderid":1,"sign":"x"}"#)),
            [C::MissingField, C::InvalidField]
        );
    }

    #[test]
    fn keyring_checks_both_secrets() {
        let keyring = Keyring::new(
            vec![Merchant {
                appid: "m".into(),
                secret: "old".into(),
                next_secret: Some("new".into()),
            }],
            ConfirmationPolicy::default(),
        );
        for secret in ["old", "new"] {
            let sign = query_sign("m", "o", secret);
            let body = format!(r#"{{"appid":"m","orderid":"o","sign":"{sign}"}}"#);
            assert!(keyring.check_query(&body).is_ok(), "{secret}");
        }
        let sign = query_sign("m", "o", "other");
        let body = format!(r#"{{"appid":"m","orderid":"o","sign":"{sign}"}}"#);
        assert_eq!(codes(keyring.check_query(&body)), [ErrorCode::SignMismatch]);
        let body = r#"{"appid":"x","orderid":"o","sign":"bad"}"#;
        assert_eq!(codes(keyring.check_query(body)), [ErrorCode::UnknownAppid]);
        let body = r#"{"appid":"m","orderid":"o","sign":"BAD"}"#;
        assert_eq!(codes(keyring.check_query(body)), [ErrorCode::InvalidSign]);
    }

    #[test]
    fn keyring_checks_address_requests() {
        use crate::Chain;
        use crate::signing::address_sign;
        let keyring = Keyring::new(
            vec![Merchant {
                appid: "m".into(),
                secret: "old".into(),
                next_secret: Some("new".into()),
            }],
            ConfirmationPolicy::default(),
        );
        let body = |sign: &str| {
            format!(r#"{{"appid":"m","username":"alice","chain":"ERC20","sign":"{sign}"}}"#)
        };
        for secret in ["old", "new"] {
            let sign = address_sign("m", "alice", Chain::Erc20, secret);
            let request = keyring.check_address_request(&body(&sign)).unwrap();
            assert_eq!(
                (request.chain, request.username.as_str()),
                (Chain::Erc20, "alice")
            );
        }
        // Signed for another chain: the chain is covered by the sign.
        let sign = address_sign("m", "alice", Chain::Trc20, "old");
        let err = keyring.check_address_request(&body(&sign)).unwrap_err();
        assert_eq!(err[0].code, ErrorCode::SignMismatch);
        let sign = address_sign("x", "alice", Chain::Erc20, "old");
        let other = body(&sign).replace(r#""m""#, r#""x""#);
        let err = keyring.check_address_request(&other).unwrap_err();
        assert_eq!(err[0].code, ErrorCode::UnknownAppid);
    }
}
