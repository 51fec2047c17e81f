//! The OpenAPI 3.1 document of the HTTP API, served at `GET /openapi.json`.
//!
//! It is generated from the code, never written by hand: each handler carries its
//! `#[utoipa::path]` annotation, the router registers handlers through `utoipa-axum`
//! (a route and its operation are added in the same call), and the bodies are the types
//! the handlers serialize. The failure answers of each operation are built here from the
//! error types' own table of HTTP statuses, with one example body per code. The HTML
//! pages (`/`, `/pay/…`, the `/admin/` console and their assets) are not part of this
//! document: they are for browsers, not a contract for programs.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::Extension;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::example::ExampleBuilder;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::Schema;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, RefOr};
use utoipa::{IntoResponses, Modify, ToSchema};

use super::wire::{Code, Failure, FailureData, GatewayCode, RejectionItem, WireCode};
use crate::rules::ErrorCode;
use crate::store::DeliveryState;
use Code::{Component as C, Gateway as G};

/// Where the document is served.
pub const PATH: &str = "/openapi.json";

/// The document's frame: title, description, tags, the admin API's bearer scheme and
/// the shared schemas. The operations are added by the router (`api::app`, inside `router::app`).
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "usdt-gateway",
        description = include_str!("openapi.md"),
    ),
    tags(
        (name = "orders", description = "The USDT Recharge API V2: create and query deposit orders (signed with the merchant's secret)."),
        (name = "admin", description = "The operator's API, behind `Authorization: Bearer <admin.token>`; 404 when no admin token is configured."),
        (name = "health", description = "Liveness and readiness."),
        (name = "dev", description = "Dev mode only: the embedded dev chains. Absent (404) outside dev mode, and absent from this document then."),
        (name = "meta", description = "This document."),
    ),
    modifiers(&AdminAuth),
    components(schemas(Failure, FailureData, RejectionItem, WireCode, ChainName, DeliveryState)),
)]
pub struct ApiDoc;

/// Adds the admin API's bearer token scheme.
struct AdminAuth;

impl Modify for AdminAuth {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "admin_token",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// `GET /openapi.json`: this document.
#[utoipa::path(
    get,
    path = PATH,
    tag = "meta",
    responses((status = 200, description = "The OpenAPI 3.1 document of this gateway (the dev routes only in dev mode).", content_type = "application/json")),
)]
pub async fn document(Extension(doc): Extension<Arc<OpenApi>>) -> Response {
    Json(doc.as_ref()).into_response()
}

/// The failure answers of `codes`, one response per HTTP status, each with every code
/// it can carry in its description and one example body per code.
fn failures(codes: &[Code]) -> BTreeMap<String, RefOr<utoipa::openapi::Response>> {
    let mut by_status: BTreeMap<u16, Vec<Code>> = BTreeMap::new();
    for code in codes {
        by_status
            .entry(code.status().as_u16())
            .or_default()
            .push(*code);
    }
    by_status
        .into_iter()
        .map(|(status, codes)| {
            let description = codes
                .iter()
                .map(|c| format!("`{}`: {}", c.wire(), c.meaning()))
                .collect::<Vec<_>>()
                .join("\n\n");
            let content = ContentBuilder::new()
                .schema(Some(Failure::schema_ref()))
                .examples_from_iter(codes.iter().map(|c| {
                    (
                        c.wire(),
                        ExampleBuilder::new()
                            .summary(c.wire())
                            .value(serde_json::to_value(c.example()).ok())
                            .build(),
                    )
                }))
                .build();
            let response = ResponseBuilder::new()
                .description(description)
                .content("application/json", content)
                .build();
            (status.to_string(), RefOr::T(response))
        })
        .collect()
}

impl Failure {
    fn schema_ref() -> RefOr<Schema> {
        RefOr::Ref(utoipa::openapi::Ref::from_schema_name("Failure"))
    }
}

