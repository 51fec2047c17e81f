//! The pages through the router (SQLite and PostgreSQL): the front door, the checkout
//! page's opt-in, escaping and live state, the console's login, session cookie and
//! CSRF refusals, order search, and the hand assignment of an unmatched deposit. The
//! browser suite (`tests/browser`) drives the same pages in chromium.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use hyper::body::{Body as HttpBody, Frame};
use serde_json::{Value, json};
use tower::ServiceExt;
use usdt_gateway::store::AssignOutcome;

use crate::TestApp;
use crate::support::{APPID, APPID2, SECRET, SECRET2, TestEnv, fresh_address, order_body};

const TOKEN: &str = "7a9ab7b1019ddc6471c36495bf688af27b4f2160160dec3eb6b484e6b8030e8f";
const HOSTILE: &str = "<img src=x onerror=\"alert(1)\">&'";

/// `APPID2` opts in to the checkout page (the appended key lands in its table).
fn extra() -> String {
    format!(
        "checkout_page = true\n[admin]\ntoken = \"{TOKEN}\"\n\
         [notify]\nallow_private_targets = true\n[confirmations]\ndefault = 2\n"
    )
}

async fn app() -> TestApp {
    TestApp::start_on(TestEnv::dev("http://127.0.0.1:9/none", &extra()).await).await
}

/// A response's status, headers and body text.
struct Page {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    text: String,
}

