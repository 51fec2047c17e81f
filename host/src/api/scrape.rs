//! `GET /metrics`: the scrape endpoint over the gateway's metrics.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use super::AppState;
use crate::metrics::CONTENT_TYPE;

/// `GET /metrics`: the gauges read from the database and the process refreshed, then
/// every metric in the Prometheus text format. No authentication: serve it on a
/// private address (`metrics.listen`) where the main port is public.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "health",
    summary = "Prometheus metrics",
    description = "Every metric in the Prometheus text format (0.0.4), no authentication. On the main port only in dev mode on loopback or with `metrics.on_main_port = true`; otherwise on `metrics.listen` alone (this port answers 404). See docs/operations.md.",
    responses((status = 200, description = "The metrics.", content_type = "text/plain; version=0.0.4; charset=utf-8", body = String)),
)]
pub async fn scrape(State(state): State<AppState>) -> impl IntoResponse {
    let queue = (state.writer.queued(), state.writer.capacity());
    state
        .metrics
        .refresh(&state.store, &state.merchants.snapshot(), queue)
        .await;
    (
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        state.metrics.encode(),
    )
}
