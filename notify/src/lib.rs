//! The HTTP side of USDT Recharge API V2 callback delivery (`docs/protocol.md` §5.2).
//!
//! The gateway owns the outbox, the retry schedule and persistence; it calls
//! [`CallbackHttp::deliver`] once per attempt and records the [`Attempt`]. This crate
//! decides what one attempt is:
//!
//! * **Success** is HTTP 200 with a body equal to `success` after trimming ASCII
//!   whitespace. Anything else — another status, another body, a redirect (never
//!   followed), no complete answer within the timeout, a TLS or connection error — is
//!   [`Outcome::Failed`]. A target the network policy forbids is [`Outcome::Refused`].
//! * **SSRF guard**: [`check_target_url`] at order time and before each attempt, and a
//!   [`GuardedResolver`] that only lets the connector see vetted addresses.
//! * **Fairness**: at most [`TransportConfig::max_in_flight_per_merchant`] attempts in
//!   flight per merchant, and [`TransportConfig::max_in_flight_total`] overall.
//! * **Transport**: one pooled `reqwest` client (rustls, TLS 1.2 or 1.3 only, HTTP/2 via
//!   ALPN when the receiver offers it, keep-alive, `TCP_NODELAY`, no proxy).

mod resolver;
mod target;

use std::collections::HashMap;
use std::error::Error as _;
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use reqwest::Url;
use reqwest::header::{CONTENT_TYPE, LOCATION, RETRY_AFTER};
use tokio::sync::Semaphore;

pub use resolver::{
    GuardedResolver, Lookup, LookupFuture, RefusedTarget, ResolveError, SystemLookup,
};
pub use target::{
    FORBIDDEN_HOST_SUFFIXES, ForbiddenRange, TargetError, TargetErrorKind, check_target_url,
    forbidden_host, forbidden_range, is_forbidden_ip,
};

/// Bytes of a response body read at most (when `max_body_bytes_kept` is smaller). A longer
/// body cannot be `success`; the rest is not read and the connection is dropped.
pub const MAX_BODY_BYTES_READ: usize = 64 * 1024;

/// Per-merchant limiters kept before idle ones are dropped.
const PRUNE_MERCHANTS_AT: usize = 4096;

/// How the transport behaves.
#[derive(Clone, Debug)]
pub struct TransportConfig {
    /// Limit for one whole attempt — connect, TLS, request, status and body. Default 6 s
    /// (the protocol's).
    pub timeout: Duration,
    /// Allow loopback, private, link-local … targets (tests, private deployments).
    /// Default `false`.
    pub allow_private_targets: bool,
    /// Attempts in flight at once for one merchant; more wait. Default 16.
    pub max_in_flight_per_merchant: usize,
    /// Attempts in flight at once for all merchants; more wait. Default 256.
    pub max_in_flight_total: usize,
    /// Bytes of the response body kept in [`Attempt::body_prefix`]. Default 1024.
    pub max_body_bytes_kept: usize,
    /// The `User-Agent` header.
    pub user_agent: String,
    /// How long an idle keep-alive connection stays in the pool. Default 90 s.
    pub pool_idle_timeout: Duration,
}

impl Default for TransportConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(6),
            allow_private_targets: false,
            max_in_flight_per_merchant: 16,
            max_in_flight_total: 256,
            max_body_bytes_kept: 1024,
            user_agent: concat!("usdt-gateway-callback/", env!("CARGO_PKG_VERSION")).to_owned(),
            pool_idle_timeout: Duration::from_secs(90),
        }
    }
}

/// The transport could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// A configuration value is out of range.
    #[error("invalid transport configuration: {0}")]
    Config(String),
    /// An extra root certificate could not be read.
    #[error("invalid root certificate: {0}")]
    Certificate(String),
    /// The HTTP client could not be built (TLS setup).
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

/// What an attempt means for the delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// HTTP 200 and a body equal to `success` after trimming ASCII whitespace: done.
    Delivered,
    /// Anything else: retry later (per the gateway's schedule).
    Failed,
    /// The target may never be contacted (network policy, bad URL): do not retry.
    Refused,
}

