//! Omni Core's amounts: divisible properties (USDT, property 31, is one) are written as
//! `"<whole>.<8 digits>"` (`FormatDivisibleMP`: `strprintf("%d.%08d", …)`,
//! `src/omnicore/omnicore.cpp`). They are read here exactly into integer base units
//! (1e-8), never through a float.

/// Base units per whole token of a divisible Omni property (`COIN`).
const UNITS: u64 = 100_000_000;

/// `text` as integer base units (8 decimals). Accepts a plain non-negative decimal:
/// digits, optionally a dot and 1 to 8 digits (`"12.50000000"`, `"12.5"`, `"12"`). Refuses
/// signs, exponents, spaces, empty parts (`".5"`, `"5."`), more than 8 fraction digits
/// and values over `u64::MAX` base units.
pub fn parse_amount(text: &str) -> Result<u64, String> {
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (text, None),
    };
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("amount {text:?} is not a plain decimal"));
    }
    let mut units: u64 = 0;
    for b in whole.bytes() {
        units = units
            .checked_mul(10)
            .and_then(|u| u.checked_add(u64::from(b - b'0')))
            .ok_or_else(|| format!("amount {text:?} is too large"))?;
    }
    units = units
        .checked_mul(UNITS)
        .ok_or_else(|| format!("amount {text:?} is too large"))?;
    if let Some(fraction) = fraction {
        if fraction.is_empty() || !fraction.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("amount {text:?} is not a plain decimal"));
        }
        if fraction.len() > 8 {
            return Err(format!("amount {text:?} has more than 8 fraction digits"));
        }
        let mut part: u64 = 0;
        for b in fraction.bytes() {
            part = part * 10 + u64::from(b - b'0');
        }
        for _ in fraction.len()..8 {
            part *= 10;
        }
        units = units
            .checked_add(part)
            .ok_or_else(|| format!("amount {text:?} is too large"))?;
    }
    Ok(units)
}

#[cfg(test)]
mod tests {
    use super::parse_amount;

    #[test]
    fn documented_form_and_plain_decimals() {
        assert_eq!(parse_amount("12.50000000"), Ok(1_250_000_000));
        assert_eq!(parse_amount("0.00000001"), Ok(1));
        assert_eq!(parse_amount("0.00000000"), Ok(0));
        assert_eq!(parse_amount("12.5"), Ok(1_250_000_000));
        assert_eq!(parse_amount("7"), Ok(700_000_000));
        assert_eq!(parse_amount("00012.00000010"), Ok(1_200_000_010));
        // The largest amount Omni can hold (int64 max base units) fits.
        assert_eq!(
            parse_amount("92233720368.54775807"),
            Ok(9_223_372_036_854_775_807)
        );
        assert_eq!(
            parse_amount("184467440737.09551615"),
            Ok(u64::MAX),
            "u64::MAX itself"
        );
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            "",
            ".",
            ".5",
            "5.",
            "-1.00000000",
            "+1.00000000",
            "1.000000001",
            "1e8",
            "1,5",
            " 1.5",
            "1.5 ",
            "0x10",
            "1.2.3",
            "１.5",
            "ErrorAmount",
            "184467440737.09551616",
            "99999999999999999999",
        ] {
            assert!(parse_amount(bad).is_err(), "{bad:?} accepted");
        }
    }
}
