//! The client against the Omni Core double (`usdt_omni_rpc::testnode`, whose module docs
//! name the source of each behaviour it reproduces).

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
// An integration test is one scenario against a real process or node, or one table of
// cases, read top to bottom: exempt from clippy::too_many_lines (see clippy.toml).
#![allow(clippy::too_many_lines)]

use std::time::Duration;

use usdt_omni_rpc::testnode::{OmniDouble, OmniTx, Payload};
use usdt_omni_rpc::{Credentials, OmniRpc, OmniRpcConfig, OmniRpcError, USDT_PROPERTY_ID};

const USER: &str = "omnicorerpc";
const PASSWORD: &str = "5hMTZI9iBGFqKxsWfOUF";
const ALICE: &str = "1JS51WwUfvkNsHWNBqwyhQz23ZZKCD3VWb";
const BOB: &str = "3M9qvHKtgARhqcMtM5cRT9VaiDJ5PSfQGY";
const STRANGER: &str = "37FaKponF7zqoMLUjEiko25pDiuVH5YLEa";
const SENDER: &str = "1MCHESTptvd2LnNp7wmr2sGTpRomteAkq8";

async fn double() -> OmniDouble {
    OmniDouble::start(USER, PASSWORD).await.unwrap()
}

fn client(urls: Vec<String>, credentials: Option<Credentials>) -> OmniRpc {
    let mut config = OmniRpcConfig::new(urls, credentials);
    config.request_timeout = Duration::from_secs(2);
    config.max_retries = 3;
    OmniRpc::new(config)
        .unwrap()
        .with_backoff(Duration::from_millis(5), Duration::from_millis(20))
}

fn rpc(node: &OmniDouble) -> OmniRpc {
    client(vec![node.url()], Some(Credentials::new(USER, PASSWORD)))
}

