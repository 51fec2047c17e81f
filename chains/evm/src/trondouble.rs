//! A TRON JSON-RPC test double (feature `test-node`): an in-memory TRON chain served over
//! HTTP on `127.0.0.1` the way java-tron's `/jsonrpc` answers, with TronGrid's throttling
//! in front of it when asked. Built from java-tron's own source and TRON's documentation,
//! each behaviour with its source:
//!
//! | behaviour | source |
//! |---|---|
//! | `eth_blockNumber`: the head as a `0x` quantity | java-tron `framework/src/main/java/org/tron/core/services/jsonrpc/TronJsonRpcImpl.java` (`getLatestBlockNum`, `ByteArray.toJsonHex(long)`) |
//! | `eth_getBlockByNumber(tag, full)`: `latest`, `earliest`, `finalized` (the latest solidified block), a `0x` number; `null` for a block it does not have; `pending` → `-32602 TAG pending not supported`; `safe` → `-32602 TAG safe not supported`; anything else → `-32602 invalid block number` | java-tron `framework/src/main/java/org/tron/core/Wallet.java` (`getByJsonBlockId`), `TronJsonRpcImpl.java` (`TAG_PENDING_SUPPORT_ERROR`); the `safe` text from java-tron's JSON-RPC method docs (error tables: `TAG pending not supported` or `TAG safe not supported`) and its JSON-RPC service tests (`TAG_SAFE_SUPPORT_ERROR`); java-tron releases before that refuse `safe` as `invalid block number` |
//! | the block object: `number`, `hash` (the TRON block id), `parentHash`, `timestamp` in seconds, `transactions` (ids), zero `nonce`/`sha3Uncles`/`logsBloom`/`receiptsRoot`/`mixHash`, `difficulty` `0x0`, `extraData` `0x`, `baseFeePerGas` `0x0`, `uncles` `[]` | java-tron `framework/src/main/java/org/tron/core/services/jsonrpc/types/BlockResult.java` |
//! | a block id: the first 8 bytes are the height (big-endian), the other 24 those of the header's SHA-256 | java-tron `common/src/main/java/org/tron/common/utils/Sha256Hash.java` (`generateBlockId`) |
//! | `eth_getLogs`: `address` a string or a list (over `maxAddressSize` = 1000 → `-32602 exceed max addresses: 1000`), at most 4 topic positions (`topics size should be <= 4`), an OR-list of over `maxSubTopics` = 1000 → `-32602 exceed max topics: 1000` | java-tron `framework/src/main/java/org/tron/core/services/jsonrpc/filters/LogFilter.java` (`maxSubTopics` since 4.8; `maxAddressSize` in later releases, quoted from that file in a java-tron security review); defaults in `framework/src/main/resources/config.conf` (`node.jsonrpc.maxSubTopics = 1000`) and java-tron's `ArgsTest` (5000, 1000) |
//! | `eth_getLogs` range: `fromBlock > toBlock` → `-32602 please verify: fromBlock <= toBlock`; `min(toBlock, head) - fromBlock > maxBlockRange` (5000) → `-32602 exceed max block range: 5000`, so 5001 blocks is the widest query | java-tron `framework/src/main/java/org/tron/core/services/jsonrpc/filters/LogFilterWrapper.java`; `config.conf` (`node.jsonrpc.maxBlockRange = 5000`) |
//! | more than 10,000 matching logs → `-32005 query returned more than 10000 results` | java-tron `filters/LogBlockQuery.java`, `filters/LogMatch.java` (`MAX_RESULT`) |
//! | the log object: `address` (20 bytes, no `41` prefix), `blockHash`, `blockNumber`, `data`, `logIndex` (within the block), `removed` (always `false`: logs come from the canonical chain), `topics`, `transactionHash`, `transactionIndex` | java-tron `TronJsonRpc.java` (`LogFilterElement`), `filters/LogMatch.java` (`matchBlock(…, false)`) |
//! | JSON-RPC errors carry `"data": "{}"` | java-tron `TronJsonRpc.java` (`@JsonRpcError(…, data = "{}")`) |
//! | TronGrid over a key's rate: HTTP 503 (the body is not documented: the double sends an HTML page); without a key or over the frequency limit: HTTP 403 with `{"Success": false, "Error": "The key exceeds the frequency limit(15), and the query server is suspended for 30s", "StatusCode": 403}` | developers.tron.network/reference/rate-limits |
//! | finalized = solidified: a block is solidified once 2/3 of the 27 super representatives built on it, 19 blocks (about 57 s at 3 s a block) behind the head | TRON developer docs (consensus: DPoS, solidified blocks); java-tron `Wallet.getSolidBlock` |
//!
//! The double also records every request (time, method, headers) so tests can count
//! requests per second and check an API key header arrived.
//!
//! ```no_run
//! # async fn demo() {
//! use usdt_evm_rpc::trondouble::TronDouble;
//! let tron = TronDouble::start().await;
//! let to = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed";
//! let (txid, block) = tron.transfer(to, 1_000_000);
//! let rpc = tron.rpc();
//! let found = rpc.transfers(block, block, &[to.to_owned()]).await.unwrap();
//! assert_eq!(found[0].txid, txid);
//! # }
//! ```

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

