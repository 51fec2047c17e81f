//! `GET /healthz` (the process answers) and `GET /readyz` (the store and the component
//! answer too: send traffic here).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;

/// `{"status":"ok"}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Alive {
    /// Always `ok`.
    #[schema(value_type = String, pattern = "^ok$")]
    status: &'static str,
}

/// Whether the gateway can serve, and each part's state.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"status": "ok", "store": "ok", "rules": "ok"}))]
pub struct Readiness {
    /// `ok` or `unavailable`.
    #[schema(value_type = String, pattern = "^(ok|unavailable)$")]
    status: &'static str,
    /// `ok`, or why the database does not answer.
    store: String,
    /// `ok`, or why the component does not answer.
    rules: String,
}

/// The process is alive.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "health",
    summary = "Liveness",
    responses((status = 200, description = "The process answers.", body = Alive)),
)]
pub async fn alive() -> Json<Alive> {
    Json(Alive { status: "ok" })
}

/// The database answers and the component runs a call.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    summary = "Readiness: send traffic here",
    responses(
        (status = 200, description = "The database and the component answer.", body = Readiness),
        (status = 503, description = "The database or the component does not answer.", body = Readiness),
    ),
)]
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let store = state.store.ping().await.map_err(|e| e.to_string());
    let rules = state
        .rules
        .count_confirmations(1, 1)
        .map_err(|e| e.to_string())
        .and_then(|n| {
            if n == 1 {
                Ok(())
            } else {
                Err(format!("count-confirmations(1, 1) = {n}"))
            }
        });
    let ok = store.is_ok() && rules.is_ok();
    let show = |r: Result<(), String>| r.err().unwrap_or_else(|| "ok".into());
    (
        if ok {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        },
        Json(Readiness {
            status: if ok { "ok" } else { "unavailable" },
            store: show(store),
            rules: show(rules),
        }),
    )
}
