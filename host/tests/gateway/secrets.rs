//! Merchant secrets: at least 32 characters, checked at start; rotation without
//! downtime (`next_secret`, then a reload by SIGHUP or the admin API), with nothing in
//! flight lost by a reload.

use std::time::Duration;

use serde_json::Value;
use usdt_gateway::api::{ORDER_PATH, QUERY_PATH};

use crate::cli::run;
use crate::support::{
    APPID, APPID2, Process, SECRET, SECRET2, TestEnv, fresh_address, fresh_orderid, order_body,
    query_body,
};

/// The secret rotated in for `APPID`.
const NEXT: &str = "shop1-next-secret-fedcba9876543210fedcba98";

/// The admin token of these tests.
const ADMIN: &str = "901d251f01652f535459883fe7daba35700853e57da183551fd088e9220f4134";

/// `APPID`'s secret line in the test configuration.
fn secret_line(secret: &str) -> String {
    format!("appid = \"{APPID}\"\nsecret = \"{secret}\"\n")
}

/// Rewrite `APPID`'s secrets in the configuration file.
fn set_secrets(env: &TestEnv, current: &str, next: Option<&str>) {
    let text = std::fs::read_to_string(&env.config_path).unwrap();
    let start = text.find(&format!("appid = \"{APPID}\"\n")).unwrap();
    let end = start + text[start..].find("notify_url").unwrap();
    let mut lines = secret_line(current);
    if let Some(next) = next {
        lines.push_str(&format!("next_secret = \"{next}\"\n"));
    }
    let text = format!("{}{lines}{}", &text[..start], &text[end..]);
    std::fs::write(&env.config_path, text).unwrap();
}

use crate::support::post_json as post;

/// Place an order of `APPID` signed with `secret`; the status and the answer.
async fn order_signed_with(process: &Process, secret: &str) -> (u16, Value, String) {
    let orderid = fresh_orderid();
    let body = order_body(
        APPID,
        secret,
        "rotating",
        &fresh_address(),
        &orderid,
        10_000,
    );
    let (status, reply) = post(process.url(ORDER_PATH), &body).await;
    (status, reply, orderid)
}

async fn admin_reload(process: &Process) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(process.url("/admin/merchants/reload"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// A real gateway with the admin API on; `prepare` edits its configuration first.
async fn gateway_with_admin(prepare: impl FnOnce(&TestEnv)) -> (TestEnv, Process) {
    let env = TestEnv::with_extra(&format!("[admin]\ntoken = \"{ADMIN}\"\n")).await;
    prepare(&env);
    let config = env.config_path.to_str().unwrap();
    let process = Process::start(env.dir.path(), &["serve", "--config", config]);
    (env, process)
}

/// Wait until an order signed with `secret` gets `status` (a SIGHUP is handled
/// asynchronously).
async fn wait_until_order_status(process: &Process, secret: &str, status: u16) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (got, reply, _) = order_signed_with(process, secret).await;
        if got == status {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still {got} after the reload: {reply}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn both_secrets_pass_during_the_overlap_and_the_old_one_fails_after_the_reload() {
    let (env, process) = gateway_with_admin(|env| set_secrets(env, SECRET, Some(NEXT))).await;

    // The overlap: orders and queries signed with either secret pass.
    for secret in [SECRET, NEXT] {
        let (status, reply, orderid) = order_signed_with(&process, secret).await;
        assert_eq!(status, 200, "{reply}");
        for query_secret in [SECRET, NEXT] {
            let (status, q) = post(
                process.url(QUERY_PATH),
                &query_body(APPID, query_secret, &orderid),
            )
            .await;
            assert_eq!(status, 200, "{q}");
        }
    }
    let (status, reply, _) = order_signed_with(&process, SECRET2).await;
    assert_eq!(status, 401, "another merchant's secret: {reply}");
    assert_eq!(reply["data"]["code"], "SIGN_MISMATCH");

    // The new secret becomes the only one: SIGHUP.
    set_secrets(&env, NEXT, None);
    process.signal("HUP");
    wait_until_order_status(&process, SECRET, 401).await;
    let (status, reply, _) = order_signed_with(&process, SECRET).await;
    assert_eq!(reply["data"]["code"], "SIGN_MISMATCH", "{status} {reply}");
    let (status, reply, orderid) = order_signed_with(&process, NEXT).await;
    assert_eq!(status, 200, "{reply}");
    let (status, q) = post(
        process.url(QUERY_PATH),
        &query_body(APPID, SECRET, &orderid),
    )
    .await;
    assert_eq!((status, &q["data"]["code"]), (401, &"SIGN_MISMATCH".into()));

    // Back through the admin API: the old one passes again.
    set_secrets(&env, NEXT, Some(SECRET));
    let (status, reply) = admin_reload(&process).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["merchants"], 2);
    let (status, reply, _) = order_signed_with(&process, SECRET).await;
    assert_eq!(status, 200, "{reply}");
}

#[tokio::test]
async fn a_bad_reload_changes_nothing_and_the_admin_reload_needs_the_token() {
    let (env, process) = gateway_with_admin(|_| {}).await;

    let response = reqwest::Client::new()
        .post(process.url("/admin/merchants/reload"))
        .bearer_auth("not-the-admin-token")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);

    set_secrets(&env, "too-short-a-secret", None);
    let (status, reply) = admin_reload(&process).await;
    assert_eq!(status, 422, "{reply}");
    assert_eq!(reply["data"]["code"], "CONFIG_REJECTED");
    let msg = reply["data"]["msg"].as_str().unwrap();
    assert!(
        msg.contains("merchants[0].secret") && msg.contains(APPID),
        "{msg}"
    );
    assert!(!msg.contains("too-short-a-secret"), "{msg}");
    process.signal("HUP");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, reply, _) = order_signed_with(&process, SECRET).await;
    assert_eq!(status, 200, "the old secret still works: {reply}");
}

