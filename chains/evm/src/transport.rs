//! One JSON-RPC call over several endpoints: retries with backoff on rate limits and
//! server errors, failover in order on everything else an endpoint gets wrong.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use reqwest::header::{CONTENT_TYPE, HeaderMap, RETRY_AFTER};
use reqwest::{StatusCode, Url};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;

use crate::RpcError;
use crate::classify::{Class, classify};

/// One configured endpoint: the URL (with any credentials), its redacted label, and how
/// many calls it failed (an error answer, or given up on and failed over from).
#[derive(Debug)]
pub(crate) struct Endpoint {
    url: Url,
    label: String,
    errors: AtomicU64,
}

impl Endpoint {
    pub(crate) fn parse(index: usize, text: &str) -> Result<Self, RpcError> {
        let url = Url::parse(text)
            .map_err(|e| RpcError::Config(format!("URL #{index} ({}): {e}", redact_url(text))))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(RpcError::Config(format!(
                "URL #{index} ({}) is not an http(s) URL with a host",
                redact_url(text)
            )));
        }
        Ok(Self {
            label: format!("#{index} {}", redact_url(text)),
            url,
            errors: AtomicU64::new(0),
        })
    }

    pub(crate) fn label(&self) -> &str {
        &self.label
    }

    /// Calls this endpoint failed.
    pub(crate) fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    /// A failure of this endpoint, reported as `why`.
    fn failed(&self, why: &str) -> String {
        self.count_error();
        format!("{}: {why}", self.label)
    }

    /// One more call this endpoint failed.
    fn count_error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }
}

/// `scheme://host[:port]`, with `***@` when the URL carried credentials and `/…` when it
/// had a path or query (API keys live there: Infura `/v3/<key>`, Alchemy `/v2/<key>`).
pub fn redact_url(text: &str) -> String {
    let Ok(url) = Url::parse(text) else {
        return "<unparseable URL>".to_owned();
    };
    let mut out = format!("{}://", url.scheme());
    if !url.username().is_empty() || url.password().is_some() {
        out.push_str("***@");
    }
    if let Some(host) = url.host_str() {
        out.push_str(host);
    }
    if let Some(port) = url.port() {
        out.push_str(&format!(":{port}"));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        out.push_str("/…");
    }
    out
}

/// Retry and backoff settings.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Backoff {
    pub(crate) max_retries: u32,
    pub(crate) initial: Duration,
    pub(crate) max: Duration,
}

impl Backoff {
    /// Exponential backoff with jitter: uniform in `[d/2, d]`, `d = min(max, initial·2^attempt)`.
    fn delay(&self, attempt: u32) -> Duration {
        let full = self
            .initial
            .saturating_mul(1u32 << attempt.min(20))
            .min(self.max);
        let half = full / 2;
        let spread = u64::try_from((full - half).as_nanos()).unwrap_or(u64::MAX);
        half + Duration::from_nanos(fastrand::u64(0..=spread))
    }
}

/// Why a call did not return a result, before it becomes a public [`RpcError`].
#[derive(Debug)]
pub(crate) enum CallFailure {
    /// `eth_getLogs`: fewer blocks, please.
    RangeTooLarge {
        code: i64,
        message: String,
        hint: Option<u64>,
    },
    /// `eth_getLogs`: fewer addresses, please.
    TooManyAddresses { code: i64, message: String },
    /// Anything else, final.
    Error(RpcError),
}

impl From<RpcError> for CallFailure {
    fn from(e: RpcError) -> Self {
        Self::Error(e)
    }
}

/// What one request to one endpoint came to.
enum Attempt<T> {
    Done(T),
    /// The endpoint answered with a JSON-RPC error we pass on.
    Final(CallFailure),
    /// Rate limited or a server error: back off and retry this endpoint.
    Retry {
        why: String,
        retry_after: Option<Duration>,
    },
    /// This endpoint cannot serve us now: try the next one.
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
    jsonrpc: Option<&'a str>,
    id: Option<u64>,
    #[serde(default, borrow, deserialize_with = "present")]
    result: Option<&'a RawValue>,
    #[serde(default)]
    error: Option<ErrorObject>,
}

/// Keeps `"result": null` apart from a missing `result`: the raw text is `null`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
struct ErrorObject {
    code: i64,
    #[serde(default)]
    message: String,
    #[serde(default)]
    data: Option<Box<RawValue>>,
}

