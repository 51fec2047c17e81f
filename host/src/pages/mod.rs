//! Server-rendered pages: the front door `GET /`, the payer's checkout page
//! `GET /pay/{ordersn}` (for merchants that opt in) and the operator console under
//! `/admin/` (behind the admin token, with a session cookie and CSRF tokens).
//!
//! Templates are askama's (`host/templates/`, compiled into the binary, every value
//! HTML-escaped); the stylesheet and the checkout page's script are embedded too, so
//! the gateway stays one binary. Every page carries a content security policy that
//! allows only the gateway's own scripts and styles; no page renders a secret.

mod checkout;
mod console;
mod landing;

use askama::Template;
use axum::extract::{DefaultBodyLimit, FromRequest, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::de::DeserializeOwned;

use crate::api::AppState;
use crate::rules::RulesFault;
use crate::store::StoreError;
use usdt_gateway_core::CoreError;
use usdt_gateway_core::units::Amount;

/// The pages' state: the API's (the console's sessions are in its admin access).
#[derive(Clone, Debug)]
struct Pages {
    app: AppState,
}

/// Content security policy of the checkout page and the front door: only the
/// gateway's own script, stylesheet and fetches; embeddable by any site (a merchant
/// may frame the checkout page).
const CSP_PUBLIC: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'";

/// The console's policy: no script at all, never framed.
const CSP_CONSOLE: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Largest body of the login form: a token of at most
/// [`crate::api::access::MAX_TOKEN_CHARS`] characters, each percent-encoded.
const LOGIN_FORM_BYTES: usize = 2 * 1024;

/// Largest body of a form that carries the CSRF token alone (64 hex digits).
const CSRF_FORM_BYTES: usize = 256;

/// Largest body of the assignment form: the CSRF token, a chain, a transaction id, a log
/// index and an ordersn.
const ASSIGN_FORM_BYTES: usize = 1024;

/// The pages' routes, to merge into the API's router. Each form's route reads at most
/// what its form needs (413 past it, without reading the rest); the other routes read
/// no body at all; a console that is off answers 404 before reading one.
pub fn router(app: AppState) -> Router<AppState> {
    let pages = Pages { app };
    let limit = DefaultBodyLimit::max;
    // What anyone reaches without a credential: within the public limits.
    let public = Router::new()
        .route("/", get(landing::landing))
        .route("/docs/protocol.md", get(landing::protocol_doc))
        .route("/assets/style.css", get(assets::style))
        .route("/assets/checkout.js", get(assets::checkout_js))
        .route("/pay/{ordersn}", get(checkout::page))
        .route("/pay/{ordersn}/status", get(checkout::status))
        .route_layer(axum::middleware::from_fn_with_state(
            pages.app.clone(),
            crate::api::public::limit,
        ));
    Router::new()
        .merge(public)
        .route("/admin/", get(console::index))
        .route(
            "/admin/login",
            get(console::login_form)
                .post(console::login)
                .layer(limit(LOGIN_FORM_BYTES)),
        )
        .route(
            "/admin/logout",
            post(console::logout).layer(limit(CSRF_FORM_BYTES)),
        )
        .route(
            "/admin/logout/everywhere",
            post(console::logout_everywhere).layer(limit(CSRF_FORM_BYTES)),
        )
        .route("/admin/orders", get(console::orders))
        .route("/admin/orders/{ordersn}", get(console::order))
        .route("/admin/unmatched", get(console::unmatched))
        .route(
            "/admin/unmatched/assign",
            post(console::assign).layer(limit(ASSIGN_FORM_BYTES)),
        )
        .route("/admin/deliveries", get(console::deliveries))
        .route(
            "/admin/deliveries/{ordersn}/resend",
            post(console::resend).layer(limit(CSRF_FORM_BYTES)),
        )
        .route("/admin/watchers", get(console::watchers))
        .route("/admin/merchants", get(console::merchants))
        .with_state(pages)
}

/// A console form's fields (`application/x-www-form-urlencoded`), read up to its
/// route's limit. The rejection is a page: 413 for a body over the limit (the rest is
/// not read), 415 or 400 for one that is not the form.
struct PageForm<T>(T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for PageForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        match Form::<T>::from_request(req, state).await {
            Ok(Form(fields)) => Ok(Self(fields)),
            Err(rejection) => {
                let status = rejection.status();
                let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
                    "The form is larger than this page takes."
                } else {
                    "The request is not this page's form."
                };
                Err(message_page(status, "Refused", message, CSP_CONSOLE))
            }
        }
    }
}

/// The language of a page, from `Accept-Language`: the first of Chinese or English in
/// the browser's order of preference; English when neither is asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lang {
    En,
    Zh,
}

impl Lang {
    fn from_headers(headers: &HeaderMap) -> Self {
        let Some(value) = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
        else {
            return Self::En;
        };
        let mut tags: Vec<(f32, usize, &str)> = value
            .split(',')
            .enumerate()
            .filter_map(|(i, part)| {
                let mut pieces = part.trim().split(';');
                let tag = pieces.next()?.trim();
                let q = pieces
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .and_then(|q| q.parse::<f32>().ok())
                    .unwrap_or(1.0);
                (q > 0.0).then_some((q, i, tag))
            })
            .collect();
        tags.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        tags.iter()
            .find_map(|(_, _, tag)| {
                let primary = tag.split('-').next().unwrap_or("").to_ascii_lowercase();
                match primary.as_str() {
                    "zh" => Some(Self::Zh),
                    "en" => Some(Self::En),
                    _ => None,
                }
            })
            .unwrap_or(Self::En)
    }

