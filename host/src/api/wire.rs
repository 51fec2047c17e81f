//! What a failure answer carries on the wire: the envelope `{"status":0,"data":{…}}`,
//! every code it can hold — the gateway's own ([`GatewayCode`]), the component's, and the
//! two "unavailable" ones — with their HTTP statuses, and the OpenAPI schema of
//! `data.code` ([`WireCode`]). The error type ([`super::AppError`]) and the document
//! ([`super::openapi`]) both build on it.

use axum::http::StatusCode;
use serde::Serialize;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

use crate::rules::ErrorCode;

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
pub fn rejection_status(code: ErrorCode) -> StatusCode {
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

/// A failure code the API can answer with, and where it comes from.
#[derive(Clone, Copy, Debug)]
pub enum Code {
    /// A rejection of the protocol component.
    Component(ErrorCode),
    /// A refusal of the gateway.
    Gateway(GatewayCode),
    /// 503: the component could not judge the input.
    RulesUnavailable,
    /// 503: the database failed.
    StoreUnavailable,
}

impl Code {
    /// The wire code.
    pub fn wire(self) -> &'static str {
        match self {
            Self::Component(code) => code.as_str(),
            Self::Gateway(code) => code.as_str(),
            Self::RulesUnavailable => "RULES_UNAVAILABLE",
            Self::StoreUnavailable => "STORE_UNAVAILABLE",
        }
    }

    /// The HTTP status it is sent with (the error types' own table).
    pub fn status(self) -> StatusCode {
        match self {
            Self::Component(code) => rejection_status(code),
            Self::Gateway(code) => code.status(),
            Self::RulesUnavailable | Self::StoreUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// What it means, for the document.
    pub(super) fn meaning(self) -> &'static str {
        match self.wire() {
            "INVALID_JSON" => {
                "The body is not one JSON object (or not UTF-8), or repeats a known field."
            }
            "MISSING_FIELD" => "A required field is absent or null.",
            "INVALID_FIELD" => "A field has the wrong JSON type, length or characters.",
            "INVALID_AMOUNT" => {
                "The amount is not an integer token in 1..=2^53-1 (orders), or not a valid USDT decimal text (dev transfers)."
            }
            "INVALID_ADDRESS" => {
                "Not a valid TRC20, ERC20 or OMNI address, or not valid for the chain named."
            }
            "UNSUPPORTED_CHAIN" => "`chain` is not exactly TRC20, ERC20 or OMNI.",
            "CHAIN_MISMATCH" => "`chain` disagrees with the chain of the address.",
            "INVALID_NOTIFY_URL" => "`notify_url` breaks the URL rules.",
            "FORBIDDEN_NOTIFY_TARGET" => {
                "`notify_url` points at a loopback, private or metadata address (outside dev mode)."
            }
            "INVALID_SIGN" => "`sign` is not exactly 32 lowercase hex digits (never normalised).",
            "SIGN_MISMATCH" => {
                "The sign does not match the fields and the merchant's secret (nor its next secret during a rotation)."
            }
            "UNKNOWN_APPID" => "The appid is not a registered merchant.",
            "UNAUTHORIZED" => "The admin bearer token is missing or wrong.",
            "TOO_MANY_FAILED_ATTEMPTS" => {
                "This client failed to authenticate too often (10 failures, then one more every 90 s, shared with the console's login); the token was not checked. Retry after Retry-After."
            }
            "DUPLICATE_ORDER" => "The same appid and orderid were placed with other signed fields.",
            "ADDRESS_BOUND_TO_OTHER_USER" => "The address is bound to another (appid, username).",
            "ADDRESS_NOT_ALLOCATED" => {
                "The merchant takes orders on allocated addresses only, and this address was not allocated to this user."
            }
            "XPUB_NOT_CONFIGURED" => "The merchant has no account key (xpub) for this chain.",
            "ADDRESSES_EXHAUSTED" => {
                "Every index of the merchant's account key for this chain is allocated."
            }
            "ADDRESS_QUOTA_EXCEEDED" => {
                "The merchant holds its addresses.max_per_chain addresses on this chain; no new one is allocated (a user who has one still gets it)."
            }
            "ADDRESS_RATE_LIMITED" => {
                "The merchant allocates new addresses faster than addresses.rate (beyond its burst); nothing was allocated. Retry after Retry-After."
            }
            "ORDER_NOT_FOUND" => "No such order (or callback) for this appid.",
            "DELIVERY_IN_FLIGHT" => {
                "An attempt of this callback is in flight under a live lease; nothing changed. Resend once its outcome is recorded."
            }
            "NOT_FOUND" => "No such endpoint, dev chain, or the admin API is off (no admin.token).",
            "METHOD_NOT_ALLOWED" => "Any method but POST on this path (sent with `Allow: POST`).",
            "PAYLOAD_TOO_LARGE" => "The body is over 64 KiB.",
            "UNSUPPORTED_MEDIA_TYPE" => {
                "Content-Type is not application/json (a charset=utf-8 parameter is fine)."
            }
            "CONFIG_REJECTED" => {
                "The configuration is invalid; the merchants in use did not change."
            }
            "TIMEOUT" => "The request took longer than request_timeout. Safe to retry.",
            "OVERLOADED" => {
                "The order queue is full (or, on the public pages, their slots are taken); nothing was recorded. Retry after Retry-After."
            }
            "RATE_LIMITED" => {
                "This client address made more requests to the public pages than http.public_rate allows. Retry after Retry-After."
            }
            "RULES_UNAVAILABLE" => {
                "The protocol component could not judge the input (trap, deadline, memory cap). Nothing was recorded; retry."
            }
            "STORE_UNAVAILABLE" => {
                "The database failed; nothing was recorded or acknowledged. Retry."
            }
            _ => "An unexpected gateway fault; never a client's mistake.",
        }
    }

    /// Its example body: the real failure type, serialized.
    pub(super) fn example(self) -> Failure {
        let msg = self.meaning().to_owned();
        let data = match self {
            Self::Component(code) => {
                let field = component_field(code).map(str::to_owned);
                FailureData {
                    code: code.as_str(),
                    msg: msg.clone(),
                    field: field.clone(),
                    errors: Some(vec![RejectionItem {
                        code: code.as_str(),
                        field,
                        msg,
                    }]),
                }
            }
            other => FailureData {
                code: other.wire(),
                msg,
                field: None,
                errors: None,
            },
        };
        Failure { status: 0, data }
    }
}

/// The field an example rejection of `code` names.
fn component_field(code: ErrorCode) -> Option<&'static str> {
    match code {
        ErrorCode::InvalidJson => None,
        ErrorCode::MissingField | ErrorCode::InvalidField => Some("username"),
        ErrorCode::InvalidAmount => Some("amount"),
        ErrorCode::InvalidAddress => Some("address"),
        ErrorCode::UnsupportedChain | ErrorCode::ChainMismatch => Some("chain"),
        ErrorCode::InvalidNotifyUrl => Some("notify_url"),
        ErrorCode::InvalidSign | ErrorCode::SignMismatch => Some("sign"),
        ErrorCode::UnknownAppid => Some("appid"),
        ErrorCode::TimestampOutOfWindow | ErrorCode::InvalidPolicy => None,
    }
}