/// The HTTP side of [`crate::EvmRpc`].
#[derive(Debug)]
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
    ) -> Result<Self, RpcError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|e| RpcError::Config(format!("HTTP client: {}", e.without_url())))?;
        Ok(Self {
            client,
            endpoints,
            active: AtomicUsize::new(0),
            next_id: AtomicU64::new(1),
            backoff,
        })
    }

    pub(crate) fn endpoints(&self) -> impl Iterator<Item = &str> {
        self.endpoints.iter().map(Endpoint::label)
    }

    /// Each endpoint's redacted label and error count.
    pub(crate) fn endpoint_errors(&self) -> Vec<(String, u64)> {
        self.endpoints
            .iter()
            .map(|e| (e.label.clone(), e.errors()))
            .collect()
    }

    /// Call `method`. `decode` turns the raw `result` JSON into `T`; when it fails the
    /// endpoint is treated as faulty (failover). `logs_query` enables the range and
    /// address classes of JSON-RPC errors.
    pub(crate) async fn call<P, T>(
        &self,
        method: &str,
        params: &P,
        logs_query: bool,
        decode: impl Fn(&str) -> Result<T, String>,
    ) -> Result<T, CallFailure>
    where
        P: Serialize,
    {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let body = serde_json::to_vec(&Request {
            jsonrpc: "2.0",
            id,
            method,
            params,
        })
        .map_err(|e| {
            RpcError::InvalidArgument(format!("cannot serialise {method} request: {e}"))
        })?;

        let count = self.endpoints.len();
        let start = self.active.load(Ordering::Relaxed);
        let mut failures: Vec<String> = Vec::new();
        let mut malformed: Option<(String, String)> = None;
        let mut longest_retry_after: Option<Duration> = None;
        for step in 0..count {
            let index = (start + step) % count;
            let Some(endpoint) = self.endpoints.get(index) else {
                continue;
            };
            let mut retries = 0u32;
            loop {
                match self
                    .attempt(endpoint, &body, id, method, logs_query, &decode)
                    .await
                {
                    Attempt::Done(value) => {
                        if index != start {
                            self.active.store(index, Ordering::Relaxed);
                        }
                        return Ok(value);
                    }
                    Attempt::Final(failure) => {
                        if matches!(failure, CallFailure::Error(_)) {
                            endpoint.count_error();
                        }
                        return Err(failure);
                    }
                    Attempt::Failover {
                        why,
                        malformed: bad,
                    } => {
                        tracing::warn!(
                            endpoint = endpoint.label(),
                            method,
                            "{why}; trying the next endpoint"
                        );
                        if bad && malformed.is_none() {
                            malformed = Some((endpoint.label().to_owned(), why.clone()));
                        }
                        failures.push(endpoint.failed(&why));
                        break;
                    }
                    Attempt::Retry { why, retry_after } => {
                        if let Some(after) = retry_after {
                            longest_retry_after =
                                Some(longest_retry_after.map_or(after, |l| l.max(after)));
                        }
                        let wait = match retry_after {
                            Some(after) if after > self.backoff.max => None,
                            Some(after) => Some(after + self.backoff.delay(0) / 4),
                            None => Some(self.backoff.delay(retries)),
                        };
                        match wait {
                            Some(wait) if retries < self.backoff.max_retries => {
                                tracing::debug!(
                                    endpoint = endpoint.label(),
                                    method,
                                    retry = retries + 1,
                                    wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                                    "{why}; backing off"
                                );
                                tokio::time::sleep(wait).await;
                                retries += 1;
                            }
                            _ => {
                                tracing::warn!(
                                    endpoint = endpoint.label(),
                                    method,
                                    retries,
                                    "{why}; trying the next endpoint"
                                );
                                failures.push(
                                    endpoint.failed(&format!("{why} (after {retries} retries)")),
                                );
                                break;
                            }
                        }
                    }
                }
            }
        }
        if let Some((endpoint, detail)) = malformed {
            return Err(RpcError::Malformed {
                endpoint,
                method: method.to_owned(),
                detail,
            }
            .into());
        }
        Err(RpcError::Unavailable {
            method: method.to_owned(),
            failures: failures.join("; "),
            retry_after: longest_retry_after,
        }
        .into())
    }

    async fn attempt<T>(
        &self,
        endpoint: &Endpoint,
        body: &[u8],
        id: u64,
        method: &str,
        logs_query: bool,
        decode: &impl Fn(&str) -> Result<T, String>,
    ) -> Attempt<T> {
        let response = match self
            .client
            .post(endpoint.url.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_vec())
            .send()
            .await
        {
            Ok(response) => response,
            Err(e) => {
                return Attempt::Failover {
                    why: transport_error(&e),
                    malformed: false,
                };
            }
        };
        let status = response.status();
        let retry_after = retry_after(response.headers());
        let bytes = match read_body(response).await {
            Ok(bytes) => bytes,
            Err(BodyError::Transport(e)) => {
                return Attempt::Failover {
                    why: transport_error(&e),
                    malformed: false,
                };
            }
            Err(BodyError::TooLarge) if logs_query => {
                return Attempt::Final(CallFailure::RangeTooLarge {
                    code: 0,
                    message: format!("response over {MAX_RESPONSE_BYTES} bytes"),
                    hint: None,
                });
            }
            Err(BodyError::TooLarge) => {
                return Attempt::Failover {
                    why: format!("response over {MAX_RESPONSE_BYTES} bytes"),
                    malformed: true,
                };
            }
        };
        if status == StatusCode::TOO_MANY_REQUESTS {
            return Attempt::Retry {
                why: "HTTP 429 Too Many Requests".to_owned(),
                retry_after,
            };
        }
        let envelope = match parse_envelope(&bytes, id) {
            Ok(envelope) => envelope,
            Err(detail) if status.is_server_error() => {
                return Attempt::Retry {
                    why: format!("HTTP {status} ({detail})"),
                    retry_after,
                };
            }
            Err(detail) if !status.is_success() => {
                return Attempt::Failover {
                    why: format!("HTTP {status} ({detail})"),
                    malformed: false,
                };
            }
            Err(detail) => {
                return Attempt::Failover {
                    why: detail,
                    malformed: true,
                };
            }
        };
        match envelope {
            Parsed::Error {
                code,
                message,
                data,
            } => {
                let text = match &data {
                    Some(data) => format!("{message} {data}"),
                    None => message.clone(),
                };
                match classify(code, &text, logs_query) {
                    Class::RateLimited => Attempt::Retry {
                        why: format!("rate limited (JSON-RPC {code}: {message})"),
                        retry_after,
                    },
                    Class::RangeTooLarge { hint } => Attempt::Final(CallFailure::RangeTooLarge {
                        code,
                        message: text,
                        hint,
                    }),
                    Class::TooManyAddresses => Attempt::Final(CallFailure::TooManyAddresses {
                        code,
                        message: text,
                    }),
                    Class::Other if status.is_server_error() => Attempt::Retry {
                        why: format!("HTTP {status} (JSON-RPC {code}: {message})"),
                        retry_after,
                    },
                    // An endpoint that refuses us over HTTP (401 bad key, 403, 404…):
                    // another may not.
                    Class::Other if !status.is_success() => Attempt::Failover {
                        why: format!("HTTP {status} (JSON-RPC {code}: {message})"),
                        malformed: false,
                    },
                    Class::Other => Attempt::Final(CallFailure::Error(RpcError::JsonRpc {
                        endpoint: endpoint.label().to_owned(),
                        method: method.to_owned(),
                        code,
                        message,
                        data,
                    })),
                }
            }
            Parsed::Result(_) if status.is_server_error() => Attempt::Retry {
                why: format!("HTTP {status}"),
                retry_after,
            },
            Parsed::Result(_) if !status.is_success() => Attempt::Failover {
                why: format!("HTTP {status}"),
                malformed: false,
            },
            Parsed::Result(raw) => match decode(raw) {
                Ok(value) => Attempt::Done(value),
                Err(detail) => Attempt::Failover {
                    why: detail,
                    malformed: true,
                },
            },
        }
    }
}

