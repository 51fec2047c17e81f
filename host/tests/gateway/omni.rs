//! The OMNI watcher against the Omni Core double (`usdt_omni_rpc::testnode`, built from
//! Omni Core's documented RPC answers; its module docs name the source of each): a real
//! gateway with `[chains.OMNI]` configured, an order for an OMNI address, a valid Simple
//! Send of USDT (property 31) confirmed after the required confirmations and called back
//! once; an invalid send, sends of other kinds and properties, and a reorged-out send are
//! never credited; a hanging TRC20 provider stalls neither the OMNI watcher nor the order
//! API.

use std::process::Stdio;
use std::time::Duration;

use base64::Engine;

use usdt_omni_rpc::USDT_PROPERTY_ID;
use usdt_omni_rpc::testnode::{OmniDouble, OmniTx, Payload};

use crate::TestApp;
use crate::support::{
    APPID, Process, SECRET, TestEnv, TestReceiver, fresh_orderid, order_body, verify_callback,
};

const USER: &str = "omnicorerpc";
const PASSWORD: &str = "omni-rpc-password-for-tests";
/// A sender that is never watched.
const SENDER: &str = "1MCHESTptvd2LnNp7wmr2sGTpRomteAkq8";

/// The test mnemonic's OMNI account key (m/44'/0'/0', `tests/vectors/derivation.json`).
const OMNI_XPUB: &str = "xpub6BosfCnifzxcFwrSzQiqu2DBVTshkCXacvNsWGYJVVhhawA7d4R5WSWGFNbi8Aw6ZRc1brxMyWMzG3DSSSSoekkudhUd9yLb6qx39T9nMdj";

/// A fresh, valid mainnet address (`1…`): the OMNI account key's `…/0/i` for a random
/// `i`, derived by the protocol's own code.
fn fresh_omni_address() -> String {
    let index = u32::from_le_bytes(uuid::Uuid::new_v4().as_bytes()[..4].try_into().unwrap()) >> 1;
    usdt_recharge::derivation::derive_address(OMNI_XPUB, usdt_recharge::Chain::Omni, index)
        .unwrap()
        .address
}

/// A gateway watching OMNI on `node` from its current head (no dev chains), 3
/// confirmations required.
async fn watching(node: &OmniDouble, receiver: &TestReceiver) -> TestEnv {
    let tables = format!(
        "[chains.OMNI]\nrpc_urls = [\"{}\"]\nrpc_user = \"{USER}\"\nrpc_password = \"{PASSWORD}\"\n\
         poll_interval = \"100ms\"\nstart_block = {}\n\
         [notify]\nretry_delays = [\"1s\"]\ntimeout = \"2s\"\nallow_private_targets = true\nmax_in_flight_per_merchant = 4\n\
         [confirmations]\ndefault = 3\nlarge_amount = \"10000\"\nlarge_required = 6\n",
        node.url(),
        node.head()
    );
    TestEnv::build(&tables, false, &receiver.url).await
}