/// Declares a set of failure answers for an operation's `responses(…)`.
macro_rules! failure_set {
    ($(#[$meta:meta])* $name:ident: [$($code:expr),+ $(,)?]) => {
        $(#[$meta])*
        pub struct $name;

        impl IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::Response>> {
                failures(&[$($code),+])
            }
        }
    };
}

failure_set! {
    /// The order endpoint's failures.
    OrderFailures: [
        C(ErrorCode::InvalidJson), C(ErrorCode::MissingField), C(ErrorCode::InvalidField),
        C(ErrorCode::InvalidAmount), C(ErrorCode::InvalidAddress), C(ErrorCode::UnsupportedChain),
        C(ErrorCode::ChainMismatch), C(ErrorCode::InvalidNotifyUrl),
        G(GatewayCode::ForbiddenNotifyTarget), C(ErrorCode::InvalidSign), C(ErrorCode::SignMismatch),
        C(ErrorCode::UnknownAppid), G(GatewayCode::DuplicateOrder),
        G(GatewayCode::AddressBoundToOtherUser), G(GatewayCode::AddressNotAllocated),
        G(GatewayCode::MethodNotAllowed), G(GatewayCode::PayloadTooLarge),
        G(GatewayCode::UnsupportedMediaType), G(GatewayCode::Timeout),
        G(GatewayCode::Overloaded), Code::RulesUnavailable, Code::StoreUnavailable,
    ]
}

failure_set! {
    /// The address endpoint's failures.
    AddressFailures: [
        C(ErrorCode::InvalidJson), C(ErrorCode::MissingField), C(ErrorCode::InvalidField),
        C(ErrorCode::UnsupportedChain), C(ErrorCode::InvalidSign), C(ErrorCode::SignMismatch),
        C(ErrorCode::UnknownAppid), G(GatewayCode::XpubNotConfigured),
        G(GatewayCode::AddressesExhausted), G(GatewayCode::AddressQuotaExceeded),
        G(GatewayCode::AddressRateLimited), G(GatewayCode::MethodNotAllowed),
        G(GatewayCode::PayloadTooLarge), G(GatewayCode::UnsupportedMediaType),
        G(GatewayCode::Timeout), Code::RulesUnavailable, Code::StoreUnavailable,
    ]
}

failure_set! {
    /// The query endpoint's failures.
    QueryFailures: [
        C(ErrorCode::InvalidJson), C(ErrorCode::MissingField), C(ErrorCode::InvalidField),
        C(ErrorCode::InvalidSign), C(ErrorCode::SignMismatch), C(ErrorCode::UnknownAppid),
        G(GatewayCode::OrderNotFound), G(GatewayCode::MethodNotAllowed),
        G(GatewayCode::PayloadTooLarge), G(GatewayCode::UnsupportedMediaType),
        G(GatewayCode::Timeout), Code::RulesUnavailable, Code::StoreUnavailable,
    ]
}

failure_set! {
    /// The admin API's lists.
    AdminListFailures: [
        G(GatewayCode::InvalidField), G(GatewayCode::Unauthorized), G(GatewayCode::TooManyFailedAttempts), G(GatewayCode::NotFound),
        G(GatewayCode::Timeout), Code::StoreUnavailable,
    ]
}

failure_set! {
    /// The admin API's one-callback reads.
    AdminCallbackFailures: [
        G(GatewayCode::InvalidField), G(GatewayCode::Unauthorized), G(GatewayCode::TooManyFailedAttempts), G(GatewayCode::NotFound),
        G(GatewayCode::OrderNotFound), G(GatewayCode::Timeout), Code::StoreUnavailable,
    ]
}

failure_set! {
    /// The admin API's resend.
    AdminResendFailures: [
        G(GatewayCode::InvalidField), G(GatewayCode::Unauthorized),
        G(GatewayCode::TooManyFailedAttempts), G(GatewayCode::NotFound),
        G(GatewayCode::OrderNotFound), G(GatewayCode::DeliveryInFlight),
        G(GatewayCode::MethodNotAllowed), G(GatewayCode::Timeout), Code::StoreUnavailable,
    ]
}

failure_set! {
    /// The admin API's merchant reload.
    AdminReloadFailures: [
        G(GatewayCode::Unauthorized), G(GatewayCode::TooManyFailedAttempts), G(GatewayCode::NotFound), G(GatewayCode::ConfigRejected),
        G(GatewayCode::MethodNotAllowed), G(GatewayCode::Timeout),
    ]
}

failure_set! {
    /// The admin API's session revocation.
    AdminRevokeFailures: [
        G(GatewayCode::Unauthorized), G(GatewayCode::TooManyFailedAttempts), G(GatewayCode::NotFound),
        G(GatewayCode::MethodNotAllowed), G(GatewayCode::Timeout),
    ]
}

failure_set! {
    /// A dev transfer's failures.
    DevTransferFailures: [
        G(GatewayCode::InvalidJson), C(ErrorCode::InvalidAddress), C(ErrorCode::InvalidAmount),
        G(GatewayCode::NotFound), G(GatewayCode::MethodNotAllowed), G(GatewayCode::PayloadTooLarge),
        G(GatewayCode::UnsupportedMediaType), G(GatewayCode::Timeout), Code::StoreUnavailable,
    ]
}

failure_set! {
    /// A dev mine or reorg's failures.
    DevBlockFailures: [
        G(GatewayCode::InvalidJson), G(GatewayCode::InvalidField), G(GatewayCode::NotFound),
        G(GatewayCode::MethodNotAllowed), G(GatewayCode::PayloadTooLarge),
        G(GatewayCode::UnsupportedMediaType), G(GatewayCode::Timeout), Code::StoreUnavailable,
    ]
}

/// The body of `POST /api/merchant/v2/TraderRechargeorder`, as the document shows it.
/// The component parses the body's text itself (`docs/protocol.md` §4): unknown fields
/// are ignored, a repeated known field is `INVALID_JSON`, `null` counts as absent.
#[derive(ToSchema)]
#[schema(example = json!({
    "appid": "yourAppId", "username": "alice", "localusermark": "uid123",
    "address": "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", "orderid": "myplat-1662299838",
    "amount": 1000000, "sign": "46f46280634e100934ebe318126bf854"
}))]
pub struct OrderRequest {
    /// The merchant's id: 1..=64 of `[A-Za-z0-9_-]`.
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$")]
    pub appid: String,
    /// The user's account on the merchant's platform: 1..=64 characters, case-sensitive;
    /// no `|`, no control characters, no leading or trailing whitespace.
    #[schema(min_length = 1, max_length = 64)]
    pub username: String,
    /// The merchant's reference, echoed in the callback: 1..=128 characters, the same
    /// rules as `username`.
    #[schema(min_length = 1, max_length = 128)]
    pub localusermark: String,
    /// The user's dedicated deposit address: TRC20 (`T…`), ERC20 (`0x` + 40 hex; mixed
    /// case must pass EIP-55) or OMNI (`1…`/`3…`). Bound to one `(appid, username)` on
    /// first use. Signed exactly as sent.
    #[schema(min_length = 1)]
    pub address: String,
    /// The merchant's order id: 1..=64 of `[A-Za-z0-9_-]`.
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$")]
    pub orderid: String,
    /// Scaled units (1/10000 USDT) as a JSON integer token: `1000000` is 100 USDT.
    #[schema(minimum = 1, maximum = 9_007_199_254_740_991_i64)]
    pub amount: i64,
    /// Optional: the chain, which must agree with the address (detected from it when
    /// absent). Not signed.
    pub chain: Option<ChainName>,
    /// Optional: where the callback goes (else the merchant's default): `http://` or
    /// `https://`, 1..=1024 printable ASCII characters, no credentials. Not signed.
    #[schema(pattern = "^https?://[!-~]+$", max_length = 1024)]
    pub notify_url: Option<String>,
    /// `md5(appid|username|localusermark|address|orderid|amount|secret)`, 32 lowercase
    /// hex digits.
    #[schema(pattern = "^[0-9a-f]{32}$")]
    pub sign: String,
}

