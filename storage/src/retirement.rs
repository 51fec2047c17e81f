//! Retiring idle addresses, the opt-in operator command `usdt-gateway address retire`,
//! and reviving them.
//!
//! By default every bound address is watched for good: a user may pay to a saved
//! address at any time. An operator may retire the addresses nobody used for a while
//! (at least `usdt_gateway_core::address::MIN_IDLE_MS`): the binding stays (the address is still its user's, and
//! nobody else can order on it), the watchers stop looking for it. Never retired: an
//! address with an open order (pending and not expired, or confirming), a deposit still
//! confirming, or any order, deposit or address request since the cutoff. The next
//! order, address request or deposit on a retired address revives it, and the watchers
//! read it again like a new binding. Each retirement and revival is kept in
//! `address_retirements`.
//!
//! Races: on SQLite one writer at a time. On PostgreSQL each batch of retirements runs
//! under an exclusive lock of `address_bindings`, taken before its checks: an order or
//! allocation that read the binding (or a deposit that wrote near it) has committed
//! before the checks run, and one that comes after reads the binding retired and
//! revives it.

use super::{Backend, Store, StoreError, Tx, on_pool, on_tx};

/// How stale an allocation's `requested_at` may get before a request for it is written
/// down (a write at most once a day per user, far inside the 30 days of `usdt_gateway_core::address::MIN_IDLE_MS`).
pub(crate) const REQUEST_TOUCH_MS: i64 = 24 * 3600 * 1000;

/// Retirements checked and written per transaction (each holds the bindings' lock on
/// PostgreSQL: kept short).
const BATCH: usize = 200;

/// Which addresses to retire.
#[derive(Clone, Copy, Debug)]
pub struct RetireRequest<'a> {
    /// Only this chain's.
    pub chain: Option<&'a str>,
    /// Only this merchant's.
    pub appid: Option<&'a str>,
    /// No activity at or after this time (Unix milliseconds).
    pub idle_since: i64,
    /// Unix milliseconds.
    pub now: i64,
    /// List what would be retired; change nothing.
    pub dry_run: bool,
}

/// A retired (or retirable) address.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct Retired {
    /// The chain.
    pub chain: String,
    /// The canonical address.
    pub address: String,
    /// Its merchant.
    pub appid: String,
    /// Its user.
    pub username: String,
}

/// One entry of the audit trail.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct RetirementRecord {
    /// The chain.
    pub chain: String,
    /// The canonical address.
    pub address: String,
    /// Its merchant.
    pub appid: String,
    /// Its user.
    pub username: String,
    /// When it was retired (Unix milliseconds).
    pub retired_at: i64,
    /// The idleness it was retired for.
    pub idle_for_ms: i64,
    /// When it was revived, if it was.
    pub revived_at: Option<i64>,
    /// What revived it: `order`, `allocation` or `deposit`.
    pub revived_by: Option<String>,
}

/// The conditions under which the binding `address_bindings` is idle since `$1`, at
/// time `$2` (the parameters of every statement using it).
const IDLE: &str = "address_bindings.retired_at IS NULL \
     AND address_bindings.created_at < $1 \
     AND NOT EXISTS (SELECT 1 FROM orders o \
         WHERE o.chain = address_bindings.chain AND o.canonical_address = address_bindings.address \
         AND (o.created_at >= $1 OR o.status = 'confirming' \
              OR (o.status = 'pending' AND o.expires_at > $2))) \
     AND NOT EXISTS (SELECT 1 FROM deposits d \
         WHERE d.chain = address_bindings.chain AND d.address = address_bindings.address \
         AND (d.created_at >= $1 OR d.state = 'confirming')) \
     AND NOT EXISTS (SELECT 1 FROM address_allocations a \
         WHERE a.chain = address_bindings.chain \
         AND a.canonical_address = address_bindings.address AND a.requested_at >= $1)";

