//! The operator's API, behind `Authorization: Bearer <admin token>` (compared in
//! constant time): callback deliveries (list, one with its attempts, re-send) and
//! deposits no order took.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use super::AppState;
use super::error::{AppError, GatewayCode};
use crate::clock::now_millis;
use crate::store::DeliveryState;

/// `?state=pending|delivered|failed&limit=N`.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    state: Option<String>,
    limit: Option<i64>,
}

fn authorize(state: &AppState, headers: &HeaderMap) -> Result<(), AppError> {
    let Some(token) = &state.admin_token else {
        return Err(AppError::gateway(
            GatewayCode::NotFound,
            "the admin API is off (no admin.token)",
        ));
    };
    let given = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if bool::from(given.as_bytes().ct_eq(token.expose().as_bytes())) {
        Ok(())
    } else {
        Err(AppError::gateway(
            GatewayCode::Unauthorized,
            "a valid admin bearer token is required",
        ))
    }
}

/// Deliveries, oldest first.
pub async fn list_callbacks(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, AppError> {
    authorize(&state, &headers)?;
    let wanted = query
        .state
        .as_deref()
        .map(str::parse::<DeliveryState>)
        .transpose()
        .map_err(|_| {
            AppError::gateway(
                GatewayCode::InvalidField,
                "state must be pending, delivered or failed",
            )
        })?;
    let list = state
        .store
        .list_callbacks(wanted, query.limit.unwrap_or(100).clamp(1, 10_000))
        .await?;
    Ok(Json(json!({"callbacks": list})))
}

/// One delivery with every attempt.
pub async fn show_callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(ordersn): Path<String>,
) -> Result<Json<Value>, AppError> {
    authorize(&state, &headers)?;
    let (callback, attempts) = state.store.callback(&ordersn).await?.ok_or_else(|| {
        AppError::gateway(GatewayCode::OrderNotFound, "no callback for this order")
    })?;
    Ok(Json(json!({"callback": callback, "attempts": attempts})))
}

/// Send a delivery again, now.
pub async fn resend_callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(ordersn): Path<String>,
) -> Result<Json<Value>, AppError> {
    authorize(&state, &headers)?;
    if !state.store.resend_callback(&ordersn, now_millis()).await? {
        return Err(AppError::gateway(
            GatewayCode::OrderNotFound,
            "no callback for this order",
        ));
    }
    state.dispatcher_wake.notify_one();
    Ok(Json(
        json!({"ordersn": ordersn, "state": DeliveryState::Pending}),
    ))
}

/// Deposits that matched no pending order.
pub async fn unmatched_deposits(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, AppError> {
    authorize(&state, &headers)?;
    let list = state
        .store
        .unmatched_deposits(query.limit.unwrap_or(100).clamp(1, 10_000))
        .await?;
    Ok(Json(json!({"deposits": list})))
}

/// Reload the merchants from the configuration (file and environment): secrets
/// rotated, merchants added or removed, without a restart. An invalid configuration
/// changes nothing (422 `CONFIG_REJECTED`, with the reason).
pub async fn reload_merchants(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, AppError> {
    authorize(&state, &headers)?;
    tracing::info!(action = "reload_merchants", "admin action");
    let count = state.reload.reload().map_err(|e| {
        tracing::warn!(error = %format!("{e:#}"), "merchant reload refused");
        AppError::gateway(GatewayCode::ConfigRejected, format!("{e:#}"))
    })?;
    Ok(Json(json!({"merchants": count})))
}
