//! `usdt-evm-rpc`: an Ethereum JSON-RPC client for USDT deposits.
//!
//! It reads what a deposit watcher needs from an EVM node or provider (and from TRON's
//! Ethereum-compatible `/jsonrpc`): the head block number, a block's hash, and the
//! ERC-20 `Transfer(address,address,uint256)` logs of one token contract whose recipient
//! is one of a set of watched addresses.
//!
//! Exactness comes first: a block range is either answered completely or the call fails;
//! every log is validated (contract, topics, 32-byte data, 64-bit quantities) and a
//! malformed one fails the call instead of being dropped. Providers' limits are handled
//! underneath:
//!
//! - **too large** (`query returned more than 10000 results`, `block range is too wide`,
//!   `-32005`, …, see the `classify` module for the list): the block span is halved, or
//!   set to the provider's suggestion, and the query retried; it grows back gradually
//!   after successes. At a single block the call fails with [`RpcError::RangeTooLarge`].
//! - **too many addresses** (geth's `exceed max addresses or topics per search position`):
//!   the address chunk is halved.
//! - **rate limits and server errors** (HTTP 429, 5xx, JSON-RPC rate-limit errors):
//!   exponential backoff with jitter, honouring `Retry-After`, up to
//!   [`EvmRpcConfig::max_retries`] times, then the next endpoint.
//! - **transport errors, other HTTP errors, malformed answers**: the next endpoint at once.
//! - **a provider that keeps failing** (TronGrid's 30 s key suspension, a dead node): its
//!   circuit breaker opens after [`EvmRpcConfig::breaker_threshold`] failed calls in a row
//!   and it is skipped for [`EvmRpcConfig::breaker_cooldown`] (or the suspension it
//!   announced, if longer); then it is tried again, and calls return to the preferred
//!   (first) provider as soon as it answers.
//!
//! Each [`Provider`] has its own headers (an API key such as TronGrid's
//! `TRON-PRO-API-KEY`, never logged or shown by `Debug`), timeout and request-rate limit
//! (a token bucket: calls wait for a token rather than being refused).
//!
//! ```no_run
//! # async fn demo() -> Result<(), usdt_evm_rpc::RpcError> {
//! use usdt_evm_rpc::{EvmRpc, EvmRpcConfig};
//! let rpc = EvmRpc::new(EvmRpcConfig::new(
//!     vec!["https://mainnet.infura.io/v3/KEY", "https://eth.example.org"],
//!     "0xdAC17F958D2ee523a2206206994597C13D831ec7",
//! ))?;
//! let head = rpc.block_number().await?;
//! let watched = vec!["0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed".to_owned()];
//! for t in rpc.transfers(head.saturating_sub(100), head, &watched).await? {
//!     println!("{} received {} in block {} ({})", t.to, t.value, t.block_number, t.txid);
//! }
//! # Ok(()) }
//! ```

mod classify;
mod codec;
mod error;
mod span;
#[cfg(feature = "test-node")]
pub mod testnode;
mod transport;
#[cfg(feature = "test-node")]
pub mod trondouble;

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use error::RpcError;
pub use usdt_jsonrpc::Provider;

use span::SpanControl;
use transport::{CallFailure, Eth};
use usdt_jsonrpc::{Backoff, BreakerConfig, CallError, Transport};

/// `keccak256("Transfer(address,address,uint256)")`: topic 0 of every ERC-20 transfer log.
pub const TRANSFER_TOPIC: &str =
    "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";

/// How to reach the node(s) and what to ask for.
#[derive(Clone)]
pub struct EvmRpcConfig {
    /// The providers, in order of preference: each call goes to the first one whose
    /// circuit breaker is closed and fails over to the next ones.
    pub providers: Vec<Provider>,
    /// The token contract, `0x` + 40 hex of any case.
    pub token_contract: String,
    /// Timeout of one HTTP request (connect + answer).
    pub request_timeout: Duration,
    /// The initial and largest `eth_getLogs` block span (blocks per query), e.g. 2000.
    pub max_block_range: u64,
    /// The largest number of addresses in one query's topic OR-list, e.g. 500.
    pub max_addresses_per_query: usize,
    /// Retries of one endpoint after a rate limit or server error before failing over.
    pub max_retries: u32,
    /// Calls in a row a provider fails (each after its retries) before it is skipped.
    pub breaker_threshold: u32,
    /// How long a skipped provider stays skipped before it is tried again.
    pub breaker_cooldown: Duration,
}

