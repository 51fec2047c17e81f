//! The operator's API, behind `Authorization: Bearer <admin token>` (compared in
//! constant time): callback deliveries (list, one with its attempts, re-send) and
//! deposits no order took; reloading the configuration; ending the console's sessions.
//! Every action (resend, reload, revoke) is an `audit` log line naming the token's id,
//! never the token; so is every refused token, naming the client.

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::access::Verdict;
use super::client::ClientIp;
use super::error::{AppError, GatewayCode};
use super::openapi::{
    AdminCallbackFailures, AdminListFailures, AdminReloadFailures, AdminResendFailures,
    AdminRevokeFailures,
};
use crate::store::{AttemptView, CallbackRecord, DeliveryState, DepositRecord, ResendOutcome};
use usdt_gateway_core::audit::Actor;
use usdt_gateway_core::usecases;

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

/// `{"merchants":N,"admin_token_changed":false}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Reloaded {
    /// How many merchants are configured now.
    merchants: usize,
    /// Whether the admin token changed (every console session then ended).
    admin_token_changed: bool,
}

/// `{"sessions":N}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Revoked {
    /// How many console sessions were live and are ended.
    sessions: usize,
}

/// The request's admin token checked, within the client's budget of failures (shared
/// with the console's login); its id for the audit log (never the token). A wrong token
/// is an `audit` line naming the client; a client past its budget is refused with 429
/// and `Retry-After` without its token being compared.
fn authorize(state: &AppState, client: ClientIp, headers: &HeaderMap) -> Result<String, AppError> {
    let given = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let ip = client.0;
    match state.admin.authenticate(client.key(), given) {
        Verdict::Granted(who) => Ok(who),
        Verdict::Off => Err(AppError::gateway(
            GatewayCode::NotFound,
            "the admin API is off (no admin.token)",
        )),
        Verdict::Wrong => {
            tracing::warn!(target: "audit", action = "admin_api_auth", ok = false, reason = "wrong_token", client = %ip, "admin API request refused");
            Err(AppError::gateway(
                GatewayCode::Unauthorized,
                "a valid admin bearer token is required",
            ))
        }
        Verdict::Limited { wait, first } => {
            if first {
                tracing::warn!(target: "audit", action = "admin_api_auth", ok = false, reason = "too_many_failures", client = %ip, retry_after_s = wait.as_secs(), "client locked out after repeated authentication failures");
            }
            Err(AppError::RetryAfter(
                GatewayCode::TooManyFailedAttempts,
                "too many failed authentications from this client; retry later".into(),
                wait,
            ))
        }
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
fn rows(limit: Option<i64>) -> u32 {
    u32::try_from(limit.unwrap_or(100).clamp(1, 10_000)).unwrap_or(100)
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
    client: ClientIp,
    headers: HeaderMap,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<CallbackList>, AppError> {
    authorize(&state, client, &headers)?;
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
    let callbacks = state.core.deliveries(wanted, rows(query.limit)).await?;
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
    client: ClientIp,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<CallbackDetail>, AppError> {
    authorize(&state, client, &headers)?;
    let ordersn = path_ordersn(path)?;
    let found = state.core.delivery(&ordersn.as_str().into()).await?;
    let (callback, attempts) = found.ok_or_else(|| {
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
    client: ClientIp,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Resent>, AppError> {
    let who = authorize(&state, client, &headers)?;
    let ordersn = path_ordersn(path)?;
    let outcome = state
        .core
        .resend_delivery(&Actor::api(who), &ordersn.as_str().into())
        .await?;
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
    client: ClientIp,
    headers: HeaderMap,
    query: Result<Query<LimitQuery>, QueryRejection>,
) -> Result<Json<UnmatchedList>, AppError> {
    authorize(&state, client, &headers)?;
    let query = query_params(query)?;
    let deposits = state.core.unmatched_deposits(rows(query.limit)).await?;
    Ok(Json(UnmatchedList { deposits }))
}

/// Reload the merchants and the admin token from the configuration (file and
/// environment): secrets rotated, merchants added or removed, the admin token replaced
/// (every console session ends), without a restart. An invalid configuration — a weak
/// admin token included — changes nothing (422 `CONFIG_REJECTED`, with the reason).
#[utoipa::path(
    post,
    path = "/admin/merchants/reload",
    tag = "admin",
    summary = "Reload the merchants and the admin token from the configuration",
    description = "Re-reads the configuration file and the environment and replaces the merchants (secret rotation with `next_secret`, merchants added or removed) and the admin token (a new token ends every console session; the old one stops working at once). An invalid configuration, a weak admin token included, changes nothing. Each reload is an `audit` log line.",
    security(("admin_token" = [])),
    responses((status = 200, description = "The merchants now in use, and whether the admin token changed.", body = Reloaded), AdminReloadFailures),
)]
pub async fn reload_merchants(
    State(state): State<AppState>,
    client: ClientIp,
    headers: HeaderMap,
) -> Result<Json<Reloaded>, AppError> {
    let who = authorize(&state, client, &headers)?;
    let outcome = usecases::reload_merchants(state.reload.as_ref(), &Actor::api(who))
        .map_err(|error| AppError::gateway(GatewayCode::ConfigRejected, error))?;
    Ok(Json(Reloaded {
        merchants: outcome.merchants,
        admin_token_changed: outcome.admin_token_changed,
    }))
}

/// End every console session ("log out everywhere"): each browser must log in again.
#[utoipa::path(
    post,
    path = "/admin/sessions/revoke",
    tag = "admin",
    summary = "End every console session",
    description = "Logs every browser out of the operator console (the admin token itself is unchanged). Each revocation is an `audit` log line.",
    security(("admin_token" = [])),
    responses((status = 200, description = "How many sessions were ended.", body = Revoked), AdminRevokeFailures),
)]
pub async fn revoke_sessions(
    State(state): State<AppState>,
    client: ClientIp,
    headers: HeaderMap,
) -> Result<Json<Revoked>, AppError> {
    let who = authorize(&state, client, &headers)?;
    let sessions = state.admin.end_sessions();
    tracing::info!(target: "audit", who, action = "revoke_sessions", sessions, "admin action");
    Ok(Json(Revoked { sessions }))
}
