//! Address requests (`POST /api/merchant/v2/TraderRechargeAddress`, our extension, WIT
//! interface `derivation` since 2.2.0): a merchant asks for its user's deposit address on
//! one chain, signing `md5(appid|username|chain|secret)`.

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::fields::{USERNAME_MAX, check_id, check_sign_format, check_signed_text};
use crate::orders::{parse_object, required, string_value, text_field};
use crate::{Chain, ErrorCode, Rejection};

/// A parsed address request; its sign checked for form but not yet verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressRequest {
    /// The merchant's id.
    pub appid: String,
    /// The merchant's user account (case-sensitive), the owner of the address.
    pub username: String,
    /// The chain whose address is wanted.
    pub chain: Chain,
    /// The `sign` field (32 lowercase hex digits).
    pub sign: String,
}

/// The request body as raw JSON values; a known field given twice fails the whole body.
#[derive(Deserialize)]
struct RawAddressRequest<'a> {
    #[serde(borrow)]
    appid: Option<&'a RawValue>,
    #[serde(borrow)]
    username: Option<&'a RawValue>,
    #[serde(borrow)]
    chain: Option<&'a RawValue>,
    #[serde(borrow)]
    sign: Option<&'a RawValue>,
}

/// `chain`: exactly `TRC20`, `ERC20` or `OMNI`, else `UNSUPPORTED_CHAIN`.
fn chain_field(value: Option<&RawValue>) -> Result<Chain, Rejection> {
    let name = string_value(
        "chain",
        required("chain", value)?,
        ErrorCode::UnsupportedChain,
    )?;
    Chain::from_wire(&name).ok_or_else(|| {
        Rejection::field(
            ErrorCode::UnsupportedChain,
            "chain",
            "chain must be TRC20, ERC20 or OMNI",
        )
    })
}

/// `sign`: a JSON string of 32 lowercase hex digits, else `INVALID_SIGN`.
fn sign_field(value: Option<&RawValue>) -> Result<String, Rejection> {
    let sign = string_value("sign", required("sign", value)?, ErrorCode::InvalidSign)?;
    check_sign_format(&sign)?;
    Ok(sign)
}

/// Parse and validate an address request body; unknown fields are ignored. Every
/// rejection is returned, in field order appid, username, chain, sign.
pub fn parse_address_request(body: &str) -> Result<AddressRequest, Vec<Rejection>> {
    let raw: RawAddressRequest<'_> = parse_object(body).map_err(|r| vec![r])?;
    let appid = text_field("appid", raw.appid, |v| check_id("appid", v));
    let username = text_field("username", raw.username, |v| {
        check_signed_text("username", v, USERNAME_MAX)
    });
    match (
        appid,
        username,
        chain_field(raw.chain),
        sign_field(raw.sign),
    ) {
        (Ok(appid), Ok(username), Ok(chain), Ok(sign)) => Ok(AddressRequest {
            appid,
            username,
            chain,
            sign,
        }),
        (appid, username, chain, sign) => {
            Err([appid.err(), username.err(), chain.err(), sign.err()]
                .into_iter()
                .flatten()
                .collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(body: &str) -> Vec<ErrorCode> {
        parse_address_request(body)
            .err()
            .unwrap_or_default()
            .iter()
            .map(|r| r.code)
            .collect()
    }

    #[test]
    fn fields_are_checked_in_order() {
        use ErrorCode as C;
        let sign = "0".repeat(32);
        let ok =
            format!(r#"{{"appid":"m","username":"张三","chain":"OMNI","sign":"{sign}","x":1}}"#);
        let request = parse_address_request(&ok).unwrap();
        assert_eq!(
            (request.chain, request.username.as_str()),
            (Chain::Omni, "张三")
        );
        assert_eq!(codes("[]"), [C::InvalidJson]);
        assert_eq!(codes(r#"{"appid":"a","appid":"b"}"#), [C::InvalidJson]);
        assert_eq!(
            codes(r#"{"appid":"a b","username":"u|v","chain":"trc20","sign":"X"}"#),
            [
                C::InvalidField,
                C::InvalidField,
                C::UnsupportedChain,
                C::InvalidSign
            ]
        );
        assert_eq!(
            codes(r#"{"appid":null,"chain":1,"sign":2}"#),
            [
                C::MissingField,
                C::MissingField,
                C::UnsupportedChain,
                C::InvalidSign
            ]
        );
    }
}