impl EvmRpcConfig {
    /// A provider per URL (no headers or rate limits) and `token_contract` with the
    /// defaults: 10 s timeout, spans of 2000 blocks, 500 addresses per query, 5 retries, a
    /// provider skipped for 30 s after one failed call.
    pub fn new<U: Into<String>>(urls: Vec<U>, token_contract: impl Into<String>) -> Self {
        Self {
            providers: urls.into_iter().map(Provider::new).collect(),
            token_contract: token_contract.into(),
            request_timeout: Duration::from_secs(10),
            max_block_range: 2_000,
            max_addresses_per_query: 500,
            max_retries: 5,
            breaker_threshold: 1,
            breaker_cooldown: Duration::from_secs(30),
        }
    }
}

impl fmt::Debug for EvmRpcConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EvmRpcConfig")
            .field("providers", &self.providers)
            .field("token_contract", &self.token_contract)
            .field("request_timeout", &self.request_timeout)
            .field("max_block_range", &self.max_block_range)
            .field("max_addresses_per_query", &self.max_addresses_per_query)
            .field("max_retries", &self.max_retries)
            .field("breaker_threshold", &self.breaker_threshold)
            .field("breaker_cooldown", &self.breaker_cooldown)
            .finish()
    }
}

/// One ERC-20 `Transfer` log of the token.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TokenTransfer {
    /// The block's number.
    pub block_number: u64,
    /// The block's hash, `0x` + 64 lowercase hex.
    pub block_hash: String,
    /// The transaction hash, `0x` + 64 lowercase hex.
    pub txid: String,
    /// The log's index in its block.
    pub log_index: u64,
    /// The sender (topic 1), `0x` + 40 lowercase hex.
    pub from: String,
    /// The recipient (topic 2, cut from its 32 bytes), `0x` + 40 lowercase hex.
    pub to: String,
    /// The amount in base units: the log's `data`, one 32-byte word as `0x` + 64 hex,
    /// exactly as the node sent it (convert it with the component's `from-chain-units`).
    pub value: String,
    /// Whether the node flagged the log as removed by a reorg (`eth_getLogs` on the
    /// canonical chain normally never does).
    pub removed: bool,
}

/// The client. Cheap to clone (shared state: connection pool, current endpoint, adaptive
/// span). `Debug` shows the endpoints redacted.
#[derive(Clone)]
pub struct EvmRpc {
    inner: Arc<Inner>,
}

struct Inner {
    transport: Transport,
    /// The token contract, lowercase.
    token: String,
    span: SpanControl,
    /// Addresses per query; only ever shrinks (a provider's address limit is hard).
    addresses_per_query: AtomicUsize,
}

impl fmt::Debug for EvmRpc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EvmRpc")
            .field("endpoints", &self.inner.transport.labels())
            .field("token", &self.inner.token)
            .field("block_span", &self.inner.span.current())
            .field(
                "addresses_per_query",
                &self.inner.addresses_per_query.load(Ordering::Relaxed),
            )
            .field("backoff", &self.inner.transport.backoff)
            .finish()
    }
}

/// The filter object of `eth_getLogs`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LogFilter<'a> {
    address: &'a str,
    from_block: String,
    to_block: String,
    /// `[TRANSFER_TOPIC, null, [to1, to2, …]]`.
    topics: (&'static str, Option<()>, &'a [String]),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawLog {
    address: Option<String>,
    topics: Option<Vec<String>>,
    data: Option<String>,
    block_number: Option<String>,
    block_hash: Option<String>,
    transaction_hash: Option<String>,
    log_index: Option<String>,
    #[serde(default)]
    removed: Option<bool>,
}

#[derive(Deserialize)]
struct RawBlock {
    hash: Option<String>,
    number: Option<String>,
}

