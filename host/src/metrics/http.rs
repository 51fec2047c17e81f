//! HTTP metrics, taken by a middleware around every route: requests and latency per
//! route template, method and status, and the stable code of every refused request
//! (the error response carries it as a [`RejectionCode`] extension).

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::Metrics;

/// The `route` of a request no route matched (404).
const UNMATCHED: &str = "unmatched";

/// The stable code of a refused request (`data.code`), set on the response by the
/// error type so that the middleware can count it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RejectionCode(pub &'static str);

/// `{route, method, status}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The route template (`/admin/callbacks/{ordersn}`), or `unmatched`.
    pub route: String,
    /// The method, or `other` for one no route serves.
    pub method: &'static str,
    /// The HTTP status.
    pub status: u16,
}

/// `{route, code}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RejectionLabels {
    /// The route template, or `unmatched`.
    pub route: String,
    /// The stable error code (`SIGN_MISMATCH`, `OVERLOADED`, …).
    pub code: &'static str,
}

/// A histogram family with the latency buckets (1 ms to about 16 s).
type Latencies<L> = Family<L, Histogram, fn() -> Histogram>;

/// Buckets for request and attempt latencies, in seconds: 1 ms, 2 ms, … about 16 s.
pub(crate) fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

/// The HTTP families.
#[derive(Clone, Debug)]
pub struct HttpMetrics {
    requests: Family<RequestLabels, Counter>,
    duration: Latencies<RequestLabels>,
    rejections: Family<RejectionLabels, Counter>,
}

impl HttpMetrics {
    pub(super) fn register(registry: &mut Registry) -> Self {
        let metrics = Self {
            requests: Family::default(),
            duration: Family::new_with_constructor(latency_histogram),
            rejections: Family::default(),
        };
        registry.register(
            "http_requests",
            "HTTP requests answered, by route template, method and status",
            metrics.requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request (to the response head), by route template, method and status",
            metrics.duration.clone(),
        );
        registry.register(
            "rejections",
            "Requests refused with a stable error code, by route template and code",
            metrics.rejections.clone(),
        );
        metrics
    }

    fn observe(&self, route: String, method: &'static str, response: &Response, started: Instant) {
        if let Some(RejectionCode(code)) = response.extensions().get::<RejectionCode>() {
            self.rejections
                .get_or_create(&RejectionLabels {
                    route: route.clone(),
                    code,
                })
                .inc();
        }
        let labels = RequestLabels {
            route,
            method,
            status: response.status().as_u16(),
        };
        self.requests.get_or_create(&labels).inc();
        self.duration
            .get_or_create(&labels)
            .observe(started.elapsed().as_secs_f64());
    }
}

/// The middleware: count the request once its response head is ready.
pub async fn track(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED, MatchedPath::as_str)
        .to_owned();
    let method = method_label(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    metrics.http.observe(route, method, &response, started);
    response
}

/// The method as a label: the standard ones by name, anything else `other`.
fn method_label(method: &Method) -> &'static str {
    static KNOWN: [Method; 7] = [
        Method::GET,
        Method::POST,
        Method::HEAD,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
        Method::OPTIONS,
    ];
    KNOWN
        .iter()
        .find(|known| *known == method)
        .map_or("other", Method::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_no_route_serves_are_one_label() {
        assert_eq!(method_label(&Method::POST), "POST");
        assert_eq!(method_label(&Method::OPTIONS), "OPTIONS");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
        assert_eq!(method_label(&Method::TRACE), "other");
    }
}
