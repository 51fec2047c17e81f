//! The operator console under `/admin/`: log in with the admin token (a session cookie
//! follows), then orders (search and state filter), one order's story (deposits,
//! confirmations, callback attempts), unmatched deposits (assign one to an order by
//! hand: an audit log line records it), callbacks (resend), watchers and merchants
//! (never their secrets). Every action is a POST form carrying the session's CSRF
//! token; one without it is refused (403). "Log out everywhere" ends every session. No
//! JavaScript.
//!
//! Logins count against the client's budget of failed authentications, shared with the
//! admin API ([`crate::api::access`]): past it the login page answers 429 without
//! comparing the token. With no `admin.token` the console does not exist (404, before
//! any body is read), like the admin API.

use std::convert::Infallible;
use std::net::IpAddr;
use std::time::Duration;

use askama::Template;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{CSP_CONSOLE, PageError, PageForm, Pages, message_page, render, usdt, utc};
use crate::api::access::Verdict;
use crate::api::client::ClientIp;
use crate::api::session::{Session, set_cookie};
use crate::api::{AppState, GatewayCode, audit, retry_after};
use crate::metrics::{ProviderErrors, RejectionCode};
use crate::store::DeliveryState;
use crate::store::{AssignOutcome, DepositRecord, OrderRecord, ResendOutcome};
use usdt_gateway_core::audit::Actor;
use usdt_gateway_core::deposit::DepositKey;
use usdt_gateway_core::ids::OrderSn;
use usdt_gateway_core::states::{OrderStatus, StateText as _};
use usdt_gateway_core::usecases::OrderSearch;

/// Rows a list shows at most.
const LIST_LIMIT: u32 = 200;

/// What every console page shows around its content.
struct Frame {
    csrf: String,
    here: &'static str,
}

/// A logged-in operator, found by the request's session cookie. The rejection is the
/// answer to give instead: 404 when the console is off, else a redirect to the login
/// form.
pub(super) struct Operator(Session);

impl FromRequestParts<Pages> for Operator {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, pages: &Pages) -> Result<Self, Response> {
        if !pages.app.admin.is_on() {
            return Err(console_off());
        }
        pages
            .app
            .admin
            .sessions()
            .find(&parts.headers)
            .map(Self)
            .ok_or_else(|| Redirect::to("/admin/login").into_response())
    }
}

impl Operator {
    /// The session, for a page that only shows.
    fn session(self) -> Session {
        self.0
    }

    /// The session, for an action: only when its form carries the session's CSRF token.
    fn act(self, csrf: &str) -> Result<Session, PageError> {
        if self.0.csrf_matches(csrf) {
            Ok(self.0)
        } else {
            Err(PageError::StaleCsrf)
        }
    }
}

/// The console is on (an admin token is configured); else the rejection is its 404,
/// given before the request's body is read.
pub(super) struct ConsoleOn;

impl FromRequestParts<Pages> for ConsoleOn {
    type Rejection = Response;

    async fn from_request_parts(_: &mut Parts, pages: &Pages) -> Result<Self, Response> {
        if pages.app.admin.is_on() {
            Ok(Self)
        } else {
            Err(console_off())
        }
    }
}

/// The key the request's client is counted under ([`ClientIp::key`]), and its address.
pub(super) struct Client {
    key: IpAddr,
    ip: IpAddr,
}

impl FromRequestParts<Pages> for Client {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, pages: &Pages) -> Result<Self, Infallible> {
        let client = ClientIp::from_request_parts(parts, &pages.app).await?;
        Ok(Self {
            key: client.key(),
            ip: client.0,
        })
    }
}

fn console_off() -> Response {
    message_page(
        StatusCode::NOT_FOUND,
        "Not found",
        "The operator console is off (no admin.token).",
        CSP_CONSOLE,
    )
}