impl EvmRpc {
    /// A client for `config`. Checks the configuration; does not connect.
    pub fn new(config: EvmRpcConfig) -> Result<Self, RpcError> {
        let backoff = Backoff {
            max_retries: config.max_retries,
            initial: Duration::from_millis(250),
            max: Duration::from_secs(30),
        };
        let breaker = BreakerConfig {
            threshold: config.breaker_threshold.max(1),
            cooldown: config.breaker_cooldown,
        };
        let transport = Transport::new(&config.providers, config.request_timeout, backoff, breaker)
            .map_err(RpcError::Config)?;
        let token = codec::normalize_address(&config.token_contract).ok_or_else(|| {
            RpcError::Config(format!(
                "token_contract {:?} is not 0x + 40 hex digits",
                config.token_contract
            ))
        })?;
        if config.max_block_range == 0 {
            return Err(RpcError::Config("max_block_range is zero".into()));
        }
        if config.max_addresses_per_query == 0 {
            return Err(RpcError::Config("max_addresses_per_query is zero".into()));
        }
        Ok(Self {
            inner: Arc::new(Inner {
                transport,
                token,
                span: SpanControl::new(config.max_block_range),
                addresses_per_query: AtomicUsize::new(config.max_addresses_per_query),
            }),
        })
    }

