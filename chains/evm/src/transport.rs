//! One JSON-RPC call over several endpoints: retries with backoff on rate limits and
//! server errors, failover in order on everything else an endpoint gets wrong.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use reqwest::{StatusCode, Url};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;

use crate::classify::{Class, classify};
use crate::{Provider, RpcError};

/// One configured endpoint: the URL (with any credentials), its redacted label, its own
/// headers (values hidden from `Debug`), timeout and request-rate limit, its circuit
/// breaker, and how many calls it failed (an error answer, or given up on and failed
/// over from).
pub(crate) struct Endpoint {
    url: Url,
    label: String,
    headers: HeaderMap,
    timeout: Duration,
    limiter: Option<DefaultDirectRateLimiter>,
    errors: AtomicU64,
    breaker: Breaker,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("label", &self.label)
            .field(
                "headers",
                &self.headers.keys().map(|k| k.as_str()).collect::<Vec<_>>(),
            )
            .field("timeout", &self.timeout)
            .field("rate_limited", &self.limiter.is_some())
            .field("errors", &self.errors())
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    pub(crate) fn parse(
        index: usize,
        provider: &Provider,
        default_timeout: Duration,
        breaker: BreakerConfig,
    ) -> Result<Self, RpcError> {
        let text = provider.url.as_str();
        let url = Url::parse(text)
            .map_err(|e| RpcError::Config(format!("URL #{index} ({}): {e}", redact_url(text))))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(RpcError::Config(format!(
                "URL #{index} ({}) is not an http(s) URL with a host",
                redact_url(text)
            )));
        }
        let mut headers = HeaderMap::new();
        for (name, value) in &provider.headers {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                RpcError::Config(format!("URL #{index}: {name:?} is not an HTTP header name"))
            })?;
            // The value is a secret (an API key): named in no error, hidden from Debug.
            let mut value = HeaderValue::from_str(value).map_err(|_| {
                RpcError::Config(format!(
                    "URL #{index}: the value of header {name} is not a valid HTTP header value"
                ))
            })?;
            value.set_sensitive(true);
            headers.insert(name, value);
        }
        let timeout = provider.timeout.unwrap_or(default_timeout);
        if timeout.is_zero() {
            return Err(RpcError::Config(format!("URL #{index}: timeout is zero")));
        }
        Ok(Self {
            label: format!("#{index} {}", redact_url(text)),
            url,
            headers,
            timeout,
            // Evenly spaced, no burst: at most `rate_limit` requests in any one second.
            limiter: provider.rate_limit.map(|per_second| {
                RateLimiter::direct(Quota::per_second(per_second).allow_burst(NonZeroU32::MIN))
            }),
            errors: AtomicU64::new(0),
            breaker: Breaker::new(breaker),
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

/// When a provider that keeps failing is skipped: after `threshold` calls in a row that
/// it failed (each after its own retries), for `cooldown`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BreakerConfig {
    /// Failed calls in a row that open the breaker (at least 1).
    pub(crate) threshold: u32,
    /// How long an open breaker skips the provider before it is tried again.
    pub(crate) cooldown: Duration,
}

/// One endpoint's circuit breaker: closed (used), open (skipped until a time), and after
/// that time half-open (tried again: a success closes it, a failure opens it again).
#[derive(Debug)]
struct Breaker {
    config: BreakerConfig,
    state: Mutex<BreakerState>,
}

#[derive(Debug, Default)]
struct BreakerState {
    /// Failed calls in a row.
    failures: u32,
    /// Skipped until then.
    open_until: Option<Instant>,
}

impl Breaker {
    fn new(config: BreakerConfig) -> Self {
        Self {
            config,
            state: Mutex::new(BreakerState::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BreakerState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the endpoint is skipped now.
    fn is_open(&self, now: Instant) -> bool {
        self.lock().open_until.is_some_and(|until| now < until)
    }

    /// A call it answered: closed again.
    fn success(&self) -> bool {
        let mut state = self.lock();
        let was_open = state.open_until.is_some();
        *state = BreakerState::default();
        was_open
    }

    /// A call it failed; `hint` is a suspension the provider announced (TronGrid's
    /// "suspended for 30s"). Returns the cool-down when this opened the breaker.
    fn failure(&self, now: Instant, hint: Option<Duration>) -> Option<Duration> {
        let mut state = self.lock();
        state.failures = state.failures.saturating_add(1);
        if state.failures < self.config.threshold.max(1) && hint.is_none() {
            return None;
        }
        let cooldown = hint.map_or(self.config.cooldown, |h| h.max(self.config.cooldown));
        state.open_until = Some(now + cooldown);
        Some(cooldown)
    }
}

/// A suspension announced in a provider's error text: TronGrid answers a key over its
/// rate with `The key exceeds the frequency limit(15), and the query server is suspended
/// for 30s` (developers.tron.network/reference/rate-limits).
fn suspension(text: &str) -> Option<Duration> {
    let lower = text.to_ascii_lowercase();
    let at = lower.find("suspended for ")?;
    let rest = lower.get(at + "suspended for ".len()..)?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let unit = rest.get(digits.len()..)?;
    let n: u64 = digits.parse().ok()?;
    if unit.starts_with('s') {
        Some(Duration::from_secs(n))
    } else if unit.starts_with("min") || unit.starts_with('m') {
        Some(Duration::from_secs(n.saturating_mul(60)))
    } else {
        None
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

/// Retries of one endpoint after a rate limit or overload, with exponential backoff and
/// jitter (shared with the Omni Core client).
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    /// Retries of one endpoint before the next one.
    pub max_retries: u32,
    /// The first delay's ceiling.
    pub initial: Duration,
    /// The largest delay.
    pub max: Duration,
}

impl Backoff {
    /// Exponential backoff with jitter: uniform in `[d/2, d]`, `d = min(max, initial·2^attempt)`.
    pub fn delay(&self, attempt: u32) -> Duration {
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
        /// A suspension the endpoint announced (TronGrid's "suspended for 30s").
        suspended: Option<Duration>,
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
            .connect_timeout(timeout)
            .build()
            .map_err(|e| RpcError::Config(format!("HTTP client: {}", e.without_url())))?;
        Ok(Self {
            client,
            endpoints,
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

        // The preferred (first) endpoint whose breaker is closed, then the next ones; when
        // every breaker is open, all of them in order (there is nothing else to try).
        let now = Instant::now();
        let mut order: Vec<&Endpoint> = self
            .endpoints
            .iter()
            .filter(|e| !e.breaker.is_open(now))
            .collect();
        if order.is_empty() {
            order = self.endpoints.iter().collect();
        }
        let mut failures: Vec<String> = Vec::new();
        let mut malformed: Option<(String, String)> = None;
        let mut longest_retry_after: Option<Duration> = None;
        for endpoint in order {
            let mut retries = 0u32;
            loop {
                if let Some(limiter) = &endpoint.limiter {
                    limiter.until_ready().await;
                }
                match self
                    .attempt(endpoint, &body, id, method, logs_query, &decode)
                    .await
                {
                    Attempt::Done(value) => {
                        self.answered(endpoint);
                        return Ok(value);
                    }
                    Attempt::Final(failure) => {
                        // The endpoint answered: it is up, whatever it said.
                        self.answered(endpoint);
                        if matches!(failure, CallFailure::Error(_)) {
                            endpoint.count_error();
                        }
                        return Err(failure);
                    }
                    Attempt::Failover {
                        why,
                        malformed: bad,
                        suspended,
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
                        self.gave_up(endpoint, suspended);
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
                                self.gave_up(endpoint, suspension(&why).or(retry_after));
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

    /// `endpoint` answered: its breaker closes.
    fn answered(&self, endpoint: &Endpoint) {
        if endpoint.breaker.success() {
            tracing::info!(
                endpoint = endpoint.label(),
                "provider answers again; its circuit breaker is closed"
            );
        }
    }

    /// A call `endpoint` failed (after its retries); `suspended` is a pause it asked for.
    fn gave_up(&self, endpoint: &Endpoint, suspended: Option<Duration>) {
        if let Some(cooldown) = endpoint.breaker.failure(Instant::now(), suspended) {
            tracing::warn!(
                endpoint = endpoint.label(),
                cooldown_ms = u64::try_from(cooldown.as_millis()).unwrap_or(u64::MAX),
                "provider keeps failing; its circuit breaker is open: skipped until the cool-down ends"
            );
        }
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
            .timeout(endpoint.timeout)
            .headers(endpoint.headers.clone())
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
                    suspended: None,
                };
            }
        };
        let status = response.status();
        let retry_after = retry_after(response.headers());
        let bytes = match read_body(response, MAX_RESPONSE_BYTES).await {
            Ok(bytes) => bytes,
            Err(BodyError::Transport(e)) => {
                return Attempt::Failover {
                    why: transport_error(&e),
                    malformed: false,
                    suspended: None,
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
                    suspended: None,
                };
            }
        };
        if status == StatusCode::TOO_MANY_REQUESTS {
            return Attempt::Retry {
                why: format!("HTTP 429 Too Many Requests{}", body_note(&bytes)),
                retry_after,
            };
        }
        // TronGrid suspends a key over its rate for 30 s with HTTP 403 and a JSON body that
        // is not JSON-RPC (developers.tron.network/reference/rate-limits): retrying within
        // the suspension is useless, so fail over and let the breaker skip it meanwhile.
        if !status.is_success() && !status.is_server_error() {
            let text = String::from_utf8_lossy(&bytes);
            if let Some(pause) = suspension(&text) {
                return Attempt::Failover {
                    why: format!("HTTP {status}{}", body_note(&bytes)),
                    malformed: false,
                    suspended: Some(pause),
                };
            }
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
                    suspended: None,
                };
            }
            Err(detail) => {
                return Attempt::Failover {
                    why: detail,
                    malformed: true,
                    suspended: None,
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
                        suspended: None,
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
                suspended: None,
            },
            Parsed::Result(raw) => match decode(raw) {
                Ok(value) => Attempt::Done(value),
                Err(detail) => Attempt::Failover {
                    why: detail,
                    malformed: true,
                    suspended: None,
                },
            },
        }
    }
}

/// The largest response body read (a hostile or broken endpoint must not exhaust
/// memory). An `eth_getLogs` answer this large is treated as "range too large".
const MAX_RESPONSE_BYTES: usize = 256 << 20;

/// Why [`read_body`] has no body.
#[derive(Debug)]
pub enum BodyError {
    /// The connection failed while the body was read.
    Transport(reqwest::Error),
    /// The body is over the limit (announced or counted).
    TooLarge,
}

/// The response's body, at most `limit` bytes.
pub async fn read_body(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, BodyError> {
    let announced = response.content_length().unwrap_or(0);
    if announced > limit as u64 {
        return Err(BodyError::TooLarge);
    }
    let mut body = Vec::with_capacity(usize::try_from(announced).unwrap_or(0));
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
        if body.len().saturating_add(chunk.len()) > limit {
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

/// `: <the body's start>` for an HTTP error answer that may explain itself (TronGrid's
/// `{"Error": "The key exceeds the frequency limit(15), …"}`), or nothing.
fn body_note(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    if text.is_empty() {
        return String::new();
    }
    let mut head: String = text.chars().take(160).collect();
    if head.len() < text.len() {
        head.push('…');
    }
    format!(": {head}")
}

/// Why a request got no answer (timed out, cannot connect, …) with its causes, at most
/// 300 bytes, without the URL reqwest puts in its own message (it may hold an API key or
/// credentials; the endpoint's label names it).
pub fn transport_error(e: &reqwest::Error) -> String {
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
    fn announced_suspensions() {
        assert_eq!(
            suspension(
                r#"{"Error":"The key exceeds the frequency limit(15), and the query server is suspended for 30s"}"#
            ),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            suspension("suspended for 2min"),
            Some(Duration::from_secs(120))
        );
        assert_eq!(suspension("suspended for a while"), None);
        assert_eq!(suspension("HTTP 403 Forbidden"), None);
    }

    #[test]
    fn a_breaker_opens_after_its_threshold_and_closes_on_an_answer() {
        let breaker = Breaker::new(BreakerConfig {
            threshold: 2,
            cooldown: Duration::from_secs(10),
        });
        let t0 = Instant::now();
        assert!(!breaker.is_open(t0));
        assert_eq!(breaker.failure(t0, None), None);
        assert!(!breaker.is_open(t0));
        assert_eq!(breaker.failure(t0, None), Some(Duration::from_secs(10)));
        assert!(breaker.is_open(t0 + Duration::from_secs(9)));
        assert!(!breaker.is_open(t0 + Duration::from_secs(10)), "half-open");
        assert!(breaker.success(), "it was open");
        assert!(!breaker.success());
        // An announced suspension opens it at once, for the longer of the two.
        assert_eq!(
            breaker.failure(t0, Some(Duration::from_secs(30))),
            Some(Duration::from_secs(30))
        );
        assert!(breaker.is_open(t0 + Duration::from_secs(29)));
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
