//! The request span: one per HTTP request, with the method, the route (the matched
//! path pattern, never the raw path with its ids), the request id and, once answered,
//! the status and the latency. Handlers that learn the merchant's `appid`, `orderid`
//! or the `ordersn` record them on it ([`record_order`], [`record_ordersn`]), so every line logged while
//! serving the request carries them.

use std::time::Duration;

use axum::extract::MatchedPath;
use axum::http::{Request, Response};
use tracing::Span;
use tracing::field::Empty;

/// The span of `req`.
pub fn request_span<B>(req: &Request<B>) -> Span {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("(none)", MatchedPath::as_str);
    tracing::info_span!(
        "request",
        method = %req.method(),
        route,
        path = %req.uri().path(),
        id,
        status = Empty,
        latency_ms = Empty,
        appid = Empty,
        orderid = Empty,
        ordersn = Empty,
    )
}

/// Record the answer's status and the latency on the request's span, and log it at
/// debug level (the gateway's 5xx are logged where their cause is).
pub fn on_response<B>(response: &Response<B>, latency: Duration, span: &Span) {
    let latency_ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
    span.record("status", response.status().as_u16());
    span.record("latency_ms", latency_ms);
    tracing::debug!(parent: span, "request answered");
}

/// Record the merchant's ids of the order on the current request span.
pub fn record_order(appid: &str, orderid: &str) {
    let span = Span::current();
    span.record("appid", appid);
    span.record("orderid", orderid);
}

/// Record the gateway's order number on the current request span, once it is known.
pub fn record_ordersn(ordersn: &str) {
    Span::current().record("ordersn", ordersn);
}
