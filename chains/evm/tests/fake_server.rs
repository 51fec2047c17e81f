//! `EvmRpc` against fake JSON-RPC servers (axum on 127.0.0.1:0): range splitting, address
//! splitting, backoff and `Retry-After`, failover, malformed answers.

#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]
// a failed expectation is a failed test
// An integration test is one scenario against a real process or node, or one table of
// cases, read top to bottom: exempt from clippy::too_many_lines (see clippy.toml).
#![allow(clippy::too_many_lines)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use usdt_evm_rpc::{EvmRpc, EvmRpcConfig, Provider, RpcError, TRANSFER_TOPIC, TokenTransfer};

const TOKEN: &str = "0xdac17f958d2ee523a2206206994597c13d831ec7";
const SENDER: &str = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266";

/// What the fake answers: an HTTP status, headers and a body.
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Reply {
    fn result(id: &Value, result: Value) -> Self {
        Self::json(json!({"jsonrpc": "2.0", "id": id, "result": result}))
    }
    fn error(id: &Value, code: i64, message: &str) -> Self {
        Self::json(json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}))
    }
    fn json(body: Value) -> Self {
        Self {
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            body: body.to_string(),
        }
    }
    fn status(status: u16, retry_after: Option<&'static str>, body: &str) -> Self {
        let mut headers = HeaderMap::new();
        if let Some(value) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static(value));
        }
        Self {
            status: StatusCode::from_u16(status).unwrap(),
            headers,
            body: body.to_owned(),
        }
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut headers = self.headers;
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        (self.status, headers, self.body).into_response()
    }
}

/// One parsed JSON-RPC request.
struct Call {
    id: Value,
    method: String,
    params: Value,
}

impl Call {
    fn filter(&self) -> &Value {
        &self.params[0]
    }
    fn first_block(&self) -> u64 {
        quantity(&self.filter()["fromBlock"])
    }
    fn last_block(&self) -> u64 {
        quantity(&self.filter()["toBlock"])
    }
    fn to_topics(&self) -> Vec<String> {
        self.filter()["topics"][2]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_owned())
            .collect()
    }
}