/// The largest response body read (a hostile or broken endpoint must not exhaust
/// memory). An `eth_getLogs` answer this large is treated as "range too large".
const MAX_RESPONSE_BYTES: usize = 256 << 20;

enum BodyError {
    Transport(reqwest::Error),
    TooLarge,
}

async fn read_body(mut response: reqwest::Response) -> Result<Vec<u8>, BodyError> {
    let announced = response.content_length().unwrap_or(0);
    if announced > MAX_RESPONSE_BYTES as u64 {
        return Err(BodyError::TooLarge);
    }
    let mut body = Vec::with_capacity(usize::try_from(announced).unwrap_or(0));
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
        if body.len().saturating_add(chunk.len()) > MAX_RESPONSE_BYTES {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

enum Parsed<'a> {
    Result(&'a str),
    Error {
        code: i64,
        message: String,
        data: Option<String>,
    },
}

fn parse_envelope(bytes: &[u8], id: u64) -> Result<Parsed<'_>, String> {
    let envelope: Envelope<'_> = serde_json::from_slice(bytes).map_err(|e| {
        let head = String::from_utf8_lossy(bytes.get(..bytes.len().min(120)).unwrap_or_default());
        format!("not a JSON-RPC response ({e}): {head:?}")
    })?;
    if envelope.jsonrpc != Some("2.0") {
        return Err(format!("jsonrpc is {:?}, not \"2.0\"", envelope.jsonrpc));
    }
    if let Some(error) = envelope.error {
        // Errors about the request itself may carry id null.
        return Ok(Parsed::Error {
            code: error.code,
            message: error.message,
            data: error.data.map(|d| d.get().to_owned()),
        });
    }
    if envelope.id != Some(id) {
        return Err(format!(
            "response id {:?} does not match request id {id}",
            envelope.id
        ));
    }
    envelope
        .result
        .map(|raw| Parsed::Result(raw.get()))
        .ok_or_else(|| "response has neither result nor error".to_owned())
}