use crate::{EvmRpc, EvmRpcConfig, TRANSFER_TOPIC};

/// USDT's TRC20 contract `TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t` in the 20-byte hex form
/// TRON's `/jsonrpc` uses (`41a614f8…` without the `41`).
pub const USDT_CONTRACT: &str = "0xa614f803b6fd780986a42c78ec9c7f77e6ded13c";

/// java-tron's default `node.jsonrpc.maxBlockRange`.
pub const MAX_BLOCK_RANGE: u64 = 5_000;

/// java-tron's default `node.jsonrpc.maxSubTopics` (and `maxAddressSize`).
pub const MAX_SUB_TOPICS: usize = 1_000;

/// java-tron's `LogBlockQuery.MAX_RESULT`.
pub const MAX_RESULTS: usize = 10_000;

/// How far the solidified block trails the head on mainnet: 19 blocks.
pub const SOLIDIFIED_LAG: u64 = 19;

/// A sender every double transfer comes from.
const SENDER: [u8; 20] = [0x11; 20];

/// How TronGrid refuses a request when told to ([`TronDouble::fail`], [`TronDouble::throttle`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// A key over its per-second rate: HTTP 503 (developers.tron.network/reference/rate-limits).
    Unavailable,
    /// The frequency-limit penalty: HTTP 403 and TronGrid's JSON body announcing a 30 s
    /// suspension.
    Suspended,
    /// HTTP 429 Too Many Requests (what most providers answer).
    TooManyRequests,
}

impl Failure {
    fn reply(&self) -> (StatusCode, String) {
        match self {
            Self::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "<html><body><h1>503 Service Unavailable</h1></body></html>".to_owned(),
            ),
            Self::Suspended => (
                StatusCode::FORBIDDEN,
                json!({
                    "Success": false,
                    "Error": "The key exceeds the frequency limit(15), and the query server is suspended for 30s",
                    "StatusCode": 403
                })
                .to_string(),
            ),
            Self::TooManyRequests => (
                StatusCode::TOO_MANY_REQUESTS,
                "Too Many Requests".to_owned(),
            ),
        }
    }
}

/// One request the double received.
#[derive(Clone, Debug)]
pub struct Received {
    /// When.
    pub at: Instant,
    /// The JSON-RPC method (empty when the body was not JSON-RPC).
    pub method: String,
    /// The request's headers, names lowercase.
    pub headers: Vec<(String, String)>,
    /// Whether it was answered with a [`Failure`].
    pub refused: bool,
}

#[derive(Clone, Debug)]
struct Log {
    txid: [u8; 32],
    tx_index: u64,
    contract: [u8; 20],
    from: [u8; 20],
    to: [u8; 20],
    amount: u128,
}

#[derive(Clone, Debug)]
struct Block {
    id: [u8; 32],
    parent: [u8; 32],
    timestamp_ms: u64,
    logs: Vec<Log>,
}

