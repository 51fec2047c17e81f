//! Field rules shared by order requests, queries and callbacks.

use crate::{ErrorCode, Rejection};

/// Longest `username`, in characters.
pub const USERNAME_MAX: usize = 64;
/// Longest `localusermark`, in characters.
pub const LOCALUSERMARK_MAX: usize = 128;
/// Longest `appid` and `orderid`, in characters.
pub const ID_MAX: usize = 64;
/// Longest `notify_url`, in characters.
pub const NOTIFY_URL_MAX: usize = 1024;

/// `appid` and `orderid`: 1..=64 of `[A-Za-z0-9_-]`.
pub fn check_id(field: &'static str, value: &str) -> Result<(), Rejection> {
    let ok = !value.is_empty()
        && value.len() <= ID_MAX
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Rejection::field(
            ErrorCode::InvalidField,
            field,
            format!("{field} must be 1..={ID_MAX} characters of [A-Za-z0-9_-]"),
        ))
    }
}

/// Free text that is signed (`username`, `localusermark`): 1..=`max` characters, no `|`
/// (it would make two field sets sign the same text), no control characters, no
/// leading or trailing whitespace.
pub fn check_signed_text(field: &'static str, value: &str, max: usize) -> Result<(), Rejection> {
    let reject = |why: &str| {
        Err(Rejection::field(
            ErrorCode::InvalidField,
            field,
            format!("{field} {why}"),
        ))
    };
    let len = value.chars().count();
    if len == 0 || len > max {
        return reject(&format!("must be 1..={max} characters"));
    }
    if value.contains('|') {
        return reject("must not contain '|', the signature separator");
    }
    if value.chars().any(char::is_control) {
        return reject("must not contain control characters");
    }
    let trimmed_start = value.chars().next().is_some_and(char::is_whitespace);
    let trimmed_end = value.chars().next_back().is_some_and(char::is_whitespace);
    if trimmed_start || trimmed_end {
        return reject("must not start or end with whitespace");
    }
    Ok(())
}

/// `sign`: exactly 32 lowercase hex digits. Never normalised (seed FAQ Q3).
pub fn check_sign_format(value: &str) -> Result<(), Rejection> {
    if is_lower_hex(value, 32) {
        Ok(())
    } else {
        Err(Rejection::field(
            ErrorCode::InvalidSign,
            "sign",
            "sign must be exactly 32 lowercase hex digits",
        ))
    }
}

/// `notify_url`: a plain absolute `http`/`https` URL, 1..=1024 printable ASCII
/// characters, with a non-empty authority and no credentials. Whether its host may be
/// contacted (SSRF rules) is the gateway's decision at delivery time.
pub fn check_notify_url(value: &str) -> Result<(), Rejection> {
    let reject = |why: &str| {
        Err(Rejection::field(
            ErrorCode::InvalidNotifyUrl,
            "notify_url",
            format!("notify_url {why}"),
        ))
    };
    if value.is_empty() || value.len() > NOTIFY_URL_MAX {
        return reject(&format!("must be 1..={NOTIFY_URL_MAX} characters"));
    }
    if !value.bytes().all(|b| b.is_ascii_graphic()) {
        return reject("must be printable ASCII without spaces");
    }
    let Some(rest) = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"))
    else {
        return reject("must start with http:// or https://");
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() {
        return reject("must name a host");
    }
    if authority.contains('@') {
        return reject("must not carry credentials");
    }
    Ok(())
}

/// `len` lowercase hex digits exactly.
pub fn is_lower_hex(value: &str, len: usize) -> bool {
    value.len() == len
        && value
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Canonical unsigned decimal digits (`0` or no leading zero) that fit `max`.
pub fn parse_canonical_u64(value: &str, max: u64) -> Option<u64> {
    let digits_only = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
    if !digits_only || (value.len() > 1 && value.starts_with('0')) {
        return None;
    }
    value.parse::<u64>().ok().filter(|v| *v <= max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_text_rules() {
        assert!(check_signed_text("username", "张三", 64).is_ok());
        assert!(check_signed_text("username", "a b", 64).is_ok());
        for bad in ["", " a", "a ", "a|b", "a\nb", "a\u{7f}", "\u{3000}a"] {
            assert!(check_signed_text("username", bad, 64).is_err(), "{bad:?}");
        }
        assert!(check_signed_text("username", &"字".repeat(64), 64).is_ok());
        assert!(check_signed_text("username", &"字".repeat(65), 64).is_err());
    }

    #[test]
    fn notify_url_rules() {
        assert!(check_notify_url("https://shop.example/usdt_notify?x=1").is_ok());
        for bad in [
            "",
            "ftp://x",
            "https://",
            "https:///path",
            "https://user:pw@host/",
            "https://host/a b",
            "HTTPS://host",
        ] {
            assert!(check_notify_url(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn canonical_digits() {
        assert_eq!(parse_canonical_u64("0", u64::MAX), Some(0));
        assert_eq!(parse_canonical_u64("30000", u64::MAX), Some(30000));
        assert_eq!(parse_canonical_u64("030000", u64::MAX), None);
        assert_eq!(parse_canonical_u64("18446744073709551616", u64::MAX), None);
        assert_eq!(parse_canonical_u64("11", 10), None);
        assert_eq!(parse_canonical_u64("+1", 10), None);
    }
}