fn watched() -> Vec<String> {
    vec![ALICE.to_owned(), BOB.to_owned()]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_and_hashes_as_the_node_has_them() {
    let node = double().await;
    let rpc = rpc(&node);
    assert_eq!(rpc.block_count().await.unwrap(), 0, "genesis only");
    let tip = node.mine_empty(5);
    assert_eq!(rpc.block_count().await.unwrap(), tip);
    assert_eq!(tip, 5);
    for h in 0..=tip {
        assert_eq!(rpc.block_hash(h).await.unwrap(), node.block_hash(h));
    }
    assert_eq!(
        rpc.block_hash(tip + 1).await.unwrap(),
        None,
        "-8 Block height out of range is no block"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_valid_simple_sends_of_property_31_to_watched_addresses_count() {
    let node = double().await;
    let rpc = rpc(&node);
    node.mine_empty(2);
    let usdt = USDT_PROPERTY_ID;
    let block = node.mine(vec![
        // Counted: 12.5 USDT to Alice.
        OmniTx::simple_send(SENDER, ALICE, usdt, 1_250_000_000),
        // Not counted: invalid.
        OmniTx::simple_send(SENDER, ALICE, usdt, 500_000_000)
            .invalid("Sender has insufficient balance"),
        // Not counted: another property (OMNI itself, property 1).
        OmniTx::simple_send(SENDER, ALICE, 1, 700_000_000),
        // Not counted: an indivisible property.
        OmniTx::simple_send(SENDER, BOB, 3, 42),
        // Not counted: a Send All carrying USDT.
        OmniTx::new(
            SENDER,
            BOB,
            Payload::SendAll {
                sends: vec![(usdt, 900_000_000), (1, 1)],
            },
        ),
        // Not counted: type 0 but a crowdsale purchase.
        OmniTx::new(
            SENDER,
            ALICE,
            Payload::CrowdsalePurchase {
                property: usdt,
                amount: 300_000_000,
            },
        ),
        // Not counted: a grant, a send to owners.
        OmniTx::new(
            SENDER,
            BOB,
            Payload::Grant {
                property: usdt,
                amount: 100_000_000,
            },
        ),
        OmniTx::new(
            SENDER,
            BOB,
            Payload::SendToOwners {
                property: usdt,
                amount: 100_000_000,
            },
        ),
        // Not counted: not a watched address.
        OmniTx::simple_send(SENDER, STRANGER, usdt, 100_000_000),
        // Counted: the smallest unit, to Bob.
        OmniTx::simple_send(SENDER, BOB, usdt, 1),
    ]);
    let later = node.mine(vec![OmniTx::simple_send(
        SENDER,
        ALICE,
        usdt,
        123_456_789_012,
    )]);
    node.mine_empty(1);

    let found = rpc.transfers(0, node.head(), &watched()).await.unwrap();
    let got: Vec<_> = found
        .iter()
        .map(|t| (t.block_number, t.to.as_str(), t.amount, t.txid.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (block.height, ALICE, 1_250_000_000, block.txids[0].as_str()),
            (block.height, BOB, 1, block.txids[9].as_str()),
            (
                later.height,
                ALICE,
                123_456_789_012,
                later.txids[0].as_str()
            ),
        ]
    );
    assert_eq!(found[0].block_hash, block.hash);
    assert_eq!(found[0].from, SENDER);
    assert!(
        found[0].position_in_block < found[1].position_in_block,
        "positions in the block: {found:?}"
    );
    assert_eq!(found[2].block_hash, later.hash);

    // Every listed transaction was looked up once; each height's hash was read twice.
    assert_eq!(node.calls("omni_gettransaction"), 11);
    assert_eq!(node.calls("getblockhash"), 2 * (node.head() + 1));

    // A range of its own: only the later block.
    let only_later = rpc
        .transfers(later.height, later.height, &watched())
        .await
        .unwrap();
    assert_eq!(only_later.len(), 1);
    assert!(
        rpc.transfers(block.height, block.height, &[STRANGER.to_owned()])
            .await
            .unwrap()
            .len()
            == 1,
        "the stranger's one send"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reorg_replaces_the_transfers_of_the_replaced_blocks() {
    let node = double().await;
    let rpc = rpc(&node);
    node.mine_empty(3);
    let old = node.mine(vec![OmniTx::simple_send(
        SENDER,
        ALICE,
        USDT_PROPERTY_ID,
        100_000_000,
    )]);
    node.mine_empty(1);
    let before = rpc
        .transfers(old.height, node.head(), &watched())
        .await
        .unwrap();
    assert_eq!(before.len(), 1);
    assert_eq!(before[0].block_hash, old.hash);

    // The block is replaced by one with another transfer (to Bob), and the chain grows.
    let new = node.reorg(
        old.height,
        vec![
            vec![OmniTx::simple_send(
                SENDER,
                BOB,
                USDT_PROPERTY_ID,
                200_000_000,
            )],
            vec![],
            vec![],
        ],
    );
    assert_ne!(new[0].hash, old.hash);
    assert_eq!(
        rpc.block_hash(old.height).await.unwrap(),
        Some(new[0].hash.clone())
    );
    let after = rpc
        .transfers(old.height, node.head(), &watched())
        .await
        .unwrap();
    assert_eq!(after.len(), 1, "{after:?}");
    assert_eq!(after[0].to, BOB);
    assert_eq!(after[0].amount, 200_000_000);
    assert_eq!(after[0].block_hash, new[0].hash);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_that_moves_during_a_scan_fails_the_whole_range() {
    let node = double().await;
    let rpc = rpc(&node);
    let first = node.mine(vec![OmniTx::simple_send(
        SENDER,
        ALICE,
        USDT_PROPERTY_ID,
        100_000_000,
    )]);
    let second = node.mine(vec![OmniTx::simple_send(
        SENDER,
        BOB,
        USDT_PROPERTY_ID,
        200_000_000,
    )]);
    // The first block is replaced while its transaction is looked up (the index still
    // names the old block): its hash, read again, has changed.
    node.reorg_when_asked(first.height, vec![vec![], vec![]]);
    let err = rpc
        .transfers(first.height, second.height, &watched())
        .await
        .unwrap_err();
    assert!(matches!(err, OmniRpcError::Inconsistent(_)), "{err}");

    // The block is mined again (same transaction, new hash) while it is read: the
    // transaction listed under the old hash reports the new one.
    let third = node.mine(vec![OmniTx::simple_send(
        SENDER,
        ALICE,
        USDT_PROPERTY_ID,
        300_000_000,
    )]);
    node.remine_when_asked(third.height);
    let err = rpc
        .transfers(third.height, third.height, &watched())
        .await
        .unwrap_err();
    assert!(matches!(err, OmniRpcError::Inconsistent(_)), "{err}");

    // Read again on the settled chain: complete, the reorged-out transfers gone, the
    // re-mined one in its new block.
    let settled = rpc
        .transfers(first.height, node.head(), &watched())
        .await
        .unwrap();
    assert_eq!(settled.len(), 1, "{settled:?}");
    assert_eq!(settled[0].txid, third.txids[0]);
    assert_eq!(settled[0].amount, 300_000_000);
    assert_eq!(
        Some(settled[0].block_hash.clone()),
        node.block_hash(third.height)
    );
    assert_ne!(settled[0].block_hash, third.hash);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_are_sent_and_never_shown() {
    let node = double().await;
    node.mine_empty(1);
    // In the URL.
    let by_url = client(vec![node.url_with_credentials()], None);
    assert_eq!(by_url.block_count().await.unwrap(), 1);
    let shown = format!("{by_url:?} {:?}", by_url.endpoint_errors());
    assert!(!shown.contains(PASSWORD), "{shown}");
    assert!(shown.contains("***@127.0.0.1"), "{shown}");

    // Wrong ones: 401, failed over, nothing learned, the password nowhere.
    let wrong = client(
        vec![node.url()],
        Some(Credentials::new(USER, "not-the-password")),
    );
    let err = wrong.block_count().await.unwrap_err();
    assert!(matches!(err, OmniRpcError::Unavailable { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains("401"), "{text}");
    assert!(!text.contains("not-the-password"), "{text}");
    assert_eq!(node.refused(), 1, "a refused request is not retried");

    // None at all: refused too.
    let none = client(vec![node.url()], None);
    assert!(none.block_count().await.is_err());
    assert_eq!(node.refused(), 2);

    let config = OmniRpcConfig::new(
        vec![node.url_with_credentials()],
        Some(Credentials::new(USER, PASSWORD)),
    );
    let shown = format!("{config:?}");
    assert!(!shown.contains(PASSWORD), "{shown}");
    assert!(
        OmniRpc::new(config).is_err(),
        "credentials in the URL and apart"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overloaded_node_is_retried_and_a_dead_one_failed_over() {
    let node = double().await;
    node.mine_empty(4);
    let rpc = rpc(&node);
    node.overload_next(2);
    assert_eq!(
        rpc.block_count().await.unwrap(),
        4,
        "two retries, then the answer"
    );

    node.overload_next(10);
    let err = rpc.block_count().await.unwrap_err();
    assert!(
        err.to_string().contains("Work queue depth exceeded"),
        "{err}"
    );
    node.overload_next(0);

    // A closed port first, the node second: failover, and the dead one's error counted.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        format!("http://127.0.0.1:{port}")
    };
    let rpc = client(
        vec![closed, node.url()],
        Some(Credentials::new(USER, PASSWORD)),
    );
    assert_eq!(rpc.block_count().await.unwrap(), 4);
    let errors = rpc.endpoint_errors();
    assert_eq!(errors[0].1, 1, "{errors:?}");
    assert_eq!(errors[1].1, 0, "{errors:?}");
    // The next call starts at the endpoint that answered.
    assert_eq!(rpc.block_count().await.unwrap(), 4);
    assert_eq!(rpc.endpoint_errors()[0].1, 1);
}

/// The failover policy of every chain client (`usdt-jsonrpc`): a node that failed a call
/// is skipped by its circuit breaker for the cool-down, then asked again, and once it
/// answers calls are back on it (the preferred, first, URL).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_node_is_skipped_for_its_cooldown_then_preferred_again() {
    let (first, second) = (double().await, double().await);
    first.mine_empty(4);
    second.mine_empty(4);
    let mut config = OmniRpcConfig::new(
        vec![first.url(), second.url()],
        Some(Credentials::new(USER, PASSWORD)),
    );
    config.max_retries = 1;
    config.breaker_cooldown = Duration::from_secs(2);
    let rpc = OmniRpc::new(config)
        .unwrap()
        .with_backoff(Duration::from_millis(5), Duration::from_millis(20));
    const METHOD: &str = "getblockcount";

    // The first node stays overloaded past its retry: the second answers.
    first.overload_next(100);
    assert_eq!(rpc.block_count().await.unwrap(), 4);
    first.overload_next(0);
    let errors = rpc.endpoint_errors();
    assert_eq!((errors[0].1, errors[1].1), (1, 0), "{errors:?}");

    // Within the cool-down the first node is not asked at all.
    let (asked_first, asked_second) = (first.calls(METHOD), second.calls(METHOD));
    assert_eq!(rpc.block_count().await.unwrap(), 4);
    assert_eq!(
        first.calls(METHOD),
        asked_first,
        "skipped while its breaker is open"
    );
    assert_eq!(second.calls(METHOD), asked_second + 1);

    // After it, the first node is asked again, answers, and keeps the calls.
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    for round in 1..=2 {
        assert_eq!(rpc.block_count().await.unwrap(), 4);
        assert_eq!(first.calls(METHOD), asked_first + round, "round {round}");
        assert_eq!(second.calls(METHOD), asked_second + 1, "round {round}");
    }
    assert_eq!(rpc.endpoint_errors()[0].1, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_arguments_and_node_errors_are_stable_errors() {
    let node = double().await;
    let rpc = rpc(&node);
    assert!(matches!(
        rpc.transfers(5, 4, &watched()).await,
        Err(OmniRpcError::InvalidArgument(_))
    ));
    assert!(matches!(
        rpc.transfers(0, 0, &[String::new()]).await,
        Err(OmniRpcError::InvalidArgument(_))
    ));
    // A height the node does not have yet: the block is not on its chain.
    assert!(matches!(
        rpc.transfers(0, 3, &watched()).await,
        Err(OmniRpcError::Inconsistent(_))
    ));
    assert!(matches!(
        OmniRpc::new(OmniRpcConfig::new(vec![], None)),
        Err(OmniRpcError::Config(_))
    ));
    assert!(matches!(
        OmniRpc::new(OmniRpcConfig::new(vec!["ftp://node".into()], None)),
        Err(OmniRpcError::Config(_))
    ));
}
