//! The dev chain's ledger (`dev_blocks`, `dev_transfers`): the simulated chain of the
//! gateway's one-command run and of tests. Each write has the chain's ledger to itself,
//! so concurrent dev calls append blocks one after another: SQLite has one writer at a
//! time; PostgreSQL takes an advisory lock per chain, held until the transaction ends.
//!
//! Hashes are the caller's (each chain spells them its own way): `genesis` for block 0,
//! `new_hash` for every other block.

use super::{Backend, Store, StoreError, Tx, on_pool, on_tx};

/// A transfer of the ledger with its block.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct LedgerTransfer {
    /// Its transaction id.
    pub txid: String,
    /// Its log index.
    pub log_index: i64,
    /// Its block.
    pub number: i64,
    /// Its block's hash.
    pub hash: String,
    /// The receiving address (canonical).
    pub to_address: String,
    /// The value in the token's base units (decimal text).
    pub value: String,
}

/// A transfer to append to the ledger, mined at once into a new block.
#[derive(Clone, Debug)]
pub struct LedgerAppend<'a> {
    /// The chain's name.
    pub chain: &'a str,
    /// Block 0's hash, stored if the ledger is new.
    pub genesis: &'a str,
    /// The new block's hash.
    pub block_hash: &'a str,
    /// The transaction id.
    pub txid: &'a str,
    /// The receiving address (canonical).
    pub to: &'a str,
    /// The value in base units (decimal text).
    pub value: &'a str,
}

/// Rows per multi-row insert of blocks.
const BLOCK_CHUNK: u64 = 500;

impl Store {
    /// The ledger's newest block (`None`: a new ledger).
    pub async fn dev_head(&self, chain: &str) -> Result<Option<i64>, StoreError> {
        Ok(on_pool!(&self.pool, db => sqlx::query_scalar(
            "SELECT MAX(number) FROM dev_blocks WHERE chain = $1",
        )
        .bind(chain)
        .fetch_one(db)
        .await?))
    }

    /// The hash of block `number`, if stored.
    pub async fn dev_block_hash(
        &self,
        chain: &str,
        number: i64,
    ) -> Result<Option<String>, StoreError> {
        Ok(on_pool!(&self.pool, db => sqlx::query_scalar(
            "SELECT hash FROM dev_blocks WHERE chain = $1 AND number = $2",
        )
        .bind(chain)
        .bind(number)
        .fetch_optional(db)
        .await?))
    }