impl Store {
    /// Retire the addresses idle since `r.idle_since` (see the module), in batches;
    /// the addresses retired (with `dry_run`, those that would be), by chain and
    /// address. Each chain with retirements has its watch epoch bumped, so its
    /// watchers drop them.
    pub async fn retire_idle(&self, r: RetireRequest<'_>) -> Result<Vec<Retired>, StoreError> {
        let sql = format!(
            "SELECT chain, address, appid, username FROM address_bindings WHERE {IDLE} \
             AND ($3 = '' OR chain = $3) AND ($4 = '' OR appid = $4) ORDER BY chain, address"
        );
        let candidates: Vec<Retired> = on_pool!(self.pool(), db => sqlx::query_as(&sql)
            .bind(r.idle_since)
            .bind(r.now)
            .bind(r.chain.unwrap_or(""))
            .bind(r.appid.unwrap_or(""))
            .fetch_all(db)
            .await?);
        if r.dry_run {
            return Ok(candidates);
        }
        let mut retired = Vec::with_capacity(candidates.len());
        for batch in candidates.chunks(BATCH) {
            let mut tx = self.begin_write().await?;
            if let Tx::Postgres(pg) = &mut tx {
                sqlx::query("SET LOCAL lock_timeout = '10s'")
                    .execute(&mut **pg)
                    .await?;
                sqlx::query("LOCK TABLE address_bindings IN ACCESS EXCLUSIVE MODE")
                    .execute(&mut **pg)
                    .await?;
            }
            let mut chains = std::collections::BTreeSet::new();
            for c in batch {
                // Checked again under the lock: only what is still idle is retired.
                let sql = format!(
                    "UPDATE address_bindings SET retired_at = $2 \
                     WHERE {IDLE} AND chain = $3 AND address = $4"
                );
                let done = on_tx!(&mut tx, db => sqlx::query(&sql)
                    .bind(r.idle_since)
                    .bind(r.now)
                    .bind(&c.chain)
                    .bind(&c.address)
                    .execute(db)
                    .await?
                    .rows_affected());
                if done == 0 {
                    continue;
                }
                on_tx!(&mut tx, db => sqlx::query(
                    "INSERT INTO address_retirements \
                     (chain, address, appid, username, retired_at, idle_for_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&c.chain)
                .bind(&c.address)
                .bind(&c.appid)
                .bind(&c.username)
                .bind(r.now)
                .bind(r.now - r.idle_since)
                .execute(db)
                .await
                .map(drop)?);
                chains.insert(c.chain.clone());
                retired.push(c.clone());
            }
            for chain in chains {
                on_tx!(&mut tx, db => sqlx::query(
                    "INSERT INTO watch_epochs (chain, epoch) VALUES ($1, 1) \
                     ON CONFLICT (chain) DO UPDATE SET epoch = watch_epochs.epoch + 1",
                )
                .bind(&chain)
                .execute(db)
                .await
                .map(drop)?);
            }
            tx.commit().await?;
        }
        Ok(retired)
    }

    /// The chain's watch epoch: it changes when addresses of the chain are retired
    /// (0 before the first retirement).
    pub async fn watch_epoch(&self, chain: &str) -> Result<i64, StoreError> {
        let epoch: Option<i64> = on_pool!(self.pool(), db => sqlx::query_scalar(
            "SELECT epoch FROM watch_epochs WHERE chain = $1"
        )
        .bind(chain)
        .fetch_optional(db)
        .await?);
        Ok(epoch.unwrap_or(0))
    }

    /// Every retirement, with what revived it, by time.
    pub async fn retirements(&self) -> Result<Vec<RetirementRecord>, StoreError> {
        Ok(on_pool!(self.pool(), db => sqlx::query_as(
            "SELECT chain, address, appid, username, retired_at, idle_for_ms, revived_at, \
             revived_by FROM address_retirements ORDER BY retired_at, chain, address"
        )
        .fetch_all(db)
        .await?))
    }
}

/// Revive `address` on `chain` if it is retired (`by`: what revives it): the binding
/// is watched again, read by the watchers like a new one (a new `seq` on SQLite, this
/// transaction's id on PostgreSQL). Whether it was retired.
pub(crate) async fn revive(
    tx: &mut Tx<'_>,
    chain: &str,
    address: &str,
    now: i64,
    by: &'static str,
) -> Result<bool, sqlx::Error> {
    let sql = match tx.backend() {
        Backend::Sqlite => {
            // Above every `seq` given out so far (the table's largest, or a larger one
            // AUTOINCREMENT remembers), as a new binding would get.
            "UPDATE address_bindings SET retired_at = NULL, \
             seq = 1 + MAX((SELECT MAX(seq) FROM address_bindings), \
                 COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'address_bindings'), 0)) \
             WHERE chain = $1 AND address = $2 AND retired_at IS NOT NULL"
        }
        Backend::Postgres => {
            "UPDATE address_bindings SET retired_at = NULL, \
             tx = pg_current_xact_id()::text::bigint \
             WHERE chain = $1 AND address = $2 AND retired_at IS NOT NULL"
        }
    };
    let revived = on_tx!(tx, db => sqlx::query(sql)
        .bind(chain)
        .bind(address)
        .execute(db)
        .await?
        .rows_affected());
    if revived == 0 {
        return Ok(false);
    }
    on_tx!(tx, db => sqlx::query(
        "UPDATE address_retirements SET revived_at = $3, revived_by = $4 \
         WHERE chain = $1 AND address = $2 AND revived_at IS NULL",
    )
    .bind(chain)
    .bind(address)
    .bind(now)
    .bind(by)
    .execute(db)
    .await
    .map(drop)?);
    tracing::info!(chain, revived_by = by, "retired address revived");
    Ok(true)
}
