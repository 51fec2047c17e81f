//! Chains: the chain-source port — what the watcher reads from a chain (its head, a
//! block's hash, the token transfers to watched addresses) — and each watcher's cursor
//! as the operator sees it. The embedded dev chain, an EVM node and an Omni Core node
//! are sources; the watcher needs nothing else.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::ids::ChainName;
use crate::rules::Chain;

/// A chain watcher's cursor, as the operator sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CursorRecord {
    /// The chain.
    pub chain: ChainName,
    /// The head the watcher last saw.
    pub head: i64,
    /// The first block not yet scanned.
    pub next_block: i64,
    /// When the cursor last moved (Unix ms).
    pub updated_at: i64,
}

impl CursorRecord {
    /// How many blocks the watcher is behind the head it last saw.
    pub fn lag(&self) -> i64 {
        (self.head - (self.next_block - 1)).max(0)
    }
}

/// One token transfer as a chain reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transfer {
    /// The transaction id.
    pub txid: String,
    /// The transfer's index in its block's logs (on Omni, with one transfer per
    /// transaction: the transaction's position in its block).
    pub log_index: u64,
    /// The block holding it.
    pub block_number: u64,
    /// That block's hash.
    pub block_hash: String,
    /// The receiving address in the source's watch form (see [`ChainSource::watch_form`]).
    pub to: String,
    /// The on-chain integer value (decimal or `0x` hex text), in the token's base units.
    pub value: String,
}

/// Why a source could not answer, as the watcher needs to know it.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The node could not be reached, or failed in a way a later call may not: wait and
    /// call again — at least `retry_after` when the node asked for it.
    #[error("{message}")]
    Unavailable {
        /// What failed (endpoints redacted).
        message: String,
        /// The longest `Retry-After` a node asked for.
        retry_after: Option<Duration>,
    },
    /// The node answered something the gateway cannot use (a JSON-RPC error, a
    /// malformed or inconsistent answer): retried, but an operator should look.
    #[error("{0}")]
    Invalid(String),
    /// The gateway's own side failed (its database for the dev chain, the component,
    /// a configuration the client refused).
    #[error(transparent)]
    Fault(Box<dyn std::error::Error + Send + Sync>),
}

impl SourceError {
    /// The wait the node asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Unavailable { retry_after, .. } => *retry_after,
            Self::Invalid(_) | Self::Fault(_) => None,
        }
    }
}

/// What a source call answers.
pub type SourceResult<'a, T> = Pin<Box<dyn Future<Output = Result<T, SourceError>> + Send + 'a>>;

/// A chain the watcher reads: the embedded dev chain, an EVM node, an Omni Core node —
/// or any other that answers these.
pub trait ChainSource: fmt::Debug + Send + Sync {
    /// The chain this source watches.
    fn chain(&self) -> Chain;

    /// The token's decimals on this chain.
    fn decimals(&self) -> u8;

    /// How this source names addresses in [`ChainSource::transfers`].
    fn watch_form(&self) -> WatchForm {
        WatchForm::Canonical
    }

    /// Each node endpoint, redacted, with the calls it failed (none for the dev chain).
    fn endpoint_errors(&self) -> Vec<(String, u64)> {
        Vec::new()
    }

    /// The newest block.
    fn head(&self) -> SourceResult<'_, u64>;

    /// The newest finalized block, for a chain confirmed by finality: the node's
    /// `finalized` block (TRON: the latest solidified block). The dev chain and Bitcoin
    /// (OMNI) have no finality: `None` (the configuration refuses `finalized` for OMNI).
    fn finalized(&self) -> SourceResult<'_, Option<u64>> {
        Box::pin(async { Ok(None) })
    }

    /// The hash of the canonical block at `number`, if the chain has one.
    fn block_hash(&self, number: u64) -> SourceResult<'_, Option<String>>;

    /// Transfers of the token to any of `watched` (in watch form) in blocks
    /// `from..=to`, complete or an error: a range is never partly returned.
    fn transfers<'a>(
        &'a self,
        from: u64,
        to: u64,
        watched: &'a [String],
    ) -> SourceResult<'a, Vec<Transfer>>;
}

/// A source, shared by its watcher and the metrics.
pub type Source = Arc<dyn ChainSource>;

/// How a source names addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WatchForm {
    /// The canonical address, as orders store it.
    Canonical,
    /// `0x` + 40 lowercase hex, the form EVM logs use (the component's `evm-hex`).
    EvmHex,
}