    /// The transfers of blocks `from..=to`, in chain order.
    pub async fn dev_transfers(
        &self,
        chain: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<LedgerTransfer>, StoreError> {
        Ok(on_pool!(&self.pool, db => sqlx::query_as(
            "SELECT t.txid, t.log_index, t.number, b.hash, t.to_address, t.value \
             FROM dev_transfers t JOIN dev_blocks b ON b.chain = t.chain AND b.number = t.number \
             WHERE t.chain = $1 AND t.number >= $2 AND t.number <= $3 \
             ORDER BY t.number, t.log_index",
        )
        .bind(chain)
        .bind(from)
        .bind(to)
        .fetch_all(db)
        .await?))
    }

    /// Append a transfer in a new block; returns the block's number.
    pub async fn dev_append_transfer(&self, t: &LedgerAppend<'_>) -> Result<i64, StoreError> {
        let mut tx = self.begin_ledger_write(t.chain).await?;
        let block = next_block(&mut tx, t.chain, t.genesis).await?;
        insert_block(&mut tx, t.chain, block, t.block_hash).await?;
        on_tx!(&mut tx, db => sqlx::query(
            "INSERT INTO dev_transfers (chain, number, txid, log_index, to_address, value) \
             VALUES ($1, $2, $3, 0, $4, $5)",
        )
        .bind(t.chain)
        .bind(block)
        .bind(t.txid)
        .bind(t.to)
        .bind(t.value)
        .execute(db)
        .await?
        .rows_affected());
        tx.commit().await?;
        Ok(block)
    }

    /// Append `blocks` empty blocks; returns the first one's number.
    pub async fn dev_mine(
        &self,
        chain: &str,
        genesis: &str,
        blocks: u64,
        mut new_hash: impl FnMut() -> String + Send,
    ) -> Result<i64, StoreError> {
        let mut tx = self.begin_ledger_write(chain).await?;
        let first = next_block(&mut tx, chain, genesis).await?;
        let numbers: Vec<i64> = (0..blocks)
            .map(|n| first.saturating_add(i64::try_from(n).unwrap_or(i64::MAX)))
            .collect();
        for chunk in numbers.chunks(usize::try_from(BLOCK_CHUNK).unwrap_or(500)) {
            let rows: Vec<(i64, String)> = chunk.iter().map(|&n| (n, new_hash())).collect();
            on_tx!(&mut tx, db => {
                let mut insert = sqlx::QueryBuilder::new("INSERT INTO dev_blocks (chain, number, hash) ");
                insert.push_values(&rows, |mut row, (number, hash)| {
                    row.push_bind(chain).push_bind(*number).push_bind(hash.as_str());
                });
                insert.build().execute(db).await?.rows_affected()
            });
        }
        tx.commit().await?;
        Ok(first)
    }

    /// Drop the transfers of blocks above `fork` and give blocks `fork + 1..=head` new
    /// hashes: they left the canonical chain.
    pub async fn dev_reorg(
        &self,
        chain: &str,
        fork: i64,
        head: i64,
        mut new_hash: impl FnMut() -> String + Send,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_ledger_write(chain).await?;
        on_tx!(&mut tx, db => sqlx::query("DELETE FROM dev_transfers WHERE chain = $1 AND number > $2")
            .bind(chain)
            .bind(fork)
            .execute(db)
            .await?
            .rows_affected());
        for number in fork + 1..=head {
            let hash = new_hash();
            on_tx!(&mut tx, db => sqlx::query("UPDATE dev_blocks SET hash = $1 WHERE chain = $2 AND number = $3")
                .bind(&hash)
                .bind(chain)
                .bind(number)
                .execute(db)
                .await?
                .rows_affected());
        }
        tx.commit().await?;
        Ok(())
    }

    /// A write transaction holding `chain`'s ledger.
    async fn begin_ledger_write(&self, chain: &str) -> Result<Tx<'static>, sqlx::Error> {
        let mut tx = self.begin_write().await?;
        if self.backend() == Backend::Postgres {
            on_tx!(&mut tx, db => sqlx::query(
                "SELECT COUNT(*) FROM (SELECT pg_advisory_xact_lock(hashtext($1))) AS locked",
            )
            .bind(format!("usdt-gateway dev ledger {chain}"))
            .execute(db)
            .await?
            .rows_affected());
        }
        Ok(tx)
    }
}

/// The block after the head, storing the genesis block (0) on a new ledger.
async fn next_block(tx: &mut Tx<'_>, chain: &str, genesis: &str) -> Result<i64, sqlx::Error> {
    let head: Option<i64> = on_tx!(&mut *tx, db => sqlx::query_scalar(
        "SELECT MAX(number) FROM dev_blocks WHERE chain = $1",
    )
    .bind(chain)
    .fetch_one(db)
    .await?);
    match head {
        Some(head) => Ok(head + 1),
        None => {
            insert_block(tx, chain, 0, genesis).await?;
            Ok(1)
        }
    }
}

async fn insert_block(
    tx: &mut Tx<'_>,
    chain: &str,
    number: i64,
    hash: &str,
) -> Result<(), sqlx::Error> {
    on_tx!(&mut *tx, db => sqlx::query("INSERT INTO dev_blocks (chain, number, hash) VALUES ($1, $2, $3)")
        .bind(chain)
        .bind(number)
        .bind(hash)
        .execute(db)
        .await?
        .rows_affected());
    Ok(())
}