    fn code(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Zh => "zh-CN",
        }
    }
}

/// A rendered page with its security headers.
fn html_page(status: StatusCode, body: String, csp: &'static str) -> Response {
    let mut response = (status, Html(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if csp == CSP_CONSOLE {
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    response
}

/// Render `template` as a page, or a plain 500 when rendering fails (it cannot for
/// these templates, whose values are all strings and numbers).
fn render(status: StatusCode, template: &impl Template, csp: &'static str) -> Response {
    match template.render() {
        Ok(body) => html_page(status, body, csp),
        Err(e) => {
            tracing::error!(error = %e, "page rendering failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "page rendering failed").into_response()
        }
    }
}

/// Why a page cannot be given: a console action without its session's CSRF token, or
/// the database or the component did not answer.
#[derive(Debug)]
enum PageError {
    /// A console action whose form lacks the session's CSRF token (or carries a stale one).
    StaleCsrf,
    /// Storage fault (its message).
    Storage(String),
    /// Component fault.
    Rules(RulesFault),
}

impl From<CoreError> for PageError {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::Storage(e) => Self::Storage(e.to_string()),
            CoreError::Rules(e) => Self::Rules(e),
        }
    }
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        Self::Storage(e.to_string())
    }
}

impl From<RulesFault> for PageError {
    fn from(e: RulesFault) -> Self {
        Self::Rules(e)
    }
}

/// The short page a fault or a missing thing shows.
#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage<'a> {
    lang: &'a str,
    title: &'a str,
    message: &'a str,
}

fn message_page(status: StatusCode, title: &str, message: &str, csp: &'static str) -> Response {
    render(
        status,
        &MessagePage {
            lang: "en",
            title,
            message,
        },
        csp,
    )
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match &self {
            Self::StaleCsrf => {
                return message_page(
                    StatusCode::FORBIDDEN,
                    "Refused",
                    "This action lacks the form's CSRF token (or it is stale); reload the page and try again.",
                    CSP_CONSOLE,
                );
            }
            Self::Storage(e) => tracing::error!(error = %e, "storage fault (page)"),
            Self::Rules(e) => tracing::error!(error = %e, "rules component fault (page)"),
        }
        let mut response = message_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Unavailable",
            "The gateway cannot answer right now; reload in a moment.",
            CSP_PUBLIC,
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        response
    }
}

/// Amounts in scaled units as USDT text, by the component's `format-usdt`.
fn usdt(app: &AppState, amount: Amount) -> Result<String, RulesFault> {
    app.rules.format_usdt(u64::try_from(amount.0).unwrap_or(0))
}

/// Unix milliseconds as `YYYY-MM-DD HH:MM:SS UTC`.
fn utc(millis: i64) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    time::OffsetDateTime::from_unix_timestamp(millis.div_euclid(1000))
        .ok()
        .and_then(|at| at.format(&format).ok())
        .unwrap_or_else(|| format!("{millis} ms after 1970-01-01 00:00:00 UTC"))
}

/// The embedded stylesheet and script.
mod assets {
    use axum::http::{HeaderValue, header};
    use axum::response::{IntoResponse, Response};

    fn asset(content_type: &'static str, body: &'static str) -> Response {
        let mut response = body.into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=300"),
        );
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        response
    }

    /// `GET /assets/style.css`.
    pub(super) async fn style() -> Response {
        asset(
            "text/css; charset=utf-8",
            include_str!("../../assets/style.css"),
        )
    }

    /// `GET /assets/checkout.js`.
    pub(super) async fn checkout_js() -> Response {
        asset(
            "text/javascript; charset=utf-8",
            include_str!("../../assets/checkout.js"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lang(value: &str) -> Lang {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT_LANGUAGE,
            HeaderValue::from_str(value).unwrap(),
        );
        Lang::from_headers(&headers)
    }

    #[test]
    fn accept_language_picks_the_preferred_of_chinese_and_english() {
        assert_eq!(lang("zh-CN,zh;q=0.9,en;q=0.8"), Lang::Zh);
        assert_eq!(lang("en-US,en;q=0.9,zh;q=0.8"), Lang::En);
        assert_eq!(lang("fr-FR, zh-TW;q=0.5"), Lang::Zh);
        assert_eq!(lang("en;q=0.2, zh;q=0.7"), Lang::Zh);
        assert_eq!(lang("de, fr"), Lang::En);
        assert_eq!(lang("zh;q=0, en"), Lang::En);
        assert_eq!(Lang::from_headers(&HeaderMap::new()), Lang::En);
    }

    #[test]
    fn utc_formats_unix_milliseconds() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_757_030_400_000), "2025-09-05 00:00:00 UTC");
        assert_eq!(utc(951_782_400_000 + 3_723_000), "2000-02-29 01:02:03 UTC");
    }
}
