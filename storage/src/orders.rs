//! Orders and address bindings: creating a batch of orders in one transaction (group
//! commit) and reading one back.

use std::collections::HashMap;

use usdt_gateway_core::ids::{AppId, OrderId};
use usdt_gateway_core::order::{CreateOutcome, NewOrder, OrderRecord};
use usdt_gateway_core::units::{Amount, UnixMillis};

use super::{Connection, OrderState, Store, StoreError, Text, Tx, on_pool, on_tx};

/// Columns of `orders` read into an [`OrderRow`].
pub(crate) const ORDER_COLUMNS: &str = "ordersn, appid, orderid, username, localusermark, address, \
     canonical_address, chain, amount, notify_url, required_confirmations, status, \
     received_amount, created_at, expires_at";

/// Rows per multi-row statement (13 parameters each: well under both databases' limits).
const CHUNK: usize = 500;

/// A row of `orders`, as [`ORDER_COLUMNS`] reads it.
#[derive(sqlx::FromRow)]
pub(crate) struct OrderRow {
    ordersn: String,
    appid: String,
    orderid: String,
    username: String,
    localusermark: String,
    address: String,
    canonical_address: String,
    chain: String,
    amount: i64,
    notify_url: Option<String>,
    required_confirmations: i64,
    #[sqlx(try_from = "Text<OrderState>")]
    status: OrderState,
    received_amount: i64,
    created_at: i64,
    expires_at: i64,
}

impl From<OrderRow> for OrderRecord {
    fn from(row: OrderRow) -> Self {
        Self {
            order: NewOrder {
                ordersn: row.ordersn.into(),
                appid: row.appid.into(),
                orderid: row.orderid.into(),
                username: row.username,
                localusermark: row.localusermark,
                address: row.address,
                canonical_address: row.canonical_address,
                chain: row.chain.into(),
                amount: Amount(row.amount),
                notify_url: row.notify_url,
                required_confirmations: u32::try_from(row.required_confirmations)
                    .unwrap_or(u32::MAX),
                created_at: UnixMillis(row.created_at),
                expires_at: UnixMillis(row.expires_at),
            },
            status: row.status,
            received_amount: Amount(row.received_amount),
        }
    }
}

/// A stored address binding.
#[derive(sqlx::FromRow)]
struct Binding {
    address: String,
    appid: String,
    username: String,
    retired_at: Option<i64>,
}

/// A binding's owner `(appid, username)` and whether it is retired.
type Owner = (AppId, String, bool);

/// A connection for storing orders: the order writer keeps one for good (no pool
/// checkout per batch, and the statements it prepared stay cached on it). After a
/// failure other than the database refusing a statement the connection is dropped, and
/// the next batch takes a fresh one from the pool.
#[derive(Debug)]
pub struct OrderConnection {
    store: Store,
    conn: Option<Connection>,
}

impl OrderConnection {
    /// A connection of `store`'s pool, taken at the first batch.
    pub fn new(store: Store) -> Self {
        Self { store, conn: None }
    }

    /// Store a batch of orders in one transaction and decide each: created, an
    /// identical retry, a duplicate or a bound address. Orders are judged in the
    /// batch's order, so within a batch the first of two conflicting orders wins, as
    /// it would one after the other. Returns after the commit, one outcome per order.
    ///
    /// A unique-constraint conflict with another writer retries the whole transaction,
    /// which then sees that writer's rows.
    pub async fn create_orders(
        &mut self,
        batch: &[NewOrder],
    ) -> Result<Vec<CreateOutcome>, StoreError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = self.try_create_orders(batch).await;
            if let Err(e) = &result
                && !matches!(e.0, sqlx::Error::Database(_))
                && let Some(conn) = self.conn.take()
            {
                conn.discard();
            }
            match result {
                Err(e) if attempt < 5 && (e.is_conflict() || e.is_transient()) => {
                    tracing::debug!(attempt, error = %e, "order batch retried");
                    tokio::time::sleep(std::time::Duration::from_millis(2 * attempt)).await;
                }
                other => return other,
            }
        }
    }

    async fn try_create_orders(
        &mut self,
        batch: &[NewOrder],
    ) -> Result<Vec<CreateOutcome>, StoreError> {
        let conn = match self.conn.take() {
            Some(conn) => conn,
            None => self.store.acquire().await?,
        };
        let conn = self.conn.insert(conn);
        let mut tx = conn.begin_write().await?;
        let outcomes = write_orders(&mut tx, batch).await?;
        tx.commit().await?;
        Ok(outcomes)
    }
}