    /// Change the backoff after a rate limit or server error: the first delay is about
    /// `initial` and doubles per retry up to `max` (each with jitter: between half and all
    /// of it). A `Retry-After` up to `max` is waited out; a longer one fails over at once.
    /// Defaults: 250 ms and 30 s. Call before cloning: clones made earlier keep theirs.
    #[must_use]
    pub fn with_backoff(mut self, initial: Duration, max: Duration) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.transport.backoff.initial = initial;
            inner.transport.backoff.max = max.max(initial);
        }
        self
    }

    /// Each endpoint, redacted (`#0 https://host/…`: no credentials, path or query), with
    /// the times it failed a call and was failed over from. Bounded by the configuration.
    pub fn endpoint_errors(&self) -> Vec<(String, u64)> {
        self.inner.transport.endpoint_errors()
    }

    /// The token contract, lowercase `0x` hex.
    pub fn token_contract(&self) -> &str {
        &self.inner.token
    }

    /// The current `eth_getLogs` block span (starts at `max_block_range`, adapts to the
    /// provider's limits).
    pub fn current_block_span(&self) -> u64 {
        self.inner.span.current()
    }

    /// The current number of addresses per `eth_getLogs` (starts at
    /// `max_addresses_per_query`, shrinks if a provider refuses that many).
    pub fn current_addresses_per_query(&self) -> usize {
        self.inner.addresses_per_query.load(Ordering::Relaxed)
    }

    /// The head block number (`eth_blockNumber`).
    pub async fn block_number(&self) -> Result<u64, RpcError> {
        self.inner
            .transport
            .call(&Eth::CALL, "eth_blockNumber", &(), |raw| {
                let text: String =
                    serde_json::from_str(raw).map_err(|e| format!("result {raw:?}: {e}"))?;
                codec::parse_quantity(&text)
            })
            .await
            .map_err(final_error)
    }

    /// The number of the newest finalized block (`eth_getBlockByNumber("finalized",
    /// false)`): on Ethereum the `finalized` tag, on TRON (java-tron 4.7.2 and later) the
    /// latest solidified block. `None` when the node has none.
    pub async fn finalized_block(&self) -> Result<Option<u64>, RpcError> {
        self.inner
            .transport
            .call(
                &Eth::CALL,
                "eth_getBlockByNumber",
                &("finalized", false),
                |raw| {
                    let block: Option<RawBlock> =
                        serde_json::from_str(raw).map_err(|e| format!("finalized block: {e}"))?;
                    let Some(block) = block else {
                        return Ok(None);
                    };
                    let number = block
                        .number
                        .ok_or_else(|| "finalized block has no number".to_owned())?;
                    codec::parse_quantity(&number).map(Some)
                },
            )
            .await
            .map_err(final_error)
    }

    /// The hash (`0x` + 64 lowercase hex) of block `number` on the node's canonical chain
    /// (`eth_getBlockByNumber(number, false)`), `None` when the node has no such block.
    pub async fn block_hash(&self, number: u64) -> Result<Option<String>, RpcError> {
        let params = (codec::quantity(number), false);
        self.inner
            .transport
            .call(&Eth::CALL, "eth_getBlockByNumber", &params, |raw| {
                let block: Option<RawBlock> =
                    serde_json::from_str(raw).map_err(|e| format!("block {number}: {e}"))?;
                let Some(block) = block else {
                    return Ok(None);
                };
                let hash = block
                    .hash
                    .ok_or_else(|| format!("block {number} has no hash"))?;
                let got = block
                    .number
                    .ok_or_else(|| format!("block {number} has no number"))?;
                if codec::parse_quantity(&got)? != number {
                    return Err(format!("asked for block {number}, got block {got}"));
                }
                codec::parse_hash(&hash).map(Some)
            })
            .await
            .map_err(final_error)
    }

    /// The token's `Transfer` logs whose recipient (topic 2) is one of `to_addresses`
    /// (`0x` + 40 hex, any case; duplicates are fine), in blocks `from..=to`, ordered by
    /// (block, log index).
    ///
    /// Either every matching log of the whole range is returned or the call fails. The
    /// addresses are queried in chunks of `max_addresses_per_query` and the range in spans
    /// of the current block span, one `eth_getLogs` per chunk and span, one after the
    /// other. A call over many spans can straddle a reorg: if two answers disagree about a
    /// block's hash it fails with [`RpcError::Inconsistent`]; otherwise each transfer
    /// carries its block's hash for the caller to check against the canonical chain.
    pub async fn transfers(
        &self,
        from: u64,
        to: u64,
        to_addresses: &[String],
    ) -> Result<Vec<TokenTransfer>, RpcError> {
        if from > to {
            return Err(RpcError::InvalidArgument(format!(
                "from block {from} is after to block {to}"
            )));
        }
        let mut addresses = BTreeSet::new();
        for address in to_addresses {
            let lower = codec::normalize_address(address).ok_or_else(|| {
                RpcError::InvalidArgument(format!(
                    "watched address {address:?} is not 0x + 40 hex digits"
                ))
            })?;
            addresses.insert(lower);
        }
        // Sorted, so a chunk's topics are sorted too (binary search when validating).
        let topics: Vec<String> = addresses.iter().map(|a| codec::address_topic(a)).collect();

        let mut transfers = Vec::new();
        let mut done = 0usize;
        while done < topics.len() {
            let size = self
                .inner
                .addresses_per_query
                .load(Ordering::Relaxed)
                .max(1);
            let end = done.saturating_add(size).min(topics.len());
            let chunk = topics.get(done..end).unwrap_or_default();
            match self.chunk_transfers(from, to, chunk).await {
                Ok(found) => {
                    transfers.extend(found);
                    done = end;
                }
                Err(ChunkError::TooManyAddresses { code, message }) => {
                    if chunk.len() <= 1 {
                        return Err(RpcError::JsonRpc {
                            endpoint: "(any)".into(),
                            method: "eth_getLogs".into(),
                            code,
                            message,
                            data: None,
                        });
                    }
                    let smaller = (chunk.len() / 2).max(1);
                    tracing::warn!(
                        addresses = chunk.len(),
                        now = smaller,
                        "eth_getLogs refused the address list as too long; splitting it"
                    );
                    self.inner
                        .addresses_per_query
                        .fetch_min(smaller, Ordering::Relaxed);
                }
                Err(ChunkError::Rpc(e)) => return Err(e),
            }
        }
        check_consistency(&mut transfers)?;
        Ok(transfers)
    }

    /// All logs of `from..=to` for one chunk of address topics.
    async fn chunk_transfers(
        &self,
        from: u64,
        to: u64,
        chunk: &[String],
    ) -> Result<Vec<TokenTransfer>, ChunkError> {
        let mut found = Vec::new();
        let mut start = from;
        loop {
            let span = self.inner.span.current();
            let end = start.saturating_add(span - 1).min(to);
            let filter = LogFilter {
                address: &self.inner.token,
                from_block: codec::quantity(start),
                to_block: codec::quantity(end),
                topics: (TRANSFER_TOPIC, None, chunk),
            };
            let token = self.inner.token.as_str();
            let result = self
                .inner
                .transport
                .call(&Eth::GET_LOGS, "eth_getLogs", &[&filter], |raw| {
                    decode_logs(raw, start, end, token, chunk)
                })
                .await
                .map_err(CallFailure::from);
            match result {
                Ok(logs) => {
                    self.inner.span.success();
                    found.extend(logs);
                    if end >= to {
                        return Ok(found);
                    }
                    start = end + 1;
                }
                Err(CallFailure::RangeTooLarge {
                    code,
                    message,
                    hint,
                }) => {
                    let used = (end - start).saturating_add(1);
                    if used <= 1 {
                        return Err(ChunkError::Rpc(RpcError::RangeTooLarge {
                            block: start,
                            code,
                            message,
                        }));
                    }
                    let next = self.inner.span.too_large(used, hint);
                    tracing::debug!(
                        from = start,
                        to = end,
                        next_span = next,
                        "eth_getLogs too large ({code}: {message}); splitting"
                    );
                }
                Err(CallFailure::TooManyAddresses { code, message }) => {
                    return Err(ChunkError::TooManyAddresses { code, message });
                }
                Err(CallFailure::Error(e)) => return Err(ChunkError::Rpc(e)),
            }
        }
    }
}

