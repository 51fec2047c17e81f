//! Every failure answer of the API: one type, one body shape
//! `{"status":0,"data":{"code":"…","msg":"…"}}`, one table from code to HTTP status.

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

pub use super::wire::{Failure, FailureData, GatewayCode, RejectionItem, rejection_status};

use crate::metrics::RejectionCode;
use crate::rules::{Rejection, RulesFault};
use crate::store::StoreError;
use crate::writer::WriteError;
use usdt_gateway_core::CoreError;

/// A refused or failed request. Client mistakes map to 4xx with a stable code; faults
/// of the gateway map to 5xx and are logged.
#[derive(Debug)]
pub enum AppError {
    /// The component refused the input: every rejection, the first is `data.code`.
    Rejected(Vec<Rejection>),
    /// A refusal decided by the gateway itself.
    Gateway(GatewayCode, String),
    /// The component could not judge the input (trap, deadline, memory cap).
    Rules(RulesFault),
    /// The database failed; nothing was acknowledged.
    Store(String),
    /// A dev-chain call was refused (400) with this code.
    Dev(&'static str, String),
    /// A gateway refusal that says when to try again (`Retry-After`, whole seconds).
    RetryAfter(GatewayCode, String, Duration),
}

impl AppError {
    /// A gateway refusal with its message.
    pub fn gateway(code: GatewayCode, msg: impl Into<String>) -> Self {
        Self::Gateway(code, msg.into())
    }

    /// The stable code this error answers with.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Rejected(list) => list.first().map_or("INVALID_JSON", |r| r.code.as_str()),
            Self::Gateway(code, _) | Self::RetryAfter(code, _, _) => code.as_str(),
            Self::Rules(_) => "RULES_UNAVAILABLE",
            Self::Store(_) => "STORE_UNAVAILABLE",
            Self::Dev(code, _) => code,
        }
    }
}

impl From<RulesFault> for AppError {
    fn from(fault: RulesFault) -> Self {
        Self::Rules(fault)
    }
}

impl From<CoreError> for AppError {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::Storage(e) => Self::Store(e.to_string()),
            CoreError::Rules(fault) => Self::Rules(fault),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        Self::Store(e.to_string())
    }
}

impl From<WriteError> for AppError {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::Overloaded => Self::gateway(
                GatewayCode::Overloaded,
                "the gateway is overloaded; nothing was recorded, retry later",
            ),
            other => Self::Store(other.to_string()),
        }
    }
}

impl AppError {
    /// The HTTP status and `data` this error answers with (5xx faults are logged here).
    fn status_and_data(&self) -> (StatusCode, FailureData) {
        let code = self.code();
        let plain = |msg: &str| FailureData {
            code,
            msg: msg.to_owned(),
            field: None,
            errors: None,
        };
        match self {
            Self::Rejected(list) => {
                let first = list.first();
                let status = first.map_or(StatusCode::BAD_REQUEST, |r| rejection_status(r.code));
                let errors = list
                    .iter()
                    .map(|r| RejectionItem {
                        code: r.code.as_str(),
                        field: r.field.clone(),
                        msg: r.message.clone(),
                    })
                    .collect();
                let data = FailureData {
                    code,
                    msg: first.map_or_else(String::new, |r| r.message.clone()),
                    field: first.and_then(|r| r.field.clone()),
                    errors: Some(errors),
                };
                (status, data)
            }
            Self::Gateway(gateway, msg) | Self::RetryAfter(gateway, msg, _) => {
                (gateway.status(), plain(msg))
            }
            Self::Dev(_, msg) => (StatusCode::BAD_REQUEST, plain(msg)),
            Self::Rules(fault) => {
                tracing::error!(error = %fault, "rules component fault");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    plain("the protocol rules could not judge this request; retry"),
                )
            }
            Self::Store(e) => {
                tracing::error!(error = %e, "storage fault");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    plain("the order store is unavailable; nothing was recorded, retry"),
                )
            }
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, data) = self.status_and_data();
        let code = data.code;
        let mut response = (status, Json(Failure { status: 0, data })).into_response();
        if matches!(self, Self::Gateway(GatewayCode::MethodNotAllowed, _)) {
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("POST"));
        }
        response.extensions_mut().insert(RejectionCode(code));
        if let Self::RetryAfter(_, _, wait) = &self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, retry_after(*wait));
        } else if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

/// `Retry-After` for `wait`: whole seconds, rounded up, at least 1.
pub fn retry_after(wait: Duration) -> HeaderValue {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    HeaderValue::from(secs.max(1))
}
