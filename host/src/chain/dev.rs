//! The embedded dev chain: a simulated USDT ledger per chain, kept in the gateway's
//! database (so it survives restarts), for the default one-command run and for tests.
//! Each transfer is mined into a new block at once (like a dev node's automine);
//! `mine` appends empty blocks; `reorg` replaces the newest blocks with new ones that
//! no longer hold their transfers.

use std::sync::Arc;

use crate::rules::{Chain, Rules};
use crate::store::{LedgerAppend, Store, StoreError};

use super::{ChainSource, SourceError, SourceResult, Transfer, own_fault};

/// Most blocks one `mine` call may add.
pub const MAX_MINE: u64 = 100_000;

/// Deepest reorg one `reorg` call may make: each replaced block is rewritten, so a
/// deeper one could outlast the request deadline (found by the contract test).
pub const MAX_REORG: u64 = 1_000;

/// A refused dev-chain operation (a client's mistake: bad address, amount, depth).
#[derive(Debug, thiserror::Error)]
pub enum DevError {
    /// The input is wrong; the message says how. `code` is a stable error code.
    #[error("{message}")]
    Invalid {
        /// `INVALID_ADDRESS`, `INVALID_AMOUNT` or `INVALID_FIELD`.
        code: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The database or the component failed.
    #[error(transparent)]
    Fault(#[from] anyhow::Error),
}

impl From<SourceError> for DevError {
    fn from(e: SourceError) -> Self {
        Self::Fault(anyhow::Error::new(e))
    }
}

impl From<StoreError> for DevError {
    fn from(e: StoreError) -> Self {
        Self::Fault(e.into())
    }
}

/// A transfer made on the dev chain.
#[derive(Clone, Debug, serde::Serialize)]
pub struct DevTransfer {
    /// Its transaction id.
    pub txid: String,
    /// The block it was mined in.
    pub block: u64,
}

/// One chain's simulated ledger.
#[derive(Clone, Debug)]
pub struct DevChain {
    store: Store,
    rules: Arc<Rules>,
    chain: Chain,
    decimals: u8,
}

impl DevChain {
    /// The dev ledger of `chain` in `store`, whose token has `decimals` (USDT's on that
    /// chain: the component's `chains`).
    pub fn new(store: Store, rules: Arc<Rules>, chain: Chain, decimals: u8) -> Self {
        Self {
            store,
            rules,
            chain,
            decimals,
        }
    }

    /// Which chain.
    pub fn chain(&self) -> Chain {
        self.chain
    }

    /// USDT's decimals on this chain.
    pub fn decimals(&self) -> u8 {
        self.decimals
    }

    /// The newest block (0, the genesis block, on a new ledger).
    pub async fn head(&self) -> Result<u64, SourceError> {
        let head = self
            .store
            .dev_head(self.chain.as_str())
            .await
            .map_err(own_fault)?;
        Ok(head.map_or(0, |h| u64::try_from(h).unwrap_or(0)))
    }

    /// The hash of block `number`; the genesis block exists from the start.
    pub async fn block_hash(&self, number: u64) -> Result<Option<String>, SourceError> {
        let hash = self
            .store
            .dev_block_hash(self.chain.as_str(), to_i64(number))
            .await
            .map_err(own_fault)?;
        Ok(match hash {
            Some(hash) => Some(hash),
            None if number == 0 => Some(genesis_hash(self.chain)),
            None => None,
        })
    }

    /// Transfers to `watched` (canonical addresses) in blocks `from..=to`.
    pub async fn transfers(
        &self,
        from: u64,
        to: u64,
        watched: &[String],
    ) -> Result<Vec<Transfer>, SourceError> {
        let watched: std::collections::HashSet<&str> = watched.iter().map(String::as_str).collect();
        let rows = self
            .store
            .dev_transfers(self.chain.as_str(), to_i64(from), to_i64(to))
            .await
            .map_err(own_fault)?;
        let mut out = Vec::new();
        for row in rows {
            if !watched.contains(row.to_address.as_str()) {
                continue;
            }
            out.push(Transfer {
                txid: row.txid,
                log_index: u64::try_from(row.log_index).map_err(own_fault)?,
                block_number: u64::try_from(row.number).map_err(own_fault)?,
                block_hash: row.hash,
                to: row.to_address,
                value: row.value,
            });
        }
        Ok(out)
    }

    /// Send `amount` USDT (decimal text, at most 4 fractional digits) to `to`, mined at
    /// once into a new block.
    pub async fn transfer(&self, to: &str, amount: &str) -> Result<DevTransfer, DevError> {
        let info = self
            .rules
            .validate_address(to, self.chain)
            .map_err(anyhow::Error::from)?
            .map_err(|r| DevError::Invalid {
                code: "INVALID_ADDRESS",
                message: r.message,
            })?;
        let scaled = self
            .rules
            .parse_usdt(amount)
            .map_err(anyhow::Error::from)?
            .map_err(|r| DevError::Invalid {
                code: "INVALID_AMOUNT",
                message: r.message,
            })?;
        if scaled == 0 {
            return Err(DevError::Invalid {
                code: "INVALID_AMOUNT",
                message: "the amount must be above zero".into(),
            });
        }
        let base = self
            .rules
            .to_chain_units(scaled, self.decimals)
            .map_err(anyhow::Error::from)?
            .map_err(|r| DevError::Invalid {
                code: "INVALID_AMOUNT",
                message: r.message,
            })?;
        let txid = random_hash(self.chain);
        let block = self
            .store
            .dev_append_transfer(&LedgerAppend {
                chain: self.chain.as_str(),
                genesis: &genesis_hash(self.chain),
                block_hash: &random_hash(self.chain),
                txid: &txid,
                to: &info.canonical,
                value: &base,
            })
            .await?;
        let block = u64::try_from(block).map_err(anyhow::Error::from)?;
        Ok(DevTransfer { txid, block })
    }

    /// Append `blocks` empty blocks; returns the new head.
    pub async fn mine(&self, blocks: u64) -> Result<u64, DevError> {
        if !(1..=MAX_MINE).contains(&blocks) {
            return Err(DevError::Invalid {
                code: "INVALID_FIELD",
                message: format!("blocks must be 1..={MAX_MINE}"),
            });
        }
        let chain = self.chain;
        let first = self
            .store
            .dev_mine(chain.as_str(), &genesis_hash(chain), blocks, || {
                random_hash(chain)
            })
            .await?;
        let first = u64::try_from(first).map_err(anyhow::Error::from)?;
        Ok(first + blocks - 1)
    }

    /// Replace the newest `depth` blocks with new blocks (new hashes) holding none of
    /// their transfers: the transfers left the canonical chain. Returns the head.
    pub async fn reorg(&self, depth: u64) -> Result<u64, DevError> {
        let head = self.head().await?;
        let deepest = head.min(MAX_REORG);
        if depth == 0 || depth > deepest {
            return Err(DevError::Invalid {
                code: "INVALID_FIELD",
                message: format!(
                    "depth must be 1..={deepest} (at most {MAX_REORG}; the genesis block stays)"
                ),
            });
        }
        let fork = head - depth;
        let chain = self.chain;
        self.store
            .dev_reorg(chain.as_str(), to_i64(fork), to_i64(head), || {
                random_hash(chain)
            })
            .await?;
        Ok(head)
    }
}

/// A fixed genesis hash per chain.
fn genesis_hash(chain: Chain) -> String {
    format_hash(chain, &format!("{:0>64}", 0))
}

/// A random 32-byte hash in the chain's usual spelling.
fn random_hash(chain: Chain) -> String {
    let hex = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    format_hash(chain, &hex)
}

fn format_hash(chain: Chain, hex: &str) -> String {
    match chain {
        Chain::Erc20 => format!("0x{hex}"),
        Chain::Trc20 | Chain::Omni => hex.to_owned(),
    }
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl ChainSource for DevChain {
    fn chain(&self) -> Chain {
        self.chain
    }

    fn decimals(&self) -> u8 {
        self.decimals
    }

    fn head(&self) -> SourceResult<'_, u64> {
        Box::pin(DevChain::head(self))
    }

    fn block_hash(&self, number: u64) -> SourceResult<'_, Option<String>> {
        Box::pin(DevChain::block_hash(self, number))
    }

    fn transfers<'a>(
        &'a self,
        from: u64,
        to: u64,
        watched: &'a [String],
    ) -> SourceResult<'a, Vec<Transfer>> {
        Box::pin(DevChain::transfers(self, from, to, watched))
    }
}
