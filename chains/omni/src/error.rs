//! [`OmniRpcError`]: everything [`crate::OmniRpc`] can fail with.

/// Why an [`crate::OmniRpc`] call failed. Endpoint names in errors are redacted (no
/// credentials, no path or query).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OmniRpcError {
    /// The configuration cannot work (no URL, a bad URL, credentials given twice).
    #[error("invalid Omni Core RPC configuration: {0}")]
    Config(String),

    /// The caller passed something unusable (`from > to`, an empty watched address).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// Every endpoint failed at the transport level: connection refused or reset,
    /// timeout, HTTP 401/403 (credentials refused), an overloaded node (HTTP 5xx without a
    /// JSON-RPC answer, `-28` still warming up) that outlasted the retries. Nothing was
    /// learned; retry later.
    #[error("all endpoints failed for {method}: {failures}")]
    Unavailable {
        /// The JSON-RPC method.
        method: String,
        /// Each endpoint's last failure, `; `-separated.
        failures: String,
    },

    /// An endpoint answered with a JSON-RPC error (e.g. `-8 Block height out of range`,
    /// `-5 No information available about transaction`).
    #[error("JSON-RPC error {code} from {endpoint} for {method}: {message}")]
    JsonRpc {
        /// The endpoint that answered (redacted).
        endpoint: String,
        /// The JSON-RPC method.
        method: String,
        /// The JSON-RPC error code.
        code: i64,
        /// The error message.
        message: String,
    },

    /// An answer that is not what the method returns: not JSON-RPC, a wrong id, a
    /// transaction without the fields a confirmed one has, an amount that is not a plain
    /// decimal with at most 8 fraction digits. Every endpoint was tried; this is the first
    /// malformed answer.
    #[error("malformed response from {endpoint} for {method}: {detail}")]
    Malformed {
        /// The endpoint that sent it (redacted).
        endpoint: String,
        /// The JSON-RPC method.
        method: String,
        /// What was wrong.
        detail: String,
    },

    /// The answers of one [`crate::OmniRpc::transfers`] call disagree with each other: a
    /// transaction listed in a block reports another block (or none), or a height's hash
    /// changed while it was read. The chain moved; retry the call.
    #[error("inconsistent results (the chain moved): {0}")]
    Inconsistent(String),
}
