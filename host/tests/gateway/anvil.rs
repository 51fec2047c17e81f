//! The EVM watcher on a real Ethereum node: anvil with a 6-decimal USDT-like token
//! (`chains/evm/anvil`, set up by `chains/evm/anvil/setup.sh`). A deposit is detected,
//! its confirmations counted as blocks are mined, the callback fires exactly once at the
//! required confirmations; a reorg removes an unconfirmed deposit and no callback is sent;
//! a watcher that was down catches up.

use std::time::Duration;

use usdt_evm_rpc::testnode::TestNode;

use crate::TestApp;
use crate::support::{
    APPID, SECRET, TestEnv, TestReceiver, fresh_address, fresh_orderid, order_body, verify_callback,
};

/// A gateway watching ERC20 on `node` (no dev chains), 3 confirmations required.
async fn watching(node: &TestNode, receiver: &TestReceiver) -> TestEnv {
    TestEnv::build(&watching_tables(node), false, &receiver.url).await
}

/// The configuration tables of [`watching`].
pub fn watching_tables(node: &TestNode) -> String {
    format!(
        "[chains.ERC20]\nrpc_urls = [\"{}\"]\ntoken_contract = \"{}\"\ndecimals = 6\npoll_interval = \"100ms\"\n\
         start_block = {}\n\
         [notify]\nretry_delays = [\"1s\"]\ntimeout = \"2s\"\nallow_private_targets = true\nmax_in_flight_per_merchant = 4\n\
         [confirmations]\ndefault = 3\nlarge_amount = \"10000\"\nlarge_required = 6\n",
        node.url(),
        node.token(),
        node.deploy_block()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deposit_on_anvil_is_confirmed_and_called_back_once() {
    let Some(node) = TestNode::start_or_skip().await else {
        return;
    };
    let receiver = TestReceiver::start(0, Duration::ZERO).await;
    let app = TestApp::start_on(watching(&node, &receiver).await).await;
    let address = fresh_address();
    let orderid = fresh_orderid();
    app.order(&order_body(
        APPID, SECRET, "evm", &address, &orderid, 1_005_000,
    ))
    .await;

    // 100.5 USDT = 100,500,000 base units at 6 decimals; a dust unit below 1e-4 USDT.
    let (txid, block) = node.transfer(&address, 100_500_001).await.unwrap();
    let view = app
        .wait_order(&orderid, "detected", |v| v["state"] == "confirming")
        .await;
    assert_eq!(view["txid"], txid.as_str());
    assert_eq!(view["block_height"], block);
    assert_eq!(view["received_amount"], 1_005_000);
    assert_eq!(view["required_confirmations"], 3);
    assert_eq!(view["confirmations"], 1);

    node.mine(1).await.unwrap();
    app.wait_order(&orderid, "2 confirmations", |v| v["confirmations"] == 2)
        .await;
    assert!(
        receiver.received().is_empty(),
        "no callback before 3 confirmations"
    );
    node.mine(1).await.unwrap();
    let got = receiver.wait_for(1, Duration::from_secs(20)).await;
    let callback = verify_callback(&got[0].body, SECRET);
    assert_eq!(callback["amount"], "1005000");
    assert_eq!(callback["orderid"], orderid.as_str());
    app.wait_order(&orderid, "delivered", |v| v["callback"] == "delivered")
        .await;

    node.mine(5).await.unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(receiver.received().len(), 1, "exactly once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reorg_on_anvil_removes_an_unconfirmed_deposit() {
    let Some(node) = TestNode::start_or_skip().await else {
        return;
    };
    let receiver = TestReceiver::start(0, Duration::ZERO).await;
    let app = TestApp::start_on(watching(&node, &receiver).await).await;
    let address = fresh_address();
    let orderid = fresh_orderid();
    app.order(&order_body(
        APPID,
        SECRET,
        "evm-reorg",
        &address,
        &orderid,
        10_000,
    ))
    .await;

    node.transfer(&address, 1_000_000).await.unwrap();
    app.wait_order(&orderid, "detected", |v| v["state"] == "confirming")
        .await;
    // The transfer's block is replaced by an empty one at the same height.
    node.reorg(1).await.unwrap();
    let view = app
        .wait_order(&orderid, "un-counted", |v| v["state"] == "pending")
        .await;
    assert!(view["txid"].is_null(), "{view}");
    node.mine(6).await.unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(app.order_view(&orderid).await["state"], "pending");
    assert!(
        receiver.received().is_empty(),
        "no callback for a transfer off the chain"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_that_was_down_catches_up() {
    let Some(node) = TestNode::start_or_skip().await else {
        return;
    };
    let receiver = TestReceiver::start(0, Duration::ZERO).await;
    let app = TestApp::start_on(watching(&node, &receiver).await).await;
    let address = fresh_address();
    let orderid = fresh_orderid();
    app.order(&order_body(
        APPID, SECRET, "evm-down", &address, &orderid, 20_000,
    ))
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let env = app.stop().await;

    // While the gateway is down: the deposit, then many blocks.
    node.transfer(&address, 2_000_000).await.unwrap();
    node.mine(50).await.unwrap();

    let app = TestApp::start_on(env).await;
    let got = receiver.wait_for(1, Duration::from_secs(30)).await;
    let callback = verify_callback(&got[0].body, SECRET);
    assert_eq!(callback["amount"], "20000");
    let view = app
        .wait_order(&orderid, "confirmed", |v| v["state"] == "confirmed")
        .await;
    assert!(view["confirmations"].as_i64().unwrap() >= 51, "{view}");
}
