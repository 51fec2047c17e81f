//! [`RpcError`]: everything [`crate::EvmRpc`] can fail with.

use std::time::Duration;

/// Why an [`crate::EvmRpc`] call failed. Endpoint names in errors are redacted (no
/// credentials, no API keys).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RpcError {
    /// The configuration cannot work (no URL, a bad URL or token address, zero limits).
    #[error("invalid EVM RPC configuration: {0}")]
    Config(String),

    /// The caller passed something unusable (a malformed address, `from > to`).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// Every endpoint failed at the transport level: connection refused or reset, timeout,
    /// HTTP errors, rate limiting or server errors that outlasted the retries. Nothing was
    /// learned; retry later.
    #[error("all endpoints failed for {method}: {failures}")]
    Unavailable {
        /// The JSON-RPC method.
        method: String,
        /// Each endpoint's last failure, `; `-separated.
        failures: String,
        /// The longest `Retry-After` an endpoint asked for, if any.
        retry_after: Option<Duration>,
    },

    /// An endpoint answered with a JSON-RPC error that a retry with other parameters would
    /// not fix (e.g. `-32602 invalid params`, `-32000 header not found`).
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
        /// The error's `data`, as JSON text.
        data: Option<String>,
    },

    /// A response that is not what the method returns: not JSON-RPC, a wrong id, a log
    /// with missing or malformed fields, a number over 64 bits. Every endpoint was tried;
    /// this is the first malformed answer.
    #[error("malformed response from {endpoint} for {method}: {detail}")]
    Malformed {
        /// The endpoint that sent it (redacted).
        endpoint: String,
        /// The JSON-RPC method.
        method: String,
        /// What was wrong.
        detail: String,
    },

    /// `eth_getLogs` was refused as too large even for a single block.
    #[error("eth_getLogs refused even for the single block {block} (JSON-RPC {code}: {message})")]
    RangeTooLarge {
        /// The block.
        block: u64,
        /// The last JSON-RPC error code.
        code: i64,
        /// The last JSON-RPC error message (with its data).
        message: String,
    },

    /// The answers of one [`crate::EvmRpc::transfers`] call disagree with each other: the
    /// same block with two hashes (the chain reorganised between two of its queries) or
    /// the same log twice. Retry the call.
    #[error("inconsistent results: {0}")]
    Inconsistent(String),
}
