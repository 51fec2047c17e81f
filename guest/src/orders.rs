//! Order requests (`POST /api/merchant/v2/TraderRechargeorder`) and order ids.

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::addresses::{AddressInfo, inspect_address};
use crate::fields::{
    LOCALUSERMARK_MAX, USERNAME_MAX, check_id, check_notify_url, check_sign_format,
    check_signed_text,
};
use crate::signing::{OrderFields, verify_order_sign};
use crate::{Chain, ErrorCode, MAX_ORDER_AMOUNT, Rejection};

/// A parsed, validated order request whose signature is not yet checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderRequest {
    /// The signed fields.
    pub fields: OrderFields,
    /// The address's chain (the `chain` field when present, else detected).
    pub chain: Chain,
    /// The address in canonical form (ERC20 lowercase).
    pub canonical_address: String,
    /// The per-order callback URL.
    pub notify_url: Option<String>,
    /// The `sign` field (32 lowercase hex digits).
    pub sign: String,
}

/// The request body as raw JSON values, so each field gets its own precise rejection.
/// Unknown fields are ignored; a known field given twice fails the whole body.
#[derive(Deserialize)]
struct RawOrder<'a> {
    #[serde(borrow)]
    appid: Option<&'a RawValue>,
    #[serde(borrow)]
    username: Option<&'a RawValue>,
    #[serde(borrow)]
    localusermark: Option<&'a RawValue>,
    #[serde(borrow)]
    address: Option<&'a RawValue>,
    #[serde(borrow)]
    orderid: Option<&'a RawValue>,
    #[serde(borrow)]
    amount: Option<&'a RawValue>,
    #[serde(borrow)]
    chain: Option<&'a RawValue>,
    #[serde(borrow)]
    notify_url: Option<&'a RawValue>,
    #[serde(borrow)]
    sign: Option<&'a RawValue>,
}

/// A field's raw value, `None` when absent or `null`.
fn present(value: Option<&RawValue>) -> Option<&RawValue> {
    value.filter(|v| v.get() != "null")
}

/// A required field's raw value, or `MISSING_FIELD`.
pub(crate) fn required<'a>(
    field: &'static str,
    value: Option<&'a RawValue>,
) -> Result<&'a RawValue, Rejection> {
    present(value).ok_or_else(|| {
        Rejection::field(
            ErrorCode::MissingField,
            field,
            format!("{field} is required"),
        )
    })
}

/// A JSON string's value, or `code` when the value is another JSON type.
pub(crate) fn string_value(
    field: &'static str,
    value: &RawValue,
    code: ErrorCode,
) -> Result<String, Rejection> {
    let text = value.get();
    if !text.starts_with('"') {
        return Err(Rejection::field(
            code,
            field,
            format!("{field} must be a JSON string"),
        ));
    }
    // Most strings carry no escape: their text between the quotes is the value (the
    // parser already rejected raw control characters), so skip a second parse.
    if let Some(plain) = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .filter(|t| !t.contains('\\'))
    {
        return Ok(plain.to_owned());
    }
    serde_json::from_str(text)
        .map_err(|_| Rejection::field(code, field, format!("{field} is not a valid string")))
}

/// A JSON body that is an object with the known fields at most once.
pub(crate) fn parse_object<'a, T: Deserialize<'a>>(body: &'a str) -> Result<T, Rejection> {
    if !body.trim_start().starts_with('{') {
        return Err(Rejection::general(
            ErrorCode::InvalidJson,
            "body must be a JSON object",
        ));
    }
    serde_json::from_str(body).map_err(|e| {
        Rejection::general(
            ErrorCode::InvalidJson,
            format!("body is not valid JSON: {e}"),
        )
    })
}

