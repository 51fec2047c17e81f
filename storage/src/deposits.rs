//! What the chain watcher stores: cursors, block hashes for reorg detection, deposits
//! (each on-chain transfer at most once), matching to orders, confirmations, and the
//! callback written in the same transaction as the confirmation.

use usdt_gateway_core::deposit::DepositRecord;
use usdt_gateway_core::ids::OrderSn;
use usdt_gateway_core::units::{Amount, Height};

use super::{Backend, DepositState, Store, StoreError, Text, Tx, on_pool, on_tx};

/// Block hashes kept behind the cursor for reorg detection (how deep a reorg the
/// watcher can walk back through).
pub const REORG_DEPTH: u64 = 256;

/// A transfer to a watched address, converted and ready to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewDeposit {
    /// The transaction id.
    pub txid: String,
    /// The log index (0 where a transaction holds one transfer).
    pub log_index: i64,
    /// The canonical receiving address.
    pub address: String,
    /// The on-chain value as reported.
    pub raw_value: String,
    /// Scaled units credited (rounded down).
    pub amount: i64,
    /// Base units below 1/10000 USDT, never credited.
    pub dust: String,
    /// The block.
    pub block_number: i64,
    /// Its hash.
    pub block_hash: String,
    /// Confirmations this deposit needs (by its own amount).
    pub required_confirmations: i64,
}

/// One scan of a block range, stored at once.
#[derive(Clone, Debug)]
pub struct Scan {
    /// The chain.
    pub chain: String,
    /// The chain's head when the scan ran.
    pub head: i64,
    /// The first block the next scan starts at.
    pub next_block: i64,
    /// The transfers found.
    pub deposits: Vec<NewDeposit>,
    /// Block hashes to remember (the range's last block, the deposits' blocks).
    pub blocks: Vec<(i64, String)>,
}

/// A deposit waiting for confirmations.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct OpenDeposit {
    /// Its row.
    pub id: i64,
    /// The block.
    pub block_number: i64,
    /// Its hash when found.
    pub block_hash: String,
    /// Confirmations needed.
    pub required_confirmations: i64,
}

/// A row of `deposits`, as [`DEPOSIT_COLUMNS`] reads it.
#[derive(sqlx::FromRow)]
pub(crate) struct DepositRow {
    chain: String,
    txid: String,
    log_index: i64,
    address: String,
    amount: i64,
    block_number: i64,
    #[sqlx(try_from = "Text<DepositState>")]
    state: DepositState,
    ordersn: Option<String>,
    required_confirmations: i64,
}

impl From<DepositRow> for DepositRecord {
    fn from(row: DepositRow) -> Self {
        Self {
            chain: row.chain.into(),
            txid: row.txid,
            log_index: row.log_index,
            address: row.address,
            amount: Amount(row.amount),
            block_number: Height::from_stored(row.block_number),
            state: row.state,
            ordersn: row.ordersn.map(OrderSn::from),
            required_confirmations: row.required_confirmations,
        }
    }
}

/// Columns of `deposits` read into a [`DepositRow`].
pub(crate) const DEPOSIT_COLUMNS: &str =
    "chain, txid, log_index, address, amount, block_number, state, ordersn, required_confirmations";

/// A chain's cursor.
#[derive(sqlx::FromRow)]
struct Cursor {
    head: i64,
    next_block: i64,
}

/// A binding's address and the position a watcher reads from after it.
#[derive(sqlx::FromRow)]
struct BindingAfter {
    address: Option<String>,
    position: i64,
}

/// A remembered block hash.
#[derive(sqlx::FromRow)]
struct BlockHash {
    number: i64,
    hash: String,
}

/// What confirming a deposit reads back.
#[derive(sqlx::FromRow)]
struct Credited {
    ordersn: Option<String>,
    amount: i64,
}

impl Store {
    /// The chain's cursor: `(head seen, next block to scan)`.
    pub async fn chain_cursor(&self, chain: &str) -> Result<Option<(i64, i64)>, StoreError> {
        let cursor: Option<Cursor> = on_pool!(&self.pool, db => sqlx::query_as(
            "SELECT head, next_block FROM chain_cursors WHERE chain = $1"
        )
        .bind(chain)
        .fetch_optional(db)
        .await?);
        Ok(cursor.map(|c| (c.head, c.next_block)))
    }