#[derive(Debug)]
struct State {
    /// Index = height.
    blocks: Vec<Block>,
    /// Bumped by every reorg, so replaced blocks get new ids.
    generation: u64,
    solidified_lag: u64,
    max_block_range: u64,
    max_sub_topics: usize,
    max_addresses: usize,
    next_tx: u64,
    /// Refuse the next `n` requests (`None`: until cleared).
    failure: Option<(Failure, Option<usize>)>,
    /// Refuse requests beyond this many in any second.
    throttle: Option<(usize, Failure)>,
    /// Recent requests, for the throttle.
    window: VecDeque<Instant>,
    received: Vec<Received>,
}

/// The double: a TRON chain and its `/jsonrpc` server. The server stops when this is
/// dropped.
#[derive(Debug)]
pub struct TronDouble {
    url: String,
    state: Arc<Mutex<State>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for TronDouble {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// `splitmix64`: a deterministic stand-in for the SHA-256 parts of ids.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// 32 bytes from a seed.
fn bytes32(seed: u64) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, chunk) in out.chunks_mut(8).enumerate() {
        let word = mix(seed ^ mix(i as u64)).to_be_bytes();
        chunk.copy_from_slice(&word);
    }
    out
}

/// A TRON block id: the height in the first 8 bytes, then 24 bytes of (stand-in) hash.
fn block_id(number: u64, generation: u64) -> [u8; 32] {
    let mut id = bytes32(mix(number) ^ mix(generation.wrapping_add(0x5eed)));
    if let Some(head) = id.get_mut(..8) {
        head.copy_from_slice(&number.to_be_bytes());
    }
    id
}

/// `0x` and the bytes in lower-case hex.
fn hex(bytes: &[u8]) -> String {
    format!("0x{}", ::hex::encode(bytes))
}

fn quantity(n: u64) -> String {
    format!("{n:#x}")
}

/// `0x` + 40 hex → 20 bytes.
fn parse_address(text: &str) -> Option<[u8; 20]> {
    let digits = text.strip_prefix("0x")?;
    parse_bytes::<20>(digits)
}

/// Exactly `2 * N` hex digits → `N` bytes.
fn parse_bytes<const N: usize>(digits: &str) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    ::hex::decode_to_slice(digits, &mut out).ok()?;
    Some(out)
}

/// A 32-byte topic holding a 20-byte address.
fn address_topic(address: &[u8; 20]) -> [u8; 32] {
    let mut topic = [0u8; 32];
    if let Some(tail) = topic.get_mut(12..) {
        tail.copy_from_slice(address);
    }
    topic
}

/// A JSON-RPC error as java-tron's jsonrpc4j sends it.
#[derive(Debug)]
struct RpcFault {
    code: i64,
    message: String,
}

fn invalid(message: impl Into<String>) -> RpcFault {
    RpcFault {
        code: -32602,
        message: message.into(),
    }
}

impl State {
    fn new(height: u64) -> Self {
        let mut state = Self {
            blocks: Vec::new(),
            generation: 0,
            solidified_lag: SOLIDIFIED_LAG,
            max_block_range: MAX_BLOCK_RANGE,
            max_sub_topics: MAX_SUB_TOPICS,
            max_addresses: MAX_SUB_TOPICS,
            next_tx: 1,
            failure: None,
            throttle: None,
            window: VecDeque::new(),
            received: Vec::new(),
        };
        for _ in 0..=height {
            state.push(Vec::new());
        }
        state
    }

    fn head(&self) -> u64 {
        (self.blocks.len() as u64).saturating_sub(1)
    }

    fn solidified(&self) -> u64 {
        self.head().saturating_sub(self.solidified_lag)
    }

    /// Append a block holding `transfers` (contract, to, amount); returns its height and
    /// the transaction ids.
    fn push(&mut self, transfers: Vec<([u8; 20], [u8; 20], u128)>) -> (u64, Vec<[u8; 32]>) {
        let number = self.blocks.len() as u64;
        let parent = self.blocks.last().map_or([0u8; 32], |b| b.id);
        let mut txids = Vec::new();
        let logs = transfers
            .into_iter()
            .enumerate()
            .map(|(i, (contract, to, amount))| {
                let txid = bytes32(mix(self.next_tx) ^ 0x7478);
                self.next_tx += 1;
                txids.push(txid);
                Log {
                    txid,
                    tx_index: i as u64,
                    contract,
                    from: SENDER,
                    to,
                    amount,
                }
            })
            .collect();
        self.blocks.push(Block {
            id: block_id(number, self.generation),
            parent,
            // Mainnet's genesis time, then a block every 3 s.
            timestamp_ms: 1_529_891_469_000 + number * 3_000,
            logs,
        });
        (number, txids)
    }

