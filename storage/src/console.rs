//! What the checkout page and the operator console read beyond the API's statements:
//! an order by its `ordersn`, order search, every deposit of an order, the chain
//! cursors, and assigning an unmatched deposit to an order by hand.

use usdt_gateway_core::chain::CursorRecord;
use usdt_gateway_core::deposit::{AssignOutcome, DepositRecord};
use usdt_gateway_core::order::OrderRecord;

use super::deposits::{DEPOSIT_COLUMNS, DepositRow};
use super::orders::{ORDER_COLUMNS, OrderRow};
use super::{Backend, Store, StoreError, on_pool, on_tx};

/// The parts of an unmatched deposit an assignment needs.
#[derive(sqlx::FromRow)]
struct Unmatched {
    id: i64,
    address: String,
    amount: i64,
    required_confirmations: i64,
}

impl Store {
    /// One order by the gateway's `ordersn`.
    pub async fn order_by_ordersn(&self, ordersn: &str) -> Result<Option<OrderRecord>, StoreError> {
        let sql = format!("SELECT {ORDER_COLUMNS} FROM orders WHERE ordersn = $1");
        let row: Option<OrderRow> = on_pool!(&self.pool, db => sqlx::query_as(&sql)
            .bind(ordersn)
            .fetch_optional(db)
            .await?);
        Ok(row.map(OrderRecord::from))
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
        let sql = format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE \
             ($1 = '' OR orderid = $1 OR ordersn = $1 OR address = $1 \
              OR canonical_address = $1 OR username = $1) \
             AND ($2 = '' \
              OR ($2 = 'pending' AND status = 'pending' AND expires_at > $3) \
              OR ($2 = 'expired' AND status = 'pending' AND expires_at <= $3) \
              OR ($2 <> 'pending' AND $2 <> 'expired' AND status = $2)) \
             ORDER BY created_at DESC, ordersn LIMIT $4"
        );
        let rows: Vec<OrderRow> = on_pool!(&self.pool, db => sqlx::query_as(&sql)
            .bind(text)
            .bind(state)
            .bind(now)
            .bind(limit)
            .fetch_all(db)
            .await?);
        Ok(rows.into_iter().map(OrderRecord::from).collect())
    }

    /// Every deposit ever credited to an order, orphaned ones too, oldest first.
    pub async fn order_deposits(&self, ordersn: &str) -> Result<Vec<DepositRecord>, StoreError> {
        let sql = format!("SELECT {DEPOSIT_COLUMNS} FROM deposits WHERE ordersn = $1 ORDER BY id");
        let rows: Vec<DepositRow> = on_pool!(&self.pool, db => sqlx::query_as(&sql)
            .bind(ordersn)
            .fetch_all(db)
            .await?);
        Ok(rows.into_iter().map(DepositRecord::from).collect())
    }

    /// Every chain watcher's cursor.
    pub async fn chain_cursors(&self) -> Result<Vec<CursorRecord>, StoreError> {
        let sql = "SELECT chain, head, next_block, updated_at FROM chain_cursors ORDER BY chain";
        let rows: Vec<(String, i64, i64, i64)> =
            on_pool!(&self.pool, db => sqlx::query_as(sql).fetch_all(db).await?);
        Ok(rows
            .into_iter()
            .map(|(chain, head, next_block, updated_at)| CursorRecord {
                chain: chain.into(),
                head,
                next_block,
                updated_at,
            })
            .collect())
    }

    /// Give an unmatched deposit to a pending order (expired or not) on the same chain
    /// and address, in one transaction: the order takes the deposit's amount and
    /// confirmations and becomes `confirming`; the deposit goes back to `confirming`, so
    /// the watcher checks its block once more and confirms both — and queues the
    /// callback — exactly as for a deposit it matched itself.
    ///
    /// Checked against the current state on both databases: the deposit is read under
    /// a row lock (`FOR UPDATE` on PostgreSQL; SQLite's `BEGIN IMMEDIATE` already holds
    /// the only write lock), so of two operators assigning it at once, or an operator
    /// and the watcher orphaning it, the second waits for the first to commit and then
    /// sees the deposit taken or orphaned (`NoDeposit`). Each update is guarded on the
    /// state it read (the deposit still unmatched and live, the order still pending) and
    /// must change exactly one row, else the transaction is rolled back and nothing
    /// changes. Locks are taken deposit first, then order, as the watcher's orphaning
    /// and confirming do.
    pub async fn assign_deposit(
        &self,
        chain: &str,
        txid: &str,
        log_index: i64,
        ordersn: &str,
        now: i64,
    ) -> Result<AssignOutcome, StoreError> {
        let mut tx = self.begin_write().await?;
        let lock = match tx.backend() {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        };
        let deposit: Option<Unmatched> = on_tx!(&mut tx, db => sqlx::query_as(&format!(
            "SELECT id, address, amount, required_confirmations FROM deposits \
             WHERE chain = $1 AND txid = $2 AND log_index = $3 \
             AND ordersn IS NULL AND state <> 'orphaned'{lock}",
        ))
        .bind(chain)
        .bind(txid)
        .bind(log_index)
        .fetch_optional(db)
        .await?);
        let Some(Unmatched {
            id,
            address,
            amount,
            required_confirmations: required,
        }) = deposit
        else {
            return Ok(AssignOutcome::NoDeposit);
        };
        let assigned = on_tx!(&mut tx, db => sqlx::query(
            "UPDATE orders SET status = 'confirming', received_amount = $1, \
             required_confirmations = $2 \
             WHERE ordersn = $3 AND chain = $4 AND canonical_address = $5 AND status = 'pending'",
        )
        .bind(amount)
        .bind(required)
        .bind(ordersn)
        .bind(chain)
        .bind(&address)
        .execute(db)
        .await?
        .rows_affected());
        if assigned != 1 {
            return Ok(AssignOutcome::NoOrder); // dropping the transaction rolls it back
        }
        let claimed = on_tx!(&mut tx, db => sqlx::query(
            "UPDATE deposits SET ordersn = $1, state = 'confirming', updated_at = $2 \
             WHERE id = $3 AND ordersn IS NULL AND state <> 'orphaned'",
        )
        .bind(ordersn)
        .bind(now)
        .bind(id)
        .execute(db)
        .await?
        .rows_affected());
        if claimed != 1 {
            return Ok(AssignOutcome::NoDeposit); // rolled back: the order stays pending
        }
        tx.commit().await?;
        Ok(AssignOutcome::Assigned)
    }
}
