//! What the checkout page and the operator console read beyond the API's statements:
//! an order by its `ordersn`, order search, every deposit of an order, the chain
//! cursors, and assigning an unmatched deposit to an order by hand.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{DepositRecord, NewOrder, OrderRecord, Store, StoreError};

/// Columns of `orders` read by [`order_from_row`], in this order.
const ORDER_COLUMNS: &str = "ordersn, appid, orderid, username, localusermark, address, \
     canonical_address, chain, amount, notify_url, required_confirmations, status, \
     received_amount, created_at, expires_at";

/// Columns of `deposits` read by [`deposit_from_row`], in this order.
const DEPOSIT_COLUMNS: &str =
    "chain, txid, log_index, address, amount, block_number, state, ordersn, required_confirmations";

fn order_from_row(row: &AnyRow) -> Result<OrderRecord, sqlx::Error> {
    Ok(OrderRecord {
        order: NewOrder {
            ordersn: row.try_get(0)?,
            appid: row.try_get(1)?,
            orderid: row.try_get(2)?,
            username: row.try_get(3)?,
            localusermark: row.try_get(4)?,
            address: row.try_get(5)?,
            canonical_address: row.try_get(6)?,
            chain: row.try_get(7)?,
            amount: row.try_get(8)?,
            notify_url: row.try_get(9)?,
            required_confirmations: row.try_get(10)?,
            created_at: row.try_get(13)?,
            expires_at: row.try_get(14)?,
        },
        status: row.try_get(11)?,
        received_amount: row.try_get(12)?,
    })
}

fn deposit_from_row(row: &AnyRow) -> Result<DepositRecord, sqlx::Error> {
    Ok(DepositRecord {
        chain: row.try_get(0)?,
        txid: row.try_get(1)?,
        log_index: row.try_get(2)?,
        address: row.try_get(3)?,
        amount: row.try_get(4)?,
        block_number: row.try_get(5)?,
        state: row.try_get(6)?,
        ordersn: row.try_get(7)?,
        required_confirmations: row.try_get(8)?,
    })
}

/// A chain watcher's cursor, as the operator sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CursorRecord {
    /// The chain.
    pub chain: String,
    /// The head the watcher last saw.
    pub head: i64,
    /// The first block not yet scanned.
    pub next_block: i64,
    /// When the cursor last moved (Unix ms).
    pub updated_at: i64,
}

/// What became of an operator's assignment of an unmatched deposit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AssignOutcome {
    /// The deposit is the order's now; the order waits for its confirmations again.
    Assigned,
    /// No unmatched, live deposit with that key.
    NoDeposit,
    /// No pending order with that `ordersn` on the deposit's chain and address.
    NoOrder,
}

impl Store {
    /// One order by the gateway's `ordersn`.
    pub async fn order_by_ordersn(&self, ordersn: &str) -> Result<Option<OrderRecord>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE ordersn = $1"
        ))
        .bind(ordersn)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(order_from_row).transpose()?)
    }

    /// Orders, newest first. `text` (when not empty) must equal the orderid, ordersn,
    /// address (as sent or canonical) or username; `state` (when not empty) is
    /// `pending`, `confirming`, `confirmed` or `expired` (a pending order past its
    /// expiry at `now`).
    pub async fn search_orders(
        &self,
        text: &str,
        state: &str,
        now: i64,
        limit: i64,
    ) -> Result<Vec<OrderRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE \
             ($1 = '' OR orderid = $1 OR ordersn = $1 OR address = $1 \
              OR canonical_address = $1 OR username = $1) \
             AND ($2 = '' \
              OR ($2 = 'pending' AND status = 'pending' AND expires_at > $3) \
              OR ($2 = 'expired' AND status = 'pending' AND expires_at <= $3) \
              OR ($2 <> 'pending' AND $2 <> 'expired' AND status = $2)) \
             ORDER BY created_at DESC, ordersn LIMIT $4"
        ))
        .bind(text)
        .bind(state)
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(order_from_row)
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// Every deposit ever credited to an order, orphaned ones too, oldest first.
    pub async fn order_deposits(&self, ordersn: &str) -> Result<Vec<DepositRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {DEPOSIT_COLUMNS} FROM deposits WHERE ordersn = $1 ORDER BY id"
        ))
        .bind(ordersn)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(deposit_from_row)
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// Every chain watcher's cursor.
    pub async fn chain_cursors(&self) -> Result<Vec<CursorRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT chain, head, next_block, updated_at FROM chain_cursors ORDER BY chain",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(CursorRecord {
                    chain: r.try_get(0)?,
                    head: r.try_get(1)?,
                    next_block: r.try_get(2)?,
                    updated_at: r.try_get(3)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// Give an unmatched deposit to a pending order (expired or not) on the same chain
    /// and address, in one transaction: the order takes the deposit's amount and
    /// confirmations and becomes `confirming`; the deposit goes back to `confirming`, so
    /// the watcher checks its block once more and confirms both — and queues the
    /// callback — exactly as for a deposit it matched itself.
    pub async fn assign_deposit(
        &self,
        chain: &str,
        txid: &str,
        log_index: i64,
        ordersn: &str,
        now: i64,
    ) -> Result<AssignOutcome, StoreError> {
        let mut tx = self.begin_write().await?;
        let deposit = sqlx::query(
            "SELECT id, address, amount, required_confirmations FROM deposits \
             WHERE chain = $1 AND txid = $2 AND log_index = $3 \
             AND ordersn IS NULL AND state <> 'orphaned'",
        )
        .bind(chain)
        .bind(txid)
        .bind(log_index)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(deposit) = deposit else {
            return Ok(AssignOutcome::NoDeposit);
        };
        let id: i64 = deposit.try_get(0)?;
        let address: String = deposit.try_get(1)?;
        let amount: i64 = deposit.try_get(2)?;
        let required: i64 = deposit.try_get(3)?;
        let order = sqlx::query(
            "UPDATE orders SET status = 'confirming', received_amount = $1, \
             required_confirmations = $2 \
             WHERE ordersn = $3 AND chain = $4 AND canonical_address = $5 AND status = 'pending'",
        )
        .bind(amount)
        .bind(required)
        .bind(ordersn)
        .bind(chain)
        .bind(&address)
        .execute(&mut *tx)
        .await?;
        if order.rows_affected() != 1 {
            return Ok(AssignOutcome::NoOrder);
        }
        sqlx::query(
            "UPDATE deposits SET ordersn = $1, state = 'confirming', updated_at = $2 WHERE id = $3",
        )
        .bind(ordersn)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(AssignOutcome::Assigned)
    }
}