/// A path segment, percent-encoded.
fn segment(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The id of a session for the audit log: a short hash of its id, never the cookie's
/// value itself.
fn session_tag(session: &Session) -> String {
    audit::credential_id(&session.id)
}

/// Who acts, for the audit log: the admin token's id (never the token).
fn who(pages: &Pages) -> String {
    pages.app.admin.who()
}

/// The operator acting through the console in `session`, for the core's audit lines.
fn actor(pages: &Pages, session: &Session) -> Actor {
    Actor::console(who(pages), session_tag(session))
}

// ---- login ----------------------------------------------------------------------

#[derive(Template)]
#[template(path = "console/login.html")]
struct LoginPage<'a> {
    lang: &'static str,
    title: &'static str,
    error: Option<&'a str>,
}

/// `GET /admin/`: the orders when logged in, else the login form.
pub(super) async fn index(operator: Result<Operator, Response>) -> Response {
    match operator {
        Ok(_) => Redirect::to("/admin/orders").into_response(),
        Err(response) => response,
    }
}

/// `GET /admin/login`.
pub(super) async fn login_form(_: ConsoleOn) -> Response {
    render(
        StatusCode::OK,
        &LoginPage {
            lang: "en",
            title: "Log in — usdt-gateway",
            error: None,
        },
        CSP_CONSOLE,
    )
}

/// The login form's fields.
#[derive(Debug, Deserialize)]
pub(super) struct LoginForm {
    #[serde(default)]
    token: String,
}

fn login_page(status: StatusCode, error: &str) -> Response {
    render(
        status,
        &LoginPage {
            lang: "en",
            title: "Log in — usdt-gateway",
            error: Some(error),
        },
        CSP_CONSOLE,
    )
}

/// `POST /admin/login`: the admin token (constant-time compare) starts a session, within
/// the client's budget of failed authentications (shared with the admin API): past it
/// the answer is 429 with `Retry-After` and the token is not compared.
pub(super) async fn login(
    State(pages): State<Pages>,
    _: ConsoleOn,
    client: Client,
    headers: HeaderMap,
    PageForm(form): PageForm<LoginForm>,
) -> Response {
    let session = match pages.app.admin.login(client.key, &form.token) {
        Verdict::Granted(session) => session,
        Verdict::Off => return console_off(),
        Verdict::Wrong => {
            tracing::warn!(target: "audit", action = "console_login", ok = false, reason = "wrong_token", client = %client.ip, "console login refused");
            // Guessing costs time.
            tokio::time::sleep(Duration::from_millis(300)).await;
            let mut response = login_page(StatusCode::UNAUTHORIZED, "That is not the admin token.");
            response
                .extensions_mut()
                .insert(RejectionCode(GatewayCode::Unauthorized.as_str()));
            return response;
        }
        Verdict::Limited { wait, first } => {
            if first {
                tracing::warn!(target: "audit", action = "console_login", ok = false, reason = "too_many_failures", client = %client.ip, retry_after_s = wait.as_secs(), "client locked out after repeated authentication failures");
            }
            let mut response = login_page(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many failed logins from this address; wait a while and try again.",
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, retry_after(wait));
            response
                .extensions_mut()
                .insert(RejectionCode(GatewayCode::TooManyFailedAttempts.as_str()));
            return response;
        }
    };
    tracing::info!(target: "audit", who = who(&pages), action = "console_login", ok = true, session = session_tag(&session), client = %client.ip, "console login");
    let mut response = Redirect::to("/admin/orders").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, set_cookie(&headers, Some(&session)));
    response
}

