//! Rejections and their stable codes, and the chain enum shared by every module.

use core::fmt;

/// The stable error codes of the protocol component; each is one HTTP API code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// `INVALID_JSON`: not a JSON object, or a known field repeated.
    InvalidJson,
    /// `MISSING_FIELD`: a required field is absent or `null`.
    MissingField,
    /// `INVALID_FIELD`: wrong JSON type, length or characters.
    InvalidField,
    /// `INVALID_AMOUNT`: not a plain integer in range, or malformed amount text.
    InvalidAmount,
    /// `INVALID_ADDRESS`: not a valid address (for the chain).
    InvalidAddress,
    /// `UNSUPPORTED_CHAIN`: `chain` is not `TRC20`, `ERC20` or `OMNI`.
    UnsupportedChain,
    /// `CHAIN_MISMATCH`: `chain` disagrees with the address.
    ChainMismatch,
    /// `INVALID_NOTIFY_URL`: `notify_url` is not a plain absolute http(s) URL.
    InvalidNotifyUrl,
    /// `INVALID_SIGN`: `sign` is not 32 lowercase hex digits.
    InvalidSign,
    /// `SIGN_MISMATCH`: the signature does not match.
    SignMismatch,
    /// `TIMESTAMP_OUT_OF_WINDOW`: a callback's `t` is outside the replay window.
    TimestampOutOfWindow,
    /// `INVALID_POLICY`: an inconsistent confirmation policy.
    InvalidPolicy,
    /// `UNKNOWN_APPID`: the `appid` is not a known merchant.
    UnknownAppid,
}

impl ErrorCode {
    /// The stable wire code, e.g. `SIGN_MISMATCH`.
    pub const fn as_str(self) -> &'static str {
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

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One precise reason an input was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// The stable code.
    pub code: ErrorCode,
    /// The offending field's wire name, when there is one.
    pub field: Option<&'static str>,
    /// A human-readable explanation (not part of the stable contract).
    pub message: String,
}

impl Rejection {
    /// A rejection of `field` with `code`.
    pub fn field(code: ErrorCode, field: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            field: Some(field),
            message: message.into(),
        }
    }

    /// A rejection that concerns no single field.
    pub fn general(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            field: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.field {
            Some(field) => write!(f, "{} ({field}): {}", self.code, self.message),
            None => write!(f, "{}: {}", self.code, self.message),
        }
    }
}

impl std::error::Error for Rejection {}

/// The chains (token standards) a deposit can arrive on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Chain {
    /// USDT on TRON (base58check `T…` addresses, 6 decimals).
    Trc20,
    /// USDT on Ethereum (`0x` addresses, 6 decimals).
    Erc20,
    /// USDT on Omni Layer (Bitcoin `1…`/`3…` addresses, 8 decimals).
    Omni,
}

impl Chain {
    /// Every chain.
    pub const ALL: [Chain; 3] = [Self::Trc20, Self::Erc20, Self::Omni];

    /// The wire name: `TRC20`, `ERC20` or `OMNI`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Trc20 => "TRC20",
            Self::Erc20 => "ERC20",
            Self::Omni => "OMNI",
        }
    }

    /// The chain for a wire name (exact, upper case).
    pub fn from_wire(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

impl fmt::Display for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
