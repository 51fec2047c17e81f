//! The embedded dev chain: a simulated USDT ledger per chain, kept in the gateway's
//! database (so it survives restarts), for the default one-command run and for tests.
//! Each transfer is mined into a new block at once (like a dev node's automine);
//! `mine` appends empty blocks; `reorg` replaces the newest blocks with new ones that
//! no longer hold their transfers.

use std::sync::Arc;

use crate::rules::{Chain, Rules};
use crate::store::{Backend, Store, Tx, on_pool, on_tx};

use super::Transfer;

/// A transfer of the ledger, as stored.
#[derive(sqlx::FromRow)]
struct LedgerTransfer {
    txid: String,
    log_index: i64,
    number: i64,
    hash: String,
    to_address: String,
    value: String,
}

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

impl From<sqlx::Error> for DevError {
    fn from(e: sqlx::Error) -> Self {
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
    pub async fn head(&self) -> anyhow::Result<u64> {
        let head: Option<i64> = on_pool!(self.store.pool(), db => sqlx::query_scalar("SELECT MAX(number) FROM dev_blocks WHERE chain = $1")
                .bind(self.chain.as_str())
                .fetch_one(db)
                .await?);
        Ok(head.map_or(0, |h| u64::try_from(h).unwrap_or(0)))
    }

    /// The hash of block `number`; the genesis block exists from the start.
    pub async fn block_hash(&self, number: u64) -> anyhow::Result<Option<String>> {
        let hash: Option<String> = on_pool!(self.store.pool(), db => sqlx::query_scalar("SELECT hash FROM dev_blocks WHERE chain = $1 AND number = $2")
                .bind(self.chain.as_str())
                .bind(to_i64(number))
                .fetch_optional(db)
                .await?);
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
    ) -> anyhow::Result<Vec<Transfer>> {
        let watched: std::collections::HashSet<&str> = watched.iter().map(String::as_str).collect();
        let rows: Vec<LedgerTransfer> = on_pool!(self.store.pool(), db => sqlx::query_as(
            "SELECT t.txid, t.log_index, t.number, b.hash, t.to_address, t.value \
             FROM dev_transfers t JOIN dev_blocks b ON b.chain = t.chain AND b.number = t.number \
             WHERE t.chain = $1 AND t.number >= $2 AND t.number <= $3 \
             ORDER BY t.number, t.log_index",
        )
        .bind(self.chain.as_str())
        .bind(to_i64(from))
        .bind(to_i64(to))
        .fetch_all(db)
        .await?);
        let mut out = Vec::new();
        for row in rows {
            if !watched.contains(row.to_address.as_str()) {
                continue;
            }
            out.push(Transfer {
                txid: row.txid,
                log_index: u64::try_from(row.log_index)?,
                block_number: u64::try_from(row.number)?,
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
        let mut tx = self.begin_ledger_write().await?;
        let block = next_block(&mut tx, self.chain).await?;
        on_tx!(&mut tx, db => sqlx::query("INSERT INTO dev_blocks (chain, number, hash) VALUES ($1, $2, $3)")
            .bind(self.chain.as_str())
            .bind(to_i64(block))
            .bind(random_hash(self.chain))
            .execute(db)
            .await?.rows_affected());
        on_tx!(&mut tx, db => sqlx::query(
            "INSERT INTO dev_transfers (chain, number, txid, log_index, to_address, value) \
             VALUES ($1, $2, $3, 0, $4, $5)",
        )
        .bind(self.chain.as_str())
        .bind(to_i64(block))
        .bind(&txid)
        .bind(&info.canonical)
        .bind(base)
        .execute(db)
        .await?.rows_affected());
        tx.commit().await?;
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
        let mut tx = self.begin_ledger_write().await?;
        let first = next_block(&mut tx, self.chain).await?;
        for chunk_start in (first..first + blocks).step_by(500) {
            let end = (chunk_start + 500).min(first + blocks);
            let rows: Vec<String> = (chunk_start..end)
                .map(|n| {
                    format!(
                        "('{}', {}, '{}')",
                        self.chain.as_str(),
                        n,
                        random_hash(self.chain)
                    )
                })
                .collect();
            on_tx!(&mut tx, db => sqlx::query(&format!(
                "INSERT INTO dev_blocks (chain, number, hash) VALUES {}",
                rows.join(", ")
            ))
            .execute(db)
            .await?.rows_affected());
        }
        tx.commit().await?;
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
        let mut tx = self.begin_ledger_write().await?;
        on_tx!(&mut tx, db => sqlx::query("DELETE FROM dev_transfers WHERE chain = $1 AND number > $2")
            .bind(self.chain.as_str())
            .bind(to_i64(fork))
            .execute(db)
            .await?.rows_affected());
        for number in fork + 1..=head {
            on_tx!(&mut tx, db => sqlx::query("UPDATE dev_blocks SET hash = $1 WHERE chain = $2 AND number = $3")
                .bind(random_hash(self.chain))
                .bind(self.chain.as_str())
                .bind(to_i64(number))
                .execute(db)
                .await?.rows_affected());
        }
        tx.commit().await?;
        Ok(head)
    }

    /// A write transaction that has the chain's ledger to itself, so concurrent dev calls
    /// append blocks one after another: SQLite has one writer at a time; PostgreSQL takes
    /// a lock per chain, held until the transaction ends.
    async fn begin_ledger_write(&self) -> Result<Tx<'static>, sqlx::Error> {
        let mut tx = self.store.begin_write().await?;
        if self.store.backend() == Backend::Postgres {
            on_tx!(&mut tx, db => sqlx::query(
                "SELECT COUNT(*) FROM (SELECT pg_advisory_xact_lock(hashtext($1))) AS locked",
            )
            .bind(format!("usdt-gateway dev ledger {}", self.chain.as_str()))
            .execute(db)
            .await?.rows_affected());
        }
        Ok(tx)
    }
}

/// The block after the head, creating the genesis block (0) on a new ledger.
async fn next_block(tx: &mut Tx<'_>, chain: Chain) -> anyhow::Result<u64> {
    let head: Option<i64> = on_tx!(&mut *tx, db => sqlx::query_scalar("SELECT MAX(number) FROM dev_blocks WHERE chain = $1")
            .bind(chain.as_str())
            .fetch_one(db)
            .await?);
    match head {
        Some(head) => Ok(u64::try_from(head)? + 1),
        None => {
            on_tx!(&mut *tx, db => sqlx::query("INSERT INTO dev_blocks (chain, number, hash) VALUES ($1, 0, $2)")
                .bind(chain.as_str())
                .bind(genesis_hash(chain))
                .execute(db)
                .await?.rows_affected());
            Ok(1)
        }
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
