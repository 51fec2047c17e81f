//! `POST /api/merchant/v2/TraderRechargeAddress`: each user gets one address per chain,
//! derived from the merchant's account key (the BIP39 test mnemonic's, so the expected
//! addresses come from `tests/vectors/derivation.json`, made by an independent
//! generator); each address goes to one user, even with two gateways racing on one
//! database; allocated addresses take orders and deposits like any other.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::support::{
    APPID, APPID2, SECRET, SECRET2, TestEnv, TestReceiver, fresh_address, fresh_orderid, md5_sign,
    order_body, verify_callback,
};
use crate::{TestApp, error_code};

/// The address vectors of the test mnemonic: `(chain, index)` → `(xpub, address)`.
fn vectors() -> HashMap<(String, u64), (String, String)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/vectors/derivation.json"
    );
    let file: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    file["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["name"].as_str().unwrap().starts_with("test mnemonic") && c["address"].is_string()
        })
        .map(|c| {
            let key = (
                c["chain"].as_str().unwrap().to_owned(),
                c["index"].as_u64().unwrap(),
            );
            let value = (
                c["xpub"].as_str().unwrap().to_owned(),
                c["address"].as_str().unwrap().to_owned(),
            );
            (key, value)
        })
        .collect()
}

/// `APPID2`'s account keys (the test mnemonic's) and its `allocated_addresses_only`,
/// as keys of its `[[merchants]]` table (the last one of the test configuration).
fn merchant_keys(only_allocated: bool) -> String {
    let v = vectors();
    let xpub = |chain: &str| v[&(chain.to_owned(), 0)].0.clone();
    format!(
        "allocated_addresses_only = {only_allocated}\n\
         xpubs = {{ TRC20 = \"{}\", ERC20 = \"{}\", OMNI = \"{}\" }}\n",
        xpub("TRC20"),
        xpub("ERC20"),
        xpub("OMNI"),
    )
}

/// An address request of `APPID2`'s user, signed with plain MD5 as a merchant would.
fn request(username: &str, chain: &str) -> Value {
    let sign = md5_sign(&[APPID2, username, chain, SECRET2]);
    json!({"appid": APPID2, "username": username, "chain": chain, "sign": sign})
}

