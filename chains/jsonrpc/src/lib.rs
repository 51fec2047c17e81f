//! `usdt-jsonrpc`: one JSON-RPC call over several HTTP endpoints, for the chain clients
//! (`usdt-evm-rpc`: JSON-RPC 2.0 to EVM nodes, providers and TRON's `/jsonrpc`;
//! `usdt-omni-rpc`: Bitcoin Core's JSON-RPC 1.0 dialect to Omni Core). What is the same
//! for every node lives here, written once:
//!
//! - **the endpoints** ([`Provider`]): a URL (redacted wherever it is shown), headers whose
//!   values are secrets (an API key, HTTP basic auth), a timeout, a request-rate limit;
//! - **the failover policy**: endpoints in order of preference; one that fails a call
//!   (after its retries) is skipped by its circuit breaker for a cool-down, or for the
//!   suspension it announced if longer, then tried again; calls return to the preferred
//!   endpoint as soon as it answers; when every breaker is open, all are tried in order;
//! - **retries**: a rate limit or an overload (HTTP 429, and what the dialect says) is
//!   retried on the same endpoint with exponential backoff and jitter ([`Backoff`]),
//!   honouring `Retry-After` up to the backoff's ceiling;
//! - **reading answers**: a capped body; transport errors reported without the URL.
//!
//! What differs between nodes is a [`Dialect`]: the request's `jsonrpc` member and content
//! type, the largest answer, and how an answer is judged (its result, a JSON-RPC error
//! passed on, a retry, a failover).

mod endpoint;
mod http;
mod retry;
mod transport;

pub use endpoint::{BreakerConfig, Provider, redact_url};
pub use retry::Backoff;
pub use transport::{Answer, CallError, Dialect, Transport, Verdict};
