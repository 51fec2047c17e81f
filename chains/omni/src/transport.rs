//! One call in Bitcoin Core's JSON-RPC dialect (which Omni Core keeps) over several
//! endpoints, with HTTP basic auth: backoff on an overloaded or starting node, failover in
//! order on everything else an endpoint gets wrong.
//!
//! The dialect, from Bitcoin Core's `src/httprpc.cpp` and `src/rpc/request.cpp` (Omni Core
//! 0.11 is Bitcoin Core 0.20.1): a `POST` of `{"jsonrpc":"1.0","id","method","params"}`;
//! the answer is `{"result","error","id"}` with no `jsonrpc` member; a JSON-RPC error comes
//! with HTTP 500 (404 for an unknown method, 400 for an invalid request); missing or wrong
//! credentials get HTTP 401 with an empty body; a user an `rpcwhitelist` does not allow
//! gets 403; a full work queue gets HTTP 500 with the plain text `Work queue depth
//! exceeded` (`src/httpserver.cpp`).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use reqwest::{StatusCode, Url};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use usdt_evm_rpc::{Backoff, BodyError, read_body, redact_url, transport_error};

use crate::{Credentials, OmniRpcError};

/// Bitcoin Core's `RPC_IN_WARMUP` (`src/rpc/protocol.h`): the node is still loading; the
/// same call succeeds later.
const RPC_IN_WARMUP: i64 = -28;

/// The largest answer read (a broken or hostile endpoint must not exhaust memory). Omni
/// answers are small: a block's Omni transaction ids, one transaction.
const MAX_RESPONSE_BYTES: usize = 32 << 20;

/// One configured endpoint: its URL, its redacted label, its credentials and how many
/// calls it failed.
pub(crate) struct Endpoint {
    url: Url,
    label: String,
    credentials: Option<Credentials>,
    errors: AtomicU64,
}

impl Endpoint {
    /// Credentials come from `credentials` or from the URL's user info (reqwest sends
    /// those as basic auth itself), never both.
    pub(crate) fn parse(
        index: usize,
        text: &str,
        credentials: Option<Credentials>,
    ) -> Result<Self, OmniRpcError> {
        let label = format!("#{index} {}", redact_url(text));
        let url =
            Url::parse(text).map_err(|e| OmniRpcError::Config(format!("URL {label}: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(OmniRpcError::Config(format!(
                "URL {label} is not an http(s) URL with a host"
            )));
        }
        let in_url = !url.username().is_empty() || url.password().is_some();
        if in_url && credentials.is_some() {
            return Err(OmniRpcError::Config(format!(
                "URL {label} carries credentials and separate ones are configured: use one"
            )));
        }
        Ok(Self {
            url,
            label,
            credentials,
            errors: AtomicU64::new(0),
        })
    }

    fn failed(&self, why: &str) -> String {
        self.errors.fetch_add(1, Ordering::Relaxed);
        format!("{}: {why}", self.label)
    }
}

/// What one request to one endpoint came to.
enum Attempt<T> {
    Done(T),
    /// A JSON-RPC error: the answer to this call.
    Final(OmniRpcError),
    /// Overloaded or starting: back off and ask this endpoint again.
    Retry(String),
    /// This endpoint cannot serve us now (`malformed`: it answered nonsense).
    Failover {
        why: String,
        malformed: bool,
    },
}

#[derive(Serialize)]
struct Request<'a, P: Serialize> {
    jsonrpc: &'static str,
    id: u64,
    method: &'a str,
    params: &'a P,
}

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

/// The HTTP side of [`crate::OmniRpc`].
pub(crate) struct Transport {
    client: reqwest::Client,
    endpoints: Vec<Endpoint>,
    /// The endpoint that answered last: calls start there.
    active: AtomicUsize,
    next_id: AtomicU64,
    pub(crate) backoff: Backoff,
}

