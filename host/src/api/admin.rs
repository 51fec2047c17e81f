//! The operator's API, behind `Authorization: Bearer <admin token>` (compared in
//! constant time): callback deliveries (list, one with its attempts, re-send) and
//! deposits no order took. Every action (resend, reload) is an `audit` log line naming
//! the token's id, never the token.

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use utoipa::{IntoParams, ToSchema};

use super::error::{AppError, GatewayCode};
use super::openapi::{
    AdminCallbackFailures, AdminListFailures, AdminReloadFailures, AdminResendFailures,
};
use super::{AppState, audit};
use crate::clock::now_millis;
use crate::store::{AttemptView, CallbackRecord, DeliveryState, DepositRecord, ResendOutcome};

/// `?state=pending|delivered|failed&limit=N`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only the deliveries in this state.
    #[param(value_type = Option<DeliveryState>)]
    state: Option<String>,
    /// At most this many rows (default 100; clamped to 1..=10000).
    limit: Option<i64>,
}

/// `?limit=N`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LimitQuery {
    /// At most this many rows (default 100; clamped to 1..=10000).
    limit: Option<i64>,
}

/// `{"callbacks":[…]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallbackList {
    /// The deliveries, oldest first.
    callbacks: Vec<CallbackRecord>,
}

/// `{"callback":…,"attempts":[…]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallbackDetail {
    /// The delivery.
    callback: CallbackRecord,
    /// Every attempt, in order.
    attempts: Vec<AttemptView>,
}

/// `{"ordersn":…,"state":"pending"}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Resent {
    /// The order.
    ordersn: String,
    /// Its delivery's state now.
    state: DeliveryState,
}

/// `{"deposits":[…]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct UnmatchedList {
    /// The deposits no pending order took.
    deposits: Vec<DepositRecord>,
}

/// `{"merchants":N}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Reloaded {
    /// How many merchants are configured now.
    merchants: usize,
}

/// The request's admin token checked; its id for the audit log (never the token).
fn authorize(state: &AppState, headers: &HeaderMap) -> Result<String, AppError> {
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
        Ok(audit::credential_id(given))
    } else {
        Err(AppError::gateway(
            GatewayCode::Unauthorized,
            "a valid admin bearer token is required",
        ))
    }
}

/// The path's `ordersn`, or 400 `INVALID_FIELD` (not UTF-8 once percent-decoded).
fn path_ordersn(path: Result<Path<String>, PathRejection>) -> Result<String, AppError> {
    path.map(|Path(s)| s)
        .map_err(|e| AppError::gateway(GatewayCode::InvalidField, e.body_text()))
}

/// The query string's parameters, or 400 `INVALID_FIELD`.
fn query_params<T>(query: Result<Query<T>, QueryRejection>) -> Result<T, AppError> {
    query
        .map(|Query(q)| q)
        .map_err(|e| AppError::gateway(GatewayCode::InvalidField, e.body_text()))
}

/// `limit`, defaulted and clamped.
fn rows(limit: Option<i64>) -> i64 {
    limit.unwrap_or(100).clamp(1, 10_000)
}

/// Deliveries, oldest first.
#[utoipa::path(
    get,
    path = "/admin/callbacks",
    tag = "admin",
    summary = "List callback deliveries",
    params(ListQuery),
    security(("admin_token" = [])),
    responses((status = 200, description = "The deliveries, oldest first.", body = CallbackList), AdminListFailures),
)]
pub async fn list_callbacks(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<CallbackList>, AppError> {
    authorize(&state, &headers)?;
    let query = query_params(query)?;
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
    let callbacks = state
        .store
        .list_callbacks(wanted, rows(query.limit))
        .await?;
    Ok(Json(CallbackList { callbacks }))
}

/// One delivery with every attempt.
#[utoipa::path(
    get,
    path = "/admin/callbacks/{ordersn}",
    tag = "admin",
    summary = "One callback delivery with every attempt",
    params(("ordersn" = String, Path, description = "The order's `ordersn`.")),
    security(("admin_token" = [])),
    responses((status = 200, description = "The delivery and its attempts.", body = CallbackDetail), AdminCallbackFailures),
)]
pub async fn show_callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<CallbackDetail>, AppError> {
    authorize(&state, &headers)?;
    let ordersn = path_ordersn(path)?;
    let (callback, attempts) = state.store.callback(&ordersn).await?.ok_or_else(|| {
        AppError::gateway(GatewayCode::OrderNotFound, "no callback for this order")
    })?;
    Ok(Json(CallbackDetail { callback, attempts }))
}

