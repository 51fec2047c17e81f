//! Orders and address bindings: creating a batch of orders in one transaction (group
//! commit) and reading one back.

use std::collections::HashMap;

use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::{Backend, Store, StoreError};

/// Columns of `orders` read back, in this order (see [`OrderRecord::from_row`]).
const ORDER_COLUMNS: &str = "ordersn, appid, orderid, username, localusermark, address, \
     canonical_address, chain, amount, notify_url, required_confirmations, status, \
     received_amount, created_at, expires_at";

/// Rows per multi-row `INSERT` (15 parameters each: well under both databases' limits).
const INSERT_CHUNK: usize = 500;

/// An accepted order, ready to be stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewOrder {
    /// The gateway's order number, `cz-<uuid v4>`.
    pub ordersn: String,
    /// The merchant.
    pub appid: String,
    /// The merchant's order id.
    pub orderid: String,
    /// The merchant's user.
    pub username: String,
    /// The merchant's reference, echoed in the callback.
    pub localusermark: String,
    /// The address as sent and signed.
    pub address: String,
    /// The canonical address (bindings and watchers).
    pub canonical_address: String,
    /// `TRC20`, `ERC20` or `OMNI`.
    pub chain: String,
    /// Scaled units.
    pub amount: i64,
    /// The per-order callback URL.
    pub notify_url: Option<String>,
    /// Confirmations the deposit needs.
    pub required_confirmations: i64,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds after which a pending order is expired.
    pub expires_at: i64,
}

/// A stored order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderRecord {
    /// Everything the order was created with.
    pub order: NewOrder,
    /// `pending`, `confirming` or `confirmed`.
    pub status: String,
    /// Scaled units received so far.
    pub received_amount: i64,
}

impl OrderRecord {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
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
}

impl NewOrder {
    /// Whether `other` carries the same signed fields: an identical retry.
    fn same_signed_fields(&self, other: &NewOrder) -> bool {
        self.appid == other.appid
            && self.username == other.username
            && self.localusermark == other.localusermark
            && self.address == other.address
            && self.orderid == other.orderid
            && self.amount == other.amount
    }
}

/// What became of one order of a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CreateOutcome {
    /// Stored now.
    Created(NewOrder),
    /// An identical order was stored before: this is it (same `ordersn`).
    Existing(NewOrder),
    /// The same `(appid, orderid)` was stored before with other signed fields.
    Duplicate,
    /// The address is bound to another `(appid, username)`.
    AddressBound,
}

