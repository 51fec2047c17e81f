//! `usdt-omni-rpc`: an Omni Core JSON-RPC client for USDT deposits on the Omni Layer.
//!
//! It reads what a deposit watcher needs from an Omni Core node (a Bitcoin Core fork,
//! spoken to in Bitcoin Core's JSON-RPC 1.0 dialect with HTTP basic auth): the head height
//! (`getblockcount`), a height's block hash (`getblockhash`), and the valid Simple Sends
//! of USDT (property 31) whose `referenceaddress` is a watched address, found with
//! `omni_listblocktransactions <height>` and `omni_gettransaction <txid>` for each
//! transaction listed. The answers' shapes are Omni Core's documented ones
//! (`src/omnicore/doc/rpc-api.md`, "omni_gettransaction", "omni_listblocktransactions",
//! and the fields `populateRPCTransactionObject` adds in `src/omnicore/rpctxobject.cpp`:
//! `propertyid`, `divisible`, `amount`, `blockhash`, `block`, `positioninblock`,
//! `invalidreason`).
//!
//! Exactness first: a block range is answered completely or the call fails. Each
//! transaction's `blockhash` must be the hash read for its height, and the height's hash
//! is read again after its transactions: a transaction reported in another block, or a
//! hash that changed, means the chain moved, and the call fails with
//! [`OmniRpcError::Inconsistent`]. Amounts are read from their 8-decimal text into integer
//! base units; anything else fails the call ([`OmniRpcError::Malformed`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), usdt_omni_rpc::OmniRpcError> {
//! use usdt_omni_rpc::{Credentials, OmniRpc, OmniRpcConfig};
//! let rpc = OmniRpc::new(OmniRpcConfig::new(
//!     vec!["http://127.0.0.1:8332".into()],
//!     Some(Credentials::new("omnicorerpc", "the rpcpassword")),
//! ))?;
//! let head = rpc.block_count().await?;
//! let watched = vec!["1JS51WwUfvkNsHWNBqwyhQz23ZZKCD3VWb".to_owned()];
//! for t in rpc.transfers(head.saturating_sub(6), head, &watched).await? {
//!     println!("{} received {} base units in block {} ({})", t.to, t.amount, t.block_number, t.txid);
//! }
//! # Ok(()) }
//! ```

mod amount;
mod error;
#[cfg(feature = "test-node")]
pub mod testnode;
mod transport;

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

pub use amount::parse_amount;
pub use error::OmniRpcError;

use transport::BitcoinCore;
use usdt_jsonrpc::{Backoff, BreakerConfig, Transport, redact_url};

/// Tether's USDT on the Omni Layer: property 31 of the main ecosystem.
pub const USDT_PROPERTY_ID: u32 = 31;

/// Decimals of a divisible Omni property's amounts (USDT is divisible).
pub const DECIMALS: u8 = 8;

/// The `type_int` of a Simple Send (`MSC_TYPE_SIMPLE_SEND`, `src/omnicore/omnicore.h`).
const SIMPLE_SEND: u64 = 0;

/// Bitcoin Core's `RPC_INVALID_PARAMETER`: `getblockhash` answers it with `Block height
/// out of range` (`src/rpc/blockchain.cpp`).
const RPC_INVALID_PARAMETER: i64 = -8;

/// An RPC user and password (`rpcuser`/`rpcpassword` of the node). `Debug` shows neither.
#[derive(Clone)]
pub struct Credentials {
    user: String,
    password: String,
}

impl Credentials {
    /// The node's `rpcuser` and `rpcpassword` (or a `-rpcauth` pair).
    pub fn new(user: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            user: user.into(),
            password: password.into(),
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credentials([redacted])")
    }
}

