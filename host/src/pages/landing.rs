//! The front door `GET /`: what this gateway is, its version, where the console, the
//! health checks, the protocol document and the OpenAPI document are; in dev mode, the demo merchant's appid
//! and a ready-to-copy order (its secret is never shown: it is printed at start).

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{CSP_PUBLIC, Pages, render};
use crate::api::{ORDER_PATH, QUERY_PATH, openapi};
use crate::preflight::DEV_APPID;

#[derive(Template)]
#[template(path = "landing.html")]
struct LandingPage {
    lang: &'static str,
    title: &'static str,
    version: &'static str,
    order_path: &'static str,
    query_path: &'static str,
    openapi_path: &'static str,
    console: bool,
    dev_appid: Option<&'static str>,
}

/// `GET /`.
pub(super) async fn landing(State(pages): State<Pages>) -> Response {
    let dev = pages.app.dev_mode && pages.app.merchants.snapshot().contains_key(DEV_APPID);
    render(
        StatusCode::OK,
        &LandingPage {
            lang: "en",
            title: "usdt-gateway",
            version: env!("CARGO_PKG_VERSION"),
            order_path: ORDER_PATH,
            query_path: QUERY_PATH,
            openapi_path: openapi::PATH,
            console: pages.app.admin.is_on(),
            dev_appid: dev.then_some(DEV_APPID),
        },
        CSP_PUBLIC,
    )
}

/// `GET /docs/protocol.md`: the protocol as implemented, embedded at build time.
pub(super) async fn protocol_doc() -> Response {
    let mut response = include_str!("../../../docs/protocol.md").into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/markdown; charset=utf-8"),
    );
    response
}
