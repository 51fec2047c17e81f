//! Limits on the public pages — what payers' browsers and anyone who finds the port
//! reach without a signature or a token: per client address, `http.public_rate`
//! requests per second with bursts of `http.public_burst` (beyond: 429 `RATE_LIMITED`
//! with `Retry-After`), and at most `http.public_max_in_flight` such requests handled at
//! once for all clients together (beyond: 503 `OVERLOADED`), so the public can neither
//! flood the gateway from one address nor take the database's connections from the
//! merchant API.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use tokio::sync::Semaphore;

use super::client::ClientIp;
use super::{AppError, AppState, GatewayCode};
use crate::config::HttpConfig;

/// Forget clients whose budget is full again after this many checks (keeps the
/// limiter's memory to the clients seen recently).
const FORGET_EVERY: u64 = 4096;

type PerClient = RateLimiter<IpAddr, DefaultKeyedStateStore<IpAddr>, DefaultClock>;

/// The public pages' limits, shared by every request.
pub struct PublicLimits {
    per_client: PerClient,
    in_flight: Arc<Semaphore>,
    checks: AtomicU64,
}

impl std::fmt::Debug for PublicLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicLimits")
            .field("clients", &self.per_client.len())
            .field("free_slots", &self.in_flight.available_permits())
            .finish()
    }
}

impl PublicLimits {
    /// The limits of `[http]` (checked there: all above zero).
    pub fn new(http: &HttpConfig) -> Self {
        let rate = NonZeroU32::new(http.public_rate).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(http.public_burst).unwrap_or(NonZeroU32::MIN);
        Self {
            per_client: RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)),
            in_flight: Arc::new(Semaphore::new(http.public_max_in_flight)),
            checks: AtomicU64::new(0),
        }
    }

    /// Take one request of `client` from its budget, or say how long until it may ask.
    fn admit(&self, client: ClientIp) -> Result<(), Duration> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % FORGET_EVERY == FORGET_EVERY - 1 {
            self.per_client.retain_recent();
            self.per_client.shrink_to_fit();
        }
        self.per_client
            .check_key(&client.key())
            .map_err(|not_until| not_until.wait_time_from(self.per_client.clock().now()))
    }
}

/// The middleware around every public page route.
pub async fn limit(
    State(state): State<AppState>,
    client: ClientIp,
    request: Request,
    next: Next,
) -> Response {
    state.public_limits.guard(client, request, next).await
}

impl PublicLimits {
    /// Run `request` within `client`'s budget and a free slot, or refuse it at once.
    async fn guard(&self, client: ClientIp, request: Request, next: Next) -> Response {
        if let Err(wait) = self.admit(client) {
            return AppError::RetryAfter(
                GatewayCode::RateLimited,
                "too many requests from this address; retry after Retry-After seconds".into(),
                wait,
            )
            .into_response();
        }
        let Ok(_slot) = Arc::clone(&self.in_flight).try_acquire_owned() else {
            return AppError::gateway(
                GatewayCode::Overloaded,
                "the public pages are busy; retry after Retry-After seconds",
            )
            .into_response();
        };
        next.run(request).await
    }
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;

    fn http(rate: u32, burst: u32, in_flight: usize) -> HttpConfig {
        let mut http = crate::config::Config::load_with_env(
            None,
            figment::providers::Env::prefixed("USDT_GATEWAY_TEST_UNUSED_"),
        )
        .expect("defaults")
        .http;
        http.public_rate = rate;
        http.public_burst = burst;
        http.public_max_in_flight = in_flight;
        http
    }

    #[test]
    fn a_client_over_its_burst_waits_and_another_client_does_not() {
        let limits = PublicLimits::new(&http(1, 3, 8));
        let a = ClientIp("192.0.2.1".parse().unwrap());
        let b = ClientIp("192.0.2.2".parse().unwrap());
        for _ in 0..3 {
            assert!(limits.admit(a).is_ok());
        }
        let wait = limits.admit(a).expect_err("over the burst");
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
        assert!(limits.admit(b).is_ok());
    }

    /// Requests held inside the handler: the slots run out and the next request is
    /// shed at once with 503 `OVERLOADED`, never queued.
    #[tokio::test]
    async fn public_requests_beyond_the_in_flight_cap_are_shed_at_once() {
        let limits = Arc::new(PublicLimits::new(&http(1000, 1000, 2)));
        let release = Arc::new(tokio::sync::Notify::new());
        let held = Arc::clone(&release);
        let guard = Arc::clone(&limits);
        let router = Router::new()
            .route(
                "/",
                get(move || {
                    let held = Arc::clone(&held);
                    async move { held.notified().await }
                }),
            )
            .layer(axum::middleware::from_fn(
                move |request: Request<Body>, next: Next| {
                    let limits = Arc::clone(&guard);
                    async move {
                        let client = ClientIp("192.0.2.1".parse().unwrap());
                        limits.guard(client, request, next).await
                    }
                },
            ));
        let call = || {
            router
                .clone()
                .oneshot(Request::get("/").body(Body::empty()).unwrap())
        };
        let first = tokio::spawn(call());
        let second = tokio::spawn(call());
        while limits.in_flight.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        let third = call().await.unwrap();
        assert_eq!(third.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(third.headers()[axum::http::header::RETRY_AFTER], "1");
        release.notify_waiters();
        assert_eq!(first.await.unwrap().unwrap().status(), StatusCode::OK);
        assert_eq!(second.await.unwrap().unwrap().status(), StatusCode::OK);
    }
}