    fn block_json(&self, number: u64) -> Value {
        let Some(block) = usize::try_from(number)
            .ok()
            .and_then(|i| self.blocks.get(i))
        else {
            return Value::Null;
        };
        json!({
            "baseFeePerGas": "0x0",
            "difficulty": "0x0",
            "extraData": "0x",
            "gasLimit": "0x0",
            "gasUsed": "0x0",
            "hash": hex(&block.id),
            "logsBloom": hex(&[0u8; 256]),
            "miner": hex(&[0x22u8; 20]),
            "mixHash": hex(&[0u8; 32]),
            "nonce": hex(&[0u8; 8]),
            "number": quantity(number),
            "parentHash": hex(&block.parent),
            "receiptsRoot": hex(&[0u8; 32]),
            "sha3Uncles": hex(&[0u8; 32]),
            "size": quantity(200 + 300 * block.logs.len() as u64),
            "stateRoot": "0x",
            "timestamp": quantity(block.timestamp_ms / 1000),
            "totalDifficulty": "0x0",
            "transactions": block.logs.iter().map(|l| hex(&l.txid)).collect::<Vec<_>>(),
            "transactionsRoot": hex(&bytes32(number ^ 0x7272)),
            "uncles": [],
        })
    }

    /// A block parameter as `Wallet.getByJsonBlockId` reads it.
    fn block_param(&self, tag: &str) -> Result<u64, RpcFault> {
        match tag.to_ascii_lowercase().as_str() {
            "latest" => Ok(self.head()),
            "earliest" => Ok(0),
            "finalized" => Ok(self.solidified()),
            "pending" => Err(invalid("TAG pending not supported")),
            "safe" => Err(invalid("TAG safe not supported")),
            _ => tag
                .strip_prefix("0x")
                .filter(|d| !d.is_empty())
                .and_then(|d| u64::from_str_radix(d, 16).ok())
                .ok_or_else(|| invalid("invalid block number")),
        }
    }

    /// `eth_getLogs`: the logs matching the filter's addresses, topics and block range,
    /// with java-tron's limits and error texts.
    fn get_logs(&self, filter: &Value) -> Result<Value, RpcFault> {
        // LogFilter: addresses, then topics; LogFilterWrapper: the block range.
        let contracts = self.filter_addresses(filter)?;
        let topics = self.filter_topics(filter)?;
        let (from, to) = self.filter_range(filter)?;
        let mut out = Vec::new();
        for number in from..=to {
            let Some(block) = usize::try_from(number)
                .ok()
                .and_then(|i| self.blocks.get(i))
            else {
                break;
            };
            for (log_index, log) in block.logs.iter().enumerate() {
                let log_topics = [
                    hex_to_32(TRANSFER_TOPIC),
                    address_topic(&log.from),
                    address_topic(&log.to),
                ];
                let address_ok = contracts.is_empty() || contracts.contains(&log.contract);
                if !(address_ok && topics_match(&topics, &log_topics)) {
                    continue;
                }
                out.push(log_json(block, number, log_index, log, &log_topics));
                if out.len() > MAX_RESULTS {
                    return Err(RpcFault {
                        code: -32005,
                        message: format!("query returned more than {MAX_RESULTS} results"),
                    });
                }
            }
        }
        Ok(Value::Array(out))
    }