impl Transport {
    pub(crate) fn new(
        endpoints: Vec<Endpoint>,
        timeout: Duration,
        backoff: Backoff,
    ) -> Result<Self, OmniRpcError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|e| OmniRpcError::Config(format!("HTTP client: {}", e.without_url())))?;
        Ok(Self {
            client,
            endpoints,
            active: AtomicUsize::new(0),
            next_id: AtomicU64::new(1),
            backoff,
        })
    }

    /// The endpoints' redacted labels.
    pub(crate) fn labels(&self) -> Vec<&str> {
        self.endpoints.iter().map(|e| e.label.as_str()).collect()
    }

    /// Each endpoint's redacted label and the calls it failed.
    pub(crate) fn endpoint_errors(&self) -> Vec<(String, u64)> {
        self.endpoints
            .iter()
            .map(|e| (e.label.clone(), e.errors.load(Ordering::Relaxed)))
            .collect()
    }

    /// Call `method`; `decode` turns the raw `result` into `T` (when it cannot, the
    /// endpoint is treated as faulty and the next one asked).
    pub(crate) async fn call<P: Serialize, T>(
        &self,
        method: &str,
        params: &P,
        decode: impl Fn(&str) -> Result<T, String>,
    ) -> Result<T, OmniRpcError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let body = serde_json::to_vec(&Request {
            jsonrpc: "1.0",
            id,
            method,
            params,
        })
        .map_err(|e| OmniRpcError::InvalidArgument(format!("{method} request: {e}")))?;
        let count = self.endpoints.len();
        let start = self.active.load(Ordering::Relaxed);
        let mut failures = Vec::new();
        let mut malformed: Option<(String, String)> = None;
        for step in 0..count {
            let index = (start + step) % count;
            let Some(endpoint) = self.endpoints.get(index) else {
                continue;
            };
            let mut retries = 0u32;
            loop {
                match self.attempt(endpoint, &body, id, method, &decode).await {
                    Attempt::Done(value) => {
                        self.active.store(index, Ordering::Relaxed);
                        return Ok(value);
                    }
                    Attempt::Final(error) => {
                        endpoint.errors.fetch_add(1, Ordering::Relaxed);
                        return Err(error);
                    }
                    Attempt::Retry(why) if retries < self.backoff.max_retries => {
                        let wait = self.backoff.delay(retries);
                        tracing::debug!(
                            endpoint = endpoint.label,
                            method,
                            retry = retries + 1,
                            wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                            "{why}; backing off"
                        );
                        tokio::time::sleep(wait).await;
                        retries += 1;
                    }
                    Attempt::Retry(why) => {
                        let why = format!("{why} (after {retries} retries)");
                        tracing::warn!(
                            endpoint = endpoint.label,
                            method,
                            "{why}; trying the next endpoint"
                        );
                        failures.push(endpoint.failed(&why));
                        break;
                    }
                    Attempt::Failover {
                        why,
                        malformed: bad,
                    } => {
                        tracing::warn!(
                            endpoint = endpoint.label,
                            method,
                            "{why}; trying the next endpoint"
                        );
                        if bad && malformed.is_none() {
                            malformed = Some((endpoint.label.clone(), why.clone()));
                        }
                        failures.push(endpoint.failed(&why));
                        break;
                    }
                }
            }
        }
        if let Some((endpoint, detail)) = malformed {
            return Err(OmniRpcError::Malformed {
                endpoint,
                method: method.to_owned(),
                detail,
            });
        }
        Err(OmniRpcError::Unavailable {
            method: method.to_owned(),
            failures: failures.join("; "),
        })
    }

    async fn attempt<T>(
        &self,
        endpoint: &Endpoint,
        body: &[u8],
        id: u64,
        method: &str,
        decode: &impl Fn(&str) -> Result<T, String>,
    ) -> Attempt<T> {
        let mut request = self
            .client
            .post(endpoint.url.clone())
            // Bitcoin Core's own client (bitcoin-cli) and its documented curl examples send
            // this type; the server reads the body whatever it is.
            .header(reqwest::header::CONTENT_TYPE, "text/plain")
            .body(body.to_vec());
        if let Some(c) = &endpoint.credentials {
            request = request.basic_auth(&c.user, Some(&c.password));
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => return transport_failure(&e),
        };
        let status = response.status();
        let bytes = match read_body(response, MAX_RESPONSE_BYTES).await {
            Ok(bytes) => bytes,
            Err(BodyError::Transport(e)) => return transport_failure(&e),
            Err(BodyError::TooLarge) => {
                return Attempt::Failover {
                    why: format!("answer over {MAX_RESPONSE_BYTES} bytes"),
                    malformed: true,
                };
            }
        };
        match status {
            StatusCode::UNAUTHORIZED => {
                return Attempt::Failover {
                    why: "HTTP 401: the node refused the RPC credentials (rpcuser/rpcpassword)"
                        .into(),
                    malformed: false,
                };
            }
            StatusCode::FORBIDDEN => {
                return Attempt::Failover {
                    why: format!("HTTP 403: this RPC user may not call {method} (rpcwhitelist)"),
                    malformed: false,
                };
            }
            StatusCode::TOO_MANY_REQUESTS => {
                return Attempt::Retry("HTTP 429 Too Many Requests".into());
            }
            _ => {}
        }
        let envelope: Envelope<'_> = match serde_json::from_slice(&bytes) {
            Ok(envelope) => envelope,
            Err(e) => {
                let head =
                    String::from_utf8_lossy(bytes.get(..bytes.len().min(120)).unwrap_or_default())
                        .into_owned();
                return if status.is_server_error() {
                    // "Work queue depth exceeded", a proxy's 502/503 page…
                    Attempt::Retry(format!("HTTP {status} ({head:?})"))
                } else {
                    Attempt::Failover {
                        why: format!("HTTP {status}, not a JSON-RPC answer ({e}): {head:?}"),
                        malformed: status.is_success(),
                    }
                };
            }
        };
        if let Some(error) = envelope.error {
            if error.code == RPC_IN_WARMUP {
                return Attempt::Retry(format!(
                    "node warming up ({}: {})",
                    error.code, error.message
                ));
            }
            return Attempt::Final(OmniRpcError::JsonRpc {
                endpoint: endpoint.label.clone(),
                method: method.to_owned(),
                code: error.code,
                message: error.message,
            });
        }
        if !status.is_success() {
            return Attempt::Failover {
                why: format!("HTTP {status} without a JSON-RPC error"),
                malformed: false,
            };
        }
        if envelope.id != Some(serde_json::Value::from(id)) {
            return Attempt::Failover {
                why: format!("answer id {:?} is not the request's {id}", envelope.id),
                malformed: true,
            };
        }
        let Some(raw) = envelope.result else {
            return Attempt::Failover {
                why: "answer has neither result nor error".into(),
                malformed: true,
            };
        };
        match decode(raw.get()) {
            Ok(value) => Attempt::Done(value),
            Err(why) => Attempt::Failover {
                why,
                malformed: true,
            },
        }
    }
}

/// A request that got no answer: the next endpoint. The message leaves the URL out (it
/// may hold credentials); the endpoint's label names it.
fn transport_failure<T>(e: &reqwest::Error) -> Attempt<T> {
    Attempt::Failover {
        why: transport_error(e),
        malformed: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_the_url_or_apart_never_both() {
        let both = Endpoint::parse(
            0,
            "http://u:p@127.0.0.1:8332",
            Some(Credentials::new("u", "p")),
        );
        assert!(matches!(both, Err(OmniRpcError::Config(_))));
        let url_only = Endpoint::parse(1, "http://user:hunter2@127.0.0.1:8332/", None).unwrap();
        assert_eq!(url_only.label, "#1 http://***@127.0.0.1:8332");
        let bad = Endpoint::parse(2, "ftp://user:hunter2@node", None)
            .err()
            .unwrap()
            .to_string();
        assert!(!bad.contains("hunter2"), "{bad}");
        assert!(Endpoint::parse(3, "not a url", None).is_err());
    }
}