/// How to reach the node(s) and what to look for.
#[derive(Clone)]
pub struct OmniRpcConfig {
    /// JSON-RPC endpoints (`http`/`https`), in order of preference: each call goes to the
    /// first one whose circuit breaker is closed and fails over to the next ones. A URL
    /// may carry `user:password@` instead of [`OmniRpcConfig::credentials`]; neither is
    /// ever logged or shown by `Debug`.
    pub urls: Vec<String>,
    /// Basic-auth credentials sent to every endpoint.
    pub credentials: Option<Credentials>,
    /// The property whose Simple Sends count ([`USDT_PROPERTY_ID`] on mainnet).
    pub property_id: u32,
    /// Timeout of one HTTP request (connect + answer).
    pub request_timeout: Duration,
    /// Retries of one endpoint that is overloaded or warming up before failing over.
    pub max_retries: u32,
    /// Calls in a row a node fails (each after its retries) before it is skipped.
    pub breaker_threshold: u32,
    /// How long a skipped node stays skipped before it is tried again.
    pub breaker_cooldown: Duration,
}

impl OmniRpcConfig {
    /// `urls` and `credentials` with the defaults: property 31, 10 s timeout, 5 retries, a
    /// node skipped for 30 s after one failed call.
    pub fn new(urls: Vec<String>, credentials: Option<Credentials>) -> Self {
        Self {
            urls,
            credentials,
            property_id: USDT_PROPERTY_ID,
            request_timeout: Duration::from_secs(10),
            max_retries: 5,
            breaker_threshold: 1,
            breaker_cooldown: Duration::from_secs(30),
        }
    }
}

impl fmt::Debug for OmniRpcConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OmniRpcConfig")
            .field(
                "urls",
                &self.urls.iter().map(|u| redact_url(u)).collect::<Vec<_>>(),
            )
            .field("credentials", &self.credentials)
            .field("property_id", &self.property_id)
            .field("request_timeout", &self.request_timeout)
            .field("max_retries", &self.max_retries)
            .field("breaker_threshold", &self.breaker_threshold)
            .field("breaker_cooldown", &self.breaker_cooldown)
            .finish()
    }
}

/// One valid Simple Send of the property to a watched address.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OmniTransfer {
    /// The block's height.
    pub block_number: u64,
    /// The block's hash, 64 lowercase hex (Bitcoin's display order, no `0x`).
    pub block_hash: String,
    /// The transaction id, 64 lowercase hex.
    pub txid: String,
    /// The transaction's position in its block (`positioninblock`; 0 when absent).
    pub position_in_block: u64,
    /// The sender (`sendingaddress`).
    pub from: String,
    /// The receiver (`referenceaddress`), exactly as the node wrote it.
    pub to: String,
    /// The amount in base units (1e-8), read exactly from its decimal text.
    pub amount: u64,
}

/// The client. Cheap to clone (shared connection pool and circuit breakers). `Debug`
/// shows the endpoints redacted.
#[derive(Clone)]
pub struct OmniRpc {
    inner: Arc<Inner>,
}

struct Inner {
    transport: Transport,
    property_id: u32,
}

impl fmt::Debug for OmniRpc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OmniRpc")
            .field("endpoints", &self.inner.transport.labels())
            .field("property_id", &self.inner.property_id)
            .field("backoff", &self.inner.transport.backoff)
            .finish()
    }
}

/// The fields of an `omni_gettransaction` answer this client reads; others are ignored.
#[derive(Deserialize)]
struct RawTransaction {
    txid: Option<String>,
    sendingaddress: Option<String>,
    referenceaddress: Option<String>,
    valid: Option<bool>,
    invalidreason: Option<String>,
    type_int: Option<u64>,
    #[serde(rename = "type")]
    kind: Option<String>,
    propertyid: Option<u64>,
    divisible: Option<bool>,
    amount: Option<String>,
    blockhash: Option<String>,
    block: Option<u64>,
    positioninblock: Option<u64>,
}

impl OmniRpc {
    /// A client for `config`. Checks the configuration; does not connect.
    pub fn new(config: OmniRpcConfig) -> Result<Self, OmniRpcError> {
        let providers = config
            .urls
            .iter()
            .enumerate()
            .map(|(i, url)| transport::provider(i, url, config.credentials.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        let backoff = Backoff {
            max_retries: config.max_retries,
            initial: Duration::from_millis(250),
            max: Duration::from_secs(30),
        };
        let breaker = BreakerConfig {
            threshold: config.breaker_threshold.max(1),
            cooldown: config.breaker_cooldown,
        };
        let transport = Transport::new(&providers, config.request_timeout, backoff, breaker)
            .map_err(OmniRpcError::Config)?;
        Ok(Self {
            inner: Arc::new(Inner {
                transport,
                property_id: config.property_id,
            }),
        })
    }

    /// Change the backoff after an overload: about `initial` first, doubling per retry up
    /// to `max`, each with jitter. Defaults: 250 ms and 30 s. Call before cloning.
    #[must_use]
    pub fn with_backoff(mut self, initial: Duration, max: Duration) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.transport.backoff.initial = initial;
            inner.transport.backoff.max = max.max(initial);
        }
        self
    }