/// The order amount: a JSON integer token (digits only) in 1..=2^53-1.
fn order_amount(value: &RawValue) -> Result<u64, Rejection> {
    let token = value.get();
    let reject = || {
        Rejection::field(
            ErrorCode::InvalidAmount,
            "amount",
            "amount must be a JSON integer in 1..=9007199254740991 scaled units (USDT x 10000)",
        )
    };
    if token.is_empty() || !token.bytes().all(|b| b.is_ascii_digit()) {
        return Err(reject());
    }
    token
        .parse::<u64>()
        .ok()
        .filter(|v| (1..=MAX_ORDER_AMOUNT).contains(v))
        .ok_or_else(reject)
}

/// Collects rejections while fields are checked in order.
struct Checker {
    rejections: Vec<Rejection>,
}

impl Checker {
    fn check<T>(&mut self, result: Result<T, Rejection>) -> Option<T> {
        result.map_err(|r| self.rejections.push(r)).ok()
    }
}

/// A required string field that passes `rule`.
pub(crate) fn text_field(
    field: &'static str,
    value: Option<&RawValue>,
    rule: impl FnOnce(&str) -> Result<(), Rejection>,
) -> Result<String, Rejection> {
    let text = string_value(field, required(field, value)?, ErrorCode::InvalidField)?;
    rule(&text)?;
    Ok(text)
}

/// Parse and validate a raw order body. Every rejection is returned, in field order.
pub fn parse_order(body: &str) -> Result<OrderRequest, Vec<Rejection>> {
    let raw: RawOrder<'_> = parse_object(body).map_err(|r| vec![r])?;
    let mut c = Checker {
        rejections: Vec::new(),
    };

    let appid = c.check(text_field("appid", raw.appid, |v| check_id("appid", v)));
    let username = c.check(text_field("username", raw.username, |v| {
        check_signed_text("username", v, USERNAME_MAX)
    }));
    let localusermark = c.check(text_field("localusermark", raw.localusermark, |v| {
        check_signed_text("localusermark", v, LOCALUSERMARK_MAX)
    }));
    let address = c.check(address_field(raw.address));
    let orderid = c.check(text_field("orderid", raw.orderid, |v| {
        check_id("orderid", v)
    }));
    let amount = c.check(required("amount", raw.amount).and_then(order_amount));
    let chain = present(raw.chain).and_then(|v| c.check(chain_field(v)));
    if let (Some(chain), Some((_, info))) = (chain, &address) {
        c.rejections.extend(chain_mismatch(chain, info));
    }
    let notify_url = match present(raw.notify_url) {
        None => Some(None),
        Some(v) => c.check(notify_url_field(v)).map(Some),
    };
    let sign = c.check(sign_field(raw.sign));

    match (
        appid,
        username,
        localusermark,
        address,
        orderid,
        amount,
        notify_url,
        sign,
    ) {
        (
            Some(appid),
            Some(username),
            Some(localusermark),
            Some((address, info)),
            Some(orderid),
            Some(amount),
            Some(notify_url),
            Some(sign),
        ) if c.rejections.is_empty() => Ok(OrderRequest {
            fields: OrderFields {
                appid,
                username,
                localusermark,
                address,
                orderid,
                amount,
            },
            chain: info.chain,
            canonical_address: info.canonical,
            notify_url,
            sign,
        }),
        _ => Err(c.rejections),
    }
}

/// The required `address`: a TRON or EVM address, with what it is.
fn address_field(value: Option<&RawValue>) -> Result<(String, AddressInfo), Rejection> {
    required("address", value)
        .and_then(|v| string_value("address", v, ErrorCode::InvalidAddress))
        .and_then(|a| inspect_address(&a).map(|info| (a, info)))
}

/// The optional `chain`, when present: `TRC20`, `ERC20` or `OMNI`.
fn chain_field(value: &RawValue) -> Result<Chain, Rejection> {
    let name = string_value("chain", value, ErrorCode::UnsupportedChain)?;
    Chain::from_wire(&name).ok_or_else(|| {
        Rejection::field(
            ErrorCode::UnsupportedChain,
            "chain",
            "chain must be TRC20, ERC20 or OMNI",
        )
    })
}