enum ChunkError {
    TooManyAddresses { code: i64, message: String },
    Rpc(RpcError),
}

/// A failure of a call that has no range or address class to act on.
fn final_error(failure: CallError<CallFailure>) -> RpcError {
    match CallFailure::from(failure) {
        CallFailure::Error(e) => e,
        // Only eth_getLogs classifies these; keep them as plain JSON-RPC errors elsewhere.
        CallFailure::RangeTooLarge { code, message, .. }
        | CallFailure::TooManyAddresses { code, message } => RpcError::JsonRpc {
            endpoint: "(any)".into(),
            method: String::new(),
            code,
            message,
            data: None,
        },
    }
}

/// Decode and validate an `eth_getLogs` result for blocks `start..=end` and the address
/// topics `chunk` (sorted).
fn decode_logs(
    raw: &str,
    start: u64,
    end: u64,
    token: &str,
    chunk: &[String],
) -> Result<Vec<TokenTransfer>, String> {
    let logs: Vec<RawLog> =
        serde_json::from_str(raw).map_err(|e| format!("eth_getLogs result: {e}"))?;
    logs.into_iter()
        .enumerate()
        .map(|(i, log)| {
            decode_log(log, start, end, token, chunk).map_err(|e| format!("log #{i}: {e}"))
        })
        .collect()
}

fn decode_log(
    log: RawLog,
    start: u64,
    end: u64,
    token: &str,
    chunk: &[String],
) -> Result<TokenTransfer, String> {
    fn field(value: Option<String>, name: &str) -> Result<String, String> {
        value.ok_or_else(|| format!("no {name}"))
    }
    let address = field(log.address, "address")?;
    if codec::normalize_address(&address).as_deref() != Some(token) {
        return Err(format!(
            "address {address} is not the token contract {token}"
        ));
    }
    let block_number =
        codec::parse_quantity(&field(log.block_number, "blockNumber (pending log?)")?)?;
    if block_number < start || block_number > end {
        return Err(format!(
            "block {block_number} is outside the queried {start}..={end}"
        ));
    }
    let block_hash = codec::parse_hash(&field(log.block_hash, "blockHash")?)?;
    let txid = codec::parse_hash(&field(log.transaction_hash, "transactionHash")?)?;
    let log_index = codec::parse_quantity(&field(log.log_index, "logIndex")?)?;
    let topics = field_topics(log.topics)?;
    let [topic0, topic1, topic2] = topics.as_slice() else {
        return Err(format!("{} topics, a Transfer log has 3", topics.len()));
    };
    if !topic0.eq_ignore_ascii_case(TRANSFER_TOPIC) {
        return Err(format!(
            "topic 0 {topic0} is not Transfer(address,address,uint256)"
        ));
    }
    let from = codec::topic_address(topic1)?;
    let to = codec::topic_address(topic2)?;
    if chunk.binary_search(&codec::address_topic(&to)).is_err() {
        return Err(format!(
            "recipient {to} is not one of the queried addresses"
        ));
    }
    let value = field(log.data, "data")?;
    if !codec::is_word(&value) {
        return Err(format!(
            "data {value:?} is not one 32-byte word (0x + 64 hex)"
        ));
    }
    Ok(TokenTransfer {
        block_number,
        block_hash,
        txid,
        log_index,
        from,
        to,
        value,
        removed: log.removed.unwrap_or(false),
    })
}