    /// The addresses bound on `chain` (canonical) that a watcher which has read up to
    /// `position` may not have seen yet, and the position to read from next time
    /// (start with 0). Positions follow commit order, whatever the clocks say: on
    /// SQLite the binding's `seq` (one writer at a time), on PostgreSQL the oldest
    /// transaction still running at the read (`pg_snapshot_xmin`), so a binding that
    /// commits after a newer one is still read. An address may come back more than once.
    /// A retired address is left out; revived, it is read again like a new binding.
    pub async fn bindings_after(
        &self,
        chain: &str,
        position: i64,
    ) -> Result<(Vec<String>, i64), StoreError> {
        let backend = self.backend();
        let sql = match backend {
            Backend::Sqlite => {
                "SELECT address, seq + 1 AS position FROM address_bindings WHERE chain = $1 AND seq >= $2 \
                 AND retired_at IS NULL ORDER BY seq"
            }
            Backend::Postgres => {
                "SELECT b.address, h.horizon AS position FROM \
                 (SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS horizon) h \
                 LEFT JOIN address_bindings b ON b.chain = $1 AND b.tx >= $2 AND b.retired_at IS NULL"
            }
        };
        let rows: Vec<BindingAfter> = on_pool!(&self.pool, db => sqlx::query_as(sql)
            .bind(chain)
            .bind(position)
            .fetch_all(db)
            .await?);
        let mut next = position;
        let mut addresses = Vec::with_capacity(rows.len());
        for row in rows {
            next = match backend {
                Backend::Sqlite => next.max(row.position),
                Backend::Postgres => row.position,
            };
            addresses.extend(row.address);
        }
        Ok((addresses, next))
    }

    /// Remembered block hashes of `chain`, newest first.
    pub async fn block_hashes(&self, chain: &str) -> Result<Vec<(i64, String)>, StoreError> {
        let rows: Vec<BlockHash> = on_pool!(&self.pool, db => sqlx::query_as(
            "SELECT number, hash FROM chain_blocks WHERE chain = $1 ORDER BY number DESC",
        )
        .bind(chain)
        .fetch_all(db)
        .await?);
        Ok(rows.into_iter().map(|b| (b.number, b.hash)).collect())
    }

