//! The protocol's constants and small rules (WIT interface `protocol`, since 2.1.0):
//! the callback window, the retry limit, the chains' names and USDT decimals, the
//! `notify_url` rule and the token-decimals bound.

use crate::amounts::MAX_TOKEN_DECIMALS;
use crate::{Chain, ErrorCode, MAX_ORDER_AMOUNT, Rejection, SCALE};

/// Seconds a callback's `t` may differ from the receiver's clock.
pub const CALLBACK_WINDOW: u32 = 300;

/// Most retries of a callback after its first attempt.
pub const MAX_RETRIES: u32 = 8;

/// The protocol's fixed numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProtocolFacts {
    /// Seconds a callback's `t` may differ from the receiver's clock.
    pub callback_window: u32,
    /// Most retries of a callback after its first attempt.
    pub max_retries: u32,
    /// Scaled units per USDT.
    pub scale: u64,
    /// The largest order amount in scaled units.
    pub max_order_amount: u64,
    /// Most decimals a token may have for the amount conversions.
    pub max_token_decimals: u8,
}

/// The protocol's fixed numbers.
pub const FACTS: ProtocolFacts = ProtocolFacts {
    callback_window: CALLBACK_WINDOW,
    max_retries: MAX_RETRIES,
    scale: SCALE,
    max_order_amount: MAX_ORDER_AMOUNT,
    max_token_decimals: MAX_TOKEN_DECIMALS,
};

/// USDT's decimals on `chain`: 6 on TRON and Ethereum, 8 on Omni.
pub const fn usdt_decimals(chain: Chain) -> u8 {
    match chain {
        Chain::Trc20 | Chain::Erc20 => 6,
        Chain::Omni => 8,
    }
}

/// The chain of a wire name (exact, upper case), or `UNSUPPORTED_CHAIN`.
pub fn parse_chain(name: &str) -> Result<Chain, Rejection> {
    Chain::from_wire(name).ok_or_else(|| {
        Rejection::field(
            ErrorCode::UnsupportedChain,
            "chain",
            "chain must be TRC20, ERC20 or OMNI",
        )
    })
}

/// The protocol's `notify_url` rule (the one `parse-order` applies).
pub fn validate_notify_url(url: &str) -> Result<(), Rejection> {
    crate::fields::check_notify_url(url)
}

/// A token's decimals must be at most [`MAX_TOKEN_DECIMALS`], or `INVALID_FIELD`.
pub fn validate_token_decimals(decimals: u8) -> Result<(), Rejection> {
    if decimals <= MAX_TOKEN_DECIMALS {
        Ok(())
    } else {
        Err(Rejection::field(
            ErrorCode::InvalidField,
            "decimals",
            format!("token decimals must be at most {MAX_TOKEN_DECIMALS}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_round_trip() {
        for chain in Chain::ALL {
            assert_eq!(parse_chain(chain.as_str()), Ok(chain));
        }
        for bad in ["trc20", "TRC-20", "", "BTC", " OMNI"] {
            assert_eq!(
                parse_chain(bad).map_err(|r| r.code),
                Err(ErrorCode::UnsupportedChain)
            );
        }
        assert_eq!(usdt_decimals(Chain::Omni), 8);
    }

    #[test]
    fn decimals_bound() {
        assert!(validate_token_decimals(0).is_ok());
        assert!(validate_token_decimals(18).is_ok());
        assert!(validate_token_decimals(19).is_err());
    }
}
