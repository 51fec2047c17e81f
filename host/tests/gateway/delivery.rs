//! Callback delivery with real processes: `kill -9` mid-delivery loses and repeats
//! nothing that succeeded; two replicas share one outbox without sending an attempt
//! twice, and one of them dying mid-way leaves nothing undelivered; a slow merchant with
//! a backlog far beyond its slots gets every callback exactly once, from one process or
//! from two.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use usdt_gateway::api::{ORDER_PATH, QUERY_PATH};

use crate::support::{
    APPID, Process, SECRET, TestEnv, TestReceiver, fresh_address, fresh_orderid, order_body,
    query_body, verify_callback,
};

/// One confirmation, retries 1 s apart, 2 s per attempt (leases of 9 s).
const CONFIG: &str = "[notify]\nretry_delays = [\"1s\", \"1s\", \"1s\"]\ntimeout = \"2s\"\nallow_private_targets = true\n\
                      max_in_flight_per_merchant = 16\n[confirmations]\ndefault = 1\nlarge_amount = \"10000\"\nlarge_required = 3\n";

async fn post(url: String, body: &Value) -> Value {
    let (status, reply) = crate::support::post_json(url, body).await;
    assert_eq!(status, 200, "{reply}");
    reply
}

/// Place an order and pay it on the dev chain of `process`; returns the orderid.
async fn paid_order(process: &Process, user: &str) -> String {
    let address = fresh_address();
    let orderid = place_order(process.addr, user, &address).await;
    pay(process.addr, &address).await;
    orderid
}

/// Place an order at the gateway at `addr`; returns the orderid.
async fn place_order(addr: SocketAddr, user: &str, address: &str) -> String {
    let orderid = fresh_orderid();
    let reply = post(
        format!("http://{addr}{ORDER_PATH}"),
        &order_body(APPID, SECRET, user, address, &orderid, 10_000),
    )
    .await;
    assert_eq!(reply["status"], 1);
    orderid
}

/// Pay 1 USDT to `address` on the dev chain of the gateway at `addr`.
async fn pay(addr: SocketAddr, address: &str) {
    post(
        format!("http://{addr}/dev/chains/ERC20/transfers"),
        &json!({"to": address, "amount": "1"}),
    )
    .await;
}

/// `n` paid orders at the gateways at `replicas`, placed and paid eight at a time (the
/// dev chain mines a block for each transfer, concurrent ones one after another).
async fn paid_orders(replicas: &[SocketAddr], n: usize) -> Vec<String> {
    let mut placing = tokio::task::JoinSet::new();
    for worker in 0..8 {
        // Each worker places through one replica and pays through the next: with two
        // replicas, every order's binding is committed by one and watched by both.
        let place_at = replicas[worker % replicas.len()];
        let pay_at = replicas[(worker + 1) % replicas.len()];
        placing.spawn(async move {
            let mut placed = Vec::new();
            for i in (worker..n).step_by(8) {
                let address = fresh_address();
                placed.push(place_order(place_at, &format!("slow-{i}"), &address).await);
                pay(pay_at, &address).await;
            }
            placed
        });
    }
    let mut orders = Vec::with_capacity(n);
    while let Some(placed) = placing.join_next().await {
        orders.extend(placed.unwrap());
    }
    orders
}