    /// Store a scan in one transaction: new deposits (a transfer already stored is
    /// skipped, one that a reorg had orphaned comes back), each matched to an order,
    /// the block hashes, and the cursor. Returns the number of new deposits.
    pub async fn record_scan(&self, scan: &Scan, now: i64) -> Result<usize, StoreError> {
        let mut tx = self.begin_write().await?;
        let mut stored = 0;
        for d in &scan.deposits {
            let inserted: Option<i64> = on_tx!(&mut tx, db => sqlx::query_scalar(
                "INSERT INTO deposits (chain, txid, log_index, address, raw_value, amount, dust, \
                 block_number, block_hash, required_confirmations, state, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'confirming', $11, $11) \
                 ON CONFLICT (chain, txid, log_index) DO UPDATE SET \
                 block_number = excluded.block_number, block_hash = excluded.block_hash, \
                 state = 'confirming', ordersn = NULL, updated_at = excluded.updated_at \
                 WHERE deposits.state = 'orphaned' \
                 RETURNING id",
            )
            .bind(&scan.chain)
            .bind(&d.txid)
            .bind(d.log_index)
            .bind(&d.address)
            .bind(&d.raw_value)
            .bind(d.amount)
            .bind(&d.dust)
            .bind(d.block_number)
            .bind(&d.block_hash)
            .bind(d.required_confirmations)
            .bind(now)
            .fetch_optional(db)
            .await?);
            let Some(id) = inserted else { continue };
            stored += 1;
            // A transfer to a retired address (the watcher still had it) revives it.
            super::retirement::revive(&mut tx, &scan.chain, &d.address, now, "deposit").await?;
            // Same-amount pending order first, else the oldest pending one; an expired
            // order is not pending: the deposit then stays unmatched.
            let order: Option<String> = on_tx!(&mut tx, db => sqlx::query_scalar(
                "SELECT ordersn FROM orders WHERE chain = $1 AND canonical_address = $2 \
                 AND status = 'pending' AND expires_at > $3 \
                 ORDER BY CASE WHEN amount = $4 THEN 0 ELSE 1 END, created_at, ordersn LIMIT 1",
            )
            .bind(&scan.chain)
            .bind(&d.address)
            .bind(now)
            .bind(d.amount)
            .fetch_optional(db)
            .await?);
            if let Some(ordersn) = order {
                let updated = on_tx!(&mut tx, db => sqlx::query(
                    "UPDATE orders SET status = 'confirming', received_amount = $1, \
                     required_confirmations = $2 WHERE ordersn = $3 AND status = 'pending'",
                )
                .bind(d.amount)
                .bind(d.required_confirmations)
                .bind(&ordersn)
                .execute(db)
                .await?.rows_affected());
                if updated == 1 {
                    on_tx!(&mut tx, db => sqlx::query("UPDATE deposits SET ordersn = $1 WHERE id = $2")
                        .bind(&ordersn)
                        .bind(id)
                        .execute(db)
                        .await?.rows_affected());
                }
            }
        }
        for (number, hash) in &scan.blocks {
            on_tx!(&mut tx, db => sqlx::query(
                "INSERT INTO chain_blocks (chain, number, hash) VALUES ($1, $2, $3) \
                 ON CONFLICT (chain, number) DO UPDATE SET hash = excluded.hash",
            )
            .bind(&scan.chain)
            .bind(number)
            .bind(hash)
            .execute(db)
            .await?.rows_affected());
        }
        on_tx!(&mut tx, db => sqlx::query("DELETE FROM chain_blocks WHERE chain = $1 AND number < $2")
            .bind(&scan.chain)
            .bind(scan.next_block.saturating_sub(REORG_DEPTH as i64))
            .execute(db)
            .await?.rows_affected());
        upsert_cursor(&mut tx, &scan.chain, scan.head, scan.next_block, now).await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// Record the head without scanning (the query API's confirmations).
    pub async fn record_head(
        &self,
        chain: &str,
        head: i64,
        next_block: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        upsert_cursor(&mut tx, chain, head, next_block, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A reorg: every block above `fork` left the chain. Unconfirmed deposits there are
    /// orphaned (their orders pending again), their hashes forgotten, and the cursor
    /// moved back to rescan from `fork + 1`.
    pub async fn rewind(&self, chain: &str, fork: i64, now: i64) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        let ids: Vec<i64> = on_tx!(&mut tx, db => sqlx::query_scalar(
            "SELECT id FROM deposits WHERE chain = $1 AND block_number > $2 AND state = 'confirming'",
        )
        .bind(chain)
        .bind(fork)
        .fetch_all(db)
        .await?);
        let orphaned = orphan(&mut tx, &ids, now).await?;
        on_tx!(&mut tx, db => sqlx::query("DELETE FROM chain_blocks WHERE chain = $1 AND number > $2")
            .bind(chain)
            .bind(fork)
            .execute(db)
            .await?.rows_affected());
        on_tx!(&mut tx, db => sqlx::query("UPDATE chain_cursors SET next_block = $1, updated_at = $2 WHERE chain = $3 AND next_block > $1")
            .bind(fork + 1)
            .bind(now)
            .bind(chain)
            .execute(db)
            .await?.rows_affected());
        tx.commit().await?;
        Ok(orphaned)
    }

    /// Deposits of `chain` still waiting for confirmations.
    pub async fn open_deposits(&self, chain: &str) -> Result<Vec<OpenDeposit>, StoreError> {
        Ok(on_pool!(&self.pool, db => sqlx::query_as(
            "SELECT id, block_number, block_hash, required_confirmations FROM deposits \
             WHERE chain = $1 AND state = 'confirming' ORDER BY block_number, id",
        )
        .bind(chain)
        .fetch_all(db)
        .await?))
    }

    /// A deposit reached its confirmations: it is confirmed, its order too, and the
    /// order's callback is queued — one transaction. Returns the order, if matched.
    pub async fn confirm_deposit(&self, id: i64, now: i64) -> Result<Option<String>, StoreError> {
        let mut tx = self.begin_write().await?;
        let done = on_tx!(&mut tx, db => sqlx::query("UPDATE deposits SET state = 'confirmed', updated_at = $1 WHERE id = $2 AND state = 'confirming'")
            .bind(now)
            .bind(id)
            .execute(db)
            .await?.rows_affected());
        if done != 1 {
            return Ok(None); // another watcher did it
        }
        let Credited { ordersn, amount } = on_tx!(&mut tx, db => sqlx::query_as(
            "SELECT ordersn, amount FROM deposits WHERE id = $1"
        )
        .bind(id)
        .fetch_one(db)
        .await?);
        if let Some(ordersn) = &ordersn {
            on_tx!(&mut tx, db => sqlx::query("UPDATE orders SET status = 'confirmed' WHERE ordersn = $1 AND status = 'confirming'")
                .bind(ordersn)
                .execute(db)
                .await?.rows_affected());
            on_tx!(&mut tx, db => sqlx::query(
                "INSERT INTO callbacks (ordersn, appid, notify_url, amount, state, attempts, \
                 next_attempt_at, created_at, updated_at) \
                 SELECT ordersn, appid, notify_url, $1, 'pending', 0, $2, $2, $2 FROM orders WHERE ordersn = $3 \
                 ON CONFLICT (ordersn) DO NOTHING",
            )
            .bind(amount)
            .bind(now)
            .bind(ordersn)
            .execute(db)
            .await?.rows_affected());
        }
        tx.commit().await?;
        Ok(ordersn)
    }

    /// A deposit whose block is no longer on the chain: orphaned, its order pending again.
    pub async fn orphan_deposit(&self, id: i64, now: i64) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        orphan(&mut tx, &[id], now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The newest deposit credited to an order (not orphaned).
    pub async fn order_deposit(&self, ordersn: &str) -> Result<Option<DepositRecord>, StoreError> {
        let row: Option<DepositRow> = on_pool!(&self.pool, db => sqlx::query_as(&format!(
            "SELECT {DEPOSIT_COLUMNS} FROM deposits WHERE ordersn = $1 AND state <> 'orphaned' \
             ORDER BY id DESC LIMIT 1"
        ))
        .bind(ordersn)
        .fetch_optional(db)
        .await?);
        Ok(row.map(DepositRecord::from))
    }

    /// Deposits no order took, newest first (for the operator).
    pub async fn unmatched_deposits(&self, limit: i64) -> Result<Vec<DepositRecord>, StoreError> {
        let rows: Vec<DepositRow> = on_pool!(&self.pool, db => sqlx::query_as(&format!(
            "SELECT {DEPOSIT_COLUMNS} FROM deposits WHERE ordersn IS NULL AND state <> 'orphaned' \
             ORDER BY id DESC LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(db)
        .await?);
        Ok(rows.into_iter().map(DepositRecord::from).collect())
    }
}

async fn upsert_cursor(
    tx: &mut Tx<'_>,
    chain: &str,
    head: i64,
    next_block: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    on_tx!(&mut *tx, db => sqlx::query(
        "INSERT INTO chain_cursors (chain, head, next_block, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (chain) DO UPDATE SET head = excluded.head, next_block = excluded.next_block, \
         updated_at = excluded.updated_at",
    )
    .bind(chain)
    .bind(head)
    .bind(next_block)
    .bind(now)
    .execute(db)
    .await?.rows_affected());
    Ok(())
}

/// Orphan the unconfirmed deposits `ids` and put their orders back to pending.
/// Returns how many were orphaned.
///
/// The deposit is orphaned first, by an update guarded on its state that returns the
/// order it is credited to *then*: on PostgreSQL an operator's assignment committed
/// meanwhile is waited for and seen, so its order goes back to pending too instead of
/// keeping money whose deposit left the chain.
async fn orphan(tx: &mut Tx<'_>, ids: &[i64], now: i64) -> Result<u64, sqlx::Error> {
    let mut orphaned = 0;
    for id in ids {
        let ordersn: Option<Option<String>> = on_tx!(&mut *tx, db => sqlx::query_scalar(
            "UPDATE deposits SET state = 'orphaned', updated_at = $1 \
             WHERE id = $2 AND state = 'confirming' RETURNING ordersn",
        )
        .bind(now)
        .bind(id)
        .fetch_optional(db)
        .await?);
        let Some(ordersn) = ordersn else { continue };
        if let Some(ordersn) = ordersn {
            on_tx!(&mut *tx, db => sqlx::query(
                "UPDATE orders SET status = 'pending', received_amount = 0 \
                 WHERE ordersn = $1 AND status = 'confirming'",
            )
            .bind(ordersn)
            .execute(db)
            .await?.rows_affected());
        }
        orphaned += 1;
    }
    Ok(orphaned)
}
