//! Every failure answer of the API: one type, one body shape
//! `{"status":0,"data":{"code":"…","msg":"…"}}`, one table from code to HTTP status.

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::openapi::WireCode;

use crate::metrics::RejectionCode;
use crate::rules::{ErrorCode, Rejection, RulesFault};
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

/// The codes the gateway host adds to the component's (see `docs/protocol.md` §10).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GatewayCode {
    /// 400: the body is not JSON text (before the component sees it), or a dev or admin
    /// request is not the object it should be.
    InvalidJson,
    /// 400: a field of an admin request has the wrong type.
    InvalidField,
    /// 400: `notify_url` points where callbacks may not go (SSRF guard).
    ForbiddenNotifyTarget,
    /// 401: the admin API needs its bearer token.
    Unauthorized,
    /// 429: this client failed to authenticate too often; the token was not checked.
    TooManyFailedAttempts,
    /// 409: same appid and orderid with other signed fields.
    DuplicateOrder,
    /// 409: the address belongs to another `(appid, username)`.
    AddressBoundToOtherUser,
    /// 409: the merchant takes orders on allocated addresses only, and this address was
    /// not allocated to this user (`allocated_addresses_only`).
    AddressNotAllocated,
    /// 409: the merchant has no account key (xpub) for the chain of an address request.
    XpubNotConfigured,
    /// 409: every index of the merchant's account key for the chain is allocated.
    AddressesExhausted,
    /// 409: the merchant holds its `addresses.max_per_chain` addresses on the chain; a
    /// user who has an address still gets it.
    AddressQuotaExceeded,
    /// 429: the merchant allocates new addresses faster than `addresses.rate` (with its
    /// `burst`); sent with `Retry-After`, nothing allocated.
    AddressRateLimited,
    /// 404: no such order for this appid.
    OrderNotFound,
    /// 409: an admin resend found an attempt of the delivery in flight under a live
    /// lease; nothing changed (resend once its outcome is recorded).
    DeliveryInFlight,
    /// 415: not `application/json`.
    UnsupportedMediaType,
    /// 413: body over 64 KiB.
    PayloadTooLarge,
    /// 405: not `POST`.
    MethodNotAllowed,
    /// 404: no such path.
    NotFound,
    /// 503: the request took longer than `request_timeout`.
    Timeout,
    /// 422: a merchant reload found the configuration invalid; nothing changed.
    ConfigRejected,
    /// 503: the order writer's queue is full, or the public pages' slots are taken;
    /// nothing was recorded.
    Overloaded,
    /// 429: this client address made more public page requests than its rate allows.
    RateLimited,
    /// 500: an unexpected fault of the gateway.
    Internal,
}

impl GatewayCode {
    /// The stable wire code.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidJson => "INVALID_JSON",
            Self::InvalidField => "INVALID_FIELD",
            Self::ForbiddenNotifyTarget => "FORBIDDEN_NOTIFY_TARGET",
            Self::Unauthorized => "UNAUTHORIZED",
            Self::TooManyFailedAttempts => "TOO_MANY_FAILED_ATTEMPTS",
            Self::DuplicateOrder => "DUPLICATE_ORDER",
            Self::AddressBoundToOtherUser => "ADDRESS_BOUND_TO_OTHER_USER",
            Self::AddressNotAllocated => "ADDRESS_NOT_ALLOCATED",
            Self::XpubNotConfigured => "XPUB_NOT_CONFIGURED",
            Self::AddressesExhausted => "ADDRESSES_EXHAUSTED",
            Self::AddressQuotaExceeded => "ADDRESS_QUOTA_EXCEEDED",
            Self::AddressRateLimited => "ADDRESS_RATE_LIMITED",
            Self::OrderNotFound => "ORDER_NOT_FOUND",
            Self::DeliveryInFlight => "DELIVERY_IN_FLIGHT",
            Self::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Self::NotFound => "NOT_FOUND",
            Self::Timeout => "TIMEOUT",
            Self::ConfigRejected => "CONFIG_REJECTED",
            Self::Overloaded => "OVERLOADED",
            Self::RateLimited => "RATE_LIMITED",
            Self::Internal => "INTERNAL_ERROR",
        }
    }

    /// Its HTTP status.
    pub(super) fn status(self) -> StatusCode {
        match self {
            Self::InvalidJson | Self::InvalidField | Self::ForbiddenNotifyTarget => {
                StatusCode::BAD_REQUEST
            }
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::TooManyFailedAttempts => StatusCode::TOO_MANY_REQUESTS,
            Self::DuplicateOrder
            | Self::AddressBoundToOtherUser
            | Self::AddressNotAllocated
            | Self::XpubNotConfigured
            | Self::AddressesExhausted
            | Self::DeliveryInFlight
            | Self::AddressQuotaExceeded => StatusCode::CONFLICT,
            Self::AddressRateLimited => StatusCode::TOO_MANY_REQUESTS,
            Self::OrderNotFound | Self::NotFound => StatusCode::NOT_FOUND,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Timeout | Self::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
            Self::ConfigRejected => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The HTTP status of a component rejection (`docs/protocol.md` §10).
pub(super) fn rejection_status(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::InvalidSign | ErrorCode::SignMismatch => StatusCode::UNAUTHORIZED,
        ErrorCode::UnknownAppid => StatusCode::FORBIDDEN,
        ErrorCode::InvalidJson
        | ErrorCode::MissingField
        | ErrorCode::InvalidField
        | ErrorCode::InvalidAmount
        | ErrorCode::InvalidAddress
        | ErrorCode::UnsupportedChain
        | ErrorCode::ChainMismatch
        | ErrorCode::InvalidNotifyUrl
        | ErrorCode::TimestampOutOfWindow
        | ErrorCode::InvalidPolicy => StatusCode::BAD_REQUEST,
    }
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

/// The failure envelope `{"status":0,"data":{…}}`, as every failure is sent.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"status": 0, "data": {"code": "SIGN_MISMATCH", "msg": "the sign does not match the fields and the secret", "field": "sign", "errors": [{"code": "SIGN_MISMATCH", "field": "sign", "msg": "the sign does not match the fields and the secret"}]}}))]
pub struct Failure {
    /// Always `0`.
    #[schema(minimum = 0, maximum = 0)]
    pub status: u8,
    /// What went wrong.
    pub data: FailureData,
}

/// `data` of a failure: a stable code, a message for people (not part of the contract)
/// and, when the component refused the input, the first rejection's field and every
/// rejection.
#[derive(Debug, Serialize, ToSchema)]
pub struct FailureData {
    /// Stable upper-snake-case code (`docs/protocol.md` §10); the first rejection's
    /// when there are several.
    #[schema(value_type = WireCode)]
    pub code: &'static str,
    /// Human-readable; not part of the contract.
    pub msg: String,
    /// The field of the first rejection, when it names one (component rejections only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Every rejection, in field order (component rejections only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<RejectionItem>>,
}

/// One rejection of the component.
#[derive(Debug, Serialize, ToSchema)]
pub struct RejectionItem {
    /// Its stable code.
    #[schema(value_type = WireCode)]
    pub code: &'static str,
    /// The field it is about, if any.
    pub field: Option<String>,
    /// Human-readable.
    pub msg: String,
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