/// Send a delivery again, now.
#[utoipa::path(
    post,
    path = "/admin/callbacks/{ordersn}/resend",
    tag = "admin",
    summary = "Send a callback again, now",
    description = "Queues the delivery again with a fresh series of attempts. Refused (409 `DELIVERY_IN_FLIGHT`, nothing changed) while an attempt is in flight under a live lease, so a resend never puts a second attempt beside it. Each resend is an `audit` log line.",
    params(("ordersn" = String, Path, description = "The order's `ordersn`.")),
    security(("admin_token" = [])),
    responses((status = 200, description = "The delivery is pending again.", body = Resent), AdminResendFailures),
)]
pub async fn resend_callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Resent>, AppError> {
    let who = authorize(&state, &headers)?;
    let ordersn = path_ordersn(path)?;
    let outcome = state.store.resend_callback(&ordersn, now_millis()).await?;
    let found = outcome != ResendOutcome::NoDelivery;
    tracing::info!(target: "audit", who, action = "resend_callback", ordersn, found, outcome = outcome.as_str(), "admin action");
    match outcome {
        ResendOutcome::Resent => {}
        ResendOutcome::NoDelivery => {
            return Err(AppError::gateway(
                GatewayCode::OrderNotFound,
                "no callback for this order",
            ));
        }
        ResendOutcome::InFlight => {
            return Err(AppError::gateway(
                GatewayCode::DeliveryInFlight,
                "an attempt of this callback is in flight; resend once its outcome is recorded",
            ));
        }
    }
    state.dispatcher_wake.notify_one();
    Ok(Json(Resent {
        ordersn,
        state: DeliveryState::Pending,
    }))
}

/// Deposits that matched no pending order.
#[utoipa::path(
    get,
    path = "/admin/deposits/unmatched",
    tag = "admin",
    summary = "Deposits no pending order took",
    params(LimitQuery),
    security(("admin_token" = [])),
    responses((status = 200, description = "The unmatched deposits.", body = UnmatchedList), AdminListFailures),
)]
pub async fn unmatched_deposits(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<LimitQuery>, QueryRejection>,
) -> Result<Json<UnmatchedList>, AppError> {
    authorize(&state, &headers)?;
    let query = query_params(query)?;
    let deposits = state.store.unmatched_deposits(rows(query.limit)).await?;
    Ok(Json(UnmatchedList { deposits }))
}

/// Reload the merchants from the configuration (file and environment): secrets
/// rotated, merchants added or removed, without a restart. An invalid configuration
/// changes nothing (422 `CONFIG_REJECTED`, with the reason).
#[utoipa::path(
    post,
    path = "/admin/merchants/reload",
    tag = "admin",
    summary = "Reload the merchants from the configuration",
    description = "Re-reads the configuration file and the environment and replaces only the merchants (secret rotation with `next_secret`, merchants added or removed). An invalid configuration changes nothing. Each reload is an `audit` log line.",
    security(("admin_token" = [])),
    responses((status = 200, description = "The merchants now in use.", body = Reloaded), AdminReloadFailures),
)]
pub async fn reload_merchants(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Reloaded>, AppError> {
    let who = authorize(&state, &headers)?;
    let merchants = state.reload.reload().map_err(|e| {
        let error = format!("{e:#}");
        tracing::warn!(target: "audit", who, action = "reload_merchants", ok = false, error, "admin action");
        AppError::gateway(GatewayCode::ConfigRejected, error)
    })?;
    tracing::info!(target: "audit", who, action = "reload_merchants", ok = true, merchants, "admin action");
    Ok(Json(Reloaded { merchants }))
}
