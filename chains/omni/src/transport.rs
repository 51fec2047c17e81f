//! Bitcoin Core's JSON-RPC dialect (which Omni Core keeps) for the shared transport
//! (`usdt-jsonrpc`, which owns the endpoints, retries, backoff and failover), with HTTP
//! basic auth.
//!
//! The dialect, from Bitcoin Core's `src/httprpc.cpp` and `src/rpc/request.cpp` (Omni Core
//! 0.11 is Bitcoin Core 0.20.1): a `POST` of `{"jsonrpc":"1.0","id","method","params"}`;
//! the answer is `{"result","error","id"}` with no `jsonrpc` member; a JSON-RPC error comes
//! with HTTP 500 (404 for an unknown method, 400 for an invalid request); missing or wrong
//! credentials get HTTP 401 with an empty body; a user an `rpcwhitelist` does not allow
//! gets 403; a full work queue gets HTTP 500 with the plain text `Work queue depth
//! exceeded` (`src/httpserver.cpp`).

use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::value::RawValue;
use usdt_jsonrpc::{Answer, CallError, Dialect, Provider, Verdict, redact_url};

use crate::{Credentials, OmniRpcError};

/// Bitcoin Core's `RPC_IN_WARMUP` (`src/rpc/protocol.h`): the node is still loading; the
/// same call succeeds later.
const RPC_IN_WARMUP: i64 = -28;

/// A call in Bitcoin Core's dialect.
pub(crate) struct BitcoinCore;

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(default, borrow)]
    result: Option<&'a RawValue>,
    #[serde(default)]
    error: Option<ErrorObject>,
    #[serde(default)]
    id: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct ErrorObject {
    code: i64,
    #[serde(default)]
    message: String,
}

impl Dialect for BitcoinCore {
    type Final = OmniRpcError;
    const VERSION: &'static str = "1.0";
    // Bitcoin Core's own client (bitcoin-cli) and its documented curl examples send this
    // type; the server reads the body whatever it is.
    const CONTENT_TYPE: &'static str = "text/plain";
    // Omni answers are small: a block's Omni transaction ids, one transaction.
    const MAX_RESPONSE_BYTES: usize = 32 << 20;

    fn judge<'a>(&self, answer: &Answer<'a>) -> Verdict<'a, OmniRpcError> {
        let status = answer.status;
        if let Some(refusal) = refusal(answer) {
            return refusal;
        }
        let envelope = match envelope(answer) {
            Ok(envelope) => envelope,
            Err(verdict) => return verdict,
        };
        if let Some(error) = envelope.error {
            if error.code == RPC_IN_WARMUP {
                return Verdict::Retry(format!(
                    "node warming up ({}: {})",
                    error.code, error.message
                ));
            }
            return Verdict::Final {
                failure: OmniRpcError::JsonRpc {
                    endpoint: answer.endpoint.to_owned(),
                    method: answer.method.to_owned(),
                    code: error.code,
                    message: error.message,
                },
                endpoint_error: true,
            };
        }
        if !status.is_success() {
            return Verdict::Failover {
                why: format!("HTTP {status} without a JSON-RPC error"),
                malformed: false,
            };
        }
        if envelope.id != Some(serde_json::Value::from(answer.id)) {
            return Verdict::Failover {
                why: format!(
                    "answer id {:?} is not the request's {}",
                    envelope.id, answer.id
                ),
                malformed: true,
            };
        }
        match envelope.result {
            Some(raw) => Verdict::Result(raw.get()),
            None => Verdict::Failover {
                why: "answer has neither result nor error".into(),
                malformed: true,
            },
        }
    }
}

