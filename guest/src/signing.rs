//! The protocol's three MD5 signatures and constant-time verification.
//!
//! `sign = lowercase_hex(md5(f1|f2|…|secret))` over UTF-8 bytes. MD5 is the protocol's
//! choice (the seed's `gen_sign`), not ours: the secret is what protects it.

use md5::{Digest, Md5};
use serde::Serialize;
use subtle::ConstantTimeEq;

use crate::fields::{LOCALUSERMARK_MAX, check_id, check_sign_format, check_signed_text};
use crate::{Chain, ErrorCode, Rejection};

/// The signed fields of an order request, in signing order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderFields {
    /// The merchant's id.
    pub appid: String,
    /// The merchant's user account (case-sensitive).
    pub username: String,
    /// The merchant's own reference for the user/order.
    pub localusermark: String,
    /// The deposit address, as sent.
    pub address: String,
    /// The merchant's order id.
    pub orderid: String,
    /// Scaled units, signed as decimal text.
    pub amount: u64,
}

/// The signed fields of a callback, in signing order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallbackFields {
    /// The merchant's order id.
    pub orderid: String,
    /// The merchant's reference, echoed.
    pub localusermark: String,
    /// The amount actually received, scaled.
    pub amount: u64,
    /// Unix seconds when the attempt is sent.
    pub t: u64,
}

/// A 32-byte lowercase hex MD5 signature.
pub type Sign = [u8; 32];

/// MD5 of the `|`-joined parts, as lowercase hex.
fn md5_joined(parts: &[&[u8]]) -> Sign {
    let mut hasher = Md5::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            hasher.update(b"|");
        }
        hasher.update(part);
    }
    let digest = hasher.finalize();
    let mut out = [0u8; 32];
    // The buffer is exactly twice the digest length, so encoding cannot fail.
    let _ = hex::encode_to_slice(digest, &mut out);
    out
}

fn as_string(sign: Sign) -> String {
    sign.iter().map(|&b| char::from(b)).collect()
}

/// Constant-time comparison of a computed signature with a presented one, after the
/// presented one is checked to be 32 lowercase hex digits.
fn verify(expected: Sign, presented: &str) -> Result<(), Rejection> {
    check_sign_format(presented)?;
    if bool::from(expected.ct_eq(presented.as_bytes())) {
        Ok(())
    } else {
        Err(Rejection::field(
            ErrorCode::SignMismatch,
            "sign",
            "sign does not match the fields and the secret",
        ))
    }
}

fn order_digest(f: &OrderFields, secret: &str) -> Sign {
    let amount = f.amount.to_string();
    md5_joined(&[
        f.appid.as_bytes(),
        f.username.as_bytes(),
        f.localusermark.as_bytes(),
        f.address.as_bytes(),
        f.orderid.as_bytes(),
        amount.as_bytes(),
        secret.as_bytes(),
    ])
}

fn callback_digest(f: &CallbackFields, secret: &str) -> Sign {
    let amount = f.amount.to_string();
    let t = f.t.to_string();
    md5_joined(&[
        f.orderid.as_bytes(),
        f.localusermark.as_bytes(),
        amount.as_bytes(),
        t.as_bytes(),
        secret.as_bytes(),
    ])
}

fn query_digest(appid: &str, orderid: &str, secret: &str) -> Sign {
    md5_joined(&[appid.as_bytes(), orderid.as_bytes(), secret.as_bytes()])
}

/// `md5(appid|username|localusermark|address|orderid|amount|secret)`.
pub fn order_sign(fields: &OrderFields, secret: &str) -> String {
    as_string(order_digest(fields, secret))
}

/// Verify an order `sign` in constant time.
pub fn verify_order_sign(fields: &OrderFields, secret: &str, sign: &str) -> Result<(), Rejection> {
    verify(order_digest(fields, secret), sign)
}

/// `md5(orderid|localusermark|amount|t|secret)`.
pub fn callback_sign(fields: &CallbackFields, secret: &str) -> String {
    as_string(callback_digest(fields, secret))
}

/// Verify a callback `sign` in constant time.
pub fn verify_callback_sign(
    fields: &CallbackFields,
    secret: &str,
    sign: &str,
) -> Result<(), Rejection> {
    verify(callback_digest(fields, secret), sign)
}