/// The result of one attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// Delivered, failed or refused.
    pub outcome: Outcome,
    /// The HTTP status, when an answer's head arrived.
    pub status: Option<u16>,
    /// The first [`TransportConfig::max_body_bytes_kept`] bytes of the body, lossy UTF-8.
    pub body_prefix: String,
    /// From just before the request was sent to the end of the attempt (body read, error
    /// or timeout). Zero for a refused target.
    pub latency: Duration,
    /// Time spent waiting for a per-merchant and a global slot before sending.
    pub queued: Duration,
    /// What went wrong, in English (for logs; not stable). `None` when delivered.
    pub error: Option<String>,
    /// The `Retry-After` header (seconds, or an HTTP date relative to when the answer
    /// arrived), when present and valid. The gateway decides whether to honour it.
    pub retry_after: Option<Duration>,
    /// The protocol version of the answer: `HTTP/1.0`, `HTTP/1.1` or `HTTP/2`.
    pub http_version: Option<&'static str>,
    /// The address actually connected to, when known.
    pub remote_addr: Option<SocketAddr>,
}

impl Attempt {
    fn refused(error: String) -> Self {
        Self {
            outcome: Outcome::Refused,
            status: None,
            body_prefix: String::new(),
            latency: Duration::ZERO,
            queued: Duration::ZERO,
            error: Some(error),
            retry_after: None,
            http_version: None,
            remote_addr: None,
        }
    }
}

/// Builds a [`CallbackHttp`] with extra root certificates or another DNS lookup.
pub struct CallbackHttpBuilder {
    config: TransportConfig,
    pem_roots: Vec<Vec<u8>>,
    lookup: Arc<dyn Lookup>,
}

impl fmt::Debug for CallbackHttpBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackHttpBuilder")
            .field("config", &self.config)
            .field("pem_roots", &self.pem_roots.len())
            .finish_non_exhaustive()
    }
}

impl CallbackHttpBuilder {
    /// Trust these root certificates (PEM, one or more per entry) besides the built-in
    /// Mozilla roots (`webpki-roots`).
    pub fn root_certificates(mut self, pem_roots: &[Vec<u8>]) -> Self {
        self.pem_roots.extend(pem_roots.iter().cloned());
        self
    }

    /// Resolve host names with `lookup` instead of the system resolver (the
    /// [`GuardedResolver`] still filters what it returns).
    pub fn lookup(mut self, lookup: Arc<dyn Lookup>) -> Self {
        self.lookup = lookup;
        self
    }

    /// Build the client.
    pub fn build(self) -> Result<CallbackHttp, TransportError> {
        let config = self.config;
        if config.timeout.is_zero() {
            return Err(TransportError::Config("timeout must be above zero".into()));
        }
        for (name, value) in [
            (
                "max_in_flight_per_merchant",
                config.max_in_flight_per_merchant,
            ),
            ("max_in_flight_total", config.max_in_flight_total),
        ] {
            if value == 0 || value > Semaphore::MAX_PERMITS {
                return Err(TransportError::Config(format!(
                    "{name} must be between 1 and {}",
                    Semaphore::MAX_PERMITS
                )));
            }
        }
        let resolver = GuardedResolver::new(config.allow_private_targets, self.lookup);
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .min_tls_version(reqwest::tls::Version::TLS_1_2)
            .https_only(false)
            .redirect(reqwest::redirect::Policy::none())
            .referer(false)
            .no_proxy()
            .connect_timeout(config.timeout)
            .pool_idle_timeout(config.pool_idle_timeout)
            .tcp_nodelay(true)
            .tcp_keepalive(Duration::from_secs(30))
            .user_agent(config.user_agent.clone())
            .dns_resolver(Arc::new(resolver));
        for pem in &self.pem_roots {
            let certs = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| TransportError::Certificate(error_chain(&e)))?;
            if certs.is_empty() {
                return Err(TransportError::Certificate(
                    "no certificate in the PEM text".into(),
                ));
            }
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let client = builder
            .build()
            .map_err(|e| TransportError::Client(error_chain(&e)))?;
        Ok(CallbackHttp {
            inner: Arc::new(Inner {
                client,
                total: Arc::new(Semaphore::new(config.max_in_flight_total)),
                merchants: Mutex::new(HashMap::new()),
                config,
            }),
        })
    }
}

/// Delivers callbacks over HTTP: one pooled client for every merchant. Cheap to clone.
#[derive(Clone)]
pub struct CallbackHttp {
    inner: Arc<Inner>,
}

