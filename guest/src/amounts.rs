//! Amounts: decimal USDT text, scaled units (1 USDT = 10000) and on-chain units.
//! Integer arithmetic only; nothing here touches floating point.

use ethnum::U256;

use crate::{ErrorCode, MAX_STORED_AMOUNT, Rejection, SCALE};

/// Fractional digits of a scaled amount.
const SCALE_DIGITS: usize = 4;

/// Most decimals a token may have here, so the dust always fits a `u64`.
pub const MAX_TOKEN_DECIMALS: u8 = 18;

/// An on-chain value split into what is credited and what is not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainAmount {
    /// Whole scaled units, rounded down.
    pub scaled: u64,
    /// The remainder below 1/10000 USDT, in the token's base units.
    pub dust: u64,
}

fn invalid(message: impl Into<String>) -> Rejection {
    Rejection::general(ErrorCode::InvalidAmount, message)
}

/// Parse decimal USDT text (`"100"`, `"100.5"`, `"0.0001"`) into scaled units: digits
/// without a leading zero, optionally `.` and 1..=4 digits; no rounding. The result is at
/// most 2^63-1.
pub fn parse_usdt(text: &str) -> Result<u64, Rejection> {
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (text, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || (whole.len() > 1 && whole.starts_with('0')) {
        return Err(invalid(
            "amount must be decimal digits without a leading zero, e.g. 100 or 100.5",
        ));
    }
    let fraction = fraction.unwrap_or("0");
    if !digits(fraction) || fraction.len() > SCALE_DIGITS {
        return Err(invalid(
            "amount takes 1 to 4 digits after the decimal point",
        ));
    }
    let too_large = || invalid("amount is too large");
    let whole: u64 = whole.parse().map_err(|_| too_large())?;
    let mut frac: u64 = fraction.parse().map_err(|_| too_large())?;
    for _ in fraction.len()..SCALE_DIGITS {
        frac *= 10;
    }
    whole
        .checked_mul(SCALE)
        .and_then(|w| w.checked_add(frac))
        .filter(|v| *v <= MAX_STORED_AMOUNT)
        .ok_or_else(too_large)
}

/// Format scaled units as USDT text with exactly 4 fractional digits.
pub fn format_usdt(amount: u64) -> String {
    format!("{}.{:04}", amount / SCALE, amount % SCALE)
}

/// Convert an on-chain value (decimal text, or `0x` and 1..=64 hex digits; at most
/// 2^256-1) of a token with `decimals` into scaled units plus dust, rounding down.
pub fn from_chain_units(value: &str, decimals: u8) -> Result<ChainAmount, Rejection> {
    if decimals > MAX_TOKEN_DECIMALS {
        return Err(invalid(format!(
            "token decimals must be at most {MAX_TOKEN_DECIMALS}"
        )));
    }
    let raw = parse_u256(value)?;
    let (scaled, dust) = if usize::from(decimals) >= SCALE_DIGITS {
        let divisor = U256::from(10u8).pow(u32::from(decimals) - SCALE_DIGITS as u32);
        (raw / divisor, raw % divisor)
    } else {
        let factor = U256::from(10u8).pow(SCALE_DIGITS as u32 - u32::from(decimals));
        let scaled = raw
            .checked_mul(factor)
            .ok_or_else(|| invalid("value is too large"))?;
        (scaled, U256::ZERO)
    };
    if scaled > U256::from(MAX_STORED_AMOUNT) {
        return Err(invalid(
            "value exceeds the largest storable amount (2^63-1 units)",
        ));
    }
    Ok(ChainAmount {
        scaled: scaled.as_u64(),
        // dust < 10^(18-4), always fits.
        dust: dust.as_u64(),
    })
}

/// Scaled units to a token's base units (`amount × 10^(decimals-4)`), exact: the
/// reverse of [`from_chain_units`]. With fewer than 4 decimals, `amount` must be a whole
/// number of base units. The result (below 2^64 × 10^14) fits a `u128`.
pub fn to_chain_units(amount: u64, decimals: u8) -> Result<u128, Rejection> {
    if decimals > MAX_TOKEN_DECIMALS {
        return Err(invalid(format!(
            "token decimals must be at most {MAX_TOKEN_DECIMALS}"
        )));
    }
    let amount = u128::from(amount);
    if usize::from(decimals) >= SCALE_DIGITS {
        let factor = 10u128.pow(u32::from(decimals) - SCALE_DIGITS as u32);
        amount
            .checked_mul(factor)
            .ok_or_else(|| invalid("value is too large"))
    } else {
        let divisor = 10u128.pow(SCALE_DIGITS as u32 - u32::from(decimals));
        if amount % divisor == 0 {
            Ok(amount / divisor)
        } else {
            Err(invalid(format!(
                "amount is not a whole number of base units of a token with {decimals} decimals"
            )))
        }
    }
}

/// A 256-bit unsigned integer from decimal text or `0x` hex.
fn parse_u256(value: &str) -> Result<U256, Rejection> {
    if let Some(hex) = value.strip_prefix("0x") {
        if hex.is_empty() || hex.len() > 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid("hex value must be 0x and 1..=64 hex digits"));
        }
        U256::from_str_radix(hex, 16).map_err(|_| invalid("malformed hex value"))
    } else {
        if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("value must be decimal digits or 0x hex"));
        }
        U256::from_str_radix(value, 10).map_err(|_| invalid("value exceeds 2^256-1"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parse_examples() {
        assert_eq!(parse_usdt("100"), Ok(1_000_000));
        assert_eq!(parse_usdt("100.5"), Ok(1_005_000));
        assert_eq!(parse_usdt("0.0001"), Ok(1));
        assert_eq!(parse_usdt("922337203685477.5807"), Ok(MAX_STORED_AMOUNT));
        for bad in [
            "",
            "1.00001",
            "-1",
            "1e6",
            "1.",
            ".5",
            "01",
            " 1",
            "922337203685477.5808",
        ] {
            assert!(parse_usdt(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn chain_units_examples() {
        assert_eq!(
            from_chain_units("100500001", 6),
            Ok(ChainAmount {
                scaled: 1_005_000,
                dust: 1
            })
        );
        assert_eq!(
            from_chain_units("0x0f4240", 6),
            Ok(ChainAmount {
                scaled: 10_000,
                dust: 0
            })
        );
        assert_eq!(
            from_chain_units("7", 2),
            Ok(ChainAmount {
                scaled: 700,
                dust: 0
            })
        );
        let max = "0x".to_string() + &"f".repeat(64);
        assert!(from_chain_units(&max, 6).is_err());
        assert!(from_chain_units(&max, 0).is_err());
        assert!(from_chain_units("1", 19).is_err());
    }

    #[test]
    fn to_chain_units_examples() {
        assert_eq!(to_chain_units(1_005_000, 6), Ok(100_500_000));
        assert_eq!(to_chain_units(1, 8), Ok(10_000));
        assert_eq!(to_chain_units(700, 2), Ok(7));
        assert_eq!(to_chain_units(5, 4), Ok(5));
        assert!(to_chain_units(701, 2).is_err());
        assert!(to_chain_units(1, 19).is_err());
        assert_eq!(
            to_chain_units(u64::MAX, 18),
            Ok(u128::from(u64::MAX) * 10u128.pow(14))
        );
    }

    proptest! {
        #[test]
        fn format_then_parse_round_trips(amount in 0..=MAX_STORED_AMOUNT) {
            prop_assert_eq!(parse_usdt(&format_usdt(amount)), Ok(amount));
        }

        #[test]
        fn parse_never_panics(text in "\\PC{0,30}") {
            let _ = parse_usdt(&text);
        }

        #[test]
        fn chain_units_split_exactly(raw in 0..=MAX_STORED_AMOUNT, decimals in 4u8..=18) {
            let got = from_chain_units(&raw.to_string(), decimals).unwrap();
            let divisor = 10u128.pow(u32::from(decimals) - 4);
            prop_assert_eq!(u128::from(got.scaled) * divisor + u128::from(got.dust), u128::from(raw));
            prop_assert!(u128::from(got.dust) < divisor);
        }

        #[test]
        fn to_then_from_chain_units_round_trips(amount in 0..=MAX_STORED_AMOUNT, decimals in 4u8..=18) {
            let units = to_chain_units(amount, decimals).unwrap();
            let back = from_chain_units(&units.to_string(), decimals).unwrap();
            prop_assert_eq!(back, ChainAmount { scaled: amount, dust: 0 });
        }
    }
}
