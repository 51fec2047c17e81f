//! The receiver on a real socket: callbacks built here independently (md5 over the
//! fields), delivered with plain HTTP and with the gateway's `CallbackHttp`.

#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)] // test code: a failed expectation is a failed test

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use md5::{Digest, Md5};
use serde::Serialize;
use usdt_callback_http::{CallbackHttp, Outcome, TransportConfig};
use usdt_example_receiver::{Ledger, NOTIFY_PATH, PaidOrder, Receiver, Secret, app};

const SECRET: &str = "k7Jq2vX9pL4mN8rT1wY6zB3cF5hD0sGa";

#[derive(Serialize)]
struct CallbackBody<'a> {
    orderid: &'a str,
    localusermark: &'a str,
    amount: &'a str,
    t: &'a str,
    sign: &'a str,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The callback body as the protocol defines it, built without the component.
fn callback(orderid: &str, localusermark: &str, amount: &str, t: u64, secret: &str) -> String {
    let t = t.to_string();
    let sign = hex::encode(Md5::digest(
        format!("{orderid}|{localusermark}|{amount}|{t}|{secret}").as_bytes(),
    ));
    serde_json::to_string(&CallbackBody {
        orderid,
        localusermark,
        amount,
        t: &t,
        sign: &sign,
    })
    .unwrap()
}

struct Running {
    url: String,
    receiver: Arc<Receiver>,
    _dir: tempfile::TempDir,
}