/// HTTP 401 and 403: the node refuses this RPC user (another node may not).
fn refusal<'a>(answer: &Answer<'_>) -> Option<Verdict<'a, OmniRpcError>> {
    let why = match answer.status {
        StatusCode::UNAUTHORIZED => {
            "HTTP 401: the node refused the RPC credentials (rpcuser/rpcpassword)".to_owned()
        }
        StatusCode::FORBIDDEN => format!(
            "HTTP 403: this RPC user may not call {} (rpcwhitelist)",
            answer.method
        ),
        _ => return None,
    };
    Some(Verdict::Failover {
        why,
        malformed: false,
    })
}

/// The answer's envelope, or what an answer that is not JSON-RPC comes to: an overloaded
/// node's (HTTP 5xx) is retried, another fails over.
fn envelope<'a>(answer: &Answer<'a>) -> Result<Envelope<'a>, Verdict<'a, OmniRpcError>> {
    let status = answer.status;
    serde_json::from_slice(answer.body).map_err(|e| {
        let bytes = answer.body;
        let head = String::from_utf8_lossy(bytes.get(..bytes.len().min(120)).unwrap_or_default())
            .into_owned();
        if status.is_server_error() {
            // "Work queue depth exceeded", a proxy's 502/503 page…
            Verdict::Retry(format!("HTTP {status} ({head:?})"))
        } else {
            Verdict::Failover {
                why: format!("HTTP {status}, not a JSON-RPC answer ({e}): {head:?}"),
                malformed: status.is_success(),
            }
        }
    })
}

impl From<CallError<OmniRpcError>> for OmniRpcError {
    fn from(e: CallError<OmniRpcError>) -> Self {
        match e {
            CallError::Final(error) => error,
            CallError::Request { method, error } => {
                Self::InvalidArgument(format!("{method} request: {error}"))
            }
            CallError::Malformed {
                endpoint,
                method,
                detail,
            } => Self::Malformed {
                endpoint,
                method,
                detail,
            },
            CallError::Unavailable {
                method, failures, ..
            } => Self::Unavailable { method, failures },
        }
    }
}

/// The endpoint at `url` (`#index` in errors) with `credentials` as HTTP basic auth, or
/// with those in the URL's user info (reqwest sends them as basic auth itself), never
/// both.
pub(crate) fn provider(
    index: usize,
    url: &str,
    credentials: Option<&Credentials>,
) -> Result<Provider, OmniRpcError> {
    let provider = Provider::new(url);
    let Some(credentials) = credentials else {
        return Ok(provider);
    };
    let in_url = reqwest::Url::parse(url)
        .is_ok_and(|url| !url.username().is_empty() || url.password().is_some());
    if in_url {
        return Err(OmniRpcError::Config(format!(
            "URL #{index} ({}) carries credentials and separate ones are configured: use one",
            redact_url(url)
        )));
    }
    Ok(provider.with_basic_auth(&credentials.user, &credentials.password))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_the_url_or_apart_never_both() {
        let both = provider(
            0,
            "http://u:p@127.0.0.1:8332",
            Some(&Credentials::new("u", "p")),
        );
        assert!(matches!(both, Err(OmniRpcError::Config(_))));
        let apart = provider(
            1,
            "http://127.0.0.1:8332/",
            Some(&Credentials::new("u", "p")),
        )
        .unwrap();
        assert_eq!(apart.headers.len(), 1, "basic auth");
        let url_only = provider(2, "http://user:hunter2@127.0.0.1:8332/", None).unwrap();
        assert!(url_only.headers.is_empty());
    }

    #[test]
    fn endpoints_are_named_without_their_credentials() {
        let config = |url: &str| crate::OmniRpcConfig::new(vec![url.to_owned()], None);
        let rpc = crate::OmniRpc::new(config("http://user:hunter2@127.0.0.1:8332/")).unwrap();
        assert_eq!(rpc.endpoint_errors()[0].0, "#0 http://***@127.0.0.1:8332");
        let bad = crate::OmniRpc::new(config("ftp://user:hunter2@node"))
            .unwrap_err()
            .to_string();
        assert!(!bad.contains("hunter2"), "{bad}");
        assert!(crate::OmniRpc::new(config("not a url")).is_err());
    }
}