/// Every code an HTTP answer of this gateway can carry (`docs/protocol.md` §10; the
/// component's `TIMESTAMP_OUT_OF_WINDOW` and `INVALID_POLICY` never reach HTTP).
pub(super) const ALL: &[Code] = &[
    Code::Component(ErrorCode::InvalidJson),
    Code::Component(ErrorCode::MissingField),
    Code::Component(ErrorCode::InvalidField),
    Code::Component(ErrorCode::InvalidAmount),
    Code::Component(ErrorCode::InvalidAddress),
    Code::Component(ErrorCode::UnsupportedChain),
    Code::Component(ErrorCode::ChainMismatch),
    Code::Component(ErrorCode::InvalidNotifyUrl),
    Code::Component(ErrorCode::InvalidSign),
    Code::Component(ErrorCode::SignMismatch),
    Code::Component(ErrorCode::UnknownAppid),
    Code::Gateway(GatewayCode::ForbiddenNotifyTarget),
    Code::Gateway(GatewayCode::Unauthorized),
    Code::Gateway(GatewayCode::TooManyFailedAttempts),
    Code::Gateway(GatewayCode::DuplicateOrder),
    Code::Gateway(GatewayCode::AddressBoundToOtherUser),
    Code::Gateway(GatewayCode::AddressNotAllocated),
    Code::Gateway(GatewayCode::XpubNotConfigured),
    Code::Gateway(GatewayCode::AddressesExhausted),
    Code::Gateway(GatewayCode::AddressQuotaExceeded),
    Code::Gateway(GatewayCode::AddressRateLimited),
    Code::Gateway(GatewayCode::OrderNotFound),
    Code::Gateway(GatewayCode::DeliveryInFlight),
    Code::Gateway(GatewayCode::UnsupportedMediaType),
    Code::Gateway(GatewayCode::PayloadTooLarge),
    Code::Gateway(GatewayCode::MethodNotAllowed),
    Code::Gateway(GatewayCode::NotFound),
    Code::Gateway(GatewayCode::Timeout),
    Code::Gateway(GatewayCode::ConfigRejected),
    Code::Gateway(GatewayCode::Overloaded),
    Code::Gateway(GatewayCode::RateLimited),
    Code::Gateway(GatewayCode::Internal),
    Code::RulesUnavailable,
    Code::StoreUnavailable,
];

/// The schema of `data.code`: every wire code.
pub struct WireCode;

impl PartialSchema for WireCode {
    fn schema() -> RefOr<Schema> {
        let mut codes: Vec<&str> = ALL.iter().map(|c| c.wire()).collect();
        codes.sort_unstable();
        codes.dedup();
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "A stable upper-snake-case code; the table in docs/protocol.md §10 gives each one's meaning and HTTP status.",
            ))
            .enum_values(Some(codes))
            .into()
    }
}

impl ToSchema for WireCode {}