struct Inner {
    client: reqwest::Client,
    config: TransportConfig,
    total: Arc<Semaphore>,
    merchants: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl fmt::Debug for CallbackHttp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackHttp")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// What one exchange gathered; filled as it goes, so a timeout keeps what arrived.
#[derive(Default)]
struct Exchange {
    status: Option<u16>,
    http_version: Option<&'static str>,
    remote_addr: Option<SocketAddr>,
    retry_after: Option<Duration>,
    location: Option<String>,
    body: Vec<u8>,
    truncated: bool,
}

impl CallbackHttp {
    /// A transport with the built-in Mozilla root certificates.
    pub fn new(config: TransportConfig) -> Result<Self, TransportError> {
        Self::builder(config).build()
    }

    /// Test/ops hook: extra trusted root certificates (PEM), for TLS tests with a local CA.
    pub fn with_root_certificates(
        config: TransportConfig,
        pem_roots: &[Vec<u8>],
    ) -> Result<Self, TransportError> {
        Self::builder(config).root_certificates(pem_roots).build()
    }

    /// A builder, for root certificates and the DNS lookup.
    pub fn builder(config: TransportConfig) -> CallbackHttpBuilder {
        CallbackHttpBuilder {
            config,
            pem_roots: Vec::new(),
            lookup: Arc::new(SystemLookup),
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &TransportConfig {
        &self.inner.config
    }

    /// One attempt: POST `body` (already-built JSON, sent as `application/json`) to `url`,
    /// waiting first for a slot of `merchant` and a global one. The target is checked
    /// again ([`check_target_url`]) and host names go through the [`GuardedResolver`].
    ///
    /// Never panics and never returns early with an error: every result is an
    /// [`Attempt`]. Cancel-safe: dropping the future abandons the attempt and frees its
    /// slots (the receiver may or may not have seen the request).
    pub async fn deliver(&self, merchant: &str, url: &str, body: String) -> Attempt {
        self.deliver_if(merchant, url, body, || true)
            .await
            .unwrap_or_else(|| Attempt::refused("not sent".into()))
    }

    /// Like [`deliver`](Self::deliver), but once both slots are held — right before
    /// anything is sent — `proceed` is asked whether to go on. When it answers false
    /// nothing is sent, the slots are freed and the result is `None`. (The gateway asks
    /// whether it still holds the delivery's lease long enough for a whole attempt.)
    pub async fn deliver_if(
        &self,
        merchant: &str,
        url: &str,
        body: String,
        proceed: impl FnOnce() -> bool,
    ) -> Option<Attempt> {
        let config = &self.inner.config;
        if let Err(e) = check_target_url(url, config.allow_private_targets) {
            return Some(Attempt::refused(e.message().to_owned()));
        }
        let parsed = match Url::parse(url) {
            Ok(parsed) => parsed,
            Err(e) => {
                return Some(Attempt::refused(format!(
                    "notify_url is not a valid URL: {e}"
                )));
            }
        };

        let waiting = Instant::now();
        let Ok(_merchant_slot) = self.merchant_slots(merchant).acquire_owned().await else {
            return Some(Attempt::refused("the transport is shut down".into()));
        };
        let Ok(_global_slot) = Arc::clone(&self.inner.total).acquire_owned().await else {
            return Some(Attempt::refused("the transport is shut down".into()));
        };
        let queued = waiting.elapsed();
        if !proceed() {
            return None;
        }
        Some(self.send(parsed, body, queued).await)
    }

    /// Send one request with the slots held; the attempt as it went.
    async fn send(&self, parsed: Url, body: String, queued: Duration) -> Attempt {
        let config = &self.inner.config;

        let mut exchange = Exchange::default();
        let started = Instant::now();
        let result =
            tokio::time::timeout(config.timeout, self.exchange(parsed, body, &mut exchange)).await;
        let latency = started.elapsed();

        let kept = exchange.body.len().min(config.max_body_bytes_kept);
        let body_prefix =
            String::from_utf8_lossy(exchange.body.get(..kept).unwrap_or_default()).into_owned();
        let mut attempt = Attempt {
            outcome: Outcome::Failed,
            status: exchange.status,
            body_prefix,
            latency,
            queued,
            error: None,
            retry_after: exchange.retry_after,
            http_version: exchange.http_version,
            remote_addr: exchange.remote_addr,
        };
        match result {
            Err(_elapsed) => {
                attempt.error = Some(match exchange.status {
                    Some(status) => format!(
                        "HTTP {status} but the body did not complete within {:?}",
                        config.timeout
                    ),
                    None => format!("no answer within {:?}", config.timeout),
                });
            }
            Ok(Err(e)) => {
                if let Some(refused) = find_source::<RefusedTarget>(&e) {
                    attempt.outcome = Outcome::Refused;
                    attempt.error = Some(refused.to_string());
                } else {
                    attempt.error = Some(error_chain(&e.without_url()));
                }
            }
            Ok(Ok(())) => judge(&mut attempt, &exchange),
        }
        attempt
    }

    /// The semaphore of `merchant`, created on first use; idle ones are dropped once there
    /// are many.
    fn merchant_slots(&self, merchant: &str) -> Arc<Semaphore> {
        let mut map = self
            .inner
            .merchants
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(slots) = map.get(merchant) {
            return Arc::clone(slots);
        }
        if map.len() >= PRUNE_MERCHANTS_AT {
            // Only this map holds an idle limiter: no attempt holds or awaits a permit.
            map.retain(|_, slots| Arc::strong_count(slots) > 1);
        }
        let slots = Arc::new(Semaphore::new(self.inner.config.max_in_flight_per_merchant));
        map.insert(merchant.to_owned(), Arc::clone(&slots));
        slots
    }

    async fn exchange(
        &self,
        url: Url,
        body: String,
        out: &mut Exchange,
    ) -> Result<(), reqwest::Error> {
        let mut response = self
            .inner
            .client
            .post(url)
            .header(CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await?;
        out.status = Some(response.status().as_u16());
        out.http_version = Some(version_name(response.version()));
        out.remote_addr = response.remote_addr();
        out.retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| usdt_retry_after::parse(v, SystemTime::now()));
        out.location = response
            .headers()
            .get(LOCATION)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let limit = MAX_BODY_BYTES_READ.max(self.inner.config.max_body_bytes_kept);
        while let Some(chunk) = response.chunk().await? {
            let room = limit.saturating_sub(out.body.len());
            if chunk.len() > room {
                out.body.extend(chunk.iter().take(room));
                out.truncated = true;
                break;
            }
            out.body.extend_from_slice(&chunk);
        }
        Ok(())
    }
}

/// Decide a complete answer.
fn judge(attempt: &mut Attempt, exchange: &Exchange) {
    let status = exchange.status.unwrap_or_default();
    if status == 200 && !exchange.truncated && exchange.body.trim_ascii() == b"success" {
        attempt.outcome = Outcome::Delivered;
        return;
    }
    attempt.error = Some(if (300..400).contains(&status) {
        match &exchange.location {
            Some(location) => {
                format!("HTTP {status} redirect to {location:?} (redirects are not followed)")
            }
            None => format!("HTTP {status} redirect (redirects are not followed)"),
        }
    } else if status != 200 {
        format!("HTTP {status}")
    } else if exchange.truncated {
        format!(
            "HTTP 200 but the body is over {} bytes",
            exchange.body.len()
        )
    } else {
        "HTTP 200 but the body is not `success`".to_owned()
    });
}

fn version_name(version: reqwest::Version) -> &'static str {
    match version {
        reqwest::Version::HTTP_09 => "HTTP/0.9",
        reqwest::Version::HTTP_10 => "HTTP/1.0",
        reqwest::Version::HTTP_11 => "HTTP/1.1",
        reqwest::Version::HTTP_2 => "HTTP/2",
        reqwest::Version::HTTP_3 => "HTTP/3",
        _ => "HTTP/?",
    }
}

/// The first error of type `T` in `e`'s source chain.
fn find_source<T: std::error::Error + 'static>(e: &reqwest::Error) -> Option<&T> {
    let mut source = e.source();
    while let Some(s) = source {
        if let Some(found) = s.downcast_ref::<T>() {
            return Some(found);
        }
        source = s.source();
    }
    None
}

/// `e` and its sources, joined with `: ` (repeated messages skipped).
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.ends_with(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}