/// A form whose only field is the CSRF token.
#[derive(Debug, Deserialize)]
pub(super) struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /admin/logout`.
pub(super) async fn logout(
    State(pages): State<Pages>,
    operator: Operator,
    headers: HeaderMap,
    PageForm(form): PageForm<CsrfForm>,
) -> Result<Response, PageError> {
    let session = operator.act(&form.csrf)?;
    pages.app.admin.sessions().end(&session.id);
    tracing::info!(target: "audit", who = who(&pages), action = "console_logout", session = session_tag(&session), "console logout");
    Ok(logged_out(&headers))
}

/// `POST /admin/logout/everywhere`: end every session of the console, this one too.
pub(super) async fn logout_everywhere(
    State(pages): State<Pages>,
    operator: Operator,
    headers: HeaderMap,
    PageForm(form): PageForm<CsrfForm>,
) -> Result<Response, PageError> {
    let session = operator.act(&form.csrf)?;
    let sessions = pages.app.admin.end_sessions();
    tracing::info!(target: "audit", who = who(&pages), action = "revoke_sessions", sessions, session = session_tag(&session), "console: logged out everywhere");
    Ok(logged_out(&headers))
}

/// To the login form, the cookie cleared.
fn logged_out(headers: &HeaderMap) -> Response {
    let mut response = Redirect::to("/admin/login").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, set_cookie(headers, None));
    response
}

// ---- orders ---------------------------------------------------------------------

/// One order as a row.
struct OrderRow {
    ordersn: String,
    orderid: String,
    appid: String,
    username: String,
    localusermark: String,
    chain: String,
    address: String,
    amount: String,
    received: String,
    state: &'static str,
    required_confirmations: u32,
    notify_url: String,
    created: String,
    expires: String,
}

/// An order as a row, in the `status` the core derived for it.
fn order_row(
    app: &AppState,
    record: OrderRecord,
    status: OrderStatus,
) -> Result<OrderRow, PageError> {
    let o = record.order;
    Ok(OrderRow {
        amount: usdt(app, o.amount)?,
        received: usdt(app, record.received_amount)?,
        state: status.as_str(),
        required_confirmations: o.required_confirmations,
        notify_url: o.notify_url.unwrap_or_default(),
        created: utc(o.created_at.0),
        expires: utc(o.expires_at.0),
        ordersn: o.ordersn.into_string(),
        orderid: o.orderid.into_string(),
        appid: o.appid.into_string(),
        username: o.username,
        localusermark: o.localusermark,
        chain: o.chain.into_string(),
        address: o.address,
    })
}

#[derive(Template)]
#[template(path = "console/orders.html")]
struct OrdersPage {
    lang: &'static str,
    title: &'static str,
    frame: Frame,
    q: String,
    any_state: bool,
    /// Each state of the filter and whether it is chosen.
    states: Vec<(&'static str, bool)>,
    rows: Vec<OrderRow>,
}

/// `?q=…&state=…`.
#[derive(Debug, Deserialize)]
pub(super) struct OrdersQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    state: String,
}

/// `GET /admin/orders`.
pub(super) async fn orders(
    State(pages): State<Pages>,
    operator: Operator,
    Query(query): Query<OrdersQuery>,
) -> Result<Response, PageError> {
    let session = operator.session();
    let q = query.q.trim().to_owned();
    let status = OrderStatus::parse_text(&query.state).ok();
    let search = OrderSearch {
        text: q.clone(),
        status,
        limit: LIST_LIMIT,
    };
    let rows = pages
        .app
        .core
        .search_orders(&search)
        .await?
        .into_iter()
        .map(|found| order_row(&pages.app, found.record, found.status))
        .collect::<Result<_, _>>()?;
    let state = status.map_or("", OrderStatus::as_str);
    Ok(render(
        StatusCode::OK,
        &OrdersPage {
            lang: "en",
            title: "Orders — usdt-gateway",
            frame: Frame {
                csrf: session.csrf,
                here: "orders",
            },
            q,
            any_state: state.is_empty(),
            states: OrderStatus::ALL
                .iter()
                .map(|s| (s.as_str(), s.as_str() == state))
                .collect(),
            rows,
        },
        CSP_CONSOLE,
    ))
}

/// One deposit as a row.
struct DepositRow {
    chain: String,
    txid: String,
    log_index: i64,
    address: String,
    amount: String,
    block: u64,
    state: String,
    required_confirmations: i64,
}

fn deposit_row(app: &AppState, d: DepositRecord) -> Result<DepositRow, PageError> {
    Ok(DepositRow {
        amount: usdt(app, d.amount)?,
        chain: d.chain.into_string(),
        txid: d.txid,
        log_index: d.log_index,
        address: d.address,
        block: d.block_number.0,
        state: d.state.as_str().to_owned(),
        required_confirmations: d.required_confirmations,
    })
}

/// One callback attempt as a row.
struct AttemptRow {
    attempt: i64,
    started: String,
    status_code: String,
    body_prefix: String,
    latency_ms: i64,
    error: String,
    outcome: String,
}

/// A delivery as a row.
struct CallbackRow {
    ordersn: String,
    appid: String,
    state: String,
    attempts: i64,
    next_attempt: String,
    last_error: String,
    amount: String,
}

fn callback_row(app: &AppState, c: crate::store::CallbackRecord) -> Result<CallbackRow, PageError> {
    Ok(CallbackRow {
        amount: usdt(app, c.amount)?,
        next_attempt: if c.state == DeliveryState::Pending {
            utc(c.next_attempt_at.0)
        } else {
            String::new()
        },
        ordersn: c.ordersn.into_string(),
        appid: c.appid.into_string(),
        state: c.state.as_str().to_owned(),
        attempts: c.attempts,
        last_error: c.last_error.unwrap_or_default(),
    })
}

#[derive(Template)]
#[template(path = "console/order.html")]
struct OrderPage {
    lang: &'static str,
    title: &'static str,
    frame: Frame,
    notice: &'static str,
    order: OrderRow,
    confirmations: u64,
    deposits: Vec<DepositRow>,
    callback: Option<CallbackRow>,
    attempts: Vec<AttemptRow>,
}

/// `?done=…` after an action.
#[derive(Debug, Deserialize)]
pub(super) struct DoneQuery {
    #[serde(default)]
    done: String,
}

/// `GET /admin/orders/{ordersn}`: the order's story.
pub(super) async fn order(
    State(pages): State<Pages>,
    operator: Operator,
    Path(ordersn): Path<String>,
    Query(done): Query<DoneQuery>,
) -> Result<Response, PageError> {
    let session = operator.session();
    let app = &pages.app;
    let Some(view) = app
        .core
        .order_status_by_ordersn(&ordersn.as_str().into())
        .await?
    else {
        return Ok(message_page(
            StatusCode::NOT_FOUND,
            "No such order",
            "No order has this ordersn.",
            CSP_CONSOLE,
        ));
    };
    let confirmations = view.progress.confirmations.count;
    let ordersn = OrderSn::from(ordersn);
    let deposits = app
        .core
        .order_deposits(&ordersn)
        .await?
        .into_iter()
        .map(|d| deposit_row(app, d))
        .collect::<Result<_, _>>()?;
    let (callback, attempts) = match app.core.delivery(&ordersn).await? {
        Some((c, attempts)) => (
            Some(callback_row(app, c)?),
            attempts
                .into_iter()
                .map(|a| AttemptRow {
                    attempt: a.attempt,
                    started: utc(a.started_at.0),
                    status_code: a.status_code.map(|s| s.to_string()).unwrap_or_default(),
                    body_prefix: a.body_prefix.unwrap_or_default(),
                    latency_ms: a.latency_ms,
                    error: a.error.unwrap_or_default(),
                    outcome: a.outcome.as_str().to_owned(),
                })
                .collect(),
        ),
        None => (None, Vec::new()),
    };
    let notice = match done.done.as_str() {
        "resent" => "The callback is queued to be sent again now.",
        "assigned" => {
            "The deposit is this order's now; the order is confirmed (and its callback queued) once the deposit has its confirmations."
        }
        _ => "",
    };
    Ok(render(
        StatusCode::OK,
        &OrderPage {
            lang: "en",
            title: "Order — usdt-gateway",
            frame: Frame {
                csrf: session.csrf,
                here: "orders",
            },
            notice,
            order: order_row(app, view.record, view.progress.status)?,
            confirmations,
            deposits,
            callback,
            attempts,
        },
        CSP_CONSOLE,
    ))
}

// ---- unmatched deposits -----------------------------------------------------------

#[derive(Template)]
#[template(path = "console/unmatched.html")]
struct UnmatchedPage {
    lang: &'static str,
    title: &'static str,
    frame: Frame,
    rows: Vec<DepositRow>,
}

/// `GET /admin/unmatched`.
pub(super) async fn unmatched(
    State(pages): State<Pages>,
    operator: Operator,
) -> Result<Response, PageError> {
    let session = operator.session();
    let rows = pages
        .app
        .core
        .unmatched_deposits(LIST_LIMIT)
        .await?
        .into_iter()
        .map(|d| deposit_row(&pages.app, d))
        .collect::<Result<_, _>>()?;
    Ok(render(
        StatusCode::OK,
        &UnmatchedPage {
            lang: "en",
            title: "Unmatched deposits — usdt-gateway",
            frame: Frame {
                csrf: session.csrf,
                here: "unmatched",
            },
            rows,
        },
        CSP_CONSOLE,
    ))
}

/// The assignment form.
#[derive(Debug, Deserialize)]
pub(super) struct AssignForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    chain: String,
    #[serde(default)]
    txid: String,
    #[serde(default)]
    log_index: String,
    #[serde(default)]
    ordersn: String,
}

/// `POST /admin/unmatched/assign`: give an unmatched deposit to a pending order of the
/// same address; recorded in the audit log.
pub(super) async fn assign(
    State(pages): State<Pages>,
    operator: Operator,
    PageForm(form): PageForm<AssignForm>,
) -> Result<Response, PageError> {
    let session = operator.act(&form.csrf)?;
    let ordersn = form.ordersn.trim();
    let Ok(log_index) = form.log_index.parse::<i64>() else {
        return Ok(message_page(
            StatusCode::BAD_REQUEST,
            "Not assigned",
            "The deposit's log index is not a number.",
            CSP_CONSOLE,
        ));
    };
    let deposit = DepositKey {
        chain: form.chain.as_str().into(),
        txid: form.txid.clone(),
        log_index,
    };
    let outcome = pages
        .app
        .core
        .assign_deposit(&actor(&pages, &session), &deposit, &ordersn.into())
        .await?;
    let message = match outcome {
        AssignOutcome::Assigned => {
            return Ok(
                Redirect::to(&format!("/admin/orders/{}?done=assigned", segment(ordersn)))
                    .into_response(),
            );
        }
        AssignOutcome::NoDeposit => {
            "That deposit is not unmatched any more (or does not exist); nothing changed."
        }
        AssignOutcome::NoOrder => {
            "No pending order with that ordersn on the deposit's chain and address; nothing changed."
        }
    };
    Ok(message_page(
        StatusCode::CONFLICT,
        "Not assigned",
        message,
        CSP_CONSOLE,
    ))
}

// ---- callbacks ----------------------------------------------------------------------

#[derive(Template)]
#[template(path = "console/deliveries.html")]
struct DeliveriesPage {
    lang: &'static str,
    title: &'static str,
    frame: Frame,
    state: &'static str,
    /// Each state and whether it is the one shown.
    states: Vec<(&'static str, bool)>,
    rows: Vec<CallbackRow>,
}

/// `?state=…`.
#[derive(Debug, Deserialize)]
pub(super) struct StateQuery {
    #[serde(default)]
    state: String,
}

const CALLBACK_STATES: [&str; 4] = ["failed", "not_configured", "pending", "delivered"];

/// `GET /admin/deliveries?state=failed|not_configured|pending|delivered` (failed by
/// default).
pub(super) async fn deliveries(
    State(pages): State<Pages>,
    operator: Operator,
    Query(query): Query<StateQuery>,
) -> Result<Response, PageError> {
    let session = operator.session();
    let state = CALLBACK_STATES
        .into_iter()
        .find(|s| *s == query.state)
        .and_then(|s| s.parse().ok())
        .unwrap_or(DeliveryState::Failed);
    let rows = pages
        .app
        .core
        .deliveries(Some(state), LIST_LIMIT)
        .await?
        .into_iter()
        .map(|c| callback_row(&pages.app, c))
        .collect::<Result<_, _>>()?;
    Ok(render(
        StatusCode::OK,
        &DeliveriesPage {
            lang: "en",
            title: "Callbacks — usdt-gateway",
            frame: Frame {
                csrf: session.csrf,
                here: "deliveries",
            },
            state: state.as_str(),
            states: CALLBACK_STATES
                .iter()
                .map(|s| (*s, *s == state.as_str()))
                .collect(),
            rows,
        },
        CSP_CONSOLE,
    ))
}

/// `POST /admin/deliveries/{ordersn}/resend`.
pub(super) async fn resend(
    State(pages): State<Pages>,
    operator: Operator,
    Path(ordersn): Path<String>,
    PageForm(form): PageForm<CsrfForm>,
) -> Result<Response, PageError> {
    let session = operator.act(&form.csrf)?;
    let outcome = pages
        .app
        .core
        .resend_delivery(&actor(&pages, &session), &ordersn.as_str().into())
        .await?;
    match outcome {
        ResendOutcome::Resent => {}
        ResendOutcome::NoDelivery => {
            return Ok(message_page(
                StatusCode::NOT_FOUND,
                "No callback",
                "This order has no callback.",
                CSP_CONSOLE,
            ));
        }
        ResendOutcome::InFlight => {
            return Ok(message_page(
                StatusCode::CONFLICT,
                "Not resent",
                "An attempt of this callback is in flight right now; nothing changed. Resend once its outcome is recorded (within 2 × notify.timeout + 5 s).",
                CSP_CONSOLE,
            ));
        }
    }
    Ok(Redirect::to(&format!("/admin/orders/{}?done=resent", segment(&ordersn))).into_response())
}

// ---- watchers and merchants ------------------------------------------------------------

struct WatcherRow {
    chain: String,
    head: i64,
    next_block: i64,
    lag: i64,
    updated: String,
}

#[derive(Template)]
#[template(path = "console/watchers.html")]
struct WatchersPage {
    lang: &'static str,
    title: &'static str,
    frame: Frame,
    rows: Vec<WatcherRow>,
    providers: Vec<ProviderErrors>,
}

/// `GET /admin/watchers`: each chain's head, cursor and lag, and each chain node
/// endpoint's failed calls since start.
pub(super) async fn watchers(
    State(pages): State<Pages>,
    operator: Operator,
) -> Result<Response, PageError> {
    let session = operator.session();
    let rows = pages
        .app
        .core
        .chain_cursors()
        .await?
        .into_iter()
        .map(|c| WatcherRow {
            lag: c.lag(),
            updated: utc(c.updated_at),
            chain: c.chain.into_string(),
            head: c.head,
            next_block: c.next_block,
        })
        .collect();
    Ok(render(
        StatusCode::OK,
        &WatchersPage {
            lang: "en",
            title: "Watchers — usdt-gateway",
            frame: Frame {
                csrf: session.csrf,
                here: "watchers",
            },
            rows,
            providers: pages.app.metrics.provider_errors(),
        },
        CSP_CONSOLE,
    ))
}

struct MerchantRow {
    appid: String,
    notify_url: String,
    rotating: bool,
    checkout_page: bool,
}

#[derive(Template)]
#[template(path = "console/merchants.html")]
struct MerchantsPage {
    lang: &'static str,
    title: &'static str,
    frame: Frame,
    rows: Vec<MerchantRow>,
}

/// `GET /admin/merchants`: appids, callback URLs, rotation and checkout opt-in; never a
/// secret.
pub(super) async fn merchants(State(pages): State<Pages>, operator: Operator) -> Response {
    let session = operator.session();
    let mut rows: Vec<MerchantRow> = pages
        .app
        .merchants
        .snapshot()
        .values()
        .map(|m| MerchantRow {
            appid: m.appid.clone(),
            notify_url: m.notify_url.clone().unwrap_or_default(),
            rotating: m.next_secret.is_some(),
            checkout_page: m.checkout_page,
        })
        .collect();
    rows.sort_by(|a, b| a.appid.cmp(&b.appid));
    render(
        StatusCode::OK,
        &MerchantsPage {
            lang: "en",
            title: "Merchants — usdt-gateway",
            frame: Frame {
                csrf: session.csrf,
                here: "merchants",
            },
            rows,
        },
        CSP_CONSOLE,
    )
}

#[cfg(test)]
mod tests {
    use super::segment;

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(segment("cz-1234_ab.c~"), "cz-1234_ab.c~");
        assert_eq!(segment("a/b?c d"), "a%2Fb%3Fc%20d");
    }
}