fn transport_error(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "transport error"
    };
    // The URL (which may hold an API key) is left out; the endpoint label names it.
    let mut text = format!("{kind}: {}", ErrorChain(e));
    if text.len() > 300 {
        text.truncate(text.floor_char_boundary(300));
    }
    text
}

/// An error and its sources, without the URL reqwest puts in its own message.
struct ErrorChain<'a>(&'a reqwest::Error);

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut source = std::error::Error::source(self.0);
        let mut first = true;
        while let Some(e) = source {
            if !first {
                f.write_str(": ")?;
            }
            write!(f, "{e}")?;
            first = false;
            source = e.source();
        }
        if first {
            f.write_str("request failed")?;
        }
        Ok(())
    }
}

/// `Retry-After`: delay-seconds or an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn redaction() {
        assert_eq!(redact_url("http://127.0.0.1:8545"), "http://127.0.0.1:8545");
        assert_eq!(
            redact_url("http://127.0.0.1:8545/"),
            "http://127.0.0.1:8545"
        );
        assert_eq!(
            redact_url("https://mainnet.infura.io/v3/0123456789abcdef"),
            "https://mainnet.infura.io/…"
        );
        assert_eq!(
            redact_url("https://user:secret@node.example:8443/"),
            "https://***@node.example:8443"
        );
        assert_eq!(
            redact_url("https://node.example/?apikey=secret"),
            "https://node.example/…"
        );
        assert_eq!(redact_url("not a url secret"), "<unparseable URL>");
    }

    #[test]
    fn retry_after_forms() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));
        let later = SystemTime::now() + Duration::from_secs(120);
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_str(&httpdate::fmt_http_date(later)).unwrap(),
        );
        let got = retry_after(&headers).unwrap();
        assert!(
            got > Duration::from_secs(100) && got <= Duration::from_secs(120),
            "{got:?}"
        );
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&headers), Some(Duration::ZERO));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn backoff_grows_with_jitter() {
        let b = Backoff {
            max_retries: 5,
            initial: Duration::from_millis(100),
            max: Duration::from_secs(1),
        };
        for _ in 0..100 {
            let d0 = b.delay(0);
            assert!(d0 >= Duration::from_millis(50) && d0 <= Duration::from_millis(100));
            let d3 = b.delay(3);
            assert!(d3 >= Duration::from_millis(400) && d3 <= Duration::from_millis(800));
            let d30 = b.delay(30);
            assert!(d30 >= Duration::from_millis(500) && d30 <= Duration::from_secs(1));
        }
    }

    #[test]
    fn envelopes() {
        let ok = br#"{"jsonrpc":"2.0","id":7,"result":"0x10"}"#;
        assert!(matches!(
            parse_envelope(ok, 7),
            Ok(Parsed::Result("\"0x10\""))
        ));
        let null = br#"{"jsonrpc":"2.0","id":7,"result":null}"#;
        assert!(matches!(
            parse_envelope(null, 7),
            Ok(Parsed::Result("null"))
        ));
        let missing = br#"{"jsonrpc":"2.0","id":7}"#;
        assert!(parse_envelope(missing, 7).is_err());
        let wrong_id = br#"{"jsonrpc":"2.0","id":8,"result":"0x10"}"#;
        assert!(parse_envelope(wrong_id, 7).is_err());
        let no_version = br#"{"id":7,"result":"0x10"}"#;
        assert!(parse_envelope(no_version, 7).is_err());
        let html = b"<html>502 Bad Gateway</html>";
        assert!(parse_envelope(html, 7).is_err());
        let batch = br#"[{"jsonrpc":"2.0","id":7,"result":"0x10"}]"#;
        assert!(parse_envelope(batch, 7).is_err());
        let error = br#"{"jsonrpc":"2.0","id":null,"error":{"code":-32005,"message":"limit exceeded","data":{"x":1}}}"#;
        match parse_envelope(error, 7) {
            Ok(Parsed::Error {
                code,
                message,
                data,
            }) => {
                assert_eq!(code, -32005);
                assert_eq!(message, "limit exceeded");
                assert_eq!(data.as_deref(), Some(r#"{"x":1}"#));
            }
            _ => panic!("expected an error"),
        }
    }
}
