//! Callback verification: what a merchant runs on every callback it receives.

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::fields::{
    LOCALUSERMARK_MAX, check_id, check_sign_format, check_signed_text, parse_canonical_u64,
};
use crate::orders::{parse_object, required, string_value};
use crate::signing::{CallbackFields, verify_callback_sign};
use crate::{ErrorCode, MAX_STORED_AMOUNT, Rejection};

/// A verified callback.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Callback {
    /// The signed fields.
    pub fields: CallbackFields,
    /// Its signature.
    pub sign: String,
}

#[derive(Deserialize)]
struct RawCallback<'a> {
    #[serde(borrow)]
    orderid: Option<&'a RawValue>,
    #[serde(borrow)]
    localusermark: Option<&'a RawValue>,
    #[serde(borrow)]
    amount: Option<&'a RawValue>,
    #[serde(borrow)]
    t: Option<&'a RawValue>,
    #[serde(borrow)]
    sign: Option<&'a RawValue>,
}

/// Parse a callback body and check its fields, its signature with `secret`, and that
/// `|now - t| <= window`. The first failure is returned.
pub fn verify_callback(
    body: &str,
    secret: &str,
    now: u64,
    window: u32,
) -> Result<Callback, Rejection> {
    let raw: RawCallback<'_> = parse_object(body)?;
    let text = |field, value, code| string_value(field, required(field, value)?, code);

    let orderid = text("orderid", raw.orderid, ErrorCode::InvalidField)?;
    check_id("orderid", &orderid)?;
    let localusermark = text("localusermark", raw.localusermark, ErrorCode::InvalidField)?;
    check_signed_text("localusermark", &localusermark, LOCALUSERMARK_MAX)?;
    let amount = text("amount", raw.amount, ErrorCode::InvalidAmount)?;
    let amount = parse_canonical_u64(&amount, MAX_STORED_AMOUNT).ok_or_else(|| {
        Rejection::field(
            ErrorCode::InvalidAmount,
            "amount",
            "amount must be decimal digits (scaled units) without a leading zero",
        )
    })?;
    let t = text("t", raw.t, ErrorCode::InvalidField)?;
    let t = parse_canonical_u64(&t, u64::MAX).ok_or_else(|| {
        Rejection::field(
            ErrorCode::InvalidField,
            "t",
            "t must be Unix seconds as decimal digits",
        )
    })?;
    let sign = text("sign", raw.sign, ErrorCode::InvalidSign)?;
    check_sign_format(&sign)?;

    let fields = CallbackFields {
        orderid,
        localusermark,
        amount,
        t,
    };
    verify_callback_sign(&fields, secret, &sign)?;
    if now.abs_diff(t) > u64::from(window) {
        return Err(Rejection::field(
            ErrorCode::TimestampOutOfWindow,
            "t",
            format!(
                "t is {} s from now, beyond the ±{window} s window",
                now.abs_diff(t)
            ),
        ));
    }
    Ok(Callback { fields, sign })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::build_callback_body;

    fn fields(t: u64) -> CallbackFields {
        CallbackFields {
            orderid: "sh-56073d".into(),
            localusermark: "1".into(),
            amount: 30000,
            t,
        }
    }

    #[test]
    fn built_body_verifies_within_the_window_only() {
        let body = build_callback_body(&fields(1_662_299_838), "k").unwrap();
        let ok = verify_callback(&body, "k", 1_662_299_838 + 300, 300).unwrap();
        assert_eq!(ok.fields, fields(1_662_299_838));
        let late = verify_callback(&body, "k", 1_662_299_838 + 301, 300).unwrap_err();
        assert_eq!(late.code, ErrorCode::TimestampOutOfWindow);
        let early = verify_callback(&body, "k", 1_662_299_838 - 301, 300).unwrap_err();
        assert_eq!(early.code, ErrorCode::TimestampOutOfWindow);
        let wrong = verify_callback(&body, "other", 1_662_299_838, 300).unwrap_err();
        assert_eq!(wrong.code, ErrorCode::SignMismatch);
    }

    #[test]
    fn tampered_amount_fails() {
        let body = build_callback_body(&fields(100), "k").unwrap();
        let tampered = body.replace("\"30000\"", "\"300000\"");
        assert_eq!(
            verify_callback(&tampered, "k", 100, 300).unwrap_err().code,
            ErrorCode::SignMismatch
        );
    }
}
