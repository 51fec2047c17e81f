//! Deposits on the embedded dev chain, end to end: an order, a transfer, blocks mined,
//! confirmations counted, the order confirmed and its callback delivered and verified
//! as a merchant would; retries with fresh signatures; reorgs; matching; expiry.

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::support::{
    APPID, SECRET, TestEnv, TestReceiver, fresh_address, fresh_orderid, order_body, query_body,
    verify_callback,
};
use crate::{TestApp, error_code};

/// Fast dev chains, 2 confirmations below 10,000 USDT, retries 1.5 s apart.
const FAST: &str = "[notify]\nretry_delays = [\"1500ms\", \"1500ms\", \"1500ms\"]\ntimeout = \"2s\"\n\
                    allow_private_targets = true\nmax_in_flight_per_merchant = 16\n\
                    [confirmations]\ndefault = 2\nlarge_amount = \"10000\"\nlarge_required = 3\n\
                    [admin]\ntoken = \"74cf1167b3d5a11858e867f0a7c9ba51d2a352b332230acebe3c56e7d7cbbbff\"\n";

async fn dev_app(receiver: &TestReceiver) -> TestApp {
    TestApp::start_on(TestEnv::dev(&receiver.url, FAST).await).await
}

impl TestApp {
    /// `POST /dev/chains/{chain}/{action}`.
    pub async fn dev(&self, chain: &str, action: &str, body: Value) -> Value {
        let (status, reply) = self
            .post(&format!("/dev/chains/{chain}/{action}"), &body)
            .await;
        assert_eq!(status, StatusCode::OK, "{action}: {reply}");
        reply
    }

    /// The order as the query endpoint shows it.
    pub async fn order_view(&self, orderid: &str) -> Value {
        let (status, q) = self.query(&query_body(APPID, SECRET, orderid)).await;
        assert_eq!(status, StatusCode::OK, "{q}");
        q["data"].clone()
    }

