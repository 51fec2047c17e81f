//! `types`: what every interface shares, the chains and the rejections' stable codes.

use crate::{Chain, ErrorCode};

impl ErrorCode {
    /// The stable wire code, e.g. `SIGN_MISMATCH`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidJson => "INVALID_JSON",
            Self::MissingField => "MISSING_FIELD",
            Self::InvalidField => "INVALID_FIELD",
            Self::InvalidAmount => "INVALID_AMOUNT",
            Self::InvalidAddress => "INVALID_ADDRESS",
            Self::UnsupportedChain => "UNSUPPORTED_CHAIN",
            Self::ChainMismatch => "CHAIN_MISMATCH",
            Self::InvalidNotifyUrl => "INVALID_NOTIFY_URL",
            Self::InvalidSign => "INVALID_SIGN",
            Self::SignMismatch => "SIGN_MISMATCH",
            Self::TimestampOutOfWindow => "TIMESTAMP_OUT_OF_WINDOW",
            Self::InvalidPolicy => "INVALID_POLICY",
            Self::UnknownAppid => "UNKNOWN_APPID",
        }
    }
}

impl Chain {
    /// The wire name: `TRC20`, `ERC20` or `OMNI`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Trc20 => "TRC20",
            Self::Erc20 => "ERC20",
            Self::Omni => "OMNI",
        }
    }
}