/// Wait until the watcher has looked up at least `n` Omni transactions.
async fn wait_lookups(node: &OmniDouble, n: u64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while node.calls("omni_gettransaction") < n {
        assert!(
            std::time::Instant::now() < deadline,
            "the watcher looked up {} transactions, not {n}",
            node.calls("omni_gettransaction")
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_simple_send_of_usdt_is_confirmed_and_called_back_once() {
    let node = OmniDouble::start(USER, PASSWORD).await.unwrap();
    node.mine_empty(10);
    let receiver = TestReceiver::start(0, Duration::ZERO).await;
    let app = TestApp::start_on(watching(&node, &receiver).await).await;
    let address = fresh_omni_address();
    let orderid = fresh_orderid();
    let (status, body) = app
        .order(&order_body(
            APPID, SECRET, "omni", &address, &orderid, 125_000,
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["chain"], "OMNI");

    // 12.5 in everything that does not count: an invalid send of USDT, OMNI itself
    // (property 1), a Send All and a grant carrying USDT, a crowdsale purchase (type 0
    // too), and a valid USDT send to another address.
    let usdt = USDT_PROPERTY_ID;
    let noise = node.mine(vec![
        OmniTx::simple_send(SENDER, &address, usdt, 1_250_000_000)
            .invalid("Sender has insufficient balance"),
        OmniTx::simple_send(SENDER, &address, 1, 1_250_000_000),
        OmniTx::new(
            SENDER,
            &address,
            Payload::SendAll {
                sends: vec![(usdt, 1_250_000_000)],
            },
        ),
        OmniTx::new(
            SENDER,
            &address,
            Payload::Grant {
                property: usdt,
                amount: 1_250_000_000,
            },
        ),
        OmniTx::new(
            SENDER,
            &address,
            Payload::CrowdsalePurchase {
                property: usdt,
                amount: 1_250_000_000,
            },
        ),
        OmniTx::simple_send(SENDER, &fresh_omni_address(), usdt, 1_250_000_000),
    ]);
    node.mine_empty(5);
    wait_lookups(&node, 6).await;
    // Past the noise and its confirmations: still nothing.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let view = app.order_view(&orderid).await;
    assert_eq!(view["state"], "pending", "{view}");
    assert!(view["txid"].is_null(), "{view}");
    assert!(noise.height < node.head());

    // 12.5 USDT and one base unit below the protocol's 1e-4 (dust).
    let paid = node.mine(vec![OmniTx::simple_send(
        SENDER,
        &address,
        usdt,
        1_250_000_001,
    )]);
    let view = app
        .wait_order(&orderid, "detected", |v| v["state"] == "confirming")
        .await;
    assert_eq!(view["txid"], paid.txids[0].as_str());
    assert_eq!(view["block_height"], paid.height);
    assert_eq!(view["received_amount"], 125_000);
    assert_eq!(view["required_confirmations"], 3);
    assert_eq!(view["confirmations"], 1);

    node.mine_empty(1);
    app.wait_order(&orderid, "2 confirmations", |v| v["confirmations"] == 2)
        .await;
    assert!(
        receiver.received().is_empty(),
        "no callback before 3 confirmations"
    );
    node.mine_empty(1);
    let got = receiver.wait_for(1, Duration::from_secs(20)).await;
    let callback = verify_callback(&got[0].body, SECRET);
    assert_eq!(callback["amount"], "125000");
    assert_eq!(callback["orderid"], orderid.as_str());
    app.wait_order(&orderid, "delivered", |v| v["callback"] == "delivered")
        .await;

    node.mine_empty(5);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(receiver.received().len(), 1, "exactly once");
    assert_eq!(node.refused(), 0, "every call carried the credentials");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reorged_out_simple_send_is_never_confirmed() {
    let node = OmniDouble::start(USER, PASSWORD).await.unwrap();
    node.mine_empty(3);
    let receiver = TestReceiver::start(0, Duration::ZERO).await;
    let app = TestApp::start_on(watching(&node, &receiver).await).await;
    let address = fresh_omni_address();
    let orderid = fresh_orderid();
    let (status, body) = app
        .order(&order_body(
            APPID,
            SECRET,
            "omni-reorg",
            &address,
            &orderid,
            10_000,
        ))
        .await;
    assert_eq!(status, 200, "{body}");

    let paid = node.mine(vec![OmniTx::simple_send(
        SENDER,
        &address,
        USDT_PROPERTY_ID,
        100_000_000,
    )]);
    app.wait_order(&orderid, "detected", |v| v["state"] == "confirming")
        .await;
    // The block is replaced (new hash, another transaction) and the chain grows past it.
    node.reorg(
        paid.height,
        vec![
            vec![OmniTx::simple_send(
                SENDER,
                &fresh_omni_address(),
                USDT_PROPERTY_ID,
                100_000_000,
            )],
            vec![],
        ],
    );
    let view = app
        .wait_order(&orderid, "un-counted", |v| v["state"] == "pending")
        .await;
    assert!(view["txid"].is_null(), "{view}");
    node.mine_empty(6);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(app.order_view(&orderid).await["state"], "pending");
    assert!(
        receiver.received().is_empty(),
        "no callback for a send off the chain"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_process_reads_the_rpc_credentials_from_the_environment_and_never_logs_them() {
    let node = OmniDouble::start(USER, PASSWORD).await.unwrap();
    node.mine_empty(2);
    // A dead node first: the process fails over to the double (and logs it).
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        format!("http://127.0.0.1:{port}")
    };
    let env = TestEnv::with_extra(&format!(
        "[chains.OMNI]\nrpc_urls = [\"{dead}\", \"{}\"]\n\
         rpc_user_env = \"OMNI_TEST_RPC_USER\"\nrpc_password_env = \"OMNI_TEST_RPC_PASSWORD\"\n\
         poll_interval = \"100ms\"\n",
        node.url()
    ))
    .await;
    let log_path = env.dir.path().join("gateway.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let config = env.config_path.to_str().unwrap();
    let mut process = Process::start_with(
        env.dir.path(),
        &["serve", "--config", config],
        &[
            ("OMNI_TEST_RPC_USER", USER),
            ("OMNI_TEST_RPC_PASSWORD", PASSWORD),
            ("USDT_GATEWAY_LOG__LEVEL", "debug"),
        ],
        Stdio::from(log),
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while node.calls("getblockcount") < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "the watcher did not poll the node"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(node.refused(), 0, "every call carried the credentials");
    process.signal("TERM");
    process.wait(Duration::from_secs(20));
    let text = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        text.contains("cannot connect"),
        "the failover is logged:\n{text}"
    );
    assert!(
        !text.contains(PASSWORD),
        "the password reached the log:\n{text}"
    );
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    assert!(
        !text.contains(&basic),
        "the Authorization header reached the log"
    );
}

/// One chain's provider trouble stalls neither another chain's watcher nor the order API:
/// TRC20's only provider accepts connections and never answers (each call waits out a
/// 30 s timeout), while an OMNI deposit is detected, confirmed and called back, and
/// orders on both chains are answered at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_tron_provider_stalls_neither_the_omni_watcher_nor_the_order_api() {
    // A provider that takes every connection and never says a word.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_url = format!("http://{}/jsonrpc", silent.local_addr().unwrap());
    let held = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let holder = std::sync::Arc::clone(&held);
    tokio::spawn(async move {
        while let Ok((socket, _)) = silent.accept().await {
            holder.lock().unwrap().push(socket);
        }
    });

    let node = OmniDouble::start(USER, PASSWORD).await.unwrap();
    node.mine_empty(10);
    let receiver = TestReceiver::start(0, Duration::ZERO).await;
    let tables = format!(
        "[chains.TRC20]\nrpc_urls = [\"{silent_url}\"]\n\
         token_contract = \"0xa614f803b6fd780986a42c78ec9c7f77e6ded13c\"\n\
         poll_interval = \"100ms\"\nrequest_timeout = \"30s\"\nstart_block = 1\n\
         [chains.OMNI]\nrpc_urls = [\"{}\"]\nrpc_user = \"{USER}\"\nrpc_password = \"{PASSWORD}\"\n\
         poll_interval = \"100ms\"\nstart_block = {}\n\
         [notify]\nretry_delays = [\"1s\"]\ntimeout = \"2s\"\nallow_private_targets = true\n\
         [confirmations]\ndefault = 3\nlarge_amount = \"10000\"\nlarge_required = 6\n",
        node.url(),
        node.head()
    );
    let app = TestApp::start_on(TestEnv::build(&tables, false, &receiver.url).await).await;
    // The TRC20 watcher is stuck in its first call.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while held.lock().unwrap().is_empty() {
        assert!(std::time::Instant::now() < deadline, "TRC20 never called");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }

    let started = std::time::Instant::now();
    let address = fresh_omni_address();
    let orderid = fresh_orderid();
    let (status, body) = app
        .order(&order_body(
            APPID, SECRET, "omni-x", &address, &orderid, 20_000,
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    let tron_orderid = fresh_orderid();
    let (status, body) = app
        .order(&order_body(
            APPID,
            SECRET,
            "tron-x",
            "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
            &tron_orderid,
            20_000,
        ))
        .await;
    assert_eq!(
        status, 200,
        "a TRC20 order is accepted while its chain hangs: {body}"
    );

    node.mine(vec![OmniTx::simple_send(
        SENDER,
        &address,
        USDT_PROPERTY_ID,
        200_000_000,
    )]);
    node.mine_empty(2);
    let got = receiver.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(
        verify_callback(&got[0].body, SECRET)["orderid"],
        orderid.as_str()
    );
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(20),
        "OMNI was confirmed and called back in {elapsed:?}, inside TRC20's first 30 s timeout"
    );
    // TRC20's watcher is still waiting on its first call all along.
    let view = app.order_view(&tron_orderid).await;
    assert_eq!(view["state"], "pending", "{view}");
}