/// orderid → how many callbacks arrived for it, every one verified.
fn per_order(receiver: &TestReceiver) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for r in receiver.received() {
        let v = verify_callback(&r.body, SECRET);
        *counts
            .entry(v["orderid"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    counts
}

async fn callback_state(process: &Process, orderid: &str) -> String {
    let q = post(process.url(QUERY_PATH), &query_body(APPID, SECRET, orderid)).await;
    q["data"]["callback"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_delivery_resumes_and_never_repeats_a_success() {
    // The receiver takes 1.5 s to answer: the gateway is killed while it waits.
    let receiver = TestReceiver::start(0, Duration::from_millis(1500)).await;
    let env = TestEnv::dev(&receiver.url, CONFIG).await;
    let config = env.config_path.to_str().unwrap().to_owned();
    let process = Process::start(env.dir.path(), &["serve", "--config", &config]);
    let orderid = paid_order(&process, "crash").await;
    receiver.wait_for(1, Duration::from_secs(20)).await;
    process.signal("KILL");
    drop(process);

    // After the restart the delivery resumes once the dead process's lease runs out.
    let process = Process::start(env.dir.path(), &["serve", "--config", &config]);
    receiver.wait_for(2, Duration::from_secs(30)).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while callback_state(&process, &orderid).await != "delivered" {
        assert!(
            std::time::Instant::now() < deadline,
            "delivered after the restart"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Delivered: never sent again, not by this process, not by the next one.
    drop(process);
    let process = Process::start(env.dir.path(), &["serve", "--config", &config]);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(receiver.received().len(), 2, "no attempt after the success");
    assert_eq!(callback_state(&process, &orderid).await, "delivered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_share_the_outbox() {
    let receiver = TestReceiver::start(0, Duration::from_millis(50)).await;
    let env = TestEnv::dev(&receiver.url, CONFIG).await;
    let config = env.config_path.to_str().unwrap().to_owned();
    let a = Process::start(env.dir.path(), &["serve", "--config", &config]);
    let b = Process::start(env.dir.path(), &["serve", "--config", &config]);

    // Both alive: every callback exactly once.
    let mut first = Vec::new();
    for i in 0..20 {
        let via = if i % 2 == 0 { &a } else { &b };
        first.push(paid_order(via, &format!("replica-{i}")).await);
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(40);
    loop {
        let counts = per_order(&receiver);
        if first.iter().all(|o| counts.contains_key(o)) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{} of 20 delivered",
            counts.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let counts = per_order(&receiver);
    for o in &first {
        assert_eq!(counts[o], 1, "{o} sent once with two replicas");
    }

    // B dies mid-way: A delivers everything, what B left in flight after its lease.
    let mut second = Vec::new();
    for i in 0..20 {
        second.push(paid_order(&a, &format!("survivor-{i}")).await);
        if i == 5 {
            b.signal("KILL");
        }
    }
    drop(b);
    let deadline = std::time::Instant::now() + Duration::from_secs(180);
    for o in &second {
        while callback_state(&a, o).await != "delivered" {
            assert!(
                std::time::Instant::now() < deadline,
                "{o} delivered by the survivor"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let counts = per_order(&receiver);
    for o in &second {
        // Only an attempt B had in flight when it died can arrive twice.
        assert!((1..=2).contains(&counts[o]), "{o}: {}", counts[o]);
    }
    let twice = second.iter().filter(|o| counts[*o] == 2).count();
    assert!(
        twice <= 16,
        "at most B's in-flight attempts repeat: {twice}"
    );
}

/// A slow merchant: 2 s per attempt (leases of 9 s), 32 attempts at once, retries 1 s
/// apart.
const SLOW_MERCHANT_CONFIG: &str = "[notify]\nretry_delays = [\"1s\", \"1s\", \"1s\"]\ntimeout = \"2s\"\n\
    allow_private_targets = true\nmax_in_flight_per_merchant = 32\n\
    [confirmations]\ndefault = 1\nlarge_amount = \"10000\"\nlarge_required = 3\n";

/// Orders of the slow-merchant tests: ten times the merchant's slots.
const SLOW_MERCHANT_ORDERS: usize = 320;

/// The slow merchant's receiver answers `success` after this: well inside the 2 s
/// timeout (no attempt fails), slow enough that the backlog takes longer than a lease.
const SLOW_ANSWER: Duration = Duration::from_millis(1500);

/// After the last first callback, wait this long — a 9 s lease lapsing twice — before
/// counting: a delivery claimed twice would have been sent again by then.
const QUIET: Duration = Duration::from_secs(20);

/// Wait until every one of `orders` got its callback, then [`QUIET`], and check each got
/// exactly one and is recorded delivered (asked of `process`).
async fn assert_each_callback_once(
    receiver: &TestReceiver,
    orders: &[String],
    process: &Process,
    started: Instant,
) {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let counts = per_order(receiver);
        if orders.iter().all(|o| counts.contains_key(o)) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {} delivered",
            counts.len(),
            orders.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let all_arrived = started.elapsed();
    tokio::time::sleep(QUIET).await;
    let counts = per_order(receiver);
    let repeated = counts.values().filter(|n| **n > 1).count();
    let extra: usize = counts.values().map(|n| n - 1).sum();
    eprintln!(
        "{} orders: every callback arrived {all_arrived:.1?} after the first order; \
         {repeated} orders got more than one ({extra} extra bodies)",
        orders.len()
    );
    assert_eq!((repeated, extra), (0, 0), "every callback exactly once");
    assert_eq!(counts.len(), orders.len(), "callbacks of these orders only");
    for o in orders {
        assert_eq!(callback_state(process, o).await, "delivered", "{o}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_merchant_gets_each_callback_exactly_once() {
    let receiver = TestReceiver::start(0, SLOW_ANSWER).await;
    let env = TestEnv::dev(&receiver.url, SLOW_MERCHANT_CONFIG).await;
    let config = env.config_path.to_str().unwrap().to_owned();
    let process = Process::start(env.dir.path(), &["serve", "--config", &config]);
    let started = Instant::now();
    let orders = paid_orders(&[process.addr], SLOW_MERCHANT_ORDERS).await;
    assert_each_callback_once(&receiver, &orders, &process, started).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_give_a_slow_merchant_each_callback_exactly_once() {
    let receiver = TestReceiver::start(0, SLOW_ANSWER).await;
    let env = TestEnv::dev(&receiver.url, SLOW_MERCHANT_CONFIG).await;
    let config = env.config_path.to_str().unwrap().to_owned();
    let a = Process::start(env.dir.path(), &["serve", "--config", &config]);
    let b = Process::start(env.dir.path(), &["serve", "--config", &config]);
    let started = Instant::now();
    let orders = paid_orders(&[a.addr, b.addr], SLOW_MERCHANT_ORDERS).await;
    assert_each_callback_once(&receiver, &orders, &a, started).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_commands_pay_list_and_resend() {
    let receiver = TestReceiver::start(0, Duration::ZERO).await;
    let env = TestEnv::dev(&receiver.url, CONFIG).await;
    let config = env.config_path.to_str().unwrap().to_owned();
    let process = Process::start(env.dir.path(), &["serve", "--config", &config]);
    let address = fresh_address();
    let orderid = fresh_orderid();
    let reply = post(
        process.url(ORDER_PATH),
        &order_body(APPID, SECRET, "cli", &address, &orderid, 20_000),
    )
    .await;
    let ordersn = reply["data"]["ordersn"].as_str().unwrap().to_owned();

    let cli = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_usdt-gateway"))
            .args(args)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let gateway = format!("http://{}", process.addr);
    let (ok, out) = cli(&[
        "dev",
        "--gateway",
        &gateway,
        "--chain",
        "ERC20",
        "transfer",
        "--to",
        &address,
        "--amount",
        "2",
    ]);
    assert!(ok, "{out}");
    let sent: Value = serde_json::from_str(&out).unwrap();
    assert!(sent["txid"].as_str().unwrap().starts_with("0x"));
    let (ok, out) = cli(&[
        "dev",
        "--gateway",
        &gateway,
        "--chain",
        "ERC20",
        "transfer",
        "--to",
        "0x12",
        "--amount",
        "2",
    ]);
    assert!(!ok && out.contains("INVALID_ADDRESS"), "{out}");

    receiver.wait_for(1, Duration::from_secs(20)).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while callback_state(&process, &orderid).await != "delivered" {
        assert!(std::time::Instant::now() < deadline, "delivered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (ok, out) = cli(&[
        "callbacks",
        "list",
        "--config",
        &config,
        "--state",
        "delivered",
    ]);
    assert!(ok && out.contains(&ordersn), "{out}");
    // Resent from the command line: audited like the admin API's and the console's
    // resends (one JSON log line, target `audit`, even with `[log] level = "warn"`),
    // and delivered by the running gateway.
    let resent = std::process::Command::new(env!("CARGO_BIN_EXE_usdt-gateway"))
        .args(["callbacks", "resend", "--config", &config, &ordersn])
        .env("USDT_GATEWAY_LOG__FORMAT", "json")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&resent.stdout);
    assert!(resent.status.success(), "{stdout}");
    let stderr = String::from_utf8_lossy(&resent.stderr);
    let audit: Vec<Value> = stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["target"] == "audit")
        .collect();
    assert_eq!(audit.len(), 1, "{stderr}");
    assert_eq!(audit[0]["action"], "resend_callback", "{stderr}");
    assert_eq!(audit[0]["via"], "cli", "{stderr}");
    assert_eq!(audit[0]["ordersn"], ordersn.as_str(), "{stderr}");
    assert_eq!(audit[0]["outcome"], "resent", "{stderr}");
    assert!(
        audit[0]["who"].as_str().unwrap().starts_with("cli"),
        "{stderr}"
    );
    let got = receiver.wait_for(2, Duration::from_secs(20)).await;
    let again = verify_callback(&got[1].body, SECRET);
    assert_eq!(again["orderid"], orderid.as_str());
    assert_eq!(again["amount"], "20000");
    // The receiver answers before the dispatcher records the attempt: wait for the record.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (ok, out) = cli(&["callbacks", "show", "--config", &config, &ordersn]);
        assert!(ok, "{out}");
        let shown: Value = serde_json::from_str(&out).unwrap();
        if shown["attempts"].as_array().unwrap().len() >= 2 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{shown}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (ok, _) = cli(&[
        "callbacks",
        "resend",
        "--config",
        &config,
        "cz-no-such-order",
    ]);
    assert!(!ok);
}
