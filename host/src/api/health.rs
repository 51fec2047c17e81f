//! `GET /healthz` (the process answers) and `GET /readyz` (the store and the component
//! answer too: send traffic here).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::AppState;

/// The process is alive.
pub async fn alive() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// The database answers and the component runs a call.
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
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
        Json(json!({
            "status": if ok { "ok" } else { "unavailable" },
            "store": show(store),
            "rules": show(rules),
        })),
    )
}