/// `md5(appid|orderid|secret)`.
pub fn query_sign(appid: &str, orderid: &str, secret: &str) -> String {
    as_string(query_digest(appid, orderid, secret))
}

/// Verify a query `sign` in constant time.
pub fn verify_query_sign(
    appid: &str,
    orderid: &str,
    secret: &str,
    sign: &str,
) -> Result<(), Rejection> {
    verify(query_digest(appid, orderid, secret), sign)
}

/// `md5(appid|username|chain|secret)`, the address request's signature (our extension;
/// `chain` is the wire name `TRC20`, `ERC20` or `OMNI`).
pub fn address_sign(appid: &str, username: &str, chain: Chain, secret: &str) -> String {
    as_string(address_digest(appid, username, chain, secret))
}

/// Verify an address request `sign` in constant time.
pub fn verify_address_sign(
    appid: &str,
    username: &str,
    chain: Chain,
    secret: &str,
    sign: &str,
) -> Result<(), Rejection> {
    verify(address_digest(appid, username, chain, secret), sign)
}

fn address_digest(appid: &str, username: &str, chain: Chain, secret: &str) -> Sign {
    md5_joined(&[
        appid.as_bytes(),
        username.as_bytes(),
        chain.as_str().as_bytes(),
        secret.as_bytes(),
    ])
}

/// The wire shape of a callback: all strings, in the template's order.
#[derive(Serialize)]
struct CallbackBody<'a> {
    orderid: &'a str,
    localusermark: &'a str,
    amount: &'a str,
    t: &'a str,
    sign: &'a str,
}

/// The callback body: compact JSON
/// `{"orderid","localusermark","amount","t","sign"}`, all strings, signed with `secret`.
pub fn build_callback_body(fields: &CallbackFields, secret: &str) -> Result<String, Rejection> {
    check_id("orderid", &fields.orderid)?;
    check_signed_text("localusermark", &fields.localusermark, LOCALUSERMARK_MAX)?;
    let sign = callback_digest(fields, secret);
    let body = CallbackBody {
        orderid: &fields.orderid,
        localusermark: &fields.localusermark,
        amount: &fields.amount.to_string(),
        t: &fields.t.to_string(),
        sign: &as_string(sign),
    };
    serde_json::to_string(&body)
        .map_err(|e| Rejection::general(ErrorCode::InvalidField, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order() -> OrderFields {
        OrderFields {
            appid: "yourAppId".into(),
            username: "alice".into(),
            localusermark: "uid123".into(),
            address: "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t".into(),
            orderid: "myplat-1662299838".into(),
            amount: 1_000_000,
        }
    }

    #[test]
    fn md5_known_answers() {
        // RFC 1321 appendix A.5.
        assert_eq!(
            as_string(md5_joined(&[b""])),
            "d41d8cd98f00b204e9800998ecf8427e"
        );
        assert_eq!(
            as_string(md5_joined(&[b"a", b"bc"])),
            as_string(md5_joined(&[b"a|bc"]))
        );
        assert_eq!(
            as_string(md5_joined(&[b"abc"])),
            "900150983cd24fb0d6963f7d28e17f72"
        );
    }

    #[test]
    fn order_sign_verifies_and_rejects_tampering() {
        let fields = order();
        let sign = order_sign(&fields, "yourSecret");
        assert!(verify_order_sign(&fields, "yourSecret", &sign).is_ok());
        let err = verify_order_sign(&fields, "otherSecret", &sign).unwrap_err();
        assert_eq!(err.code, ErrorCode::SignMismatch);
        let err = verify_order_sign(&fields, "yourSecret", &sign.to_uppercase()).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidSign);
    }

    #[test]
    fn callback_body_is_compact_and_verifiable() {
        let fields = CallbackFields {
            orderid: "sh-1".into(),
            localusermark: "1".into(),
            amount: 30000,
            t: 1_662_299_838,
        };
        let body = build_callback_body(&fields, "s").unwrap();
        let sign = callback_sign(&fields, "s");
        assert_eq!(
            body,
            format!(
                r#"{{"orderid":"sh-1","localusermark":"1","amount":"30000","t":"1662299838","sign":"{sign}"}}"#
            )
        );
    }
}