    /// The filter's contract addresses (empty: any), at most `max_addresses`.
    fn filter_addresses(&self, filter: &Value) -> Result<Vec<[u8; 20]>, RpcFault> {
        match filter.get("address") {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::String(a)) => Ok(vec![
                parse_address(a).ok_or_else(|| invalid(format!("invalid address: {a}")))?,
            ]),
            Some(Value::Array(list)) => {
                if self.max_addresses > 0 && list.len() > self.max_addresses {
                    return Err(invalid(format!(
                        "exceed max addresses: {}",
                        self.max_addresses
                    )));
                }
                list.iter()
                    .enumerate()
                    .map(|(i, a)| {
                        a.as_str()
                            .and_then(parse_address)
                            .ok_or_else(|| invalid(format!("invalid address at index {i}: {a}")))
                    })
                    .collect()
            }
            Some(_) => Err(invalid("invalid addresses in query")),
        }
    }

    /// The filter's topics by position: `None` matches any, `Some` any of its topics;
    /// at most 4 positions of at most `max_sub_topics` each.
    fn filter_topics(&self, filter: &Value) -> Result<Vec<Option<Vec<[u8; 32]>>>, RpcFault> {
        let Some(list) = filter.get("topics").and_then(Value::as_array) else {
            return Ok(Vec::new());
        };
        if list.len() > 4 {
            return Err(invalid("topics size should be <= 4"));
        }
        let parse = |t: &Value| {
            t.as_str()
                .and_then(|s| s.strip_prefix("0x"))
                .and_then(parse_bytes::<32>)
                .ok_or_else(|| invalid(format!("invalid topic(s): {t}")))
        };
        list.iter()
            .map(|topic| match topic {
                Value::Null => Ok(None),
                Value::String(_) => Ok(Some(vec![parse(topic)?])),
                Value::Array(or) => {
                    if self.max_sub_topics > 0 && or.len() > self.max_sub_topics {
                        return Err(invalid(format!(
                            "exceed max topics: {}",
                            self.max_sub_topics
                        )));
                    }
                    Ok(Some(or.iter().map(parse).collect::<Result<_, _>>()?))
                }
                _ => Err(invalid("invalid topic(s)")),
            })
            .collect()
    }

    /// The filter's blocks `from..=to`, `to` capped at the head; at most
    /// `max_block_range` apart.
    fn filter_range(&self, filter: &Value) -> Result<(u64, u64), RpcFault> {
        let head = self.head();
        let text = |key: &str| filter.get(key).and_then(Value::as_str).map(str::to_owned);
        let to_param = |to: &str| {
            if to.eq_ignore_ascii_case("latest") {
                Ok(u64::MAX)
            } else {
                self.block_param(to)
            }
        };
        let (from, to) = match (text("fromBlock"), text("toBlock")) {
            (None, None) => (head, u64::MAX),
            (None, Some(to)) => {
                let to = to_param(&to)?;
                (to.min(head), to)
            }
            (Some(from), None) => (self.block_param(&from)?, u64::MAX),
            (Some(from), Some(to)) => {
                let from = self.block_param(&from)?;
                let to = to_param(&to)?;
                if from > to {
                    return Err(invalid("please verify: fromBlock <= toBlock"));
                }
                (from, to)
            }
        };
        if self.max_block_range > 0 && to.min(head).saturating_sub(from) > self.max_block_range {
            return Err(invalid(format!(
                "exceed max block range: {}",
                self.max_block_range
            )));
        }
        Ok((from, to.min(head)))
    }

    fn answer(&self, method: &str, params: &Value) -> Result<Value, RpcFault> {
        let param = |i: usize| params.get(i).cloned().unwrap_or(Value::Null);
        match method {
            "eth_blockNumber" => Ok(json!(quantity(self.head()))),
            "eth_getBlockByNumber" => {
                let tag = param(0);
                let tag = tag
                    .as_str()
                    .ok_or_else(|| invalid("invalid block number"))?;
                let number = self.block_param(tag)?;
                Ok(self.block_json(number))
            }
            "eth_getLogs" => self.get_logs(&param(0)),
            // java-tron answers the chain id as the last 4 bytes of the genesis block id.
            "eth_chainId" => Ok(json!("0x2b6653dc")),
            other => Err(RpcFault {
                code: -32601,
                message: format!("method not found: {other}"),
            }),
        }
    }

    /// Whether a request now goes over the throttle, counting it.
    fn throttled(&mut self, now: Instant) -> Option<Failure> {
        let (limit, failure) = self.throttle.clone()?;
        while self
            .window
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            self.window.pop_front();
        }
        if self.window.len() >= limit {
            return Some(failure);
        }
        self.window.push_back(now);
        None
    }

    fn forced_failure(&mut self) -> Option<Failure> {
        let (failure, left) = self.failure.as_mut()?;
        let failure = failure.clone();
        match left {
            Some(0) => {
                self.failure = None;
                return None;
            }
            Some(n) => *n -= 1,
            None => {}
        }
        Some(failure)
    }
}