    /// Wait until the order's view satisfies `done`.
    pub async fn wait_order(
        &self,
        orderid: &str,
        what: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let view = self.order_view(orderid).await;
            if done(&view) {
                return view;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "waiting for {what}: {view}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// `GET` an admin path with the test token.
    pub async fn admin_get(&self, path: &str) -> Value {
        let request = axum::http::Request::get(path)
            .header(
                "authorization",
                "Bearer 74cf1167b3d5a11858e867f0a7c9ba51d2a352b332230acebe3c56e7d7cbbbff",
            )
            .body(axum::body::Body::empty())
            .unwrap();
        let (status, body) = self.send(request).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        body
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dev_chain_deposit_is_confirmed_and_called_back() {
    let receiver = TestReceiver::start(0, Duration::ZERO).await;
    let app = dev_app(&receiver).await;
    let address = fresh_address();
    let orderid = fresh_orderid();
    let (status, _) = app
        .order(&order_body(
            APPID, SECRET, "payer", &address, &orderid, 1_005_000,
        ))
        .await;
    assert_eq!(status, StatusCode::OK);

    let sent = app
        .dev(
            "ERC20",
            "transfers",
            json!({"to": address, "amount": "100.5"}),
        )
        .await;
    let view = app
        .wait_order(&orderid, "confirming", |v| v["state"] == "confirming")
        .await;
    assert_eq!(view["txid"], sent["txid"]);
    assert_eq!(view["block_height"], sent["block"]);
    assert_eq!(view["confirmations"], 1);
    assert_eq!(view["required_confirmations"], 2);
    assert_eq!(view["received_amount"], 1_005_000);
    assert!(
        receiver.received().is_empty(),
        "no callback before the confirmations"
    );

    app.dev("ERC20", "mine", json!({"blocks": 1})).await;
    let got = receiver.wait_for(1, Duration::from_secs(20)).await;
    let callback = verify_callback(&got[0].body, SECRET);
    assert_eq!(callback["orderid"], orderid.as_str());
    assert_eq!(callback["amount"], "1005000");
    assert_eq!(callback["localusermark"], format!("mark-{orderid}"));
    let view = app
        .wait_order(&orderid, "delivered", |v| v["callback"] == "delivered")
        .await;
    assert_eq!(view["state"], "confirmed");
    assert_eq!(view["confirmations"], 2);

    // Exactly once: more blocks bring no second callback.
    app.dev("ERC20", "mine", json!({"blocks": 3})).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.received().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_failing_twice_gets_three_attempts_with_fresh_signatures() {
    let receiver = TestReceiver::start(2, Duration::ZERO).await;
    let app = dev_app(&receiver).await;
    let address = fresh_address();
    let orderid = fresh_orderid();
    app.order(&order_body(
        APPID, SECRET, "retry", &address, &orderid, 30_000,
    ))
    .await;
    app.dev(
        "TRC20",
        "transfers",
        json!({"to": "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", "amount": "1"}),
    )
    .await; // not ours
    app.dev("ERC20", "transfers", json!({"to": address, "amount": "3"}))
        .await;
    app.dev("ERC20", "mine", json!({"blocks": 1})).await;

    let got = receiver.wait_for(3, Duration::from_secs(30)).await;
    let mut ts = Vec::new();
    for r in &got {
        let v = verify_callback(&r.body, SECRET);
        ts.push(v["t"].as_str().unwrap().parse::<u64>().unwrap());
    }
    assert!(
        ts.windows(2).all(|w| w[1] > w[0]),
        "a fresh t on every attempt: {ts:?}"
    );
    for pair in got.windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(
            gap >= Duration::from_millis(1200),
            "retry spacing ≥ 80 % of 1.5 s: {gap:?}"
        );
    }
    let view = app
        .wait_order(&orderid, "delivered", |v| v["callback"] == "delivered")
        .await;
    assert_eq!(view["state"], "confirmed");
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert_eq!(receiver.received().len(), 3, "nothing after the success");

    let ordersn = view["ordersn"].as_str().unwrap();
    let history = app.admin_get(&format!("/admin/callbacks/{ordersn}")).await;
    let attempts = history["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 3);
    assert_eq!(attempts[0]["outcome"], "failed");
    assert_eq!(attempts[0]["status_code"], 500);
    assert_eq!(attempts[0]["body_prefix"], "not yet");
    assert_eq!(attempts[2]["outcome"], "delivered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reorg_uncounts_an_unconfirmed_deposit_and_no_callback_is_sent() {
    let receiver = TestReceiver::start(0, Duration::ZERO).await;
    let app = dev_app(&receiver).await;
    let address = fresh_address();
    let orderid = fresh_orderid();
    app.order(&order_body(
        APPID, SECRET, "reorged", &address, &orderid, 10_000,
    ))
    .await;
    app.dev("ERC20", "transfers", json!({"to": address, "amount": "1"}))
        .await;
    app.wait_order(&orderid, "confirming", |v| v["state"] == "confirming")
        .await;

    app.dev("ERC20", "reorg", json!({"depth": 1})).await;
    let view = app
        .wait_order(&orderid, "pending again", |v| v["state"] == "pending")
        .await;
    assert_eq!(view["received_amount"], 0);
    assert!(view["txid"].is_null());
    app.dev("ERC20", "mine", json!({"blocks": 5})).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(app.order_view(&orderid).await["state"], "pending");
    assert!(
        receiver.received().is_empty(),
        "no callback for a transfer off the chain"
    );

    // Paid again, for real this time: confirmed and called back once.
    app.dev("ERC20", "transfers", json!({"to": address, "amount": "1"}))
        .await;
    app.dev("ERC20", "mine", json!({"blocks": 1})).await;
    receiver.wait_for(1, Duration::from_secs(20)).await;
    app.wait_order(&orderid, "confirmed", |v| v["state"] == "confirmed")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deposits_match_same_amount_first_then_the_oldest_and_extra_ones_are_kept() {
    let receiver = TestReceiver::start(0, Duration::ZERO).await;
    let app = dev_app(&receiver).await;
    let address = fresh_address();
    let (older, newer) = (fresh_orderid(), fresh_orderid());
    app.order(&order_body(
        APPID, SECRET, "matcher", &address, &older, 100_000,
    ))
    .await;
    app.order(&order_body(
        APPID, SECRET, "matcher", &address, &newer, 200_000,
    ))
    .await;

    // 20 USDT: the same-amount order, though it is the newer one.
    app.dev("ERC20", "transfers", json!({"to": address, "amount": "20"}))
        .await;
    let view = app
        .wait_order(&newer, "newer matched", |v| v["state"] != "pending")
        .await;
    assert_eq!(view["received_amount"], 200_000);
    assert_eq!(app.order_view(&older).await["state"], "pending");

    // 7 USDT: no same amount, so the oldest pending order, credited what arrived.
    app.dev("ERC20", "transfers", json!({"to": address, "amount": "7"}))
        .await;
    let view = app
        .wait_order(&older, "older matched", |v| v["state"] != "pending")
        .await;
    assert_eq!(view["received_amount"], 70_000);

    // A third deposit finds no pending order: stored unmatched, listed for the operator.
    let extra = app
        .dev(
            "ERC20",
            "transfers",
            json!({"to": address, "amount": "1.2345"}),
        )
        .await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let list = app.admin_get("/admin/deposits/unmatched").await;
        if let Some(d) = list["deposits"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["txid"] == extra["txid"])
        {
            assert_eq!(d["amount"], 12_345);
            assert_eq!(d["address"], address.as_str());
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the unmatched deposit is listed"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_order_takes_no_deposit() {
    let receiver = TestReceiver::start(0, Duration::ZERO).await;
    let env = TestEnv::dev(&receiver.url, &format!("{FAST}[orders]\nttl = \"300ms\"\n")).await;
    let app = TestApp::start_on(env).await;
    let address = fresh_address();
    let orderid = fresh_orderid();
    app.order(&order_body(
        APPID, SECRET, "late", &address, &orderid, 10_000,
    ))
    .await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(app.order_view(&orderid).await["state"], "expired");
    let sent = app
        .dev("ERC20", "transfers", json!({"to": address, "amount": "1"}))
        .await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let list = app.admin_get("/admin/deposits/unmatched").await;
        if list["deposits"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["txid"] == sent["txid"])
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the late deposit is kept as unmatched"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(app.order_view(&orderid).await["state"], "expired");
}

#[tokio::test]
async fn dev_endpoints_refuse_bad_input_and_the_admin_api_needs_its_token() {
    let receiver = TestReceiver::start(0, Duration::ZERO).await;
    let app = dev_app(&receiver).await;
    for (chain, action, body, code) in [
        (
            "ERC20",
            "transfers",
            json!({"to": "0x12", "amount": "1"}),
            "INVALID_ADDRESS",
        ),
        (
            "ERC20",
            "transfers",
            json!({"to": fresh_address(), "amount": "1.00001"}),
            "INVALID_AMOUNT",
        ),
        (
            "TRC20",
            "transfers",
            json!({"to": fresh_address(), "amount": "1"}),
            "INVALID_ADDRESS",
        ),
        ("ERC20", "mine", json!({"blocks": 0}), "INVALID_FIELD"),
        (
            "ERC20",
            "reorg",
            json!({"depth": 1_000_000}),
            "INVALID_FIELD",
        ),
        ("ERC20", "mine", json!({"blocks": "x"}), "INVALID_JSON"),
        ("BEP20", "mine", json!({"blocks": 1}), "NOT_FOUND"),
    ] {
        let (status, reply) = app
            .post(&format!("/dev/chains/{chain}/{action}"), &body)
            .await;
        assert!(status.is_client_error(), "{chain} {action}: {status}");
        assert_eq!(error_code(&reply), code, "{chain} {action} {body}");
    }
    let (status, reply) = app
        .send(
            axum::http::Request::get("/admin/callbacks")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(
        (status, error_code(&reply)),
        (StatusCode::UNAUTHORIZED, "UNAUTHORIZED")
    );
}

/// An order of `APPID` for `address` (1 USDT) as a gateway with a skewed clock would
/// write it: straight through the store, stamped `skew_ms` away from now.
fn skewed_order(address: &str, orderid: &str, skew_ms: i64) -> usdt_gateway::store::NewOrder {
    let now = usdt_gateway_core::units::UnixMillis(usdt_gateway::clock::now_millis() + skew_ms);
    usdt_gateway::store::NewOrder {
        ordersn: format!("cz-{}", uuid::Uuid::new_v4()).into(),
        appid: APPID.into(),
        orderid: orderid.into(),
        username: format!("user-{orderid}"),
        localusermark: format!("mark-{orderid}"),
        address: address.into(),
        canonical_address: address.into(), // fresh_address() is already lowercase
        chain: "ERC20".into(),
        amount: usdt_gateway_core::units::Amount(10_000),
        notify_url: None,
        required_confirmations: 1,
        created_at: now,
        expires_at: now.plus(std::time::Duration::from_secs(24 * 3_600)),
    }
}

/// Pay 1 USDT to `address` and mine the block that gives it its second confirmation.
async fn pay_and_confirm(app: &TestApp, address: &str) {
    app.dev("ERC20", "transfers", json!({"to": address, "amount": "1"}))
        .await;
    app.dev("ERC20", "mine", json!({"blocks": 1})).await;
}

/// Place an order through the API, pay it, and wait until it is confirmed: the watcher
/// has then read every binding committed before it.
async fn confirmed_order(app: &TestApp) -> String {
    let (address, orderid) = (fresh_address(), fresh_orderid());
    let (status, body) = app
        .order(&order_body(APPID, SECRET, "u", &address, &orderid, 10_000))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    pay_and_confirm(app, &address).await;
    app.wait_order(&orderid, "the API order confirmed", |v| {
        v["state"] == "confirmed"
    })
    .await;
    orderid
}

/// A binding committed after the watcher read a newer one — here from a replica whose
/// clock is an hour behind — is watched all the same: its deposit confirms its order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_binding_stamped_older_than_one_already_read_is_watched() {
    let receiver = TestReceiver::start(0, Duration::ZERO).await;
    let app = dev_app(&receiver).await;
    confirmed_order(&app).await;

    let (address, orderid) = (fresh_address(), fresh_orderid());
    let stored = app
        .gateway
        .state()
        .store
        .create_orders(&[skewed_order(&address, &orderid, -3_600_000)])
        .await
        .unwrap();
    assert!(matches!(
        stored[0],
        usdt_gateway::store::CreateOutcome::Created(_)
    ));
    pay_and_confirm(&app, &address).await;
    let view = app
        .wait_order(&orderid, "the late binding's deposit", |v| {
            v["state"] == "confirmed"
        })
        .await;
    assert_eq!(view["received_amount"], 10_000);
    app.stop().await;
}

/// PostgreSQL, two writers: a binding whose transaction began (and was stamped) first
/// but commits after a newer binding was committed and read is watched all the same.
/// (SQLite has one writer at a time, so its commits cannot interleave like this; the
/// test above covers its case.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_binding_committed_after_a_newer_one_was_read_is_watched() {
    let Some(_) = crate::support::postgres_server() else {
        return;
    };
    use sqlx::{Connection, Executor};
    let receiver = TestReceiver::start(0, Duration::ZERO).await;
    let app = dev_app(&receiver).await;
    let usdt_gateway::config::Database::Postgres(url) = app.env.config().database() else {
        panic!("the PostgreSQL pass uses PostgreSQL");
    };
    let mut slow = sqlx::PgConnection::connect(url.expose()).await.unwrap();
    let (address, orderid) = (fresh_address(), fresh_orderid());
    let late = skewed_order(&address, &orderid, 0);
    slow.execute("BEGIN").await.unwrap();
    sqlx::query(
        "INSERT INTO address_bindings (chain, address, appid, username, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(late.chain.as_str())
    .bind(&late.canonical_address)
    .bind(late.appid.as_str())
    .bind(&late.username)
    .bind(late.created_at.0)
    .execute(&mut slow)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO orders (ordersn, appid, orderid, username, localusermark, address, \
         canonical_address, chain, amount, notify_url, required_confirmations, created_at, \
         expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, $10, $11, $12)",
    )
    .bind(late.ordersn.as_str())
    .bind(late.appid.as_str())
    .bind(late.orderid.as_str())
    .bind(&late.username)
    .bind(&late.localusermark)
    .bind(&late.address)
    .bind(&late.canonical_address)
    .bind(late.chain.as_str())
    .bind(late.amount.0)
    .bind(i64::from(late.required_confirmations))
    .bind(late.created_at.0)
    .bind(late.expires_at.0)
    .execute(&mut slow)
    .await
    .unwrap();

    // A newer binding commits and is read (its deposit is confirmed) while the first
    // transaction is still open.
    tokio::time::sleep(Duration::from_millis(20)).await;
    confirmed_order(&app).await;
    slow.execute("COMMIT").await.unwrap();

    pay_and_confirm(&app, &address).await;
    app.wait_order(&orderid, "the late commit's deposit", |v| {
        v["state"] == "confirmed"
    })
    .await;
    app.stop().await;
}

/// A watcher that scans the same blocks again — it crashed after storing deposits and
/// before its cursor moved, or a second gateway watches the same chain — credits
/// nothing twice and sends no second callback.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rescan_of_the_same_blocks_credits_nothing_twice() {
    let receiver = TestReceiver::start(0, Duration::ZERO).await;
    let app = dev_app(&receiver).await;
    let mut orderids = Vec::new();
    for _ in 0..10 {
        orderids.push(confirmed_order(&app).await);
    }
    receiver
        .wait_for(orderids.len(), Duration::from_secs(20))
        .await;

    let rewound = crate::support::execute_sql(
        &app.env,
        "UPDATE chain_cursors SET next_block = 0 WHERE chain = 'ERC20'",
    )
    .await;
    assert_eq!(rewound, 1);
    // The rescan runs on the next round; a new paid order proves it has passed.
    orderids.push(confirmed_order(&app).await);
    receiver
        .wait_for(orderids.len(), Duration::from_secs(20))
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    for orderid in &orderids {
        let view = app.order_view(orderid).await;
        assert_eq!(view["received_amount"], 10_000, "{view}");
    }
    let unmatched = app.admin_get("/admin/deposits/unmatched").await;
    assert_eq!(unmatched["deposits"], json!([]), "no transfer stored twice");
    let bodies = receiver.received();
    assert_eq!(bodies.len(), orderids.len(), "one callback per order");
    app.stop().await;
}
