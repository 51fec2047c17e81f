//! The call: one request, judged by the node's [`Dialect`], over the endpoints with one
//! failover policy (see the crate's documentation).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;
use serde::Serialize;

use crate::endpoint::{BreakerConfig, Endpoint, Provider};
use crate::http::{BodyError, body_note, read_body, transport_error};
use crate::retry::{Backoff, retry_after, suspension};

/// What differs between the nodes a [`Transport`] speaks to: the request's envelope and
/// how an answer is judged. HTTP 429, an announced suspension (TronGrid's "suspended for
/// 30s"), transport errors and an undecodable result are judged the same for every node,
/// before and after the dialect.
pub trait Dialect {
    /// An answer that ends a call other than with its result (a JSON-RPC error passed on
    /// to the caller).
    type Final;
    /// The request's `jsonrpc` member: `"2.0"`, or Bitcoin Core's `"1.0"`.
    const VERSION: &'static str;
    /// The request's `Content-Type`.
    const CONTENT_TYPE: &'static str;
    /// The largest answer read (a broken or hostile endpoint must not exhaust memory).
    const MAX_RESPONSE_BYTES: usize;

    /// An answer over [`Dialect::MAX_RESPONSE_BYTES`]: by default the endpoint is faulty
    /// (failover, malformed).
    fn oversized(&self) -> Verdict<'static, Self::Final> {
        Verdict::Failover {
            why: format!("response over {} bytes", Self::MAX_RESPONSE_BYTES),
            malformed: true,
        }
    }

    /// Judge an HTTP answer: its `result`, a final answer, a retry or a failover.
    fn judge<'a>(&self, answer: &Answer<'a>) -> Verdict<'a, Self::Final>;
}

/// One HTTP answer to a request, for [`Dialect::judge`].
#[derive(Debug)]
pub struct Answer<'a> {
    /// The endpoint's redacted label (`#0 https://host/…`).
    pub endpoint: &'a str,
    /// The JSON-RPC method asked.
    pub method: &'a str,
    /// The request's id.
    pub id: u64,
    /// The HTTP status.
    pub status: StatusCode,
    /// The body (at most [`Dialect::MAX_RESPONSE_BYTES`]).
    pub body: &'a [u8],
}

/// What an answer comes to.
#[derive(Debug)]
pub enum Verdict<'a, F> {
    /// The call's `result`, as raw JSON text, for the caller's decoder (when it cannot
    /// decode it, the endpoint is faulty: failover, malformed).
    Result(&'a str),
    /// An answer that ends the call, passed on. `endpoint_error`: it counts as a call the
    /// endpoint failed (a JSON-RPC error; not, say, a query the caller should shrink).
    Final {
        /// The answer.
        failure: F,
        /// Whether the endpoint's error count grows.
        endpoint_error: bool,
    },
    /// Rate limited or overloaded: back off (honouring `Retry-After`) and ask the same
    /// endpoint again.
    Retry(String),
    /// This endpoint cannot serve the call now: the next one.
    Failover {
        /// Why, for the error and the log.
        why: String,
        /// It answered nonsense (not a refusal): reported as a malformed answer when no
        /// endpoint serves the call.
        malformed: bool,
    },
}

/// Why [`Transport::call`] has no result.
#[derive(Debug)]
pub enum CallError<F> {
    /// The parameters cannot be serialised.
    Request {
        /// The JSON-RPC method.
        method: String,
        /// Why.
        error: serde_json::Error,
    },
    /// An endpoint's final answer ([`Verdict::Final`]).
    Final(F),
    /// No endpoint served the call and one answered nonsense: the first such answer.
    Malformed {
        /// The endpoint (redacted).
        endpoint: String,
        /// The JSON-RPC method.
        method: String,
        /// What was wrong.
        detail: String,
    },
    /// No endpoint served the call: refused, unreachable, or still overloaded after its
    /// retries.
    Unavailable {
        /// The JSON-RPC method.
        method: String,
        /// Each endpoint's last failure, `; `-separated.
        failures: String,
        /// The longest `Retry-After` an endpoint asked for, if any.
        retry_after: Option<Duration>,
    },
}

/// What one request to one endpoint came to.
enum Attempt<T, F> {
    Done(T),
    Final {
        failure: F,
        endpoint_error: bool,
    },
    Retry {
        why: String,
        retry_after: Option<Duration>,
    },
    Failover {
        why: String,
        malformed: bool,
        /// A suspension the endpoint announced (TronGrid's "suspended for 30s").
        suspended: Option<Duration>,
    },
}

impl<T, F> Attempt<T, F> {
    /// No answer: the next endpoint.
    fn no_answer(e: &reqwest::Error) -> Self {
        Self::Failover {
            why: transport_error(e),
            malformed: false,
            suspended: None,
        }
    }