/// The body of `POST /api/merchant/v2/TraderRechargeorderQuery`.
#[derive(ToSchema)]
#[schema(example = json!({
    "appid": "yourAppId", "orderid": "myplat-1662299838",
    "sign": "2d5fe421d35be54d6eb5e2c7dfa77338"
}))]
pub struct QueryRequest {
    /// The merchant's id.
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$")]
    pub appid: String,
    /// The merchant's order id.
    #[schema(min_length = 1)]
    pub orderid: String,
    /// `md5(appid|orderid|secret)`, 32 lowercase hex digits.
    #[schema(pattern = "^[0-9a-f]{32}$")]
    pub sign: String,
}

/// The body of `POST /api/merchant/v2/TraderRechargeAddress` (our extension).
#[derive(ToSchema)]
#[schema(example = json!({
    "appid": "yourAppId", "username": "alice", "chain": "TRC20",
    "sign": "debc56b778515064cb4625f632293aa2"
}))]
pub struct AddressRequest {
    /// The merchant's id.
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$")]
    pub appid: String,
    /// The user's account on the merchant's platform (the rules of an order's `username`).
    #[schema(min_length = 1, max_length = 64)]
    pub username: String,
    /// The chain.
    pub chain: ChainName,
    /// `md5(appid|username|chain|secret)`, 32 lowercase hex digits.
    #[schema(pattern = "^[0-9a-f]{32}$")]
    pub sign: String,
}

/// A chain's wire name.
#[derive(ToSchema)]
#[schema(rename_all = "UPPERCASE")]
pub enum ChainName {
    /// TRON (`TRC20`).
    Trc20,
    /// Ethereum (`ERC20`).
    Erc20,
    /// Omni Layer on Bitcoin (`OMNI`).
    Omni,
}