    /// Each endpoint, redacted (`#0 http://***@host:8332`), with the calls it failed.
    pub fn endpoint_errors(&self) -> Vec<(String, u64)> {
        self.inner.transport.endpoint_errors()
    }

    /// The property whose Simple Sends count.
    pub fn property_id(&self) -> u32 {
        self.inner.property_id
    }

    /// The height of the node's best chain (`getblockcount`).
    pub async fn block_count(&self) -> Result<u64, OmniRpcError> {
        self.inner
            .transport
            .call(&BitcoinCore, "getblockcount", &[(); 0], |raw| {
                serde_json::from_str::<u64>(raw).map_err(|e| format!("block count {raw:?}: {e}"))
            })
            .await
            .map_err(OmniRpcError::from)
    }

    /// The hash of the block at `height` on the node's best chain (`getblockhash`), `None`
    /// when the chain is not that high (`-8 Block height out of range`).
    pub async fn block_hash(&self, height: u64) -> Result<Option<String>, OmniRpcError> {
        let result = self
            .inner
            .transport
            .call(&BitcoinCore, "getblockhash", &[height], |raw| {
                let text: String =
                    serde_json::from_str(raw).map_err(|e| format!("block hash {raw:?}: {e}"))?;
                check_hash(&text).map(|()| text)
            })
            .await
            .map_err(OmniRpcError::from);
        match result {
            Ok(hash) => Ok(Some(hash)),
            Err(OmniRpcError::JsonRpc { code, .. }) if code == RPC_INVALID_PARAMETER => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Valid Simple Sends of the property whose `referenceaddress` is one of `watched`
    /// (exact strings; duplicates are fine), in blocks `from..=to`, ordered by block and
    /// position. Either the whole range is answered or the call fails.
    ///
    /// Per height: `getblockhash`, `omni_listblocktransactions`, `omni_gettransaction` for
    /// every transaction listed (each must report that block hash and height), then
    /// `getblockhash` again (it must not have changed). Only transactions with
    /// `valid: true`, `type_int` 0, `type` `"Simple Send"` (a crowdsale purchase has type 0
    /// too) and the property count; an indivisible property or a malformed amount fails
    /// the call.
    pub async fn transfers(
        &self,
        from: u64,
        to: u64,
        watched: &[String],
    ) -> Result<Vec<OmniTransfer>, OmniRpcError> {
        if from > to {
            return Err(OmniRpcError::InvalidArgument(format!(
                "from block {from} is after to block {to}"
            )));
        }
        if watched.iter().any(String::is_empty) {
            return Err(OmniRpcError::InvalidArgument(
                "a watched address is empty".into(),
            ));
        }
        let watched: HashSet<&str> = watched.iter().map(String::as_str).collect();
        let mut found = Vec::new();
        for height in from..=to {
            let hash = self.block_hash(height).await?.ok_or_else(|| {
                OmniRpcError::Inconsistent(format!(
                    "block {height} is no longer on the node's chain"
                ))
            })?;
            for txid in self.block_transactions(height).await? {
                let tx = self.transaction(&txid).await?;
                if let Some(transfer) = self.judge(&txid, tx, height, &hash, &watched)? {
                    found.push(transfer);
                }
            }
            let again = self.block_hash(height).await?;
            if again.as_deref() != Some(hash.as_str()) {
                return Err(OmniRpcError::Inconsistent(format!(
                    "block {height} was {hash} and is now {again:?}"
                )));
            }
        }
        found.sort_by_key(|t| (t.block_number, t.position_in_block));
        Ok(found)
    }

    /// `omni_listblocktransactions`: the Omni transactions of the block at `height`.
    async fn block_transactions(&self, height: u64) -> Result<Vec<String>, OmniRpcError> {
        self.inner
            .transport
            .call(
                &BitcoinCore,
                "omni_listblocktransactions",
                &[height],
                |raw| {
                    let txids: Vec<String> = serde_json::from_str(raw)
                        .map_err(|e| format!("block {height} transactions: {e}"))?;
                    for txid in &txids {
                        check_hash(txid)?;
                    }
                    Ok(txids)
                },
            )
            .await
            .map_err(OmniRpcError::from)
    }

    /// `omni_gettransaction`.
    async fn transaction(&self, txid: &str) -> Result<RawTransaction, OmniRpcError> {
        self.inner
            .transport
            .call(&BitcoinCore, "omni_gettransaction", &[txid], |raw| {
                let tx: RawTransaction =
                    serde_json::from_str(raw).map_err(|e| format!("transaction {txid}: {e}"))?;
                if tx.txid.as_deref() != Some(txid) {
                    return Err(format!("asked for transaction {txid}, got {:?}", tx.txid));
                }
                Ok(tx)
            })
            .await
            .map_err(OmniRpcError::from)
    }

    /// Whether `tx`, listed in block `height` (`hash`), is a transfer to count.
    fn judge(
        &self,
        txid: &str,
        tx: RawTransaction,
        height: u64,
        hash: &str,
        watched: &HashSet<&str>,
    ) -> Result<Option<OmniTransfer>, OmniRpcError> {
        let malformed = |detail: String| OmniRpcError::Malformed {
            endpoint: "(any)".into(),
            method: "omni_gettransaction".into(),
            detail,
        };
        // A confirmed transaction has `blockhash` (rpctxobject.cpp pushes it only when
        // confirmations != 0): none, or another one, means the chain moved.
        match tx.blockhash.as_deref() {
            Some(h) if h == hash => {}
            other => {
                return Err(OmniRpcError::Inconsistent(format!(
                    "transaction {txid} listed in block {height} ({hash}) reports block {other:?}"
                )));
            }
        }
        if tx.block.is_some_and(|b| b != height) {
            return Err(OmniRpcError::Inconsistent(format!(
                "transaction {txid} listed in block {height} reports height {:?}",
                tx.block
            )));
        }
        let Some(valid) = tx.valid else {
            return Err(malformed(format!(
                "confirmed transaction {txid} has no `valid`"
            )));
        };
        let simple_send =
            tx.type_int == Some(SIMPLE_SEND) && tx.kind.as_deref() == Some("Simple Send");
        let ours = tx.propertyid == Some(u64::from(self.inner.property_id));
        let Some(to) = tx
            .referenceaddress
            .filter(|to| watched.contains(to.as_str()))
        else {
            return Ok(None);
        };
        if !simple_send || !ours {
            return Ok(None);
        }
        if !valid {
            tracing::info!(
                txid,
                to,
                reason = tx.invalidreason.as_deref().unwrap_or(""),
                "invalid Omni Simple Send to a watched address; not counted"
            );
            return Ok(None);
        }
        if tx.divisible == Some(false) {
            return Err(malformed(format!(
                "property {} is reported indivisible in {txid}",
                self.inner.property_id
            )));
        }
        let text = tx
            .amount
            .ok_or_else(|| malformed(format!("Simple Send {txid} has no amount")))?;
        let amount = parse_amount(&text).map_err(|e| malformed(format!("{txid}: {e}")))?;
        Ok(Some(OmniTransfer {
            block_number: height,
            block_hash: hash.to_owned(),
            txid: txid.to_owned(),
            position_in_block: tx.positioninblock.unwrap_or(0),
            from: tx.sendingaddress.unwrap_or_default(),
            to,
            amount,
        }))
    }
}

/// A block hash or txid as Bitcoin Core writes it: 64 lowercase hex digits.
fn check_hash(text: &str) -> Result<(), String> {
    if text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        Ok(())
    } else {
        Err(format!("{text:?} is not 64 lowercase hex digits"))
    }
}