impl Store {
    /// Store a batch of orders on a connection taken from the pool for this batch only;
    /// see [`OrderConnection::create_orders`].
    pub async fn create_orders(
        &self,
        batch: &[NewOrder],
    ) -> Result<Vec<CreateOutcome>, StoreError> {
        OrderConnection::new(self.clone())
            .create_orders(batch)
            .await
    }

    /// One order by the merchant's ids.
    pub async fn find_order(
        &self,
        appid: &str,
        orderid: &str,
    ) -> Result<Option<OrderRecord>, StoreError> {
        let sql = format!("SELECT {ORDER_COLUMNS} FROM orders WHERE appid = $1 AND orderid = $2");
        let row: Option<OrderRow> = on_pool!(self.pool(), db => sqlx::query_as(&sql)
            .bind(appid)
            .bind(orderid)
            .fetch_optional(db)
            .await?);
        Ok(row.map(OrderRecord::from))
    }
}

/// Decide each order of `batch` against the stored orders and bindings (and the
/// batch's earlier orders), and insert the new ones, in `tx`.
async fn write_orders(
    tx: &mut Tx<'_>,
    batch: &[NewOrder],
) -> Result<Vec<CreateOutcome>, StoreError> {
    let mut orders = existing_orders(tx, batch).await?;
    let mut bindings = existing_bindings(tx, batch).await?;

    let mut outcomes = Vec::with_capacity(batch.len());
    let mut new_orders: Vec<&NewOrder> = Vec::new();
    let mut new_bindings: Vec<&NewOrder> = Vec::new();
    let mut revive: Vec<&NewOrder> = Vec::new();
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
        let binding = (
            order.chain.as_str().to_owned(),
            order.canonical_address.clone(),
        );
        match bindings.get_mut(&binding) {
            Some((appid, username, _)) if *appid != order.appid || *username != order.username => {
                outcomes.push(CreateOutcome::AddressBound);
                continue;
            }
            Some((_, _, retired)) => {
                // A retired address takes the order: it is watched again.
                if std::mem::take(retired) {
                    revive.push(order);
                }
            }
            None => {
                bindings.insert(
                    binding,
                    (order.appid.clone(), order.username.clone(), false),
                );
                new_bindings.push(order);
            }
        }
        orders.insert(key, order.clone());
        new_orders.push(order);
        outcomes.push(CreateOutcome::Created(order.clone()));
    }
    insert_bindings(tx, &new_bindings).await?;
    insert_orders(tx, &new_orders).await?;
    for o in revive {
        super::retirement::revive(tx, &o.chain, &o.canonical_address, o.created_at.0, "order")
            .await?;
    }
    Ok(outcomes)
}

/// Insert the address bindings of `orders`: on SQLite [`CHUNK`] rows per statement, on
/// PostgreSQL one statement over arrays.
async fn insert_bindings(tx: &mut Tx<'_>, orders: &[&NewOrder]) -> Result<(), sqlx::Error> {
    if orders.is_empty() {
        return Ok(());
    }
    if let Tx::Postgres(tx) = tx {
        return pg::insert_bindings(tx, orders).await;
    }
    let backend = tx.backend();
    for chunk in orders.chunks(CHUNK) {
        let sql = format!(
            "INSERT INTO address_bindings (chain, address, appid, username, created_at) VALUES {}",
            backend.rows(5, chunk.len())
        );
        on_tx!(tx, db => {
            let mut query = sqlx::query(&sql);
            for o in chunk {
                query = query
                    .bind(o.chain.as_str())
                    .bind(&o.canonical_address)
                    .bind(o.appid.as_str())
                    .bind(&o.username)
                    .bind(o.created_at.0);
            }
            query.execute(db).await?;
        });
    }
    Ok(())
}

