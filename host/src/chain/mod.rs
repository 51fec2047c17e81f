//! Where deposits come from: a chain source answers the head height, the hash of a block,
//! and the token transfers to watched addresses in a block range. The watcher
//! (`crate::watcher`) needs nothing else, so the embedded dev chain, a real EVM node and
//! an Omni Core node are interchangeable.

pub mod dev;
pub mod evm;
pub mod omni;

use crate::rules::Chain;

pub use dev::DevChain;
pub use evm::EvmSource;
pub use omni::OmniSource;

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
    /// The receiving address in the source's watch form (see [`Source::watch_form`]).
    pub to: String,
    /// The on-chain integer value (decimal or `0x` hex text), in the token's base units.
    pub value: String,
}

/// A chain the watcher reads.
#[derive(Clone, Debug)]
pub enum Source {
    /// The embedded, simulated ledger of dev mode.
    Dev(DevChain),
    /// An EVM JSON-RPC node (Ethereum for ERC20; TRON's `/jsonrpc` for TRC20).
    Evm(EvmSource),
    /// An Omni Core node (OMNI: USDT is Omni property 31).
    Omni(OmniSource),
}

/// How a source names addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WatchForm {
    /// The canonical address, as orders store it.
    Canonical,
    /// `0x` + 40 lowercase hex, the form EVM logs use (the component's `evm-hex`).
    EvmHex,
}

impl Source {
    /// The chain this source watches.
    pub fn chain(&self) -> Chain {
        match self {
            Self::Dev(dev) => dev.chain(),
            Self::Evm(evm) => evm.chain(),
            Self::Omni(omni) => omni.chain(),
        }
    }

    /// The token's decimals on this chain.
    pub fn decimals(&self) -> u8 {
        match self {
            Self::Dev(dev) => dev.decimals(),
            Self::Evm(evm) => evm.decimals(),
            Self::Omni(omni) => omni.decimals(),
        }
    }

    /// How this source names addresses in [`Source::transfers`].
    pub fn watch_form(&self) -> WatchForm {
        match self {
            Self::Dev(_) | Self::Omni(_) => WatchForm::Canonical,
            Self::Evm(_) => WatchForm::EvmHex,
        }
    }

    /// Each node endpoint, redacted, with the calls it failed (none for the dev chain).
    pub fn endpoint_errors(&self) -> Vec<(String, u64)> {
        match self {
            Self::Dev(_) => Vec::new(),
            Self::Evm(evm) => evm.endpoint_errors(),
            Self::Omni(omni) => omni.endpoint_errors(),
        }
    }

    /// The newest block.
    pub async fn head(&self) -> anyhow::Result<u64> {
        match self {
            Self::Dev(dev) => dev.head().await,
            Self::Evm(evm) => evm.head().await,
            Self::Omni(omni) => omni.head().await,
        }
    }

    /// The newest finalized block, for a chain confirmed by finality: the node's
    /// `finalized` block (TRON: the latest solidified block). The dev chain and Bitcoin
    /// (OMNI) have no finality: `None` (the configuration refuses `finalized` for OMNI).
    pub async fn finalized(&self) -> anyhow::Result<Option<u64>> {
        match self {
            Self::Dev(_) | Self::Omni(_) => Ok(None),
            Self::Evm(evm) => evm.finalized().await,
        }
    }

    /// The hash of the canonical block at `number`, if the chain has one.
    pub async fn block_hash(&self, number: u64) -> anyhow::Result<Option<String>> {
        match self {
            Self::Dev(dev) => dev.block_hash(number).await,
            Self::Evm(evm) => evm.block_hash(number).await,
            Self::Omni(omni) => omni.block_hash(number).await,
        }
    }

    /// Transfers of the token to any of `watched` (in watch form) in blocks
    /// `from..=to`, complete or an error: a range is never partly returned.
    pub async fn transfers(
        &self,
        from: u64,
        to: u64,
        watched: &[String],
    ) -> anyhow::Result<Vec<Transfer>> {
        match self {
            Self::Dev(dev) => dev.transfers(from, to, watched).await,
            Self::Evm(evm) => evm.transfers(from, to, watched).await,
            Self::Omni(omni) => omni.transfers(from, to, watched).await,
        }
    }
}
