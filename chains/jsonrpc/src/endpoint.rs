//! The endpoints: what a client configures ([`Provider`]) and what the transport keeps of
//! each (its parsed URL, redacted label, headers, timeout, rate limiter, circuit breaker and
//! error count).

use std::fmt;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::Url;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};

/// One JSON-RPC endpoint: where it is, what to send it, how fast and how long to wait.
#[derive(Clone)]
pub struct Provider {
    /// The endpoint (`http`/`https`). Credentials and API keys in it are never logged or
    /// shown by `Debug`.
    pub url: String,
    /// Headers sent with every request, e.g. `("TRON-PRO-API-KEY", key)`. The values are
    /// secrets: never logged, never shown by `Debug` (only the names are).
    pub headers: Vec<(String, String)>,
    /// Most requests per second to this provider (a token bucket with a burst of this
    /// many); `None`: no limit. Calls wait for a token.
    pub rate_limit: Option<NonZeroU32>,
    /// Timeout of one HTTP request to it; `None`: the client's request timeout.
    pub timeout: Option<Duration>,
}

impl Provider {
    /// `url` with no headers, no rate limit and the client's timeout.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            headers: Vec::new(),
            rate_limit: None,
            timeout: None,
        }
    }

    /// The same, with HTTP basic auth (an `Authorization` header, a secret like the others).
    #[must_use]
    pub fn with_basic_auth(mut self, user: &str, password: &str) -> Self {
        let token = STANDARD.encode(format!("{user}:{password}"));
        self.headers
            .push((AUTHORIZATION.as_str().to_owned(), format!("Basic {token}")));
        self
    }
}

impl fmt::Debug for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Provider")
            .field("url", &redact_url(&self.url))
            .field(
                "headers",
                &self
                    .headers
                    .iter()
                    .map(|(name, _)| format!("{name}: [redacted]"))
                    .collect::<Vec<_>>(),
            )
            .field("rate_limit", &self.rate_limit)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// One configured endpoint: the URL (with any credentials), its redacted label, its own
/// headers (values hidden from `Debug`), timeout and request-rate limit, its circuit
/// breaker, and how many calls it failed (an error answer, or given up on and failed
/// over from).
pub(crate) struct Endpoint {
    pub(crate) url: Url,
    pub(crate) label: String,
    pub(crate) headers: HeaderMap,
    pub(crate) timeout: Duration,
    pub(crate) limiter: Option<DefaultDirectRateLimiter>,
    errors: AtomicU64,
    pub(crate) breaker: Breaker,
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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
    /// Endpoint `#index` of `provider`; the error names it redacted and no header value.
    pub(crate) fn parse(
        index: usize,
        provider: &Provider,
        default_timeout: Duration,
        breaker: BreakerConfig,
    ) -> Result<Self, String> {
        let text = provider.url.as_str();
        let url =
            Url::parse(text).map_err(|e| format!("URL #{index} ({}): {e}", redact_url(text)))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(format!(
                "URL #{index} ({}) is not an http(s) URL with a host",
                redact_url(text)
            ));
        }
        let mut headers = HeaderMap::new();
        for (name, value) in &provider.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("URL #{index}: {name:?} is not an HTTP header name"))?;
            // The value is a secret (an API key): named in no error, hidden from Debug.
            let mut value = HeaderValue::from_str(value).map_err(|_| {
                format!("URL #{index}: the value of header {name} is not a valid HTTP header value")
            })?;
            value.set_sensitive(true);
            headers.insert(name, value);
        }
        let timeout = provider.timeout.unwrap_or(default_timeout);
        if timeout.is_zero() {
            return Err(format!("URL #{index}: timeout is zero"));
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

    /// Calls this endpoint failed.
    pub(crate) fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    /// A failure of this endpoint, reported as `why`.
    pub(crate) fn failed(&self, why: &str) -> String {
        self.count_error();
        format!("{}: {why}", self.label)
    }

    /// One more call this endpoint failed.
    pub(crate) fn count_error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }
}

/// When a provider that keeps failing is skipped: after `threshold` calls in a row that
/// it failed (each after its own retries), for `cooldown`.
#[derive(Clone, Copy, Debug)]
pub struct BreakerConfig {
    /// Failed calls in a row that open the breaker (at least 1).
    pub threshold: u32,
    /// How long an open breaker skips the provider before it is tried again.
    pub cooldown: Duration,
}

/// One endpoint's circuit breaker: closed (used), open (skipped until a time), and after
/// that time half-open (tried again: a success closes it, a failure opens it again).
#[derive(Debug)]
pub(crate) struct Breaker {
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

    fn lock(&self) -> MutexGuard<'_, BreakerState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the endpoint is skipped now.
    pub(crate) fn is_open(&self, now: Instant) -> bool {
        self.lock().open_until.is_some_and(|until| now < until)
    }

    /// A call it answered: closed again. Returns whether it had been open.
    pub(crate) fn success(&self) -> bool {
        let mut state = self.lock();
        let was_open = state.open_until.is_some();
        *state = BreakerState::default();
        was_open
    }

    /// A call it failed; `hint` is a suspension the provider announced (TronGrid's
    /// "suspended for 30s"). Returns the cool-down when this opened the breaker.
    pub(crate) fn failure(&self, now: Instant, hint: Option<Duration>) -> Option<Duration> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn basic_auth_is_a_secret_header() {
        let provider = Provider::new("http://127.0.0.1:8332").with_basic_auth("user", "hunter2");
        // RFC 7617's encoding of `user:hunter2`.
        assert_eq!(
            provider.headers,
            vec![(
                "authorization".to_owned(),
                "Basic dXNlcjpodW50ZXIy".to_owned()
            )]
        );
        let shown = format!("{provider:?}");
        assert!(!shown.contains("dXNlcjpodW50ZXIy"), "{shown}");
        let endpoint = Endpoint::parse(
            0,
            &provider,
            Duration::from_secs(1),
            BreakerConfig {
                threshold: 1,
                cooldown: Duration::from_secs(1),
            },
        )
        .unwrap();
        let shown = format!("{endpoint:?}");
        assert!(!shown.contains("dXNlcjpodW50ZXIy"), "{shown}");
        assert!(endpoint.headers[AUTHORIZATION].is_sensitive());
    }
}