/// Insert `orders`: on SQLite [`CHUNK`] rows per statement, on PostgreSQL one statement
/// over arrays.
async fn insert_orders(tx: &mut Tx<'_>, orders: &[&NewOrder]) -> Result<(), sqlx::Error> {
    if orders.is_empty() {
        return Ok(());
    }
    if let Tx::Postgres(tx) = tx {
        return pg::insert_orders(tx, orders).await;
    }
    let backend = tx.backend();
    for chunk in orders.chunks(CHUNK) {
        let sql = format!(
            "INSERT INTO orders (ordersn, appid, orderid, username, localusermark, address, \
             canonical_address, chain, amount, notify_url, required_confirmations, \
             created_at, expires_at) VALUES {}",
            backend.rows(13, chunk.len())
        );
        on_tx!(tx, db => {
            let mut query = sqlx::query(&sql);
            for o in chunk {
                query = query
                    .bind(o.ordersn.as_str())
                    .bind(o.appid.as_str())
                    .bind(o.orderid.as_str())
                    .bind(&o.username)
                    .bind(&o.localusermark)
                    .bind(&o.address)
                    .bind(&o.canonical_address)
                    .bind(o.chain.as_str())
                    .bind(o.amount.0)
                    .bind(&o.notify_url)
                    .bind(i64::from(o.required_confirmations))
                    .bind(o.created_at.0)
                    .bind(o.expires_at.0);
            }
            query.execute(db).await?;
        });
    }
    Ok(())
}

/// The stored orders with the batch's `(appid, orderid)` pairs: on SQLite one query per
/// appid, on PostgreSQL one query over arrays.
async fn existing_orders(
    tx: &mut Tx<'_>,
    batch: &[NewOrder],
) -> Result<HashMap<(AppId, OrderId), NewOrder>, sqlx::Error> {
    if let Tx::Postgres(tx) = tx {
        let rows = pg::existing_orders(tx, batch).await?;
        return Ok(rows
            .into_iter()
            .map(|r| ((r.order.appid.clone(), r.order.orderid.clone()), r.order))
            .collect());
    }
    let backend = tx.backend();
    let mut by_appid: HashMap<&str, Vec<&str>> = HashMap::new();
    for o in batch {
        by_appid
            .entry(o.appid.as_str())
            .or_default()
            .push(o.orderid.as_str());
    }
    let mut found = HashMap::new();
    for (appid, orderids) in by_appid {
        for chunk in orderids.chunks(CHUNK) {
            let sql = format!(
                "SELECT {ORDER_COLUMNS} FROM orders WHERE appid = {} AND orderid IN ({})",
                backend.placeholders(1, 1),
                backend.placeholders(2, chunk.len())
            );
            let rows: Vec<OrderRow> = on_tx!(tx, db => {
                let mut query = sqlx::query_as(&sql).bind(appid);
                for orderid in chunk {
                    query = query.bind(*orderid);
                }
                query.fetch_all(db).await?
            });
            for record in rows.into_iter().map(OrderRecord::from) {
                found.insert(
                    (record.order.appid.clone(), record.order.orderid.clone()),
                    record.order,
                );
            }
        }
    }
    Ok(found)
}

/// The stored bindings of the batch's addresses: on SQLite one query per chain, on
/// PostgreSQL one query over arrays.
async fn existing_bindings(
    tx: &mut Tx<'_>,
    batch: &[NewOrder],
) -> Result<HashMap<(String, String), Owner>, sqlx::Error> {
    if let Tx::Postgres(tx) = tx {
        let rows = pg::existing_bindings(tx, batch).await?;
        return Ok(rows
            .into_iter()
            .map(|b| {
                let retired = b.retired_at.is_some();
                ((b.chain, b.address), (b.appid.into(), b.username, retired))
            })
            .collect());
    }
    let backend = tx.backend();
    let mut by_chain: HashMap<&str, Vec<&str>> = HashMap::new();
    for o in batch {
        by_chain
            .entry(&o.chain)
            .or_default()
            .push(&o.canonical_address);
    }
    let mut found = HashMap::new();
    for (chain, addresses) in by_chain {
        for chunk in addresses.chunks(CHUNK) {
            let sql = format!(
                "SELECT address, appid, username, retired_at FROM address_bindings \
                 WHERE chain = {} AND address IN ({})",
                backend.placeholders(1, 1),
                backend.placeholders(2, chunk.len())
            );
            let rows: Vec<Binding> = on_tx!(tx, db => {
                let mut query = sqlx::query_as(&sql).bind(chain);
                for address in chunk {
                    query = query.bind(*address);
                }
                query.fetch_all(db).await?
            });
            for b in rows {
                let retired = b.retired_at.is_some();
                found.insert(
                    (chain.to_owned(), b.address),
                    (b.appid.into(), b.username, retired),
                );
            }
        }
    }
    Ok(found)
}