fn quantity(v: &Value) -> u64 {
    u64::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

type Handler = Arc<dyn Fn(Call) -> Reply + Send + Sync>;

/// Serve `handler` on 127.0.0.1:0; returns the URL. The server lives until the test ends.
async fn serve(handler: impl Fn(Call) -> Reply + Send + Sync + 'static) -> String {
    let handler: Handler = Arc::new(handler);
    let app = Router::new().route(
        "/",
        post(move |body: Bytes| {
            let handler = handler.clone();
            async move {
                let request: Value = serde_json::from_slice(&body).expect("the client sends JSON");
                assert_eq!(request["jsonrpc"], "2.0");
                handler(Call {
                    id: request["id"].clone(),
                    method: request["method"].as_str().unwrap().to_owned(),
                    params: request["params"].clone(),
                })
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/")
}

/// A URL where nothing listens.
fn dead_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}/")
}

fn address(i: u64) -> String {
    format!("0x{:040x}", 0xabc0_0000_0000u64 + i)
}

fn topic(address: &str) -> String {
    format!("0x{:0>64}", &address[2..])
}

fn block_hash(block: u64) -> String {
    format!("0x{block:064x}")
}

/// The log the fakes return for (block, index) to the address topic `to_topic`.
fn log(block: u64, index: u64, to_topic: &str) -> Value {
    json!({
        "address": TOKEN,
        "topics": [TRANSFER_TOPIC, topic(SENDER), to_topic],
        "data": format!("0x{:064x}", 1_000_000 + block),
        "blockNumber": format!("{block:#x}"),
        "blockHash": block_hash(block),
        "transactionHash": format!("0x{:064x}", block * 1000 + index),
        "transactionIndex": "0x0",
        "logIndex": format!("{index:#x}"),
        "removed": false
    })
}

fn config(urls: Vec<String>) -> EvmRpcConfig {
    EvmRpcConfig {
        request_timeout: Duration::from_secs(5),
        max_block_range: 2000,
        max_addresses_per_query: 500,
        max_retries: 3,
        ..EvmRpcConfig::new(urls, TOKEN)
    }
}

fn client(config: EvmRpcConfig) -> EvmRpc {
    EvmRpc::new(config)
        .unwrap()
        .with_backoff(Duration::from_millis(20), Duration::from_secs(3))
}

/// Asserts that the (chunk, range) pairs answered cover every (chunk, block) of
/// `from..=to` exactly once.
fn assert_exact_cover(answered: &[(Vec<String>, u64, u64)], from: u64, to: u64) {
    let mut by_chunk: std::collections::BTreeMap<Vec<String>, Vec<(u64, u64)>> = Default::default();
    for (chunk, a, b) in answered {
        by_chunk.entry(chunk.clone()).or_default().push((*a, *b));
    }
    for (chunk, mut ranges) in by_chunk {
        ranges.sort();
        let mut next = from;
        for (a, b) in &ranges {
            assert_eq!(
                *a, next,
                "chunk {chunk:?}: gap or overlap at {next}: {ranges:?}"
            );
            assert!(b >= a);
            next = b + 1;
        }
        assert_eq!(
            next,
            to + 1,
            "chunk {chunk:?} does not reach {to}: {ranges:?}"
        );
    }
}

type Answered = Arc<Mutex<Vec<(Vec<String>, u64, u64)>>>;

/// The answer of a chain where every block holds one transfer to each watched address;
/// records the answered (topics, from, to).
fn dense_answer(call: &Call, answered: &Answered) -> Reply {
    assert_eq!(call.method, "eth_getLogs");
    assert_eq!(call.filter()["address"], TOKEN);
    assert_eq!(call.filter()["topics"][0], TRANSFER_TOPIC);
    assert!(call.filter()["topics"][1].is_null());
    let (from, to, topics) = (call.first_block(), call.last_block(), call.to_topics());
    answered.lock().unwrap().push((topics.clone(), from, to));
    let logs: Vec<Value> = (from..=to)
        .flat_map(|block| {
            let topics = topics.clone();
            // A log index per address (its last 4 bytes), so chunks never collide.
            topics.into_iter().map(move |t| {
                log(
                    block,
                    u64::from_str_radix(&t[t.len() - 8..], 16).unwrap(),
                    &t,
                )
            })
        })
        .collect();
    Reply::result(&call.id, Value::Array(logs))
}

/// A dense chain (see [`dense_answer`]) whose queries are refused by
/// `refuse(from, to, logs)`.
async fn dense_chain(
    refuse: impl Fn(u64, u64, usize) -> Option<(i64, String)> + Send + Sync + 'static,
) -> (String, Answered, Arc<AtomicUsize>) {
    let answered = Answered::default();
    let refused = Arc::new(AtomicUsize::new(0));
    let (a, r) = (answered.clone(), refused.clone());
    let url = serve(move |call| {
        let (from, to, topics) = (call.first_block(), call.last_block(), call.to_topics());
        let count = (to - from + 1) as usize * topics.len();
        if let Some((code, message)) = refuse(from, to, count) {
            r.fetch_add(1, Ordering::SeqCst);
            return Reply::error(&call.id, code, &message);
        }
        dense_answer(&call, &a)
    })
    .await;
    (url, answered, refused)
}

fn assert_one_per_block_and_address(got: &[TokenTransfer], from: u64, to: u64, watched: &[String]) {
    assert_eq!(got.len() as u64, (to - from + 1) * watched.len() as u64);
    let mut expected: Vec<(u64, String)> = (from..=to)
        .flat_map(|b| watched.iter().map(move |w| (b, w.to_lowercase())))
        .collect();
    expected.sort();
    let mut seen: Vec<(u64, String)> = got.iter().map(|t| (t.block_number, t.to.clone())).collect();
    seen.sort();
    assert_eq!(seen, expected);
    for pair in got.windows(2) {
        assert!(
            (pair[0].block_number, pair[0].log_index) < (pair[1].block_number, pair[1].log_index)
        );
    }
    for t in got {
        assert_eq!(t.block_hash, block_hash(t.block_number));
        assert_eq!(t.value, format!("0x{:064x}", 1_000_000 + t.block_number));
        assert_eq!(t.from, SENDER);
    }
}

#[tokio::test]
async fn too_large_results_split_the_range_and_cover_every_block_once() {
    // Geth/Infura style: more than 150 logs per answer is refused.
    let (url, answered, refused) = dense_chain(|_, _, logs| {
        (logs > 150).then(|| (-32005, "query returned more than 150 results".to_owned()))
    })
    .await;
    let rpc = client(config(vec![url]));
    let watched = vec![
        address(1),
        address(2).to_uppercase().replacen("0X", "0x", 1),
    ];
    let got = rpc.transfers(10, 1009, &watched).await.unwrap();
    assert_one_per_block_and_address(&got, 10, 1009, &watched);
    assert!(refused.load(Ordering::SeqCst) > 0);
    assert_exact_cover(&answered.lock().unwrap(), 10, 1009);
    assert!(
        rpc.current_block_span() < 125,
        "span {}",
        rpc.current_block_span()
    );
}

#[tokio::test]
async fn every_provider_phrase_splits_and_covers_exactly() {
    let messages = [
        (
            -32602,
            "Log response size exceeded. this block range should work: [0x0, 0x3f]",
        ),
        (
            -32005,
            "query returned more than 10000 results. Try with this block range [0x10, 0x4f].",
        ),
        (-32602, "range 2000 exceeds limit of 100"),
        (-32600, "block range is too wide"),
        (-32000, "eth_getLogs is limited to a 50 range"),
        (-32000, "exceed max block range: 64"),
        (-32000, "backend response too large"),
        (
            -32000,
            "query exceeds max results 20000, retry with the range 1-2",
        ),
        (-32000, "Block range limit exceeded."),
        (-32005, "limit exceeded"),
        (-32000, "query timeout exceeded"),
    ];
    for (code, message) in messages {
        let (url, answered, refused) = dense_chain(move |from, to, _| {
            (to - from + 1 > 40).then(|| (code, message.to_owned()))
        })
        .await;
        let rpc = client(config(vec![url]));
        let watched = vec![address(7)];
        let got = rpc
            .transfers(0, 777, &watched)
            .await
            .unwrap_or_else(|e| panic!("{message}: {e}"));
        assert_one_per_block_and_address(&got, 0, 777, &watched);
        assert!(refused.load(Ordering::SeqCst) > 0, "{message}");
        assert_exact_cover(&answered.lock().unwrap(), 0, 777);
    }
}

#[tokio::test]
async fn span_grows_back_after_successes() {
    // Dense early blocks, sparse later: refuse more than 64 logs, where blocks < 1000 hold
    // one log each and the rest count as nothing.
    let (url, answered, _) = dense_chain(|from, to, _| {
        let dense = to.min(999).saturating_sub(from) + 1;
        (from < 1000 && dense > 64)
            .then(|| (-32005, "query returned more than 64 results".to_owned()))
    })
    .await;
    let rpc = client(config(vec![url]));
    rpc.transfers(0, 999, &[address(1)]).await.unwrap();
    let after_dense = rpc.current_block_span();
    assert!(after_dense < 125, "{after_dense}");
    // Sparse region: many successful queries later the span is back up.
    for i in 0..40 {
        rpc.transfers(1000 + i * 100, 1000 + i * 100 + 99, &[address(1)])
            .await
            .unwrap();
    }
    assert!(
        rpc.current_block_span() > after_dense,
        "{} <= {after_dense}",
        rpc.current_block_span()
    );
    assert_exact_cover(&answered.lock().unwrap()[..], 0, 4999);
}

#[tokio::test]
async fn addresses_are_chunked_and_each_chunk_covers_the_range() {
    let (url, answered, _) = dense_chain(|from, to, _| {
        (to - from + 1 > 300).then(|| (-32600, "block range is too wide".to_owned()))
    })
    .await;
    let mut cfg = config(vec![url]);
    cfg.max_addresses_per_query = 4;
    let rpc = client(cfg);
    let watched: Vec<String> = (0..10).map(address).collect();
    let got = rpc.transfers(5, 404, &watched).await.unwrap();
    assert_one_per_block_and_address(&got, 5, 404, &watched);
    let answered = answered.lock().unwrap();
    assert!(answered.iter().all(|(chunk, _, _)| chunk.len() <= 4));
    let chunks: std::collections::BTreeSet<_> =
        answered.iter().map(|(c, _, _)| c.clone()).collect();
    assert_eq!(chunks.len(), 3, "10 addresses in chunks of 4, 4, 2");
    assert_exact_cover(&answered, 5, 404);
}

#[tokio::test]
async fn too_many_addresses_halves_the_chunk() {
    // geth's address limit: at most 3 topics per position.
    let answered = Answered::default();
    let a = answered.clone();
    let url = serve(move |call| {
        if call.to_topics().len() > 3 {
            return Reply::error(
                &call.id,
                -32602,
                "exceed max addresses or topics per search position",
            );
        }
        dense_answer(&call, &a)
    })
    .await;
    let rpc = client(config(vec![url]));
    let watched: Vec<String> = (0..10).map(address).collect();
    let got = rpc.transfers(0, 20, &watched).await.unwrap();
    assert_one_per_block_and_address(&got, 0, 20, &watched);
    assert!(rpc.current_addresses_per_query() <= 3);
    let answered = answered.lock().unwrap();
    assert!(answered.iter().all(|(chunk, _, _)| chunk.len() <= 3));
    assert_exact_cover(&answered, 0, 20);
}

#[tokio::test]
async fn a_single_block_too_large_is_an_error() {
    let (url, answered, _) =
        dense_chain(|_, _, _| Some((-32005, "query returned more than 10000 results".to_owned())))
            .await;
    let rpc = client(config(vec![url]));
    match rpc.transfers(100, 5000, &[address(1)]).await {
        Err(RpcError::RangeTooLarge { block, code, .. }) => {
            assert_eq!(block, 100);
            assert_eq!(code, -32005);
        }
        other => panic!("expected RangeTooLarge, got {other:?}"),
    }
    assert!(answered.lock().unwrap().is_empty());
    assert_eq!(rpc.current_block_span(), 1);
}

#[tokio::test]
async fn http_429_backs_off_honouring_retry_after() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let url = serve(move |call| {
        if c.fetch_add(1, Ordering::SeqCst) < 2 {
            Reply::status(429, Some("1"), "Too Many Requests")
        } else {
            Reply::result(&call.id, json!("0x2a"))
        }
    })
    .await;
    let rpc = client(config(vec![url]));
    let started = Instant::now();
    assert_eq!(rpc.block_number().await.unwrap(), 42);
    let elapsed = started.elapsed();
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert!(
        elapsed >= Duration::from_secs(2),
        "Retry-After: 1 twice, waited {elapsed:?}"
    );
    assert!(elapsed < Duration::from_secs(4), "{elapsed:?}");
}

#[tokio::test]
async fn rate_limit_errors_and_5xx_back_off_exponentially() {
    let replies: [fn(&Value) -> Reply; 4] = [
        |id: &Value| Reply::error(id, -32005, "project ID request rate exceeded"),
        |id: &Value| {
            Reply::error(
                id,
                429,
                "Your app has exceeded its compute units per second capacity",
            )
        },
        |_: &Value| Reply::status(503, None, "<html>Service Unavailable</html>"),
        |_: &Value| Reply::status(502, None, "bad gateway"),
    ];
    for reply in replies {
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        let url = serve(move |call| {
            if c.fetch_add(1, Ordering::SeqCst) < 3 {
                reply(&call.id)
            } else {
                Reply::result(&call.id, json!("0x7"))
            }
        })
        .await;
        let rpc = EvmRpc::new(config(vec![url]))
            .unwrap()
            .with_backoff(Duration::from_millis(100), Duration::from_secs(1));
        let started = Instant::now();
        assert_eq!(rpc.block_number().await.unwrap(), 7);
        // Jittered 100·2^n ms, at least half of each: ≥ 50 + 100 + 200 ms.
        assert!(
            started.elapsed() >= Duration::from_millis(350),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }
}

#[tokio::test]
async fn rate_limit_that_outlasts_the_retries_fails_over() {
    let limited_calls = Arc::new(AtomicUsize::new(0));
    let c = limited_calls.clone();
    let limited = serve(move |_| {
        c.fetch_add(1, Ordering::SeqCst);
        Reply::status(429, None, "slow down")
    })
    .await;
    let live = serve(|call| Reply::result(&call.id, json!("0x1"))).await;
    let mut cfg = config(vec![limited.clone(), live]);
    cfg.max_retries = 2;
    let rpc = client(cfg);
    assert_eq!(rpc.block_number().await.unwrap(), 1);
    assert_eq!(
        limited_calls.load(Ordering::SeqCst),
        3,
        "1 attempt + 2 retries"
    );

    // A Retry-After beyond the backoff cap fails over at once.
    let far_calls = Arc::new(AtomicUsize::new(0));
    let c = far_calls.clone();
    let far = serve(move |_| {
        c.fetch_add(1, Ordering::SeqCst);
        Reply::status(429, Some("3600"), "come back in an hour")
    })
    .await;
    let live = serve(|call| Reply::result(&call.id, json!("0x2"))).await;
    let rpc = client(config(vec![far.clone(), live]));
    let started = Instant::now();
    assert_eq!(rpc.block_number().await.unwrap(), 2);
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(far_calls.load(Ordering::SeqCst), 1);

    // With no endpoint left: Unavailable, carrying the Retry-After.
    let rpc = client(config(vec![far]));
    match rpc.block_number().await {
        Err(RpcError::Unavailable { retry_after, .. }) => {
            assert_eq!(retry_after, Some(Duration::from_secs(3600)))
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn fails_over_from_a_dead_url_and_stays_on_the_live_one() {
    let live_calls = Arc::new(AtomicUsize::new(0));
    let c = live_calls.clone();
    let live = serve(move |call| {
        c.fetch_add(1, Ordering::SeqCst);
        match call.method.as_str() {
            "eth_blockNumber" => Reply::result(&call.id, json!("0x64")),
            "eth_getBlockByNumber" => {
                assert_eq!(call.params[1], false);
                let n = quantity(&call.params[0]);
                if n > 100 {
                    Reply::result(&call.id, Value::Null)
                } else {
                    Reply::result(&call.id, json!({"number": format!("{n:#x}"), "hash": block_hash(n).to_uppercase().replacen("0X", "0x", 1)}))
                }
            }
            other => panic!("unexpected {other}"),
        }
    })
    .await;
    let rpc = client(config(vec![dead_url(), live]));
    let started = Instant::now();
    assert_eq!(rpc.block_number().await.unwrap(), 100);
    assert_eq!(rpc.block_hash(99).await.unwrap(), Some(block_hash(99)));
    assert_eq!(rpc.block_hash(101).await.unwrap(), None);
    assert_eq!(live_calls.load(Ordering::SeqCst), 3);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "a refused connection fails over at once"
    );
    // The dead endpoint failed once (later calls start on the live one), the live none.
    let errors: Vec<u64> = rpc.endpoint_errors().into_iter().map(|(_, n)| n).collect();
    assert_eq!(errors, [1, 0]);
}

#[tokio::test]
async fn all_endpoints_dead_is_unavailable_without_leaking_credentials() {
    let dead = dead_url().replace("http://", "http://alice:hunter2@") + "v3/SECRETKEY";
    let rpc = client(config(vec![dead, dead_url()]));
    let err = rpc.block_number().await.unwrap_err();
    assert!(matches!(err, RpcError::Unavailable { .. }), "{err:?}");
    let text = format!("{err} {err:?} {rpc:?}");
    assert!(
        !text.contains("hunter2") && !text.contains("SECRETKEY") && !text.contains("alice"),
        "{text}"
    );
    assert!(text.contains("#0") && text.contains("#1"), "{text}");
    // Each endpoint's errors, under a label with no credentials, path or key.
    let errors = rpc.endpoint_errors();
    assert_eq!(errors.len(), 2);
    let (label, n) = &errors[0];
    assert!(
        label.starts_with("#0 http://***@127.0.0.1:") && label.ends_with("/…"),
        "{label}"
    );
    assert_eq!(*n, 1);
    assert!(
        errors[1].0.starts_with("#1 http://127.0.0.1:"),
        "{errors:?}"
    );
    assert_eq!(errors[1].1, 1);
}

#[tokio::test]
async fn timeouts_fail_over() {
    // Accepts connections and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_url = format!("http://{}/", silent.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let live = serve(|call| Reply::result(&call.id, json!("0x2"))).await;
    let mut cfg = config(vec![silent_url.clone(), live]);
    cfg.request_timeout = Duration::from_millis(300);
    let rpc = client(cfg.clone());
    let started = Instant::now();
    assert_eq!(rpc.block_number().await.unwrap(), 2);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );

    cfg.providers = vec![Provider::new(silent_url)];
    match client(cfg).block_number().await {
        Err(RpcError::Unavailable { failures, .. }) => {
            assert!(failures.contains("timed out"), "{failures}")
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn malformed_responses_are_errors_or_fail_over() {
    let good_log = log(5, 0, &topic(&address(1)));
    let bad_logs: Vec<Value> = vec![
        json!([{"removed": false}]),
        {
            let mut l = good_log.clone();
            l["data"] = json!("0x01");
            json!([l])
        },
        {
            let mut l = good_log.clone();
            l["blockNumber"] = json!("0x1ffffffffffffffff");
            json!([l])
        },
        {
            let mut l = good_log.clone();
            l["topics"] = json!([TRANSFER_TOPIC, topic(SENDER)]);
            json!([l])
        },
        {
            let mut l = good_log.clone();
            l["topics"][2] = json!(topic(&address(2)));
            json!([l])
        },
        {
            let mut l = good_log.clone();
            l["blockNumber"] = json!("0x63");
            json!([l])
        },
        {
            let mut l = good_log.clone();
            l["address"] = json!(address(9));
            json!([l])
        },
        json!({"not": "an array"}),
        json!(null),
    ];
    for bad in bad_logs {
        let body = bad.clone();
        let url = serve(move |call| Reply::result(&call.id, body.clone())).await;
        let rpc = client(config(vec![url]));
        match rpc.transfers(0, 10, &[address(1)]).await {
            Err(RpcError::Malformed { method, .. }) => assert_eq!(method, "eth_getLogs"),
            other => panic!("{bad}: expected Malformed, got {other:?}"),
        }
    }
    for (status, body) in [
        (200, "<html>hello</html>"),
        (200, r#"{"jsonrpc":"2.0","id":999999,"result":"0x1"}"#),
        (200, r#"{"jsonrpc":"2.0","id":1}"#),
        (200, r#"{"id":1,"result":"0x1"}"#),
        (200, r#"[{"jsonrpc":"2.0","id":1,"result":"0x1"}]"#),
        (200, ""),
    ] {
        let url = serve(move |_| Reply::status(status, None, body)).await;
        let rpc = client(config(vec![url]));
        assert!(
            matches!(rpc.block_number().await, Err(RpcError::Malformed { .. })),
            "{body}"
        );
    }
    for result in [
        json!("0x10000000000000000"),
        json!("12"),
        json!(12),
        json!(null),
    ] {
        let r = result.clone();
        let url = serve(move |call| Reply::result(&call.id, r.clone())).await;
        let rpc = client(config(vec![url]));
        assert!(
            matches!(rpc.block_number().await, Err(RpcError::Malformed { .. })),
            "{result}"
        );
    }
    // eth_getBlockByNumber answering another block, or a block without a hash.
    for result in [
        json!({"number": "0x6", "hash": block_hash(6)}),
        json!({"number": "0x5"}),
    ] {
        let r = result.clone();
        let url = serve(move |call| Reply::result(&call.id, r.clone())).await;
        let rpc = client(config(vec![url]));
        assert!(
            matches!(rpc.block_hash(5).await, Err(RpcError::Malformed { .. })),
            "{result}"
        );
    }

    // A malformed answer from the first endpoint fails over to a good one.
    let broken = serve(|call| Reply::result(&call.id, json!([{"garbage": true}]))).await;
    let good = serve(move |call| Reply::result(&call.id, json!([good_log.clone()]))).await;
    let rpc = client(config(vec![broken, good]));
    let got = rpc.transfers(0, 10, &[address(1)]).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].block_number, 5);
}

#[tokio::test]
async fn json_rpc_errors_are_returned_as_they_are() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let url = serve(move |call| {
        c.fetch_add(1, Ordering::SeqCst);
        Reply::error(&call.id, -32000, "header not found")
    })
    .await;
    let second = serve(|call| Reply::result(&call.id, json!("0x1"))).await;
    let rpc = client(config(vec![url, second]));
    match rpc.block_hash(1).await {
        Err(RpcError::JsonRpc {
            code,
            message,
            method,
            ..
        }) => {
            assert_eq!(
                (code, message.as_str(), method.as_str()),
                (-32000, "header not found", "eth_getBlockByNumber")
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1, "no retry, no failover");

    // The same error over HTTP 401 (a bad API key) is the endpoint refusing us: fail over.
    let refusing = serve(|call| {
        let mut reply = Reply::error(&call.id, -32000, "invalid project id");
        reply.status = StatusCode::UNAUTHORIZED;
        reply
    })
    .await;
    let second = serve(|call| Reply::result(&call.id, json!("0x5"))).await;
    let rpc = client(config(vec![refusing.clone(), second]));
    assert_eq!(rpc.block_number().await.unwrap(), 5);
    match client(config(vec![refusing])).block_number().await {
        Err(RpcError::Unavailable { failures, .. }) => {
            assert!(
                failures.contains("401") && failures.contains("invalid project id"),
                "{failures}"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_reorg_between_chunks_is_inconsistent() {
    // The second chunk sees block 3 with another hash.
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let url = serve(move |call| {
        let n = c.fetch_add(1, Ordering::SeqCst);
        let mut l = log(3, n as u64, &call.to_topics()[0]);
        if n > 0 {
            l["blockHash"] = json!(format!("0x{:064x}", 0xdead));
        }
        Reply::result(&call.id, json!([l]))
    })
    .await;
    let mut cfg = config(vec![url]);
    cfg.max_addresses_per_query = 1;
    let rpc = client(cfg);
    assert!(matches!(
        rpc.transfers(0, 10, &[address(1), address(2)]).await,
        Err(RpcError::Inconsistent(_))
    ));
}

#[tokio::test]
async fn arguments_are_checked() {
    let rpc = client(config(vec![dead_url()]));
    assert!(
        rpc.transfers(0, 10, &[]).await.unwrap().is_empty(),
        "no address, no query"
    );
    assert!(matches!(
        rpc.transfers(11, 10, &[address(1)]).await,
        Err(RpcError::InvalidArgument(_))
    ));
    assert!(matches!(
        rpc.transfers(0, 10, &["0x1234".into()]).await,
        Err(RpcError::InvalidArgument(_))
    ));
}
