//! The TRC20 watcher on the TRON JSON-RPC double (`usdt_evm_rpc::trondouble`: java-tron's
//! `/jsonrpc` dialect and TronGrid's throttling, each behaviour's source noted there),
//! through the real gateway: an order, a transfer to its address, its confirmations and
//! the callback; a reorg; confirmation by finality (TRON's solidified block); a gateway
//! that was down catching up over more blocks than java-tron's 5,000-block range limit
//! while its preferred provider is suspended by TronGrid; the API key header.

use std::time::Duration;

use usdt_evm_rpc::trondouble::{Failure, TronDouble, USDT_CONTRACT};

use crate::TestApp;
use crate::support::{
    APPID, Process, SECRET, TestEnv, TestReceiver, fresh_orderid, order_body, verify_callback,
};

/// The API key the tests configure.
const KEY: &str = "trongrid-test-key-5b0e8c";

/// A fresh TRON address for 20 random bytes, encoded by the protocol's own code, and its
/// 20-byte hex form (what TRON's `/jsonrpc` logs carry).
fn fresh_tron_address() -> (String, String) {
    let hex: String = rand_bytes().iter().map(|b| format!("{b:02x}")).collect();
    let base58 = usdt_recharge::addresses::tron_from_hex(&format!("41{hex}")).unwrap();
    (base58, format!("0x{hex}"))
}

fn rand_bytes() -> [u8; 20] {
    let id = uuid::Uuid::new_v4();
    let mut out = [0u8; 20];
    out[..16].copy_from_slice(id.as_bytes());
    out[16..].copy_from_slice(&uuid::Uuid::new_v4().as_bytes()[..4]);
    out
}

/// A gateway watching TRC20 on `providers` (URLs in order of preference; the first with
/// the API key), 3 confirmations required, `chain_extra` added to `[chains.TRC20]`.
async fn watching(
    providers: &[&str],
    start_block: u64,
    chain_extra: &str,
    receiver: &TestReceiver,
) -> TestEnv {
    watching_at(providers, start_block, chain_extra, 100, receiver).await
}