    /// The dialect's verdict, with the result decoded.
    fn settle(
        verdict: Verdict<'_, F>,
        retry_after: Option<Duration>,
        decode: &impl Fn(&str) -> Result<T, String>,
    ) -> Self {
        match verdict {
            Verdict::Result(raw) => match decode(raw) {
                Ok(value) => Self::Done(value),
                Err(why) => Self::Failover {
                    why,
                    malformed: true,
                    suspended: None,
                },
            },
            Verdict::Final {
                failure,
                endpoint_error,
            } => Self::Final {
                failure,
                endpoint_error,
            },
            Verdict::Retry(why) => Self::Retry { why, retry_after },
            Verdict::Failover { why, malformed } => Self::Failover {
                why,
                malformed,
                suspended: None,
            },
        }
    }
}

/// What one endpoint came to, after its retries.
enum Outcome<T, F> {
    Done(T),
    Final(F),
    /// It failed the call (recorded in [`Failures`]): the next endpoint.
    Failed,
}

/// The endpoints' failures during one call.
#[derive(Default)]
struct Failures {
    /// Each endpoint's, labelled.
    each: Vec<String>,
    /// The first malformed answer: its endpoint and what was wrong.
    malformed: Option<(String, String)>,
    longest_retry_after: Option<Duration>,
}

impl Failures {
    fn retry_after(&mut self, after: Option<Duration>) {
        if let Some(after) = after {
            self.longest_retry_after =
                Some(self.longest_retry_after.map_or(after, |l| l.max(after)));
        }
    }

    fn failed(&mut self, endpoint: &Endpoint, why: &str, malformed: bool) {
        if malformed && self.malformed.is_none() {
            self.malformed = Some((endpoint.label.clone(), why.to_owned()));
        }
        self.each.push(endpoint.failed(why));
    }

    fn into_error<F>(self, method: &str) -> CallError<F> {
        match self.malformed {
            Some((endpoint, detail)) => CallError::Malformed {
                endpoint,
                method: method.to_owned(),
                detail,
            },
            None => CallError::Unavailable {
                method: method.to_owned(),
                failures: self.each.join("; "),
                retry_after: self.longest_retry_after,
            },
        }
    }
}

#[derive(Serialize)]
struct Request<'a, P: Serialize> {
    jsonrpc: &'static str,
    id: u64,
    method: &'a str,
    params: &'a P,
}

/// The HTTP side of a chain client: its endpoints, in order of preference, and one HTTP
/// connection pool.
#[derive(Debug)]
pub struct Transport {
    client: reqwest::Client,
    endpoints: Vec<Endpoint>,
    next_id: AtomicU64,
    /// The retries of one endpoint (a client may change it before it is shared).
    pub backoff: Backoff,
}

impl Transport {
    /// An endpoint per provider, in order of preference, each with `breaker`; `timeout`
    /// for those that set none. Checks the configuration (the error names no secret);
    /// does not connect.
    pub fn new(
        providers: &[Provider],
        timeout: Duration,
        backoff: Backoff,
        breaker: BreakerConfig,
    ) -> Result<Self, String> {
        if providers.is_empty() {
            return Err("no URL".into());
        }
        if timeout.is_zero() {
            return Err("request_timeout is zero".into());
        }
        let endpoints = providers
            .iter()
            .enumerate()
            .map(|(i, provider)| Endpoint::parse(i, provider, timeout, breaker))
            .collect::<Result<Vec<_>, _>>()?;
        let client = reqwest::Client::builder()
            .connect_timeout(timeout)
            .build()
            .map_err(|e| format!("HTTP client: {}", e.without_url()))?;
        Ok(Self {
            client,
            endpoints,
            next_id: AtomicU64::new(1),
            backoff,
        })
    }

    /// The endpoints' redacted labels (`#0 https://host/…`).
    pub fn labels(&self) -> Vec<&str> {
        self.endpoints.iter().map(|e| e.label.as_str()).collect()
    }

    /// Each endpoint's redacted label and the calls it failed.
    pub fn endpoint_errors(&self) -> Vec<(String, u64)> {
        self.endpoints
            .iter()
            .map(|e| (e.label.clone(), e.errors()))
            .collect()
    }

    /// Call `method` in `dialect`. `decode` turns the raw `result` JSON into `T`; when it
    /// cannot, the endpoint is treated as faulty (failover).
    pub async fn call<D, P, T>(
        &self,
        dialect: &D,
        method: &str,
        params: &P,
        decode: impl Fn(&str) -> Result<T, String>,
    ) -> Result<T, CallError<D::Final>>
    where
        D: Dialect,
        P: Serialize,
    {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let body = serde_json::to_vec(&Request {
            jsonrpc: D::VERSION,
            id,
            method,
            params,
        })
        .map_err(|error| CallError::Request {
            method: method.to_owned(),
            error,
        })?;
        let request = Call {
            body: &body,
            id,
            method,
        };
        let mut failures = Failures::default();
        for endpoint in self.order() {
            match self
                .ask(dialect, endpoint, &request, &decode, &mut failures)
                .await
            {
                Outcome::Done(value) => return Ok(value),
                Outcome::Final(failure) => return Err(CallError::Final(failure)),
                Outcome::Failed => {}
            }
        }
        Err(failures.into_error(method))
    }