impl Store {
    /// Store a batch of orders in one transaction and decide each: created, an
    /// identical retry, a duplicate or a bound address. Orders are judged in the
    /// batch's order, so within a batch the first of two conflicting orders wins, as
    /// it would one after the other. Returns after the commit, one outcome per order.
    ///
    /// A unique-constraint conflict with another writer retries the whole transaction,
    /// which then sees that writer's rows.
    pub async fn create_orders(
        &self,
        batch: &[NewOrder],
    ) -> Result<Vec<CreateOutcome>, StoreError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.try_create_orders(batch).await {
                Err(e) if attempt < 5 && (e.is_conflict() || e.is_transient()) => {
                    tracing::debug!(attempt, error = %e, "order batch retried");
                    tokio::time::sleep(std::time::Duration::from_millis(2 * attempt)).await;
                }
                other => return other,
            }
        }
    }

    async fn try_create_orders(
        &self,
        batch: &[NewOrder],
    ) -> Result<Vec<CreateOutcome>, StoreError> {
        let mut tx = self.begin_write().await?;
        let mut orders = existing_orders(&mut tx, self.backend, batch).await?;
        let mut bindings = existing_bindings(&mut tx, self.backend, batch).await?;

        let mut outcomes = Vec::with_capacity(batch.len());
        let mut new_orders: Vec<&NewOrder> = Vec::new();
        let mut new_bindings: Vec<&NewOrder> = Vec::new();
        for order in batch {
            let key = (order.appid.clone(), order.orderid.clone());
            if let Some(stored) = orders.get(&key) {
                outcomes.push(if stored.same_signed_fields(order) {
                    CreateOutcome::Existing(stored.clone())
                } else {
                    CreateOutcome::Duplicate
                });
                continue;
            }
            let binding = (order.chain.clone(), order.canonical_address.clone());
            match bindings.get(&binding) {
                Some((appid, username)) if *appid != order.appid || *username != order.username => {
                    outcomes.push(CreateOutcome::AddressBound);
                    continue;
                }
                Some(_) => {}
                None => {
                    bindings.insert(binding, (order.appid.clone(), order.username.clone()));
                    new_bindings.push(order);
                }
            }
            orders.insert(key, order.clone());
            new_orders.push(order);
            outcomes.push(CreateOutcome::Created(order.clone()));
        }

        for chunk in new_bindings.chunks(INSERT_CHUNK) {
            let sql = format!(
                "INSERT INTO address_bindings (chain, address, appid, username, created_at) VALUES {}",
                self.backend.rows(5, chunk.len())
            );
            let mut query = sqlx::query(&sql);
            for o in chunk {
                query = query
                    .bind(&o.chain)
                    .bind(&o.canonical_address)
                    .bind(&o.appid)
                    .bind(&o.username)
                    .bind(o.created_at);
            }
            query.execute(&mut *tx).await?;
        }
        for chunk in new_orders.chunks(INSERT_CHUNK) {
            let sql = format!(
                "INSERT INTO orders (ordersn, appid, orderid, username, localusermark, address, \
                 canonical_address, chain, amount, notify_url, required_confirmations, \
                 created_at, expires_at) VALUES {}",
                self.backend.rows(13, chunk.len())
            );
            let mut query = sqlx::query(&sql);
            for o in chunk {
                query = query
                    .bind(&o.ordersn)
                    .bind(&o.appid)
                    .bind(&o.orderid)
                    .bind(&o.username)
                    .bind(&o.localusermark)
                    .bind(&o.address)
                    .bind(&o.canonical_address)
                    .bind(&o.chain)
                    .bind(o.amount)
                    .bind(&o.notify_url)
                    .bind(o.required_confirmations)
                    .bind(o.created_at)
                    .bind(o.expires_at);
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(outcomes)
    }

    /// One order by the merchant's ids.
    pub async fn find_order(
        &self,
        appid: &str,
        orderid: &str,
    ) -> Result<Option<OrderRecord>, StoreError> {
        let sql = format!("SELECT {ORDER_COLUMNS} FROM orders WHERE appid = $1 AND orderid = $2");
        let row = sqlx::query(&sql)
            .bind(appid)
            .bind(orderid)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(OrderRecord::from_row).transpose()?)
    }
}

/// The stored orders with the batch's `(appid, orderid)` pairs, one query per appid.
async fn existing_orders(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    batch: &[NewOrder],
) -> Result<HashMap<(String, String), NewOrder>, StoreError> {
    let mut by_appid: HashMap<&str, Vec<&str>> = HashMap::new();
    for o in batch {
        by_appid.entry(&o.appid).or_default().push(&o.orderid);
    }
    let mut found = HashMap::new();
    for (appid, orderids) in by_appid {
        for chunk in orderids.chunks(INSERT_CHUNK) {
            let sql = format!(
                "SELECT {ORDER_COLUMNS} FROM orders WHERE appid = {} AND orderid IN ({})",
                backend.placeholders(1, 1),
                backend.placeholders(2, chunk.len())
            );
            let mut query = sqlx::query(&sql).bind(appid);
            for orderid in chunk {
                query = query.bind(*orderid);
            }
            for row in query.fetch_all(&mut **tx).await? {
                let record = OrderRecord::from_row(&row)?;
                found.insert(
                    (record.order.appid.clone(), record.order.orderid.clone()),
                    record.order,
                );
            }
        }
    }
    Ok(found)
}

/// The stored bindings of the batch's addresses, one query per chain.
async fn existing_bindings(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    batch: &[NewOrder],
) -> Result<HashMap<(String, String), (String, String)>, StoreError> {
    let mut by_chain: HashMap<&str, Vec<&str>> = HashMap::new();
    for o in batch {
        by_chain
            .entry(&o.chain)
            .or_default()
            .push(&o.canonical_address);
    }
    let mut found = HashMap::new();
    for (chain, addresses) in by_chain {
        for chunk in addresses.chunks(INSERT_CHUNK) {
            let sql = format!(
                "SELECT address, appid, username FROM address_bindings \
                 WHERE chain = {} AND address IN ({})",
                backend.placeholders(1, 1),
                backend.placeholders(2, chunk.len())
            );
            let mut query = sqlx::query(&sql).bind(chain);
            for address in chunk {
                query = query.bind(*address);
            }
            for row in query.fetch_all(&mut **tx).await? {
                found.insert(
                    (chain.to_owned(), row.try_get::<String, _>(0)?),
                    (row.try_get(1)?, row.try_get(2)?),
                );
            }
        }
    }
    Ok(found)
}