/// A `chain` that names another chain than the address's.
fn chain_mismatch(chain: Chain, address: &AddressInfo) -> Option<Rejection> {
    (chain != address.chain).then(|| {
        Rejection::field(
            ErrorCode::ChainMismatch,
            "chain",
            format!(
                "chain is {chain} but the address is a {} address",
                address.chain
            ),
        )
    })
}

/// The optional `notify_url`, when present: a URL callbacks may be sent to.
fn notify_url_field(value: &RawValue) -> Result<String, Rejection> {
    let url = string_value("notify_url", value, ErrorCode::InvalidNotifyUrl)?;
    check_notify_url(&url)?;
    Ok(url)
}

/// The required `sign`: 32 lower-case hex digits.
fn sign_field(value: Option<&RawValue>) -> Result<String, Rejection> {
    let sign = string_value("sign", required("sign", value)?, ErrorCode::InvalidSign)?;
    check_sign_format(&sign)?;
    Ok(sign)
}

/// Check a parsed order's signature with the merchant's secret, in constant time.
pub fn verify_order(order: &OrderRequest, secret: &str) -> Result<(), Rejection> {
    verify_order_sign(&order.fields, secret, &order.sign)
}

/// Parse an order body, find its merchant's secret with `secret_of`, and verify the sign.
pub fn check_order<'s>(
    body: &str,
    secret_of: impl FnOnce(&str) -> Option<&'s str>,
) -> Result<OrderRequest, Vec<Rejection>> {
    let order = parse_order(body)?;
    let secret = secret_of(&order.fields.appid).ok_or_else(|| {
        vec![Rejection::field(
            ErrorCode::UnknownAppid,
            "appid",
            "appid is not a registered merchant",
        )]
    })?;
    verify_order(&order, secret).map_err(|r| vec![r])?;
    Ok(order)
}

/// A calendar date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Date {
    /// 1..=9999.
    pub year: u16,
    /// 1..=12.
    pub month: u8,
    /// 1..=31, as the month allows.
    pub day: u8,
}

impl Date {
    /// Whether this is a real Gregorian date with a four-digit year.
    pub fn is_valid(self) -> bool {
        let leap =
            |y: u16| (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400);
        let days = match self.month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap(self.year) => 29,
            2 => 28,
            _ => return false,
        };
        (1..=9999).contains(&self.year) && (1..=days).contains(&self.day)
    }
}

/// The parts of an order id in the recommended form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderidParts {
    /// The platform prefix.
    pub prefix: String,
    /// The date.
    pub date: Date,
    /// The 6 random characters.
    pub random: String,
}

/// Longest prefix, so the whole id stays within 64 characters.
const PREFIX_MAX: usize = 48;
/// Alphabet of the random part.
const RANDOM_ALPHABET: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
/// Length of the random part.
const RANDOM_LEN: usize = 6;

fn bad_orderid(message: &str) -> Rejection {
    Rejection::field(ErrorCode::InvalidField, "orderid", message)
}