/// Whether a log's topics match the filter's, position by position.
fn topics_match(filter: &[Option<Vec<[u8; 32]>>], log_topics: &[[u8; 32]]) -> bool {
    filter.iter().enumerate().all(|(i, want)| match want {
        None => i < log_topics.len(),
        Some(or) => log_topics.get(i).is_some_and(|t| or.contains(t)),
    })
}

/// One log as `eth_getLogs` answers it.
fn log_json(block: &Block, number: u64, log_index: usize, log: &Log, topics: &[[u8; 32]]) -> Value {
    json!({
        "address": hex(&log.contract),
        "blockHash": hex(&block.id),
        "blockNumber": quantity(number),
        "data": hex(&amount_word(log.amount)),
        "logIndex": quantity(log_index as u64),
        "removed": false,
        "topics": topics.iter().map(|t| hex(t)).collect::<Vec<_>>(),
        "transactionHash": hex(&log.txid),
        "transactionIndex": quantity(log.tx_index),
    })
}

fn hex_to_32(text: &str) -> [u8; 32] {
    text.strip_prefix("0x")
        .and_then(parse_bytes::<32>)
        .unwrap_or([0u8; 32])
}

fn amount_word(amount: u128) -> [u8; 32] {
    let mut word = [0u8; 32];
    if let Some(tail) = word.get_mut(16..) {
        tail.copy_from_slice(&amount.to_be_bytes());
    }
    word
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn handle(state: Arc<Mutex<State>>, headers: HeaderMap, body: Bytes) -> Response {
    let now = Instant::now();
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let method = request
        .get("method")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    let mut state = lock(&state);
    let refusal = state.forced_failure().or_else(|| state.throttled(now));
    state.received.push(Received {
        at: now,
        method: method.clone(),
        headers: headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        refused: refusal.is_some(),
    });
    if let Some(failure) = refusal {
        let (status, body) = failure.reply();
        return (status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
    }
    let reply = match state.answer(&method, request.get("params").unwrap_or(&Value::Null)) {
        Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
        Err(fault) => json!({
            "jsonrpc": "2.0",
            "id": id,
            "error": {"code": fault.code, "message": fault.message, "data": "{}"}
        }),
    };
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        reply.to_string(),
    )
        .into_response()
}

impl TronDouble {
    /// A chain of 1,000 blocks, served on `127.0.0.1` at a free port.
    ///
    /// # Panics
    ///
    /// When no local port can be bound (a broken test machine).
    #[allow(clippy::panic)]
    pub async fn start() -> Self {
        Self::start_at(1_000).await
    }

    /// A chain whose head is `height`.
    ///
    /// # Panics
    ///
    /// When no local port can be bound (a broken test machine).
    #[allow(clippy::panic)]
    pub async fn start_at(height: u64) -> Self {
        let state = Arc::new(Mutex::new(State::new(height)));
        let shared = Arc::clone(&state);
        let app = Router::new().route(
            "/jsonrpc",
            post(move |headers: HeaderMap, body: Bytes| handle(Arc::clone(&shared), headers, body)),
        );
        let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
            Ok(l) => l,
            Err(e) => panic!("TRON double: cannot bind: {e}"),
        };
        let addr: SocketAddr = match listener.local_addr() {
            Ok(a) => a,
            Err(e) => panic!("TRON double: no local address: {e}"),
        };
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!("TRON double stopped: {e}");
            }
        });
        Self {
            url: format!("http://{addr}/jsonrpc"),
            state,
            server,
        }
    }

    /// The `/jsonrpc` URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The token contract the double's transfers are logged by ([`USDT_CONTRACT`]).
    pub fn token(&self) -> &'static str {
        USDT_CONTRACT
    }

    /// An [`EvmRpcConfig`] for the double (the defaults otherwise).
    pub fn rpc_config(&self) -> EvmRpcConfig {
        EvmRpcConfig::new(vec![self.url.clone()], USDT_CONTRACT)
    }

    /// An [`EvmRpc`] on the double with the default configuration.
    ///
    /// # Panics
    ///
    /// Never: the configuration is built from a valid URL and address.
    #[allow(clippy::panic)]
    pub fn rpc(&self) -> EvmRpc {
        match EvmRpc::new(self.rpc_config()) {
            Ok(rpc) => rpc,
            Err(e) => panic!("TRON double config: {e}"),
        }
    }

    /// The head height.
    pub fn head(&self) -> u64 {
        lock(&self.state).head()
    }

    /// The latest solidified block (what `finalized` answers).
    pub fn finalized(&self) -> u64 {
        lock(&self.state).solidified()
    }

    /// Set how many blocks the solidified block trails the head (default 19).
    pub fn set_solidified_lag(&self, blocks: u64) {
        lock(&self.state).solidified_lag = blocks;
    }

    /// Change java-tron's limits: `maxBlockRange`, `maxSubTopics` and `maxAddressSize`
    /// (0: no limit).
    pub fn set_limits(&self, max_block_range: u64, max_sub_topics: usize, max_addresses: usize) {
        let mut state = lock(&self.state);
        state.max_block_range = max_block_range;
        state.max_sub_topics = max_sub_topics;
        state.max_addresses = max_addresses;
    }

    /// The id (`0x` + 64 hex) of block `number`, if the chain has it.
    pub fn block_id(&self, number: u64) -> Option<String> {
        let state = lock(&self.state);
        usize::try_from(number)
            .ok()
            .and_then(|i| state.blocks.get(i))
            .map(|b| hex(&b.id))
    }

    /// Produce `n` empty blocks.
    pub fn mine(&self, n: u64) {
        let mut state = lock(&self.state);
        for _ in 0..n {
            state.push(Vec::new());
        }
    }

    /// A new block holding one transfer of `amount` base units of the token to `to`
    /// (`0x` + 40 hex); returns its transaction id and the block's height.
    ///
    /// # Panics
    ///
    /// When `to` is not `0x` + 40 hex (a broken test).
    #[allow(clippy::panic)]
    pub fn transfer(&self, to: &str, amount: u128) -> (String, u64) {
        let (block, txids) = self.block_with(&[(to, amount)]);
        match txids.into_iter().next() {
            Some(txid) => (txid, block),
            None => panic!("TRON double: no transaction recorded"),
        }
    }

    /// A new block holding a transfer per `(to, amount)`; returns its height and the
    /// transaction ids, in order.
    ///
    /// # Panics
    ///
    /// When an address is not `0x` + 40 hex (a broken test).
    #[allow(clippy::panic)]
    pub fn block_with(&self, transfers: &[(&str, u128)]) -> (u64, Vec<String>) {
        let contract = parse_address(USDT_CONTRACT).unwrap_or([0; 20]);
        let list = transfers
            .iter()
            .map(
                |(to, amount)| match parse_address(&to.to_ascii_lowercase()) {
                    Some(to) => (contract, to, *amount),
                    None => panic!("TRON double: {to:?} is not 0x + 40 hex"),
                },
            )
            .collect();
        let (block, txids) = lock(&self.state).push(list);
        (block, txids.iter().map(|t| hex(t)).collect())
    }

    /// Replace the newest `depth` blocks with as many new, empty ones (new ids, the same
    /// heights): their transfers are gone from the chain.
    pub fn reorg(&self, depth: u64) {
        let mut state = lock(&self.state);
        let keep = state
            .blocks
            .len()
            .saturating_sub(usize::try_from(depth).unwrap_or(usize::MAX))
            .max(1);
        let replaced = state.blocks.len() - keep;
        state.blocks.truncate(keep);
        state.generation += 1;
        for _ in 0..replaced {
            state.push(Vec::new());
        }
    }

    /// Refuse the next `times` requests as TronGrid would with `failure` (`None`: every
    /// request until [`TronDouble::recover`]).
    pub fn fail(&self, failure: Failure, times: Option<usize>) {
        lock(&self.state).failure = Some((failure, times));
    }

    /// Stop refusing (ends [`TronDouble::fail`] and [`TronDouble::throttle`]).
    pub fn recover(&self) {
        let mut state = lock(&self.state);
        state.failure = None;
        state.throttle = None;
    }

    /// Refuse with `failure` every request beyond `per_second` in any one second, as
    /// TronGrid does for a key over its rate.
    pub fn throttle(&self, per_second: usize, failure: Failure) {
        let mut state = lock(&self.state);
        state.throttle = Some((per_second, failure));
        state.window.clear();
    }

    /// Every request received so far.
    pub fn received(&self) -> Vec<Received> {
        lock(&self.state).received.clone()
    }

    /// How many requests were received.
    pub fn request_count(&self) -> usize {
        lock(&self.state).received.len()
    }

    /// The most requests received in any one-second window.
    pub fn max_requests_per_second(&self) -> usize {
        let state = lock(&self.state);
        let times: Vec<Instant> = state.received.iter().map(|r| r.at).collect();
        let mut best = 0;
        let mut start = 0;
        for (end, t) in times.iter().enumerate() {
            while times
                .get(start)
                .is_some_and(|s| t.duration_since(*s) >= Duration::from_secs(1))
            {
                start += 1;
            }
            best = best.max(end + 1 - start);
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_ids_carry_the_height_and_change_with_a_reorg() {
        let id = block_id(0x0102_0304_0506_0708, 0);
        assert_eq!(&id[..8], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_ne!(block_id(5, 0), block_id(5, 1));
        assert_eq!(block_id(5, 0), block_id(5, 0));
    }

    #[test]
    fn java_tron_block_parameters() {
        let state = State::new(100);
        assert_eq!(state.block_param("latest").unwrap(), 100);
        assert_eq!(state.block_param("earliest").unwrap(), 0);
        assert_eq!(
            state.block_param("finalized").unwrap(),
            100 - SOLIDIFIED_LAG
        );
        assert_eq!(state.block_param("0x10").unwrap(), 16);
        for (tag, message) in [
            ("pending", "TAG pending not supported"),
            ("safe", "TAG safe not supported"),
            ("0x", "invalid block number"),
            ("qqqqq", "invalid block number"),
        ] {
            let fault = state.block_param(tag).unwrap_err();
            assert_eq!((fault.code, fault.message.as_str()), (-32602, message));
        }
    }

    #[test]
    fn get_logs_limits_are_java_tron_s() {
        let state = State::new(20_000);
        let range =
            |from: u64, to: u64| json!({"fromBlock": quantity(from), "toBlock": quantity(to)});
        assert!(state.get_logs(&range(0, 5_000)).is_ok(), "5001 blocks pass");
        let fault = state.get_logs(&range(0, 5_001)).unwrap_err();
        assert_eq!(
            (fault.code, fault.message.as_str()),
            (-32602, "exceed max block range: 5000")
        );
        let fault = state.get_logs(&range(10, 9)).unwrap_err();
        assert_eq!(fault.message, "please verify: fromBlock <= toBlock");
        // The range is clipped at the head before the check.
        assert!(state.get_logs(&range(16_000, 1 << 40)).is_ok());
        let topics: Vec<String> = (0..1_001u64).map(|i| hex(&bytes32(i))).collect();
        let fault = state
            .get_logs(&json!({"fromBlock": "0x1", "toBlock": "0x2", "topics": [TRANSFER_TOPIC, null, topics]}))
            .unwrap_err();
        assert_eq!(fault.message, "exceed max topics: 1000");
        let addresses: Vec<String> = (0..1_001u64).map(|_| USDT_CONTRACT.to_owned()).collect();
        let fault = state
            .get_logs(&json!({"fromBlock": "0x1", "toBlock": "0x2", "address": addresses}))
            .unwrap_err();
        assert_eq!(fault.message, "exceed max addresses: 1000");
        let fault = state
            .get_logs(&json!({"topics": [null, null, null, null, null]}))
            .unwrap_err();
        assert_eq!(fault.message, "topics size should be <= 4");
    }
}