    /// The preferred (first) endpoint whose breaker is closed, then the next ones; when
    /// every breaker is open, all of them in order (there is nothing else to try).
    fn order(&self) -> Vec<&Endpoint> {
        let now = Instant::now();
        let closed: Vec<&Endpoint> = self
            .endpoints
            .iter()
            .filter(|e| !e.breaker.is_open(now))
            .collect();
        if closed.is_empty() {
            self.endpoints.iter().collect()
        } else {
            closed
        }
    }

    /// Ask `endpoint`, retrying it while it is rate limited or overloaded and the backoff
    /// allows.
    async fn ask<D: Dialect, T>(
        &self,
        dialect: &D,
        endpoint: &Endpoint,
        request: &Call<'_>,
        decode: &impl Fn(&str) -> Result<T, String>,
        failures: &mut Failures,
    ) -> Outcome<T, D::Final> {
        let method = request.method;
        let mut retries = 0u32;
        loop {
            if let Some(limiter) = &endpoint.limiter {
                limiter.until_ready().await;
            }
            match self.attempt(dialect, endpoint, request, decode).await {
                Attempt::Done(value) => {
                    self.answered(endpoint);
                    return Outcome::Done(value);
                }
                Attempt::Final {
                    failure,
                    endpoint_error,
                } => {
                    // The endpoint answered: it is up, whatever it said.
                    self.answered(endpoint);
                    if endpoint_error {
                        endpoint.count_error();
                    }
                    return Outcome::Final(failure);
                }
                Attempt::Failover {
                    why,
                    malformed,
                    suspended,
                } => {
                    tracing::warn!(
                        endpoint = endpoint.label,
                        method,
                        "{why}; trying the next endpoint"
                    );
                    failures.failed(endpoint, &why, malformed);
                    self.gave_up(endpoint, suspended);
                    return Outcome::Failed;
                }
                Attempt::Retry { why, retry_after } => {
                    failures.retry_after(retry_after);
                    let Some(wait) = self.wait(retries, retry_after) else {
                        tracing::warn!(
                            endpoint = endpoint.label,
                            method,
                            retries,
                            "{why}; trying the next endpoint"
                        );
                        failures.failed(
                            endpoint,
                            &format!("{why} (after {retries} retries)"),
                            false,
                        );
                        self.gave_up(endpoint, suspension(&why).or(retry_after));
                        return Outcome::Failed;
                    };
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
            }
        }
    }

    /// The wait before retry `retries + 1`: the `Retry-After` asked for (plus a little
    /// jitter) when it is within the backoff's ceiling, else the backoff; `None` when the
    /// retries are used up or the endpoint asked for longer than the ceiling (fail over).
    fn wait(&self, retries: u32, retry_after: Option<Duration>) -> Option<Duration> {
        if retries >= self.backoff.max_retries {
            return None;
        }
        match retry_after {
            Some(after) if after > self.backoff.max => None,
            Some(after) => Some(after + self.backoff.delay(0) / 4),
            None => Some(self.backoff.delay(retries)),
        }
    }

    /// `endpoint` answered: its breaker closes.
    fn answered(&self, endpoint: &Endpoint) {
        if endpoint.breaker.success() {
            tracing::info!(
                endpoint = endpoint.label,
                "provider answers again; its circuit breaker is closed"
            );
        }
    }

    /// A call `endpoint` failed (after its retries); `suspended` is a pause it asked for.
    fn gave_up(&self, endpoint: &Endpoint, suspended: Option<Duration>) {
        if let Some(cooldown) = endpoint.breaker.failure(Instant::now(), suspended) {
            tracing::warn!(
                endpoint = endpoint.label,
                cooldown_ms = u64::try_from(cooldown.as_millis()).unwrap_or(u64::MAX),
                "provider keeps failing; its circuit breaker is open: skipped until the cool-down ends"
            );
        }
    }

    /// One request to one endpoint.
    async fn attempt<D: Dialect, T>(
        &self,
        dialect: &D,
        endpoint: &Endpoint,
        request: &Call<'_>,
        decode: &impl Fn(&str) -> Result<T, String>,
    ) -> Attempt<T, D::Final> {
        let sent = self
            .client
            .post(endpoint.url.clone())
            .timeout(endpoint.timeout)
            .headers(endpoint.headers.clone())
            .header(CONTENT_TYPE, D::CONTENT_TYPE)
            .body(request.body.to_vec())
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(e) => return Attempt::no_answer(&e),
        };
        let status = response.status();
        let retry_after = retry_after(response.headers());
        let bytes = match read_body(response, D::MAX_RESPONSE_BYTES).await {
            Ok(bytes) => bytes,
            Err(BodyError::Transport(e)) => return Attempt::no_answer(&e),
            Err(BodyError::TooLarge) => {
                return Attempt::settle(dialect.oversized(), retry_after, decode);
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
        let answer = Answer {
            endpoint: &endpoint.label,
            method: request.method,
            id: request.id,
            status,
            body: &bytes,
        };
        Attempt::settle(dialect.judge(&answer), retry_after, decode)
    }
}

/// One call's request, the same for every endpoint and retry.
struct Call<'a> {
    body: &'a [u8],
    id: u64,
    method: &'a str,
}