fn is_prefix(prefix: &str) -> bool {
    (1..=PREFIX_MAX).contains(&prefix.len())
        && prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `{prefix}-{yyyymmdd}-{6 random [a-z0-9]}`, the random part taken from `entropy`.
pub fn make_orderid(prefix: &str, date: Date, entropy: u64) -> Result<String, Rejection> {
    if !is_prefix(prefix) {
        return Err(bad_orderid(
            "prefix must be 1..=48 characters of [A-Za-z0-9_]",
        ));
    }
    if !date.is_valid() {
        return Err(bad_orderid("date is not a real calendar date"));
    }
    let mut rest = entropy % 36u64.pow(RANDOM_LEN as u32);
    let mut random = [b'0'; RANDOM_LEN];
    for slot in random.iter_mut().rev() {
        *slot = RANDOM_ALPHABET
            .get((rest % 36) as usize)
            .copied()
            .unwrap_or(b'0');
        rest /= 36;
    }
    let random: String = random.iter().map(|&b| char::from(b)).collect();
    Ok(format!(
        "{prefix}-{:04}{:02}{:02}-{random}",
        date.year, date.month, date.day
    ))
}

/// Check that an order id has the recommended form with a real date.
pub fn check_orderid(orderid: &str) -> Result<OrderidParts, Rejection> {
    let mut parts = orderid.split('-');
    let (Some(prefix), Some(date), Some(random), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad_orderid(
            "orderid must be {prefix}-{yyyymmdd}-{6 random}",
        ));
    };
    if !is_prefix(prefix) {
        return Err(bad_orderid(
            "prefix must be 1..=48 characters of [A-Za-z0-9_]",
        ));
    }
    let date = parse_date(date).ok_or_else(|| bad_orderid("date must be a real yyyymmdd date"))?;
    let random_ok = random.len() == RANDOM_LEN
        && random
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase());
    if !random_ok {
        return Err(bad_orderid("random part must be 6 characters of [a-z0-9]"));
    }
    Ok(OrderidParts {
        prefix: prefix.to_owned(),
        date,
        random: random.to_owned(),
    })
}

fn parse_date(text: &str) -> Option<Date> {
    if text.len() != 8 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let date = Date {
        year: text.get(0..4)?.parse().ok()?,
        month: text.get(4..6)?.parse().ok()?,
        day: text.get(6..8)?.parse().ok()?,
    };
    date.is_valid().then_some(date)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::order_sign;

    fn body(amount: &str, sign: &str) -> String {
        format!(
            r#"{{"username":"alice","appid":"demo","localusermark":"uid123","address":"TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t","orderid":"demo-20261125-a1b2c3","amount":{amount},"sign":"{sign}","extra":[1,2]}}"#
        )
    }

    #[test]
    fn accepts_and_verifies_a_signed_order() {
        let unsigned = parse_order(&body("1000000", &"0".repeat(32))).unwrap();
        let sign = order_sign(&unsigned.fields, "secret");
        let order = parse_order(&body("1000000", &sign)).unwrap();
        assert_eq!(order.chain, Chain::Trc20);
        assert!(verify_order(&order, "secret").is_ok());
        assert_eq!(
            verify_order(&order, "other").unwrap_err().code,
            ErrorCode::SignMismatch
        );
    }

    #[test]
    fn amount_must_be_an_integer_token() {
        for amount in [
            "1000000.0",
            "1e6",
            "\"1000000\"",
            "0",
            "-1",
            "9007199254740992",
            "true",
        ] {
            let errs = parse_order(&body(amount, &"0".repeat(32))).unwrap_err();
            let codes: Vec<_> = errs.iter().map(|r| r.code).collect();
            assert_eq!(codes, [ErrorCode::InvalidAmount], "{amount}");
        }
        assert!(parse_order(&body("9007199254740991", &"0".repeat(32))).is_ok());
    }

    #[test]
    fn non_objects_and_duplicates_are_invalid_json() {
        for body in ["", "[]", "\"x\"", "{", r#"{"amount":1,"amount":2}"#] {
            let errs = parse_order(body).unwrap_err();
            assert_eq!(errs.len(), 1);
            assert_eq!(errs[0].code, ErrorCode::InvalidJson, "{body}");
        }
    }

    #[test]
    fn orderid_round_trip() {
        let date = Date {
            year: 2024,
            month: 2,
            day: 29,
        };
        let id = make_orderid("myplat", date, 0).unwrap();
        assert_eq!(id, "myplat-20240229-000000");
        let parts = check_orderid(&make_orderid("sh", date, u64::MAX).unwrap()).unwrap();
        assert_eq!(parts.date, date);
        assert!(
            make_orderid(
                "x",
                Date {
                    year: 2023,
                    month: 2,
                    day: 29
                },
                1
            )
            .is_err()
        );
        assert!(check_orderid("a-20230229-abcdef").is_err());
    }
}