impl TestApp {
    async fn page(&self, request: Request<Body>) -> Page {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Page {
            status,
            headers,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    async fn get_page(&self, path: &str, cookie: Option<&str>) -> Page {
        let mut request = Request::get(path).header(header::ACCEPT_LANGUAGE, "en");
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        self.page(request.body(Body::empty()).unwrap()).await
    }

    async fn post_form(&self, path: &str, cookie: Option<&str>, form: &str) -> Page {
        let mut request =
            Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        self.page(request.body(Body::from(form.to_owned())).unwrap())
            .await
    }

    /// Place an order; its `ordersn`.
    async fn place(
        &self,
        appid: &str,
        secret: &str,
        username: &str,
        address: &str,
        orderid: &str,
        amount: u64,
    ) -> String {
        let (status, body) = self
            .order(&order_body(
                appid, secret, username, address, orderid, amount,
            ))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["data"]["ordersn"].as_str().unwrap().to_owned()
    }

    /// Log in to the console: the session cookie and the page's CSRF token.
    async fn login(&self) -> (String, String) {
        let page = self
            .post_form("/admin/login", None, &format!("token={TOKEN}"))
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.text);
        let set_cookie = page.headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
        assert!(set_cookie.contains("SameSite=Strict"), "{set_cookie}");
        assert!(!set_cookie.contains("Secure"), "plain HTTP: {set_cookie}");
        let cookie = set_cookie.split(';').next().unwrap().to_owned();
        let orders = self.get_page("/admin/orders", Some(&cookie)).await;
        assert_eq!(orders.status, StatusCode::OK);
        let csrf = orders
            .text
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap()
            .to_owned();
        (cookie, csrf)
    }

    async fn status_json(&self, ordersn: &str) -> Value {
        let page = self.get_page(&format!("/pay/{ordersn}/status"), None).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        serde_json::from_str(&page.text).unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_front_door_is_a_page_with_a_policy() {
    let app = app().await;
    let page = app.get_page("/", None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let csp = page.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(
        csp.contains("default-src 'none'") && !csp.contains("unsafe"),
        "{csp}"
    );
    assert!(page.text.contains(env!("CARGO_PKG_VERSION")));
    assert!(page.text.contains("href=\"/admin/\""));
    assert!(!page.text.contains(SECRET) && !page.text.contains(SECRET2));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_checkout_page_is_opt_in_escaped_and_follows_the_deposit() {
    let app = app().await;
    let address = fresh_address();
    let ordersn = app
        .place(APPID2, SECRET2, HOSTILE, &address, "page-1", 1_234_500)
        .await;
    let closed = app
        .place(APPID, SECRET, "bob", &fresh_address(), "page-2", 10_000)
        .await;

    // Only the opted-in merchant's orders have a page; the others look like no order.
    assert_eq!(
        app.get_page(&format!("/pay/{closed}"), None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get_page(&format!("/pay/{closed}/status"), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get_page("/pay/cz-nothing", None).await.status,
        StatusCode::NOT_FOUND
    );

    let page = app.get_page(&format!("/pay/{ordersn}"), None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.headers.contains_key(header::CONTENT_SECURITY_POLICY));
    assert!(page.text.contains(&address), "the address");
    assert!(
        page.text.contains(">123.4500<"),
        "the amount by the component"
    );
    assert!(page.text.contains("<svg"), "the QR code");
    assert!(page.text.contains("Waiting for your transfer"));
    assert!(
        !page.text.contains("<img"),
        "nothing from the merchant becomes markup"
    );
    assert!(!page.text.contains(SECRET2));

    // Chinese by Accept-Language.
    let zh = app
        .page(
            Request::get(format!("/pay/{ordersn}"))
                .header(header::ACCEPT_LANGUAGE, "zh-CN,zh;q=0.9,en;q=0.5")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert!(zh.text.contains("lang=\"zh-CN\"") && zh.text.contains("等待转账"));

    let status = app.status_json(&ordersn).await;
    assert_eq!(status["state"], "pending");
    assert_eq!(status["required_confirmations"], 2);
    assert!(status["expires_in"].as_i64().unwrap() > 23 * 3600);

    app.dev(
        "ERC20",
        "transfers",
        json!({"to": address, "amount": "123.45"}),
    )
    .await;
    let seen = wait_status(&app, &ordersn, |s| s["state"] == "confirming").await;
    assert_eq!(seen["confirmations"], 1);
    assert_eq!(seen["received"], "123.4500");
    let page = app.get_page(&format!("/pay/{ordersn}"), None).await;
    assert!(
        page.text.contains("Transfer seen: 1 of 2 confirmations"),
        "no JavaScript needed"
    );
    app.dev("ERC20", "mine", json!({"blocks": 1})).await;
    let done = wait_status(&app, &ordersn, |s| s["state"] == "confirmed").await;
    assert_eq!(done["confirmations"], 2);
    app.stop().await;
}

async fn wait_status(app: &TestApp, ordersn: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let status = app.status_json(ordersn).await;
        if done(&status) {
            return status;
        }
        assert!(std::time::Instant::now() < deadline, "{status}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_needs_a_login_and_the_csrf_token_for_every_action() {
    let app = app().await;
    let ordersn = app
        .place(
            APPID,
            SECRET,
            HOSTILE,
            &fresh_address(),
            "console-1",
            10_000,
        )
        .await;

    // Without a session: the login form; a wrong token is 401 and sets no cookie.
    let page = app.get_page("/admin/orders", None).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.headers[header::LOCATION], "/admin/login");
    let wrong = app.post_form("/admin/login", None, "token=nope").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(!wrong.headers.contains_key(header::SET_COOKIE));
    let forged = app
        .get_page("/admin/orders", Some("usdt_admin=0123456789abcdef"))
        .await;
    assert_eq!(forged.status, StatusCode::SEE_OTHER);

    let (cookie, csrf) = app.login().await;
    // Search by orderid, username, ordersn; the state filter; merchant text escaped.
    for q in ["console-1", ordersn.as_str()] {
        let page = app
            .get_page(&format!("/admin/orders?q={q}"), Some(&cookie))
            .await;
        assert!(page.text.contains(&ordersn), "{q}");
        assert!(
            page.text.contains("&#60;img") || page.text.contains("&lt;img"),
            "escaped"
        );
        assert!(!page.text.contains("<img"));
        let csp = page.headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    }
    let expired = app
        .get_page("/admin/orders?q=console-1&state=expired", Some(&cookie))
        .await;
    assert!(!expired.text.contains(&ordersn));
    let pending = app
        .get_page("/admin/orders?q=console-1&state=pending", Some(&cookie))
        .await;
    assert!(pending.text.contains(&ordersn));
    let story = app
        .get_page(&format!("/admin/orders/{ordersn}"), Some(&cookie))
        .await;
    assert_eq!(story.status, StatusCode::OK);
    assert!(story.text.contains("console-1"));

    // Merchants: appids, never a secret.
    let merchants = app.get_page("/admin/merchants", Some(&cookie)).await;
    assert!(merchants.text.contains(APPID) && merchants.text.contains(APPID2));
    assert!(!merchants.text.contains(SECRET) && !merchants.text.contains(SECRET2));
    assert!(!merchants.text.contains(TOKEN));

    // Every action needs the token: missing, wrong, or another session's.
    let path = format!("/admin/deliveries/{ordersn}/resend");
    assert_eq!(
        app.post_form(&path, Some(&cookie), "").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.post_form(&path, Some(&cookie), "csrf=0000")
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let (_, other_csrf) = app.login().await;
    assert_eq!(
        app.post_form(&path, Some(&cookie), &format!("csrf={other_csrf}"))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.post_form(
            "/admin/unmatched/assign",
            Some(&cookie),
            "chain=ERC20&txid=x&log_index=0"
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    // With it: this order has no callback yet, so nothing to resend (404).
    assert_eq!(
        app.post_form(&path, Some(&cookie), &format!("csrf={csrf}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // Logging out ends the session.
    let out = app
        .post_form("/admin/logout", Some(&cookie), &format!("csrf={csrf}"))
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.get_page("/admin/orders", Some(&cookie)).await.status,
        StatusCode::SEE_OTHER
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_admin_token_there_is_no_console() {
    let app = TestApp::start().await;
    assert_eq!(
        app.get_page("/admin/", None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get_page("/admin/login", None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.post_form("/admin/login", None, "token=").await.status,
        StatusCode::NOT_FOUND
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unmatched_deposit_assigned_by_hand_confirms_its_order() {
    let app = app().await;
    let address = fresh_address();
    let first = app
        .place(APPID, SECRET, "dave", &address, "hand-1", 50_000)
        .await;
    app.dev("ERC20", "transfers", json!({"to": address, "amount": "5"}))
        .await;
    app.dev("ERC20", "mine", json!({"blocks": 1})).await;
    wait_status_db(&app, &first, "confirmed").await;
    // Paid again: no pending order takes it.
    let paid = app
        .dev("ERC20", "transfers", json!({"to": address, "amount": "7"}))
        .await;
    let txid = paid["txid"].as_str().unwrap().to_owned();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !app
        .gateway
        .state()
        .store
        .unmatched_deposits(100)
        .await
        .unwrap()
        .iter()
        .any(|d| d.txid == txid)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the unmatched deposit"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let second = app
        .place(APPID, SECRET, "dave", &address, "hand-2", 70_000)
        .await;
    let elsewhere = app
        .place(APPID, SECRET, "erin", &fresh_address(), "hand-3", 70_000)
        .await;

    let (cookie, csrf) = app.login().await;
    let unmatched = app.get_page("/admin/unmatched", Some(&cookie)).await;
    assert!(unmatched.text.contains(&txid));
    let form = |ordersn: &str| {
        format!("csrf={csrf}&chain=ERC20&txid={txid}&log_index=0&ordersn={ordersn}")
    };
    // Another address's order cannot take it.
    let refused = app
        .post_form("/admin/unmatched/assign", Some(&cookie), &form(&elsewhere))
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    let done = app
        .post_form("/admin/unmatched/assign", Some(&cookie), &form(&second))
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text);
    assert_eq!(
        done.headers[header::LOCATION],
        format!("/admin/orders/{second}?done=assigned").as_str()
    );
    // Taken once only.
    let again = app
        .post_form("/admin/unmatched/assign", Some(&cookie), &form(&second))
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    app.dev("ERC20", "mine", json!({"blocks": 1})).await;
    wait_status_db(&app, &second, "confirmed").await;
    let store = &app.gateway.state().store;
    let order = store.order_by_ordersn(&second).await.unwrap().unwrap();
    assert_eq!(order.received_amount.0, 70_000);
    assert!(
        store.callback_record(&second).await.unwrap().is_some(),
        "callback queued"
    );
    assert_eq!(
        store
            .assign_deposit("ERC20", &txid, 0, &second, 0)
            .await
            .unwrap(),
        AssignOutcome::NoDeposit
    );
    app.stop().await;
}

async fn wait_status_db(app: &TestApp, ordersn: &str, status: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let order = app
            .gateway
            .state()
            .store
            .order_by_ordersn(ordersn)
            .await
            .unwrap()
            .unwrap();
        if order.status.as_str() == status {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{ordersn}: {}",
            order.status
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn the_watchers_page_shows_each_chain_node_endpoints_failed_calls() {
    // One ERC20 node that refuses every connection; its URL carries a key.
    let tables = format!(
        "[admin]\ntoken = \"{TOKEN}\"\n\
         [chains.ERC20]\nrpc_urls = [\"http://127.0.0.1:9/rpc?apikey=hidden-key\"]\n\
         token_contract = \"0xdac17f958d2ee523a2206206994597c13d831ec7\"\n\
         poll_interval = \"100ms\"\nstart_block = 1\n"
    );
    let app =
        TestApp::start_on(TestEnv::build(&tables, false, "http://127.0.0.1:9/none").await).await;
    let (cookie, _) = app.login().await;
    let mut failed = 0;
    for _ in 0..200 {
        let page = app.get_page("/admin/watchers", Some(&cookie)).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        assert!(!page.text.contains("hidden-key"), "the key is never shown");
        let row = page
            .text
            .split("<tr>")
            .find(|row| row.contains("<td>ERC20</td>") && row.contains("127.0.0.1:9"));
        failed = row
            .and_then(|row| row.rsplit("<td>").next())
            .and_then(|cell| cell.split('<').next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0);
        if failed > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(failed > 0, "the endpoint's failed calls are shown");
}

// ---- admin credentials (issue 22) ------------------------------------------------------

/// `request` as the server gives it when it came from `peer` (an IP address).
fn from_peer(mut request: Request<Body>, peer: &str) -> Request<Body> {
    let addr: SocketAddr = SocketAddr::new(peer.parse().unwrap(), 40_000);
    request.extensions_mut().insert(ConnectInfo(addr));
    request
}

impl TestApp {
    /// `POST /admin/login` with `token`, from `peer`.
    async fn login_from(&self, peer: &str, token: &str) -> Page {
        let request = Request::post("/admin/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("token={token}")))
            .unwrap();
        self.page(from_peer(request, peer)).await
    }

    /// An admin API request with `token`, from `peer`.
    async fn admin_api(&self, method: &str, path: &str, token: &str, peer: &str) -> Page {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        self.page(from_peer(request, peer)).await
    }
}

fn json(page: &Page) -> Value {
    serde_json::from_str(&page.text).unwrap_or_else(|_| panic!("not JSON: {}", page.text))
}

/// The `Retry-After` of a page, in seconds.
fn retry_after(page: &Page) -> u64 {
    page.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// Issue 22: no limit on failed admin authentications (the console took about 160
/// guesses/s, the admin API thousands). Now ten failures per client, counted across both
/// doors; past them the client is refused (429, `Retry-After`) without its token being
/// compared — the right one included — while another client logs in as before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_authentications_are_limited_per_client_across_the_console_and_the_api() {
    let app = app().await;
    let attacker = "198.51.100.7";
    for i in 0..10 {
        let status = if i % 2 == 0 {
            app.login_from(attacker, "wrong-guess").await.status
        } else {
            app.admin_api("GET", "/admin/callbacks", "wrong-guess", attacker)
                .await
                .status
        };
        assert_eq!(status, StatusCode::UNAUTHORIZED, "guess {i}");
    }
    let page = app.login_from(attacker, TOKEN).await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS, "{}", page.text);
    assert!(!page.headers.contains_key(header::SET_COOKIE));
    assert!((1..=90).contains(&retry_after(&page)), "{:?}", page.headers);
    let api = app
        .admin_api("GET", "/admin/callbacks", TOKEN, attacker)
        .await;
    assert_eq!(api.status, StatusCode::TOO_MANY_REQUESTS, "{}", api.text);
    assert_eq!(json(&api)["data"]["code"], "TOO_MANY_FAILED_ATTEMPTS");
    assert!((1..=90).contains(&retry_after(&api)));

    // Another client is not affected, and its successes give the attacker nothing back.
    let operator = "203.0.113.9";
    assert_eq!(
        app.login_from(operator, TOKEN).await.status,
        StatusCode::SEE_OTHER
    );
    let list = app
        .admin_api("GET", "/admin/callbacks", TOKEN, operator)
        .await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    assert_eq!(
        app.login_from(attacker, TOKEN).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // IPv6 clients count by their /64.
    for i in 0..10 {
        let peer = format!("2001:db8:7:7::{i:x}");
        let page = app.login_from(&peer, "wrong-guess").await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED, "guess {i}");
    }
    assert_eq!(
        app.login_from("2001:db8:7:7:ffff::1", TOKEN).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );

    // Counted: the refusals are in the metrics (dev mode serves them on this port).
    let scrape = app.get_page("/metrics", None).await.text;
    let limited = scrape
        .lines()
        .filter(|l| {
            l.starts_with("usdt_gateway_rejections_total") && l.contains("TOO_MANY_FAILED_ATTEMPTS")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>();
    assert!(limited >= 4.0, "{scrape}");
    app.stop().await;
}

/// Issue 22: a new `admin.token` written and reloaded was ignored (the old token kept
/// working, the new one was refused). Now the reload applies it, ends every console
/// session, and a weak one is refused with the reason, changing nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reloaded_admin_token_applies_and_ends_every_session_and_a_weak_one_changes_nothing() {
    const NEW_TOKEN: &str = "407498d389de60c87337d612b6c66f1f224d8e3a1c9e4522b5eaa6926c572afd";
    let app = app().await;
    let (cookie, _) = app.login().await;
    let local = "127.0.0.1";
    let original = std::fs::read_to_string(&app.env.config_path).unwrap();

    std::fs::write(
        &app.env.config_path,
        original.replace(TOKEN, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
    )
    .unwrap();
    let refused = app
        .admin_api("POST", "/admin/merchants/reload", TOKEN, local)
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let body = json(&refused);
    assert_eq!(body["data"]["code"], "CONFIG_REJECTED");
    let msg = body["data"]["msg"].as_str().unwrap();
    assert!(
        msg.contains("admin.token") && !msg.contains("aaaaaaaa"),
        "{msg}"
    );
    assert_eq!(
        app.get_page("/admin/orders", Some(&cookie)).await.status,
        StatusCode::OK,
        "a refused reload changes nothing"
    );

    std::fs::write(&app.env.config_path, original.replace(TOKEN, NEW_TOKEN)).unwrap();
    let reloaded = app
        .admin_api("POST", "/admin/merchants/reload", TOKEN, local)
        .await;
    assert_eq!(reloaded.status, StatusCode::OK, "{}", reloaded.text);
    assert_eq!(json(&reloaded)["admin_token_changed"], true);
    assert_eq!(
        app.get_page("/admin/orders", Some(&cookie)).await.status,
        StatusCode::SEE_OTHER,
        "the session of the old token ended"
    );
    assert_eq!(
        app.admin_api("GET", "/admin/callbacks", TOKEN, local)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.admin_api("GET", "/admin/callbacks", NEW_TOKEN, local)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.login_from(local, NEW_TOKEN).await.status,
        StatusCode::SEE_OTHER
    );
    // The same token again is no change: sessions stay.
    let again = app
        .admin_api("POST", "/admin/merchants/reload", NEW_TOKEN, local)
        .await;
    assert_eq!(json(&again)["admin_token_changed"], false);
    app.stop().await;
}

/// Issue 22: no console session could be revoked short of a restart. "Log out
/// everywhere" (a CSRF-checked form) and `POST /admin/sessions/revoke` end them all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_out_everywhere_ends_every_session_from_the_console_or_the_api() {
    let app = app().await;
    let (first, csrf) = app.login().await;
    let (second, _) = app.login().await;
    let page = app.get_page("/admin/orders", Some(&first)).await;
    assert!(page.text.contains("action=\"/admin/logout/everywhere\""));
    assert_eq!(
        app.post_form("/admin/logout/everywhere", Some(&first), "csrf=0000")
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get_page("/admin/orders", Some(&second)).await.status,
        StatusCode::OK
    );
    let out = app
        .post_form(
            "/admin/logout/everywhere",
            Some(&first),
            &format!("csrf={csrf}"),
        )
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.headers[header::LOCATION], "/admin/login");
    for cookie in [&first, &second] {
        assert_eq!(
            app.get_page("/admin/orders", Some(cookie)).await.status,
            StatusCode::SEE_OTHER
        );
    }

    let (third, _) = app.login().await;
    let revoked = app
        .admin_api("POST", "/admin/sessions/revoke", TOKEN, "127.0.0.1")
        .await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.text);
    assert_eq!(json(&revoked)["sessions"], 1);
    assert_eq!(
        app.get_page("/admin/orders", Some(&third)).await.status,
        StatusCode::SEE_OTHER
    );
    app.stop().await;
}

/// A body of `chunks` pieces of 8 KiB that counts the bytes it gave.
struct CountingBody {
    left: usize,
    given: Arc<AtomicUsize>,
}

impl HttpBody for CountingBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.left == 0 {
            return std::task::Poll::Ready(None);
        }
        self.left -= 1;
        self.given.fetch_add(8192, Ordering::SeqCst);
        std::task::Poll::Ready(Some(Ok(Frame::data(Bytes::from(vec![b'a'; 8192])))))
    }
}

/// A login posting 64 MiB, with or without its length announced; the status and the
/// bytes the gateway read.
async fn huge_login(app: &TestApp, announce: bool) -> (StatusCode, usize) {
    let given = Arc::new(AtomicUsize::new(0));
    let body = CountingBody {
        left: 8192,
        given: Arc::clone(&given),
    };
    let mut request = Request::post("/admin/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if announce {
        request = request.header(header::CONTENT_LENGTH, 64 << 20);
    }
    let page = app.page(request.body(Body::new(body)).unwrap()).await;
    (page.status, given.load(Ordering::SeqCst))
}

/// Issue 22: `POST /admin/login` read bodies up to 2 MB, even with the console off. Each
/// form's route reads at most what its form needs (413 past it); a console that is off
/// answers 404 without reading the body at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_login_body_is_refused_unread_and_an_off_console_reads_none() {
    let app = app().await;
    for announce in [false, true] {
        let (status, read) = huge_login(&app, announce).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(read <= 16 * 1024, "{read} bytes read");
    }
    let (cookie, csrf) = app.login().await;
    let big_csrf = format!("csrf={csrf}&pad={}", "x".repeat(4096));
    assert_eq!(
        app.post_form("/admin/logout", Some(&cookie), &big_csrf)
            .await
            .status,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    app.stop().await;

    let off = TestApp::start().await;
    for announce in [false, true] {
        let (status, read) = huge_login(&off, announce).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(read, 0, "the body of an off console's route is not read");
    }
    off.stop().await;
}

/// What one viewer shows of an order: its state and `(confirmations, required)`.
type Shown = (String, u64, u64);

impl TestApp {
    /// The order as the merchant's query API shows it.
    async fn merchant_view(&self, orderid: &str) -> Shown {
        let (status, q) = self
            .query(&crate::support::query_body(APPID2, SECRET2, orderid))
            .await;
        assert_eq!(status, StatusCode::OK, "{q}");
        let d = &q["data"];
        (
            d["state"].as_str().unwrap().to_owned(),
            d["confirmations"].as_u64().unwrap(),
            d["required_confirmations"].as_u64().unwrap(),
        )
    }

    /// The order as the payer's checkout page polls it.
    async fn payer_view(&self, ordersn: &str) -> Shown {
        let s = self.status_json(ordersn).await;
        (
            s["state"].as_str().unwrap().to_owned(),
            s["confirmations"].as_u64().unwrap(),
            s["required_confirmations"].as_u64().unwrap(),
        )
    }

    /// The order as the console's order page shows it to the operator.
    async fn operator_view(&self, cookie: &str, ordersn: &str) -> Shown {
        let page = self
            .get_page(&format!("/admin/orders/{ordersn}"), Some(cookie))
            .await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        let between = |start: &str, end: &str| {
            let rest = page.text.split(start).nth(1).unwrap();
            rest.split(end).next().unwrap().to_owned()
        };
        let state = between("<span class=\"badge ", "\"");
        let confirmations = between("<dd id=\"confirmations\">", "</dd>");
        let (count, required) = confirmations.split_once(" of ").unwrap();
        (state, count.parse().unwrap(), required.parse().unwrap())
    }

    /// All three viewers agree on the order; what they show.
    async fn agreed_view(&self, cookie: &str, orderid: &str, ordersn: &str) -> Shown {
        let merchant = self.merchant_view(orderid).await;
        let payer = self.payer_view(ordersn).await;
        let operator = self.operator_view(cookie, ordersn).await;
        assert_eq!(merchant, payer, "the merchant's query and the payer's page");
        assert_eq!(merchant, operator, "the merchant's query and the console");
        merchant
    }

    /// Wait until the merchant's query shows `state`, then what all three agree on.
    async fn wait_agreed(&self, cookie: &str, orderid: &str, ordersn: &str, state: &str) -> Shown {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while self.merchant_view(orderid).await.0 != state {
            assert!(std::time::Instant::now() < deadline, "never {state}");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        self.agreed_view(cookie, orderid, ordersn).await
    }
}

/// One order walked through pending → seen (1 of 3) → confirmed → deeper, and a second
/// order left unpaid until it expires: at every step the merchant's query API, the
/// payer's checkout status and the operator's console order page show the same state
/// and the same confirmations (before the core, a confirmed order showed three different
/// counts).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_order_shows_the_same_state_and_confirmations_to_merchant_payer_and_operator() {
    let extra = format!(
        "checkout_page = true\n[admin]\ntoken = \"{TOKEN}\"\n\
         [notify]\nallow_private_targets = true\n[confirmations]\ndefault = 3\n"
    );
    let app = TestApp::start_on(TestEnv::dev("http://127.0.0.1:9/none", &extra).await).await;
    let (cookie, _) = app.login().await;
    let address = fresh_address();
    let ordersn = app
        .place(APPID2, SECRET2, "walker", &address, "walk-1", 50_000)
        .await;
    let pending = app.agreed_view(&cookie, "walk-1", &ordersn).await;
    assert_eq!(pending, ("pending".into(), 0, 3));

    app.dev("ERC20", "transfers", json!({"to": address, "amount": "5"}))
        .await;
    let seen = app
        .wait_agreed(&cookie, "walk-1", &ordersn, "confirming")
        .await;
    assert_eq!(seen, ("confirming".into(), 1, 3));

    app.dev("ERC20", "mine", json!({"blocks": 2})).await;
    let confirmed = app
        .wait_agreed(&cookie, "walk-1", &ordersn, "confirmed")
        .await;
    assert_eq!(confirmed, ("confirmed".into(), 3, 3));

    // Deeper: the count goes on for every viewer alike (the payer's page used to stop at
    // the number required, the API and the console did not).
    app.dev("ERC20", "mine", json!({"blocks": 2})).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while app.merchant_view("walk-1").await.1 != 5 {
        assert!(
            std::time::Instant::now() < deadline,
            "the head never reached 5"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let deeper = app.agreed_view(&cookie, "walk-1", &ordersn).await;
    assert_eq!(deeper, ("confirmed".into(), 5, 3));

    // A second order, never paid, past its expiry (aged in the database rather than
    // waiting out the TTL): expired everywhere, with nothing counted.
    let unpaid = app
        .place(APPID2, SECRET2, "walker", &address, "walk-2", 70_000)
        .await;
    assert_eq!(
        app.agreed_view(&cookie, "walk-2", &unpaid).await,
        ("pending".into(), 0, 3)
    );
    let aged = crate::support::execute_sql(
        &app.env,
        &format!("UPDATE orders SET expires_at = 0 WHERE ordersn = '{unpaid}'"),
    )
    .await;
    assert_eq!(aged, 1);
    assert_eq!(
        app.agreed_view(&cookie, "walk-2", &unpaid).await,
        ("expired".into(), 0, 3)
    );
    app.stop().await;
}