/// [`watching`] with each provider limited to `rate_limit` requests per second.
async fn watching_at(
    providers: &[&str],
    start_block: u64,
    chain_extra: &str,
    rate_limit: u32,
    receiver: &TestReceiver,
) -> TestEnv {
    let mut tables = format!(
        "[chains.TRC20]\ntoken_contract = \"{USDT_CONTRACT}\"\ndecimals = 6\npoll_interval = \"100ms\"\n\
         start_block = {start_block}\nbreaker_cooldown = \"60s\"\n{chain_extra}\n"
    );
    for (i, url) in providers.iter().enumerate() {
        tables.push_str(&format!(
            "[[chains.TRC20.providers]]\nurl = \"{url}\"\nrate_limit = {rate_limit}\n"
        ));
        if i == 0 {
            tables.push_str(&format!(
                "headers = {{ \"TRON-PRO-API-KEY\" = \"{KEY}\" }}\n"
            ));
        }
    }
    tables.push_str(
        "[notify]\nretry_delays = [\"1s\"]\ntimeout = \"2s\"\nallow_private_targets = true\nmax_in_flight_per_merchant = 4\n\
         [confirmations]\ndefault = 3\nlarge_amount = \"10000\"\nlarge_required = 6\n",
    );
    TestEnv::build(&tables, false, &receiver.url).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trc20_deposit_on_the_tron_double_is_confirmed_and_called_back_once() {
    let tron = TronDouble::start().await;
    let receiver = TestReceiver::start(0, Duration::ZERO).await;
    let app = TestApp::start_on(watching(&[tron.url()], tron.head(), "", &receiver).await).await;
    let (address, hex) = fresh_tron_address();
    let orderid = fresh_orderid();
    let (status, reply) = app
        .order(&order_body(
            APPID, SECRET, "tron", &address, &orderid, 1_005_000,
        ))
        .await;
    assert_eq!(status, 200, "{reply}");

    // 100.5 USDT = 100,500,000 base units at 6 decimals.
    let (txid, block) = tron.transfer(&hex, 100_500_000);
    let view = app
        .wait_order(&orderid, "detected", |v| v["state"] == "confirming")
        .await;
    assert_eq!(view["txid"], txid.as_str());
    assert_eq!(view["block_height"], block);
    assert_eq!(view["received_amount"], 1_005_000);
    assert_eq!(view["required_confirmations"], 3);
    assert_eq!(view["confirmations"], 1);

    tron.mine(1);
    app.wait_order(&orderid, "2 confirmations", |v| v["confirmations"] == 2)
        .await;
    assert!(
        receiver.received().is_empty(),
        "no callback before 3 confirmations"
    );
    tron.mine(1);
    let got = receiver.wait_for(1, Duration::from_secs(20)).await;
    let callback = verify_callback(&got[0].body, SECRET);
    assert_eq!(callback["amount"], "1005000");
    assert_eq!(callback["orderid"], orderid.as_str());
    tron.mine(5);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(receiver.received().len(), 1, "exactly once");

    // Every request carried the key.
    let received = tron.received();
    assert!(!received.is_empty());
    assert!(received.iter().all(|r| {
        r.headers
            .iter()
            .any(|(name, value)| name == "tron-pro-api-key" && value == KEY)
    }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reorg_on_tron_removes_an_unconfirmed_deposit() {
    let tron = TronDouble::start().await;
    let receiver = TestReceiver::start(0, Duration::ZERO).await;
    let app = TestApp::start_on(watching(&[tron.url()], tron.head(), "", &receiver).await).await;
    let (address, hex) = fresh_tron_address();
    let orderid = fresh_orderid();
    app.order(&order_body(
        APPID,
        SECRET,
        "tron-reorg",
        &address,
        &orderid,
        10_000,
    ))
    .await;
    let (_, block) = tron.transfer(&hex, 1_000_000);
    app.wait_order(&orderid, "detected", |v| v["state"] == "confirming")
        .await;
    let before = tron.block_id(block);
    // The transfer's block is replaced by an empty one at the same height (a new id).
    tron.reorg(1);
    assert_ne!(tron.block_id(block), before);
    let view = app
        .wait_order(&orderid, "un-counted", |v| v["state"] == "pending")
        .await;
    assert!(view["txid"].is_null(), "{view}");
    tron.mine(6);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(app.order_view(&orderid).await["state"], "pending");
    assert!(
        receiver.received().is_empty(),
        "no callback for a transfer off the chain"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confirmation_by_finality_waits_for_the_solidified_block() {
    let tron = TronDouble::start().await;
    tron.set_solidified_lag(5);
    let receiver = TestReceiver::start(0, Duration::ZERO).await;
    let env = watching(
        &[tron.url()],
        tron.head(),
        "confirmation = \"finalized\"",
        &receiver,
    )
    .await;
    let app = TestApp::start_on(env).await;
    let (address, hex) = fresh_tron_address();
    let orderid = fresh_orderid();
    app.order(&order_body(
        APPID,
        SECRET,
        "tron-final",
        &address,
        &orderid,
        20_000,
    ))
    .await;
    let (_, block) = tron.transfer(&hex, 2_000_000);
    let view = app
        .wait_order(&orderid, "detected", |v| v["state"] == "confirming")
        .await;
    // The finalized block trails the head by 5: 6 confirmations, not the policy's 3.
    assert_eq!(view["required_confirmations"], 6, "{view}");
    tron.mine(4);
    app.wait_order(&orderid, "5 confirmations", |v| v["confirmations"] == 5)
        .await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(tron.finalized() < block);
    assert!(
        receiver.received().is_empty(),
        "not confirmed while above the finalized block (3 blocks would have been enough by count)"
    );
    tron.mine(1);
    assert_eq!(tron.finalized(), block);
    let got = receiver.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(verify_callback(&got[0].body, SECRET)["amount"], "20000");
    app.wait_order(&orderid, "confirmed", |v| v["state"] == "confirmed")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_that_was_down_catches_up_past_the_range_limit_while_tron_grid_suspends_its_key()
{
    // Two providers of the same chain; the preferred one will be suspended.
    let primary = TronDouble::start().await;
    let backup = TronDouble::start().await;
    let receiver = TestReceiver::start(0, Duration::ZERO).await;
    // Spans of 8,000 blocks: java-tron refuses more than 5,000.
    let env = watching(
        &[primary.url(), backup.url()],
        primary.head(),
        "block_span = 8000\nmax_blocks_per_scan = 20000",
        &receiver,
    )
    .await;
    let app = TestApp::start_on(env).await;
    let (address, hex) = fresh_tron_address();
    let orderid = fresh_orderid();
    app.order(&order_body(
        APPID,
        SECRET,
        "tron-down",
        &address,
        &orderid,
        30_000,
    ))
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let env = app.stop().await;

    // While the gateway is down: 6,000 blocks, the deposit, 6,000 more.
    for tron in [&primary, &backup] {
        tron.mine(6_000);
        tron.transfer(&hex, 3_000_000);
        tron.mine(6_000);
    }
    primary.fail(Failure::Suspended, None);

    let app = TestApp::start_on(env).await;
    let got = receiver.wait_for(1, Duration::from_secs(30)).await;
    assert_eq!(verify_callback(&got[0].body, SECRET)["amount"], "30000");
    let view = app
        .wait_order(&orderid, "confirmed", |v| v["state"] == "confirmed")
        .await;
    assert!(view["confirmations"].as_i64().unwrap() >= 6_001, "{view}");
    // The suspended provider was asked once: its breaker opened for TronGrid's 30 s.
    assert_eq!(primary.received().iter().filter(|r| r.refused).count(), 1);
    // The backup met java-tron's range limit and the scan went on in smaller spans.
    let logs = backup
        .received()
        .iter()
        .filter(|r| r.method == "eth_getLogs")
        .count();
    assert!(logs >= 3, "{logs} eth_getLogs");
    // The failure shows in the provider metrics, the URL redacted and no key.
    let errors = app.gateway.state().metrics.provider_errors();
    let primary_errors: u64 = errors
        .iter()
        .filter(|e| e.chain == "TRC20" && e.provider.starts_with("#0 "))
        .map(|e| e.failed)
        .sum();
    assert_eq!(primary_errors, 1, "{errors:?}");
    assert!(!format!("{errors:?}").contains(KEY));
}

/// The gateway's catch-up figures against the double: `cargo test -p usdt-gateway --test
/// gateway -- --ignored --nocapture watcher_catch_up_figures`. 20 orders, the gateway
/// down while 10,000 blocks are produced holding 200 transfers to their addresses (one
/// every 50 blocks); then the time from restart until all 20 callbacks were sent, with
/// the provider limited to 1,000 and to 15 requests/s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "prints figures; run by hand"]
async fn watcher_catch_up_figures() {
    for rate in [1_000u32, 15] {
        let tron = TronDouble::start().await;
        let receiver = TestReceiver::start(0, Duration::ZERO).await;
        let env = watching_at(&[tron.url()], tron.head(), "", rate, &receiver).await;
        let app = TestApp::start_on(env).await;
        let mut hexes = Vec::new();
        for i in 0..20 {
            let (address, hex) = fresh_tron_address();
            let body = order_body(
                APPID,
                SECRET,
                &format!("fig-{i}"),
                &address,
                &fresh_orderid(),
                10_000,
            );
            let (status, reply) = app.order(&body).await;
            assert_eq!(status, 200, "{reply}");
            hexes.push(hex);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let env = app.stop().await;
        let blocks = 10_000u64;
        let mut transfers = 0;
        for i in 1..=blocks {
            if i % 50 == 0 {
                tron.transfer(&hexes[transfers % hexes.len()], 1_000_000);
                transfers += 1;
            } else {
                tron.mine(1);
            }
        }
        let before = tron.request_count();
        let started = std::time::Instant::now();
        let app = TestApp::start_on(env).await;
        receiver.wait_for(20, Duration::from_secs(120)).await;
        let took = started.elapsed().as_secs_f64();
        println!(
            "rate limit {rate:>4}/s: {blocks} blocks, {transfers} transfers, 20 callbacks in {took:.2} s \
             ({:.0} blocks/s, {:.1} transfers/s, {} requests)",
            blocks as f64 / took,
            transfers as f64 / took,
            tron.request_count() - before
        );
        drop(app);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspended_provider_shows_in_the_log_and_the_metrics_and_the_key_in_neither() {
    let primary = TronDouble::start().await;
    let backup = TronDouble::start().await;
    primary.fail(Failure::Suspended, None);
    let key = "log-test-trongrid-key-77c1";
    let tables = format!(
        "[metrics]\non_main_port = true\n\
         [chains.TRC20]\ntoken_contract = \"{USDT_CONTRACT}\"\npoll_interval = \"100ms\"\n\
         [[chains.TRC20.providers]]\nurl = \"{}\"\nheaders_env = {{ \"TRON-PRO-API-KEY\" = \"TRON_KEY_FOR_LOG_TEST\" }}\n\
         [[chains.TRC20.providers]]\nurl = \"{}\"\n",
        primary.url(),
        backup.url()
    );
    let env = TestEnv::with_extra(&tables).await;
    let log_path = env.dir.path().join("gateway.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let config = env.config_path.to_str().unwrap();
    let mut process = Process::start_with(
        env.dir.path(),
        &["serve", "--config", config],
        &[
            ("TRON_KEY_FOR_LOG_TEST", key),
            ("USDT_GATEWAY_LOG__LEVEL", "info"),
        ],
        std::process::Stdio::from(log),
    );
    // The watcher runs on the backup.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while backup.request_count() < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "the watcher never used the backup"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let metrics = reqwest::get(process.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    process.signal("TERM");
    process.wait(Duration::from_secs(20));
    let log = std::fs::read_to_string(&log_path).unwrap();

    // The key reached the suspended provider, and nothing else saw it.
    assert!(primary.received().iter().any(|r| {
        r.headers
            .iter()
            .any(|(name, value)| name == "tron-pro-api-key" && value == key)
    }));
    assert!(log.contains("suspended for 30s"), "{log}");
    assert!(log.contains("circuit breaker is open"), "{log}");
    let line = metrics
        .lines()
        .find(|l| {
            l.starts_with("usdt_gateway_chain_provider_errors_total")
                && l.contains("provider=\"#0 ")
        })
        .unwrap_or_else(|| panic!("no provider errors for #0 in:\n{metrics}"));
    assert!(line.ends_with(" 1"), "{line}");
    assert!(!log.contains(key), "{log}");
    assert!(!metrics.contains(key));
}