#[tokio::test]
async fn reloads_lose_no_order_in_flight() {
    let (_env, process) = gateway_with_admin(|_| {}).await;
    let client = reqwest::Client::new();
    let orders: Vec<(String, Value)> = (0..300)
        .map(|_| {
            let orderid = fresh_orderid();
            let body = order_body(
                APPID2,
                SECRET2,
                "steady",
                &fresh_address(),
                &orderid,
                10_000,
            );
            (orderid, body)
        })
        .collect();
    let mut placing = tokio::task::JoinSet::new();
    for (_, body) in orders.clone() {
        let (client, url) = (client.clone(), process.url(ORDER_PATH));
        placing.spawn(async move {
            let response = client.post(url).json(&body).send().await.unwrap();
            response.status().as_u16()
        });
    }
    for i in 0..20 {
        if i % 2 == 0 {
            process.signal("HUP");
        } else {
            assert_eq!(admin_reload(&process).await.0, 200);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    while let Some(status) = placing.join_next().await {
        assert_eq!(status.unwrap(), 200);
    }
    for (orderid, _) in &orders {
        let (status, q) = post(
            process.url(QUERY_PATH),
            &query_body(APPID2, SECRET2, orderid),
        )
        .await;
        assert_eq!(status, 200, "{q}");
    }
}

#[test]
fn a_short_secret_stops_the_start_and_names_the_merchant() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("short.toml");
    std::fs::write(
        &path,
        format!(
            "data_dir = \"{}\"\n[[merchants]]\nappid = \"shop-with-short-secret\"\n\
             secret = \"0123456789abcdef0123456789abcde\"\n",
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    let out = run(
        &[
            "serve",
            "--config",
            path.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("shop-with-short-secret"), "{err}");
    assert!(err.contains("at least 32 characters"), "{err}");
    assert!(!err.contains("0123456789abcdef"), "{err}");
}

/// `GET /admin/callbacks/{ordersn}` with the admin token.
async fn callback_record(process: &Process, ordersn: &str) -> Value {
    reqwest::Client::new()
        .get(process.url(&format!("/admin/callbacks/{ordersn}")))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Wait until `done` holds for the delivery of `ordersn`, as the admin API shows it.
async fn wait_for_callback(process: &Process, ordersn: &str, done: impl Fn(&Value) -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let record = callback_record(process, ordersn).await;
        if done(&record) {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "{record}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_that_drops_a_merchant_for_a_while_loses_none_of_its_callbacks() {
    let receiver = crate::support::TestReceiver::start(0, Duration::ZERO).await;
    let env = TestEnv::dev(
        &receiver.url,
        &format!(
            "[notify]\nretry_delays = [\"1s\", \"1s\", \"1s\", \"1s\", \"1s\", \"1s\"]\n\
             allow_private_targets = true\n[admin]\ntoken = \"{ADMIN}\"\n"
        ),
    )
    .await;
    let config = env.config_path.to_str().unwrap();
    let process = Process::start(env.dir.path(), &["serve", "--config", config]);
    let address = fresh_address();
    let (status, reply) = post(
        process.url(ORDER_PATH),
        &order_body(APPID, SECRET, "kept", &address, &fresh_orderid(), 10_000),
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    let ordersn = reply["data"]["ordersn"].as_str().unwrap().to_owned();

    // The operator's reload drops the merchant just before its order is paid.
    let full = std::fs::read_to_string(&env.config_path).unwrap();
    let start = full.find("[[merchants]]").unwrap();
    let end = start + 1 + full[start + 1..].find("[[merchants]]").unwrap();
    std::fs::write(
        &env.config_path,
        format!("{}{}", &full[..start], &full[end..]),
    )
    .unwrap();
    assert_eq!(
        admin_reload(&process).await,
        (
            200,
            serde_json::json!({"merchants": 1, "admin_token_changed": false})
        )
    );
    let (status, _) = post(
        process.url("/dev/chains/ERC20/transfers"),
        &serde_json::json!({"to": address, "amount": "1"}),
    )
    .await;
    assert_eq!(status, 200);
    wait_for_callback(&process, &ordersn, |r| {
        r["callback"]["attempts"].as_i64() >= Some(1)
    })
    .await;
    let record = callback_record(&process, &ordersn).await;
    assert_eq!(
        record["callback"]["state"], "pending",
        "retried, not failed: {record}"
    );
    assert!(receiver.received().is_empty());

    // The merchant is back: its callback goes out, signed with its secret.
    std::fs::write(&env.config_path, full).unwrap();
    assert_eq!(admin_reload(&process).await.0, 200);
    let got = receiver.wait_for(1, Duration::from_secs(20)).await;
    crate::support::verify_callback(&got[0].body, SECRET);
    wait_for_callback(&process, &ordersn, |r| {
        r["callback"]["state"] == "delivered"
    })
    .await;
}