async fn start() -> Running {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("paid.sqlite3");
    let ledger = Ledger::open(db.to_str().unwrap()).await.unwrap();
    let receiver = Arc::new(Receiver::new(Secret::new(SECRET).unwrap(), ledger).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let app = app(Arc::clone(&receiver));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Running {
        url: format!("http://{addr}{NOTIFY_PATH}"),
        receiver,
        _dir: dir,
    }
}

async fn post(url: &str, body: String) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

#[tokio::test]
async fn a_valid_callback_pays_the_order_once_even_when_delivered_three_times() {
    let rx = start().await;
    let body = callback("shop-20250905-000001", "uid123", "1000000", now(), SECRET);
    for _ in 0..3 {
        assert_eq!(
            post(&rx.url, body.clone()).await,
            (200, "success".to_owned())
        );
    }
    // A retry carries a fresh t and sign: still the same order, still paid once.
    let retry = callback(
        "shop-20250905-000001",
        "uid123",
        "1000000",
        now() + 1,
        SECRET,
    );
    assert_eq!(post(&rx.url, retry).await, (200, "success".to_owned()));

    let ledger = rx.receiver.ledger();
    assert_eq!(
        ledger.paid_orders().await.unwrap(),
        [PaidOrder {
            orderid: "shop-20250905-000001".into(),
            localusermark: "uid123".into(),
            amount: 1_000_000,
        }]
    );
    assert_eq!(ledger.balance("uid123").await.unwrap(), 1_000_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_duplicates_credit_once() {
    let rx = start().await;
    let body = callback("shop-concurrent-1", "uid7", "250000", now(), SECRET);
    let answers = futures_join(
        (0..8)
            .map(|_| {
                let (url, body) = (rx.url.clone(), body.clone());
                tokio::spawn(async move { post(&url, body).await })
            })
            .collect(),
    )
    .await;
    assert!(
        answers.iter().all(|a| *a == (200, "success".to_owned())),
        "{answers:?}"
    );
    assert_eq!(rx.receiver.ledger().paid_orders().await.unwrap().len(), 1);
    assert_eq!(rx.receiver.ledger().balance("uid7").await.unwrap(), 250_000);
}

async fn futures_join<T>(handles: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::with_capacity(handles.len());
    for handle in handles {
        out.push(handle.await.unwrap());
    }
    out
}

#[tokio::test]
async fn two_orders_of_one_user_are_both_credited() {
    let rx = start().await;
    for (orderid, amount) in [("shop-a-1", "10000"), ("shop-a-2", "25000")] {
        let body = callback(orderid, "uid9", amount, now(), SECRET);
        assert_eq!(post(&rx.url, body).await.0, 200);
    }
    assert_eq!(rx.receiver.ledger().balance("uid9").await.unwrap(), 35_000);
}

#[tokio::test]
async fn a_tampered_amount_is_rejected_and_nothing_is_paid() {
    let rx = start().await;
    let body = callback("shop-tamper-1", "uid123", "1000000", now(), SECRET);
    let tampered = body.replace("\"amount\":\"1000000\"", "\"amount\":\"9000000\"");
    assert_ne!(body, tampered);
    assert_eq!(
        post(&rx.url, tampered).await,
        (400, "fail: SIGN_MISMATCH".to_owned())
    );
    assert!(rx.receiver.ledger().paid_orders().await.unwrap().is_empty());
    assert_eq!(rx.receiver.ledger().balance("uid123").await.unwrap(), 0);
}

#[tokio::test]
async fn an_old_or_future_t_is_rejected() {
    let rx = start().await;
    assert_eq!(rx.receiver.window(), 300, "the component's callback window");
    for t in [now() - 301, now() - 3600, now() + 400] {
        let body = callback("shop-old-1", "uid123", "1000000", t, SECRET);
        assert_eq!(
            post(&rx.url, body).await,
            (400, "fail: TIMESTAMP_OUT_OF_WINDOW".to_owned()),
            "t = {t}"
        );
    }
    // Within the window on both sides.
    let body = callback("shop-old-1", "uid123", "1000000", now() - 290, SECRET);
    assert_eq!(post(&rx.url, body).await.0, 200);
    assert!(rx.receiver.ledger().paid_orders().await.unwrap().len() == 1);
}

#[tokio::test]
async fn bad_bodies_get_their_code() {
    let rx = start().await;
    let t = now();
    let cases = [
        (
            callback("shop-1", "u", "1", t, "another-secret"),
            "SIGN_MISMATCH",
        ),
        ("not json".to_owned(), "INVALID_JSON"),
        ("[]".to_owned(), "INVALID_JSON"),
        (
            format!(r#"{{"orderid":"shop-1","localusermark":"u","amount":"1","t":"{t}"}}"#),
            "MISSING_FIELD",
        ),
        (
            format!(
                r#"{{"orderid":"shop-1","localusermark":"u","amount":1,"t":"{t}","sign":"00000000000000000000000000000000"}}"#
            ),
            "INVALID_AMOUNT",
        ),
        (
            format!(
                r#"{{"orderid":"shop-1","localusermark":"u","amount":"1","t":"{t}","sign":"XYZ"}}"#
            ),
            "INVALID_SIGN",
        ),
    ];
    for (body, code) in cases {
        assert_eq!(
            post(&rx.url, body.clone()).await,
            (400, format!("fail: {code}")),
            "{body}"
        );
    }
    let response = reqwest::Client::new()
        .post(&rx.url)
        .body(vec![0xff, 0xfe])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(rx.receiver.ledger().paid_orders().await.unwrap().is_empty());
}

#[tokio::test]
async fn other_methods_and_huge_bodies_are_refused() {
    let rx = start().await;
    let client = reqwest::Client::new();
    assert_eq!(client.get(&rx.url).send().await.unwrap().status(), 405);
    let big = "x".repeat(100 * 1024);
    assert_eq!(
        client
            .post(&rx.url)
            .body(big)
            .send()
            .await
            .unwrap()
            .status(),
        413
    );
}

#[tokio::test]
async fn callback_http_delivers_end_to_end() {
    let rx = start().await;
    let http = CallbackHttp::new(TransportConfig {
        allow_private_targets: true, // the receiver is on 127.0.0.1
        ..TransportConfig::default()
    })
    .unwrap();

    let body = callback("shop-e2e-1", "uid42", "5000000", now(), SECRET);
    for _ in 0..3 {
        let attempt = http.deliver("shop", &rx.url, body.clone()).await;
        assert_eq!(attempt.outcome, Outcome::Delivered, "{attempt:?}");
        assert_eq!(attempt.body_prefix, "success");
    }
    assert_eq!(
        rx.receiver.ledger().balance("uid42").await.unwrap(),
        5_000_000
    );

    let stale = callback("shop-e2e-2", "uid42", "1", now() - 1000, SECRET);
    let attempt = http.deliver("shop", &rx.url, stale).await;
    assert_eq!(attempt.outcome, Outcome::Failed);
    assert_eq!(attempt.status, Some(400));
    assert_eq!(attempt.body_prefix, "fail: TIMESTAMP_OUT_OF_WINDOW");
    assert_eq!(rx.receiver.ledger().paid_orders().await.unwrap().len(), 1);
}

#[tokio::test]
async fn the_secret_is_redacted_in_debug_output() {
    let rx = start().await;
    let shown = format!("{:?}", rx.receiver);
    assert!(!shown.contains(SECRET), "{shown}");
    assert!(shown.contains("redacted"));
    assert!(Secret::new("").is_err());
}

#[tokio::test]
async fn paid_orders_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("paid.sqlite3");
    let db = db.to_str().unwrap();
    let body = callback("shop-restart-1", "uid5", "700", now(), SECRET);
    for _ in 0..2 {
        let ledger = Ledger::open(db).await.unwrap();
        let receiver =
            Arc::new(Receiver::new(Secret::new(SECRET).unwrap(), ledger.clone()).unwrap());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}{NOTIFY_PATH}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move { axum::serve(listener, app(receiver)).await });
        assert_eq!(post(&url, body.clone()).await, (200, "success".to_owned()));
        server.abort();
        ledger.close().await;
    }
    let ledger = Ledger::open(db).await.unwrap();
    assert_eq!(ledger.balance("uid5").await.unwrap(), 700);
}

#[tokio::test]
async fn the_binary_serves_and_needs_a_secret() {
    let exe = env!("CARGO_BIN_EXE_usdt-example-receiver");

    let missing = Command::new(exe)
        .env_remove("MERCHANT_SECRET")
        .args(["--listen", "127.0.0.1:0", "--db", ":memory:"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));

    let mut child = Command::new(exe)
        .env("MERCHANT_SECRET", SECRET)
        .env("RUST_LOG", "warn")
        .args(["--listen", "127.0.0.1:0", "--db", ":memory:"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        line
    });
    let line = tokio::time::timeout(Duration::from_secs(60), line)
        .await
        .expect("the receiver did not start")
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();

    let body = callback("shop-bin-1", "uid1", "100", now(), SECRET);
    let result = post(&url, body).await;
    let bad = post(&url, callback("shop-bin-2", "uid1", "100", now(), "wrong")).await;
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(result, (200, "success".to_owned()));
    assert_eq!(bad, (400, "fail: SIGN_MISMATCH".to_owned()));
}