fn field_topics(topics: Option<Vec<String>>) -> Result<Vec<String>, String> {
    topics.ok_or_else(|| "no topics".to_owned())
}

/// Sort by (block, log index) and check that the merged answers agree: one hash per block
/// number, no log twice.
fn check_consistency(transfers: &mut [TokenTransfer]) -> Result<(), RpcError> {
    transfers.sort_by_key(|t| (t.block_number, t.log_index));
    for pair in transfers.windows(2) {
        let [a, b] = pair else { continue };
        if a.block_number != b.block_number {
            continue;
        }
        if a.block_hash != b.block_hash {
            return Err(RpcError::Inconsistent(format!(
                "block {} was answered with hashes {} and {} (reorg during the query?)",
                a.block_number, a.block_hash, b.block_hash
            )));
        }
        if a.log_index == b.log_index {
            return Err(RpcError::Inconsistent(format!(
                "log {} of block {} was returned twice",
                a.log_index, a.block_number
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "0xdac17f958d2ee523a2206206994597c13d831ec7";
    const TO: &str = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed";

    fn log_json(overrides: &[(&str, serde_json::Value)]) -> String {
        let mut log = serde_json::json!({
            "address": "0xdAC17F958D2ee523a2206206994597C13D831ec7",
            "topics": [
                TRANSFER_TOPIC,
                "0x000000000000000000000000f39fd6e51aad88f6f4ce6ab8827279cfffb92266",
                codec::address_topic(TO),
            ],
            "data": "0x00000000000000000000000000000000000000000000000000000000000f4240",
            "blockNumber": "0x10",
            "blockHash": format!("0x{}", "AB".repeat(32)),
            "transactionHash": format!("0x{}", "cd".repeat(32)),
            "transactionIndex": "0x0",
            "logIndex": "0x3",
            "removed": false
        });
        for (key, value) in overrides {
            if value.is_null() {
                log.as_object_mut().unwrap().remove(*key);
            } else {
                log[*key] = value.clone();
            }
        }
        format!("[{log}]")
    }

    fn decode(raw: &str) -> Result<Vec<TokenTransfer>, String> {
        decode_logs(raw, 0x10, 0x20, TOKEN, &[codec::address_topic(TO)])
    }

    #[test]
    fn decodes_a_transfer() {
        let got = decode(&log_json(&[])).unwrap();
        assert_eq!(
            got,
            vec![TokenTransfer {
                block_number: 16,
                block_hash: format!("0x{}", "ab".repeat(32)),
                txid: format!("0x{}", "cd".repeat(32)),
                log_index: 3,
                from: "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266".into(),
                to: TO.into(),
                value: "0x00000000000000000000000000000000000000000000000000000000000f4240".into(),
                removed: false,
            }]
        );
        assert_eq!(decode("[]").unwrap(), vec![]);
    }

    #[test]
    fn rejects_malformed_logs() {
        use serde_json::{Value, json};
        let other = "0x0000000000000000000000001111111111111111111111111111111111111111";
        let cases: Vec<(&str, Value)> = vec![
            (
                "address",
                json!("0x1111111111111111111111111111111111111111"),
            ),
            ("address", Value::Null),
            ("blockNumber", Value::Null),
            ("blockNumber", json!("0xf")),
            ("blockNumber", json!("0x21")),
            ("blockNumber", json!("0x10000000000000010")),
            ("blockNumber", json!(16)),
            ("blockHash", Value::Null),
            ("blockHash", json!("0xabcd")),
            ("transactionHash", json!("0x")),
            ("logIndex", json!("3")),
            ("logIndex", Value::Null),
            ("data", json!("0x")),
            ("data", json!("0x0f4240")),
            ("data", json!(format!("0x{}", "0".repeat(128)))),
            ("data", Value::Null),
            ("topics", json!([TRANSFER_TOPIC, other])),
            (
                "topics",
                json!([TRANSFER_TOPIC, other, codec::address_topic(TO), other]),
            ),
            ("topics", json!([other, other, codec::address_topic(TO)])),
            ("topics", json!([TRANSFER_TOPIC, other, other])),
            (
                "topics",
                json!([TRANSFER_TOPIC, "0x01", codec::address_topic(TO)]),
            ),
            (
                "topics",
                json!([
                    TRANSFER_TOPIC,
                    other,
                    format!("0xff{}", &codec::address_topic(TO)[4..])
                ]),
            ),
            ("removed", json!("no")),
        ];
        for (key, value) in cases {
            let raw = log_json(&[(key, value.clone())]);
            assert!(decode(&raw).is_err(), "{key} = {value} accepted");
        }
        assert!(decode("{}").is_err());
        assert!(decode("null").is_err());
    }

    #[test]
    fn consistency() {
        let t = |block: u64, index: u64, hash: &str| TokenTransfer {
            block_number: block,
            block_hash: hash.into(),
            txid: String::new(),
            log_index: index,
            from: String::new(),
            to: String::new(),
            value: String::new(),
            removed: false,
        };
        let mut ok = vec![t(2, 0, "b"), t(1, 5, "a"), t(1, 1, "a")];
        check_consistency(&mut ok).unwrap();
        assert_eq!(
            ok.iter()
                .map(|t| (t.block_number, t.log_index))
                .collect::<Vec<_>>(),
            vec![(1, 1), (1, 5), (2, 0)]
        );
        assert!(matches!(
            check_consistency(&mut [t(1, 0, "a"), t(1, 1, "b")]),
            Err(RpcError::Inconsistent(_))
        ));
        assert!(matches!(
            check_consistency(&mut [t(1, 0, "a"), t(1, 0, "a")]),
            Err(RpcError::Inconsistent(_))
        ));
    }

    #[test]
    fn config_checks_and_redacted_debug() {
        let mut good = EvmRpcConfig::new(vec!["https://user:pw@node.example/v3/secretkey"], TOKEN);
        good.providers[0]
            .headers
            .push(("TRON-PRO-API-KEY".into(), "headerkey-0123".into()));
        let rpc = EvmRpc::new(good.clone()).unwrap();
        for text in [format!("{rpc:?}"), format!("{good:?}")] {
            assert!(
                !text.contains("secretkey") && !text.contains("pw") && !text.contains("headerkey"),
                "{text}"
            );
            assert!(text.contains("node.example"), "{text}");
        }
        assert!(format!("{good:?}").contains("TRON-PRO-API-KEY: [redacted]"));
        let bad = |f: &dyn Fn(&mut EvmRpcConfig)| {
            let mut c = good.clone();
            f(&mut c);
            matches!(EvmRpc::new(c), Err(RpcError::Config(_)))
        };
        assert!(bad(&|c| c.providers.clear()));
        assert!(bad(&|c| c
            .providers
            .push(Provider::new("ftp://node.example"))));
        assert!(bad(&|c| c
            .providers
            .push(Provider::new("node.example:8545"))));
        assert!(bad(&|c| c.providers[0].timeout = Some(Duration::ZERO)));
        assert!(bad(&|c| c.providers[0]
            .headers
            .push(("bad name".into(), "v".into()))));
        assert!(bad(&|c| c.providers[0]
            .headers
            .push(("X-Key".into(), "line\nbreak".into()))));
        assert!(bad(&|c| c.token_contract = "0x1234".into()));
        assert!(bad(&|c| c.request_timeout = Duration::ZERO));
        assert!(bad(&|c| c.max_block_range = 0));
        assert!(bad(&|c| c.max_addresses_per_query = 0));
        let err = EvmRpc::new(EvmRpcConfig::new(
            vec!["https://user:pw@[bad/v3/secretkey"],
            TOKEN,
        ))
        .unwrap_err();
        assert!(!err.to_string().contains("secretkey"), "{err}");
        let mut leaky = good.clone();
        leaky.providers[0]
            .headers
            .push(("X-Key".into(), "secret\u{7f}value".into()));
        let err = EvmRpc::new(leaky).unwrap_err().to_string();
        assert!(!err.contains("secret"), "{err}");
    }
}