impl TestApp {
    /// POST an address request; the status and the answer.
    pub async fn address(&self, body: &Value) -> (StatusCode, Value) {
        self.post(usdt_gateway::api::ADDRESS_PATH, body).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_user_gets_one_address_per_chain_derived_from_the_merchants_xpub() {
    let app = TestApp::start_on(TestEnv::with_extra(&merchant_keys(true)).await).await;
    let v = vectors();
    for chain in ["TRC20", "ERC20", "OMNI"] {
        for (user, index) in [("alice", 0), ("bob", 1), ("alice", 0)] {
            let (status, body) = app.address(&request(user, chain)).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            let want = &v[&(chain.to_owned(), index)].1;
            assert_eq!(body["status"], 1);
            assert_eq!(body["data"]["address"], want.as_str(), "{chain} {user}");
            assert_eq!(body["data"]["index"], index);
            assert_eq!(body["data"]["username"], user);
            assert_eq!(body["data"]["chain"], chain);
        }
    }
    // The sign covers the chain; another merchant's secret does not sign.
    let mut wrong = request("carol", "TRC20");
    wrong["chain"] = json!("ERC20");
    let (status, body) = app.address(&wrong).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::UNAUTHORIZED, "SIGN_MISMATCH")
    );
    let (status, body) = app
        .address(
            &json!({"appid": APPID2, "username": "c", "chain": "BEP20", "sign": "0".repeat(32)}),
        )
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::BAD_REQUEST, "UNSUPPORTED_CHAIN")
    );
    // A merchant without an account key for the chain has no allocation.
    let sign = md5_sign(&[APPID, "alice", "TRC20", SECRET]);
    let body = json!({"appid": APPID, "username": "alice", "chain": "TRC20", "sign": sign});
    let (status, body) = app.address(&body).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::CONFLICT, "XPUB_NOT_CONFIGURED")
    );

    // Orders: alice on her address is the usual path; with allocated_addresses_only,
    // bob on alice's address and alice on an address not allocated to her are refused.
    let alice_erc = v[&("ERC20".to_owned(), 0)].1.clone();
    let (status, body) = app
        .order(&order_body(
            APPID2,
            SECRET2,
            "alice",
            &alice_erc,
            &fresh_orderid(),
            10_000,
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app
        .order(&order_body(
            APPID2,
            SECRET2,
            "bob",
            &alice_erc,
            &fresh_orderid(),
            10_000,
        ))
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::CONFLICT, "ADDRESS_NOT_ALLOCATED")
    );
    let (status, body) = app
        .order(&order_body(
            APPID2,
            SECRET2,
            "alice",
            &fresh_address(),
            &fresh_orderid(),
            10_000,
        ))
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::CONFLICT, "ADDRESS_NOT_ALLOCATED")
    );
    // The other merchant keeps taking orders on its own addresses.
    let (status, _) = app
        .order(&order_body(
            APPID,
            SECRET,
            "alice",
            &fresh_address(),
            &fresh_orderid(),
            10_000,
        ))
        .await;
    assert_eq!(status, StatusCode::OK);

    // Durable: a restarted gateway answers the same addresses and goes on counting.
    let env = app.stop().await;
    let app = TestApp::start_on(env).await;
    let (_, body) = app.address(&request("alice", "TRC20")).await;
    assert_eq!(
        body["data"]["address"],
        v[&("TRC20".to_owned(), 0)].1.as_str()
    );
    let (_, body) = app.address(&request("dave", "TRC20")).await;
    assert_eq!(body["data"]["index"], 2);
    assert_eq!(
        body["data"]["address"],
        v[&("TRC20".to_owned(), 2)].1.as_str()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_gateways_on_one_database_never_share_an_index_or_give_a_user_two_addresses() {
    let env = TestEnv::with_extra(&merchant_keys(false)).await;
    let config_path = env.config_path.clone();
    let first = TestApp::start_on(env).await;
    let second_env = TestEnv {
        dir: tempfile::tempdir().unwrap(),
        config_path,
    };
    let second = TestApp::start_on(second_env).await;
    let users: Vec<String> = (0..16).map(|i| format!("racer{i}")).collect();
    let mut tasks = tokio::task::JoinSet::new();
    for round in 0..3 {
        for (i, user) in users.iter().enumerate() {
            let app = if (i + round) % 2 == 0 {
                &first
            } else {
                &second
            };
            let router = app.router.clone();
            let body = request(user, "TRC20").to_string();
            let user = user.clone();
            tasks.spawn(async move {
                let req = crate::json_request(usdt_gateway::api::ADDRESS_PATH, body);
                let response = tower::ServiceExt::oneshot(router, req).await.unwrap();
                assert_eq!(response.status(), StatusCode::OK);
                let bytes = http_body_util::BodyExt::collect(response.into_body())
                    .await
                    .unwrap()
                    .to_bytes();
                let body: Value = serde_json::from_slice(&bytes).unwrap();
                (
                    user,
                    body["data"]["index"].as_u64().unwrap(),
                    body["data"]["address"].as_str().unwrap().to_owned(),
                )
            });
        }
    }
    let mut by_user: HashMap<String, HashSet<(u64, String)>> = HashMap::new();
    for (user, index, address) in tasks.join_all().await {
        by_user.entry(user).or_default().insert((index, address));
    }
    assert_eq!(by_user.len(), users.len());
    let mut indices = Vec::new();
    let mut addresses = HashSet::new();
    for (user, answers) in &by_user {
        assert_eq!(answers.len(), 1, "{user} got one address: {answers:?}");
        let (index, address) = answers.iter().next().unwrap();
        indices.push(*index);
        assert!(addresses.insert(address.clone()), "{address} given twice");
    }
    indices.sort_unstable();
    assert_eq!(
        indices,
        (0..16).collect::<Vec<u64>>(),
        "no index skipped or shared"
    );
    // The binding was written with the allocation: without allocated_addresses_only,
    // another user's order on an allocated address meets ADDRESS_BOUND_TO_OTHER_USER.
    let (_, taken) = by_user["racer0"].iter().next().unwrap();
    let (status, body) = second
        .order(&order_body(
            APPID2,
            SECRET2,
            "racer1",
            taken,
            &fresh_orderid(),
            10_000,
        ))
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::CONFLICT, "ADDRESS_BOUND_TO_OTHER_USER")
    );
    let v = vectors();
    for (index, address) in by_user.values().flatten() {
        if let Some((_, want)) = v.get(&("TRC20".to_owned(), *index)) {
            assert_eq!(address, want);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deposit_to_an_allocated_address_is_confirmed_and_called_back() {
    let receiver = TestReceiver::start(0, Duration::ZERO).await;
    let extra = format!(
        "{}[notify]\nallow_private_targets = true\n[confirmations]\ndefault = 1\n",
        merchant_keys(true)
    );
    let app = TestApp::start_on(TestEnv::dev(&receiver.url, &extra).await).await;
    for (n, (chain, user)) in [("TRC20", "alice"), ("ERC20", "bob")]
        .into_iter()
        .enumerate()
    {
        let (status, body) = app.address(&request(user, chain)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let address = body["data"]["address"].as_str().unwrap().to_owned();
        let orderid = fresh_orderid();
        let mut order = order_body(APPID2, SECRET2, user, &address, &orderid, 1_000_000);
        order["notify_url"] = json!(receiver.url);
        let (status, body) = app.order(&order).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        app.dev(chain, "transfers", json!({"to": address, "amount": "100"}))
            .await;
        let got = receiver.wait_for(n + 1, Duration::from_secs(20)).await;
        let callback = verify_callback(&got[n].body, SECRET2);
        assert_eq!(callback["orderid"], orderid.as_str());
        assert_eq!(callback["amount"], "1000000");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deposit_on_anvil_to_an_allocated_address_is_called_back() {
    let Some(node) = usdt_evm_rpc::testnode::TestNode::start_or_skip().await else {
        return;
    };
    let receiver = TestReceiver::start(0, Duration::ZERO).await;
    let extra = format!(
        "{}{}",
        merchant_keys(true),
        crate::anvil::watching_tables(&node)
    );
    let app = TestApp::start_on(TestEnv::build(&extra, false, &receiver.url).await).await;
    let (status, body) = app.address(&request("erin", "ERC20")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let address = body["data"]["address"].as_str().unwrap().to_owned();
    let orderid = fresh_orderid();
    let mut order = order_body(APPID2, SECRET2, "erin", &address, &orderid, 1_000_000);
    order["notify_url"] = json!(receiver.url);
    let (status, body) = app.order(&order).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // 100 USDT at 6 decimals, then the 2 more blocks of the 3 confirmations.
    node.transfer(&address.to_lowercase(), 100_000_000)
        .await
        .unwrap();
    node.mine(2).await.unwrap();
    let got = receiver.wait_for(1, Duration::from_secs(30)).await;
    let callback = verify_callback(&got[0].body, SECRET2);
    assert_eq!(callback["orderid"], orderid.as_str());
    assert_eq!(callback["amount"], "1000000");
}

#[test]
fn address_derive_prints_the_vectors_and_refuses_private_keys() {
    use crate::cli::{run, stdout};
    let v = vectors();
    let xpub = v[&("OMNI".to_owned(), 0)].0.clone();
    let out = run(
        &[
            "address", "derive", "--xpub", &xpub, "--chain", "OMNI", "--from", "1", "--count", "4",
        ],
        None,
    );
    assert!(out.status.success(), "{out:?}");
    let lines: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    for (line, index) in lines.iter().zip(1u64..) {
        assert_eq!(line["index"], index);
        assert_eq!(line["address"], v[&("OMNI".to_owned(), index)].1.as_str());
    }
    let xprv = "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi";
    let out = run(
        &["address", "derive", "--xpub", xprv, "--chain", "TRC20"],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.starts_with("PRIVATE_KEY_REFUSED"), "{err}");
    assert!(!err.contains(&xprv[4..]), "the key is never echoed: {err}");
    // The sign of an address request, as the merchant computes it.
    let out = run(
        &[
            "sign",
            "address",
            "--appid",
            APPID2,
            "--username",
            "alice",
            "--chain",
            "ERC20",
            "--secret",
            SECRET2,
        ],
        None,
    );
    assert_eq!(
        stdout(&out).trim(),
        md5_sign(&[APPID2, "alice", "ERC20", SECRET2])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_key_in_the_configuration_stops_the_gateway_without_echoing_it() {
    let xprv = "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi";
    let env = TestEnv::with_extra(&format!("xpubs = {{ TRC20 = \"{xprv}\" }}\n")).await;
    let err = usdt_gateway::gateway::Gateway::start(&env.config(), None)
        .await
        .map(|_| ())
        .unwrap_err();
    let message = format!("{err:#}");
    assert!(message.contains("PRIVATE_KEY_REFUSED"), "{message}");
    assert!(message.contains("merchants[1].xpubs.TRC20"), "{message}");
    assert!(!message.contains(&xprv[4..]), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn address_list_prints_the_allocations() {
    let app = TestApp::start_on(TestEnv::with_extra(&merchant_keys(false)).await).await;
    app.address(&request("alice", "OMNI")).await;
    app.address(&request("bob", "OMNI")).await;
    let env = app.stop().await;
    let config = env.config_path.to_str().unwrap().to_owned();
    let out = crate::cli::run(&["address", "list", "--config", &config], None);
    assert!(out.status.success(), "{out:?}");
    let rows: Vec<Value> = crate::cli::stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let v = vectors();
    let got: Vec<(&str, u64, &str)> = rows
        .iter()
        .map(|r| {
            (
                r["username"].as_str().unwrap(),
                r["derivation_index"].as_u64().unwrap(),
                r["address"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("alice", 0, v[&("OMNI".to_owned(), 0)].1.as_str()),
            ("bob", 1, v[&("OMNI".to_owned(), 1)].1.as_str()),
        ]
    );
}

/// A third merchant with an account key of its own (BIP32 test vector 1's master, as
/// an account) on TRC20, and its default address limits.
const APPID3: &str = "shop3";
/// `APPID3`'s secret.
const SECRET3: &str = "shop3-secret-0123456789abcdef0123456789";

/// `APPID3`'s `[[merchants]]` table (after `APPID2`'s keys).
fn third_merchant() -> String {
    format!(
        "[[merchants]]\nappid = \"{APPID3}\"\nsecret = \"{SECRET3}\"\n\
         xpubs = {{ TRC20 = \"xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet8\" }}\n"
    )
}

/// An address request signed by `appid` with `secret`.
fn request_of(appid: &str, secret: &str, username: &str, chain: &str) -> Value {
    let sign = md5_sign(&[appid, username, chain, secret]);
    json!({"appid": appid, "username": username, "chain": chain, "sign": sign})
}

/// POST `body` through a copy of `router`: the status, the `Retry-After` header (whole
/// seconds) and the answer.
async fn ask(router: axum::Router, body: Value) -> (StatusCode, Option<u64>, Value) {
    let req = crate::json_request(usdt_gateway::api::ADDRESS_PATH, body.to_string());
    let response = tower::ServiceExt::oneshot(router, req).await.unwrap();
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    (status, retry_after, serde_json::from_slice(&bytes).unwrap())
}

/// The sample `name{labels}` on `/metrics` (0 when absent).
/// The table that puts `/metrics` on the main port, where [`metric`] reads it.
const METRICS_ON_MAIN_PORT: &str = "[metrics]\non_main_port = true\n";

async fn metric(app: &TestApp, sample: &str) -> i64 {
    let req = axum::http::Request::get("/metrics")
        .body(axum::body::Body::empty())
        .unwrap();
    let response = tower::ServiceExt::oneshot(app.router.clone(), req)
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "/metrics is not on the main port");
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let prefix = format!("{sample} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map_or(0, |v| v.trim().parse().unwrap())
}

/// `usdt_gateway_address_allocations{appid, chain}` on `/metrics` (0 when absent).
async fn allocations_metric(app: &TestApp, appid: &str, chain: &str) -> i64 {
    metric(
        app,
        &format!("usdt_gateway_address_allocations{{appid=\"{appid}\",chain=\"{chain}\"}}"),
    )
    .await
}

/// Issue 22, point 4, reproduced: one merchant asks for hundreds of new addresses at
/// once (the report: 7,000–10,000 in 15 s, each watched for good). Its burst goes
/// through, the rest is refused with 429 `ADDRESS_RATE_LIMITED` and a `Retry-After`,
/// nothing is allocated for them; a user who has an address still gets it at once, and
/// another merchant on the same chain allocates as usual.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_new_addresses_by_one_merchant_is_stopped_by_its_rate() {
    let extra = format!(
        "{}addresses = {{ rate = 1, burst = 20 }}\n{}{METRICS_ON_MAIN_PORT}",
        merchant_keys(false),
        third_merchant()
    );
    let app = TestApp::start_on(TestEnv::with_extra(&extra).await).await;
    let started = std::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..300 {
        let router = app.router.clone();
        tasks.spawn(ask(router, request(&format!("burst{i}"), "TRC20")));
    }
    let answers = tasks.join_all().await;
    let elapsed = started.elapsed().as_secs();
    let mut allocated = HashSet::new();
    let mut limited = 0;
    for (status, retry_after, body) in &answers {
        match *status {
            StatusCode::OK => {
                assert!(allocated.insert(body["data"]["username"].as_str().unwrap().to_owned()));
            }
            StatusCode::TOO_MANY_REQUESTS => {
                assert_eq!(error_code(body), "ADDRESS_RATE_LIMITED");
                let wait = retry_after.expect("Retry-After on a 429");
                assert!((1..=2).contains(&wait), "Retry-After {wait}");
                limited += 1;
            }
            other => panic!("{other}: {body}"),
        }
    }
    // The burst, and at most one more per second the burst took.
    let ok = allocated.len();
    assert!(
        (20..=21 + usize::try_from(elapsed).unwrap()).contains(&ok),
        "{ok} allocated in {elapsed} s"
    );
    assert_eq!(ok + limited, 300);
    // Nothing was allocated for a refused request: the kept count is the answers'.
    assert_eq!(
        allocations_metric(&app, APPID2, "TRC20").await,
        i64::try_from(ok).unwrap()
    );
    let listed = app.gateway.state().store.allocations().await.unwrap();
    assert_eq!(listed.len(), ok);

    // The bucket is empty: a user who has an address is answered it all the same.
    let known = allocated.iter().next().unwrap().clone();
    for _ in 0..3 {
        let (status, _, body) = ask(app.router.clone(), request(&known, "TRC20")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["data"]["username"], known.as_str());
    }
    let (status, _, body) = ask(app.router.clone(), request("one-more", "TRC20")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    // Another merchant on the same chain is not slowed down by the first one's burst.
    for user in ["ann", "ben", "cat"] {
        let (status, _, body) = ask(
            app.router.clone(),
            request_of(APPID3, SECRET3, user, "TRC20"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
}

/// The total per merchant and chain holds exactly with two gateways on one database
/// and forty concurrent new users: ten are allocated, thirty refused with 409
/// `ADDRESS_QUOTA_EXCEEDED`; the ten keep getting their addresses; the merchant's other
/// chains and the other merchant are not counted against it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_total_per_chain_holds_across_two_gateways_under_concurrent_requests() {
    let extra = format!(
        "{}addresses = {{ max_per_chain = 10, burst = 1000 }}\n{}{METRICS_ON_MAIN_PORT}",
        merchant_keys(false),
        third_merchant()
    );
    let env = TestEnv::with_extra(&extra).await;
    let config_path = env.config_path.clone();
    let first = TestApp::start_on(env).await;
    let second = TestApp::start_on(TestEnv {
        dir: tempfile::tempdir().unwrap(),
        config_path,
    })
    .await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..40 {
        let app = if i % 2 == 0 { &first } else { &second };
        tasks.spawn(ask(
            app.router.clone(),
            request(&format!("user{i}"), "TRC20"),
        ));
    }
    let mut indices = Vec::new();
    let mut refused = 0;
    let mut winners = Vec::new();
    for (status, _, body) in tasks.join_all().await {
        match status {
            StatusCode::OK => {
                indices.push(body["data"]["index"].as_u64().unwrap());
                winners.push(body["data"]["username"].as_str().unwrap().to_owned());
            }
            StatusCode::CONFLICT => {
                assert_eq!(error_code(&body), "ADDRESS_QUOTA_EXCEEDED");
                assert!(
                    body["data"]["msg"]
                        .as_str()
                        .unwrap()
                        .contains("max_per_chain"),
                    "{body}"
                );
                refused += 1;
            }
            other => panic!("{other}: {body}"),
        }
    }
    indices.sort_unstable();
    assert_eq!(indices, (0..10).collect::<Vec<u64>>());
    assert_eq!(refused, 30);
    assert_eq!(allocations_metric(&first, APPID2, "TRC20").await, 10);
    assert_eq!(allocations_metric(&second, APPID2, "TRC20").await, 10);
    // At the total, the ten still get their own addresses, from either gateway.
    for (n, user) in winners.iter().enumerate() {
        let app = if n % 2 == 0 { &second } else { &first };
        let (status, body) = app.address(&request(user, "TRC20")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, body) = second.address(&request("late", "TRC20")).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::CONFLICT, "ADDRESS_QUOTA_EXCEEDED")
    );
    // The total is per chain, and per merchant.
    let (status, body) = first.address(&request("late", "ERC20")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = first
        .address(&request_of(APPID3, SECRET3, "late", "TRC20"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(allocations_metric(&first, APPID3, "TRC20").await, 1);
}

/// Wait until `usdt_gateway_chain_watched_addresses{chain="TRC20"}` is `n`.
async fn wait_watched(app: &TestApp, n: i64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let watched = metric(app, "usdt_gateway_chain_watched_addresses{chain=\"TRC20\"}").await;
        if watched == n {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "watched {watched}, waiting for {n}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Wait until `APPID2`'s order `orderid` is in `state`.
async fn wait_state(app: &TestApp, orderid: &str, state: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (status, view) = app
            .query(&crate::support::query_body(APPID2, SECRET2, orderid))
            .await;
        assert_eq!(status, StatusCode::OK, "{view}");
        if view["data"]["state"] == state {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "{orderid}: {view}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Wait until the database holds `n` deposits no order took.
async fn wait_unmatched(app: &TestApp, n: i64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let counts = app.gateway.state().store.counts().await.unwrap();
        if counts.unmatched_deposits == n {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{} unmatched, waiting for {n}",
            counts.unmatched_deposits
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The policy for addresses nobody uses: watched for good unless the operator retires
/// them. Retirement takes only the idle ones — never an address with an open order or a
/// deposit since the cutoff — and the watcher drops them (a payment then goes unseen,
/// the documented trade-off); the user's next address request, or the next order on
/// the address, revives it and it is watched again, and every step is in the trail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_addresses_are_retired_only_by_hand_and_revived_by_the_next_request_or_order() {
    let extra = format!(
        "{}[notify]\nallow_private_targets = true\n[confirmations]\ndefault = 1\n",
        merchant_keys(false)
    );
    let app = TestApp::start_on(TestEnv::dev("http://127.0.0.1:9/", &extra).await).await;
    let store = app.gateway.state().store.clone();
    let mut address = HashMap::new();
    for user in ["alice", "bob", "carol", "erin"] {
        let (status, body) = app.address(&request(user, "TRC20")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        address.insert(user, body["data"]["address"].as_str().unwrap().to_owned());
    }
    let order = |user: &str, amount: u64| {
        let orderid = fresh_orderid();
        (
            order_body(APPID2, SECRET2, user, &address[user], &orderid, amount),
            orderid,
        )
    };
    // bob: an order still pending. erin: an order paid and confirmed, long done.
    let (body, bob_order) = order("bob", 2_000_000);
    assert_eq!(app.order(&body).await.0, StatusCode::OK);
    let (body, erin_order) = order("erin", 1_000_000);
    assert_eq!(app.order(&body).await.0, StatusCode::OK);
    app.dev(
        "TRC20",
        "transfers",
        json!({"to": address["erin"], "amount": "100"}),
    )
    .await;
    wait_state(&app, &erin_order, "confirmed").await;
    wait_watched(&app, 4).await;
    // The cutoff; carol's deposit comes after it.
    let cutoff = usdt_gateway::clock::now_millis();
    tokio::time::sleep(Duration::from_millis(20)).await;
    app.dev(
        "TRC20",
        "transfers",
        json!({"to": address["carol"], "amount": "5"}),
    )
    .await;
    wait_unmatched(&app, 1).await;

    let canonical = |user: &str| {
        let user = user.to_owned();
        let store = store.clone();
        async move {
            store
                .allocations()
                .await
                .unwrap()
                .into_iter()
                .find(|a| a.username == user)
                .unwrap()
                .canonical_address
        }
    };
    let mut idle = vec![canonical("alice").await, canonical("erin").await];
    idle.sort();
    let retire = |dry_run| {
        let store = store.clone();
        async move {
            let now = usdt_gateway::clock::now_millis();
            let request = usdt_gateway::store::RetireRequest {
                chain: Some("TRC20"),
                appid: None,
                idle_since: cutoff,
                now,
                dry_run,
            };
            let retired = store.retire_idle(request).await.unwrap();
            retired.into_iter().map(|r| r.address).collect::<Vec<_>>()
        }
    };
    // Dry run: alice (never used) and erin (paid before the cutoff) only; bob has an
    // open order, carol a deposit since the cutoff. Nothing changes.
    assert_eq!(retire(true).await, idle);
    assert!(store.retirements().await.unwrap().is_empty());
    assert_eq!(retire(false).await, idle);
    assert_eq!(retire(false).await, Vec::<String>::new(), "retired once");
    wait_watched(&app, 2).await;

    // A payment to retired alice is not seen (the trade-off); bob's, in a later block,
    // is: the watcher scanned past alice's.
    app.dev(
        "TRC20",
        "transfers",
        json!({"to": address["alice"], "amount": "7"}),
    )
    .await;
    app.dev(
        "TRC20",
        "transfers",
        json!({"to": address["bob"], "amount": "200"}),
    )
    .await;
    wait_state(&app, &bob_order, "confirmed").await;
    wait_unmatched(&app, 1).await;
    // Still hers: her request answers the same address and revives it.
    let (status, body) = app.address(&request("alice", "TRC20")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["address"], address["alice"].as_str());
    wait_watched(&app, 3).await;
    app.dev(
        "TRC20",
        "transfers",
        json!({"to": address["alice"], "amount": "8"}),
    )
    .await;
    wait_unmatched(&app, 2).await;
    // Still erin's: nobody else orders on it; her next order revives it and is paid.
    let (body, _) = order("erin", 1_000_000);
    let mut other = body.clone();
    other["username"] = json!("mallory");
    other["sign"] = json!(md5_sign(&[
        APPID2,
        "mallory",
        other["localusermark"].as_str().unwrap(),
        &address["erin"],
        other["orderid"].as_str().unwrap(),
        "1000000",
        SECRET2,
    ]));
    let (status, reply) = app.order(&other).await;
    assert_eq!(
        (status, error_code(&reply)),
        (StatusCode::CONFLICT, "ADDRESS_BOUND_TO_OTHER_USER")
    );
    let (body, erin_again) = order("erin", 3_000_000);
    assert_eq!(app.order(&body).await.0, StatusCode::OK);
    wait_watched(&app, 4).await;
    app.dev(
        "TRC20",
        "transfers",
        json!({"to": address["erin"], "amount": "300"}),
    )
    .await;
    wait_state(&app, &erin_again, "confirmed").await;

    // The trail: who was retired, when, for how long, and what revived each.
    let trail = store.retirements().await.unwrap();
    let mut revived: Vec<(String, Option<String>)> = trail
        .iter()
        .map(|r| (r.username.clone(), r.revived_by.clone()))
        .collect();
    revived.sort();
    assert_eq!(
        revived,
        [
            ("alice".to_owned(), Some("allocation".to_owned())),
            ("erin".to_owned(), Some("order".to_owned())),
        ]
    );
    assert!(trail.iter().all(|r| r.revived_at >= Some(r.retired_at)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn address_retire_refuses_less_than_30_days_and_retires_nothing_recent() {
    let app = TestApp::start_on(TestEnv::with_extra(&merchant_keys(false)).await).await;
    app.address(&request("alice", "OMNI")).await;
    let env = app.stop().await;
    let config = env.config_path.to_str().unwrap().to_owned();
    let out = crate::cli::run(
        &[
            "address",
            "retire",
            "--config",
            &config,
            "--idle-for",
            "29d",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("30 days"));
    let out = crate::cli::run(
        &[
            "address",
            "retire",
            "--config",
            &config,
            "--idle-for",
            "30d",
        ],
        None,
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(crate::cli::stdout(&out), "");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("retired 0 address(es)"), "{stderr}");
    // A retirement (not a dry run) is an operator action: audited, as the core writes it.
    assert!(
        stderr.contains("audit") && stderr.contains("retire_addresses") && stderr.contains("cli"),
        "{stderr}"
    );
    let out = crate::cli::run(&["address", "retirements", "--config", &config], None);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(crate::cli::stdout(&out), "");
}

/// A retired address leaves the watchers' reads of the bindings and comes back in the
/// next read after a deposit to it is stored (a watcher that still had it in its list
/// found a payment as it was being retired): the deposit revives it. Store level, with
/// no watcher running, so each step is exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deposit_to_a_retired_address_revives_it_for_the_watchers() {
    use usdt_gateway::store::{NewDeposit, RetireRequest, Scan};
    let app = TestApp::start_on(TestEnv::with_extra(&merchant_keys(false)).await).await;
    let (status, body) = app.address(&request("alice", "TRC20")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let store = app.gateway.state().store.clone();
    let canonical = store.allocations().await.unwrap()[0]
        .canonical_address
        .clone();
    let (bound, _) = store.bindings_after("TRC20", 0).await.unwrap();
    assert_eq!(bound, std::slice::from_ref(&canonical));

    let now = usdt_gateway::clock::now_millis() + 1;
    let retire = RetireRequest {
        chain: None,
        appid: Some(APPID2),
        idle_since: now,
        now,
        dry_run: false,
    };
    let retired = store.retire_idle(retire).await.unwrap();
    assert_eq!(retired.len(), 1);
    assert_eq!(store.watch_epoch("TRC20").await.unwrap(), 1);
    let (bound, position) = store.bindings_after("TRC20", 0).await.unwrap();
    assert!(bound.is_empty(), "a retired address is not read: {bound:?}");

    let deposit = NewDeposit {
        txid: "0x01".into(),
        log_index: 0,
        address: canonical.clone(),
        raw_value: "1000000".into(),
        amount: 10_000,
        dust: "0".into(),
        block_number: 5,
        block_hash: "0xaa".into(),
        required_confirmations: 1,
    };
    let scan = Scan {
        chain: "TRC20".into(),
        head: 5,
        next_block: 6,
        deposits: vec![deposit],
        blocks: Vec::new(),
    };
    assert_eq!(store.record_scan(&scan, now + 1).await.unwrap(), 1);
    // Read again from where the last read stopped, like a new binding.
    let (bound, _) = store.bindings_after("TRC20", position).await.unwrap();
    assert_eq!(bound, [canonical]);
    let trail = store.retirements().await.unwrap();
    assert_eq!(trail.len(), 1);
    assert_eq!(trail[0].revived_by.as_deref(), Some("deposit"));
    assert_eq!(trail[0].revived_at, Some(now + 1));
}