/// PostgreSQL's batch statements: the batch is bound as arrays (`UNNEST`), so each
/// statement's text is the same whatever the batch size, is prepared once per
/// connection and keeps its plan, and a batch of any size is one round trip.
mod pg {
    use sqlx::{PgConnection, Postgres};

    use super::{NewOrder, ORDER_COLUMNS, OrderRecord, OrderRow};

    /// A stored binding with its chain.
    #[derive(sqlx::FromRow)]
    pub(super) struct ChainBinding {
        pub(super) chain: String,
        pub(super) address: String,
        pub(super) appid: String,
        pub(super) username: String,
        pub(super) retired_at: Option<i64>,
    }

    /// One column of the batch as an array parameter.
    fn column<'a, T>(orders: &[&'a NewOrder], field: impl Fn(&'a NewOrder) -> T) -> Vec<T> {
        orders.iter().map(|o| field(o)).collect()
    }

    pub(super) async fn existing_orders(
        conn: &mut PgConnection,
        batch: &[NewOrder],
    ) -> Result<Vec<OrderRecord>, sqlx::Error> {
        let orders: Vec<&NewOrder> = batch.iter().collect();
        let sql = format!(
            "SELECT {ORDER_COLUMNS} FROM orders \
             WHERE (appid, orderid) IN (SELECT * FROM UNNEST($1::text[], $2::text[]))"
        );
        let rows = sqlx::query_as::<Postgres, OrderRow>(&sql)
            .bind(column(&orders, |o| o.appid.as_str()))
            .bind(column(&orders, |o| o.orderid.as_str()))
            .fetch_all(conn)
            .await?;
        Ok(rows.into_iter().map(OrderRecord::from).collect())
    }

    pub(super) async fn existing_bindings(
        conn: &mut PgConnection,
        batch: &[NewOrder],
    ) -> Result<Vec<ChainBinding>, sqlx::Error> {
        let orders: Vec<&NewOrder> = batch.iter().collect();
        sqlx::query_as(
            "SELECT chain, address, appid, username, retired_at FROM address_bindings \
             WHERE (chain, address) IN (SELECT * FROM UNNEST($1::text[], $2::text[]))",
        )
        .bind(column(&orders, |o| o.chain.as_str()))
        .bind(column(&orders, |o| o.canonical_address.as_str()))
        .fetch_all(conn)
        .await
    }

    pub(super) async fn insert_bindings(
        conn: &mut PgConnection,
        orders: &[&NewOrder],
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO address_bindings (chain, address, appid, username, created_at) \
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[])",
        )
        .bind(column(orders, |o| o.chain.as_str()))
        .bind(column(orders, |o| o.canonical_address.as_str()))
        .bind(column(orders, |o| o.appid.as_str()))
        .bind(column(orders, |o| o.username.as_str()))
        .bind(column(orders, |o| o.created_at.0))
        .execute(conn)
        .await
        .map(drop)
    }

    pub(super) async fn insert_orders(
        conn: &mut PgConnection,
        orders: &[&NewOrder],
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO orders (ordersn, appid, orderid, username, localusermark, address, \
             canonical_address, chain, amount, notify_url, required_confirmations, \
             created_at, expires_at) \
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], \
             $6::text[], $7::text[], $8::text[], $9::int8[], $10::text[], $11::int8[], \
             $12::int8[], $13::int8[])",
        )
        .bind(column(orders, |o| o.ordersn.as_str()))
        .bind(column(orders, |o| o.appid.as_str()))
        .bind(column(orders, |o| o.orderid.as_str()))
        .bind(column(orders, |o| o.username.as_str()))
        .bind(column(orders, |o| o.localusermark.as_str()))
        .bind(column(orders, |o| o.address.as_str()))
        .bind(column(orders, |o| o.canonical_address.as_str()))
        .bind(column(orders, |o| o.chain.as_str()))
        .bind(column(orders, |o| o.amount.0))
        .bind(column(orders, |o| o.notify_url.as_deref()))
        .bind(column(orders, |o| i64::from(o.required_confirmations)))
        .bind(column(orders, |o| o.created_at.0))
        .bind(column(orders, |o| o.expires_at.0))
        .execute(conn)
        .await
        .map(drop)
    }
}
