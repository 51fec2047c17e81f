//! Deposit address allocations (`POST /api/merchant/v2/TraderRechargeAddress`): each
//! `(appid, chain, username)` gets the next free index of the merchant's account key for
//! the chain and the address derived there, once and for good, together with the
//! address binding the watchers read. One transaction decides and writes both; the
//! unique keys of `address_allocations` make two replicas that race retry and find the
//! winner's row. The same transaction counts the merchant's allocations on the chain
//! (`address_allocation_counts`) and refuses one beyond its total.

use usdt_gateway_core::address::{AllocationRequest, Derived};

use super::retirement::{REQUEST_TOUCH_MS, revive};
use super::{Store, StoreError, Tx, on_pool, on_tx};

/// The first index that needs a private key: allocations stop below it.
const INDEX_LIMIT: i64 = 1 << 31;

/// How often a transaction that lost a race to another writer is tried again.
const MAX_ATTEMPTS: u32 = 10;

/// One allocated address.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct Allocation {
    /// The merchant.
    pub appid: String,
    /// The chain's wire name.
    pub chain: String,
    /// The index on the account key's external chain (`…/0/index`).
    pub derivation_index: i64,
    /// The merchant's user, the address's one owner.
    pub username: String,
    /// The address as handed out (ERC20: EIP-55).
    pub address: String,
    /// The address as bound and watched (ERC20: lowercase).
    pub canonical_address: String,
    /// Unix milliseconds.
    pub created_at: i64,
}

/// An allocation as a repeated request reads it.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct KnownAllocation {
    /// The allocation.
    #[sqlx(flatten)]
    pub allocation: Allocation,
    /// When its user last asked for it (Unix milliseconds, kept to within a day).
    pub requested_at: i64,
    /// When its address was retired, if it is.
    pub retired_at: Option<i64>,
}

impl From<Allocation> for usdt_gateway_core::address::AllocatedAddress {
    fn from(a: Allocation) -> Self {
        Self {
            appid: a.appid,
            username: a.username,
            chain: a.chain.into(),
            address: a.address,
            index: a.derivation_index,
        }
    }
}

impl KnownAllocation {
    /// Whether answering it at `now` changes nothing: not retired, and asked for within
    /// the last day. Otherwise [`Store::allocate_address`] answers it, reviving the
    /// address or writing the request down.
    pub fn answers_as_is(&self, now: i64) -> bool {
        self.retired_at.is_none() && self.requested_at > now - REQUEST_TOUCH_MS
    }
}

/// Why no address was allocated.
#[derive(Debug, thiserror::Error)]
pub enum AllocateError<E> {
    /// The database failed; nothing was allocated.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Deriving an address failed.
    #[error("deriving the address: {0}")]
    Derive(E),
    /// Every index below 2^31 of this account key is used.
    #[error("every index of this account key is allocated")]
    Exhausted,
    /// The merchant holds its `max_per_chain` addresses on the chain already.
    #[error("the merchant holds its {0} addresses on this chain")]
    QuotaExceeded(i64),
}

const COLUMNS: &str =
    "appid, chain, derivation_index, username, address, canonical_address, created_at";

impl Store {
    /// The user's address on the chain: the one allocated before, or a new one at the
    /// next free index, derived by `derive` (`Ok(None)`: no address at this index, take
    /// the next). An address bound to another user (say by an earlier order) is skipped.
    /// The user's existing address is revived if it was retired, and the request
    /// written down if the last one is over a day old. Returns after the commit, with
    /// whether the watchers have an address to read (new or revived).
    pub async fn allocate_address<E>(
        &self,
        request: AllocationRequest<'_>,
        mut derive: impl FnMut(u32) -> Result<Option<Derived>, E>,
    ) -> Result<(Allocation, bool), AllocateError<E>> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut tx = self.begin_write().await.map_err(StoreError::from)?;
            let result = allocate_in(&mut tx, request, &mut derive).await;
            let result = match result {
                Ok(found) => tx.commit().await.map(|()| found).map_err(StoreError::from),
                Err(AllocateError::Store(e)) => Err(e),
                Err(other) => return Err(other),
            };
            match result {
                Err(e) if attempt < MAX_ATTEMPTS && (e.is_conflict() || e.is_transient()) => {
                    tracing::debug!(attempt, error = %e, "address allocation retried");
                    tokio::time::sleep(std::time::Duration::from_millis(2 * u64::from(attempt)))
                        .await;
                }
                other => return Ok(other?),
            }
        }
    }

    /// The address allocated to `username` of `appid` on `chain`, if any, with its last
    /// request and retirement (read without a write transaction: the answer to a
    /// repeated request costs no lock).
    pub async fn user_allocation(
        &self,
        appid: &str,
        chain: &str,
        username: &str,
    ) -> Result<Option<KnownAllocation>, StoreError> {
        let sql = "SELECT a.appid, a.chain, a.derivation_index, a.username, a.address, \
                   a.canonical_address, a.created_at, a.requested_at, b.retired_at \
                   FROM address_allocations a LEFT JOIN address_bindings b \
                   ON b.chain = a.chain AND b.address = a.canonical_address \
                   WHERE a.appid = $1 AND a.chain = $2 AND a.username = $3";
        Ok(on_pool!(self.pool(), db => sqlx::query_as(sql)
            .bind(appid)
            .bind(chain)
            .bind(username)
            .fetch_optional(db)
            .await?))
    }

    /// How many addresses each merchant has allocated on each chain:
    /// `(appid, chain, allocated)`, one row per pair (a kept count: no scan of the
    /// allocations).
    pub async fn allocation_counts(&self) -> Result<Vec<(String, String, i64)>, StoreError> {
        Ok(on_pool!(self.pool(), db => sqlx::query_as(
            "SELECT appid, chain, allocated FROM address_allocation_counts ORDER BY appid, chain"
        )
        .fetch_all(db)
        .await?))
    }

    /// The allocation of a canonical address on a chain, if it is one.
    pub async fn allocation_of(
        &self,
        chain: &str,
        canonical_address: &str,
    ) -> Result<Option<Allocation>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM address_allocations WHERE chain = $1 AND canonical_address = $2"
        );
        Ok(on_pool!(self.pool(), db => sqlx::query_as(&sql)
            .bind(chain)
            .bind(canonical_address)
            .fetch_optional(db)
            .await?))
    }

    /// Every allocation, by merchant, chain and index (`address list`).
    pub async fn allocations(&self) -> Result<Vec<Allocation>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM address_allocations ORDER BY appid, chain, derivation_index"
        );
        Ok(on_pool!(self.pool(), db => sqlx::query_as(&sql).fetch_all(db).await?))
    }
}

/// Decide and write the allocation in `tx`.
async fn allocate_in<E>(
    tx: &mut Tx<'_>,
    r: AllocationRequest<'_>,
    derive: &mut impl FnMut(u32) -> Result<Option<Derived>, E>,
) -> Result<(Allocation, bool), AllocateError<E>> {
    if let Some(existing) = user_allocation(tx, r).await? {
        let revived = revive(
            tx,
            r.chain,
            &existing.canonical_address,
            r.now,
            "allocation",
        )
        .await
        .map_err(StoreError::from)?;
        touch_request(tx, r).await?;
        return Ok((existing, revived));
    }
    // Counted before the index is chosen: on PostgreSQL the count's row stays locked
    // until this transaction ends, so a concurrent allocation for the merchant and chain
    // waits here and then reads this one's index and count.
    if !count_allocation(tx, r).await? {
        return Err(AllocateError::QuotaExceeded(r.max_per_chain));
    }
    let mut index = next_index(tx, r).await?;
    loop {
        let small = u32::try_from(index)
            .ok()
            .filter(|_| index < INDEX_LIMIT)
            .ok_or(AllocateError::Exhausted)?;
        if let Some(derived) = derive(small).map_err(AllocateError::Derive)? {
            match binding_owner(tx, r.chain, &derived.canonical_address).await? {
                Some((appid, username)) if appid != r.appid || username != r.username => {}
                owner => {
                    let allocation = Allocation {
                        appid: r.appid.to_owned(),
                        chain: r.chain.to_owned(),
                        derivation_index: index,
                        username: r.username.to_owned(),
                        address: derived.address,
                        canonical_address: derived.canonical_address,
                        created_at: r.now,
                    };
                    insert(tx, &allocation, owner.is_none()).await?;
                    return Ok((allocation, true));
                }
            }
        }
        index += 1;
    }
}

async fn user_allocation(
    tx: &mut Tx<'_>,
    r: AllocationRequest<'_>,
) -> Result<Option<Allocation>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM address_allocations \
         WHERE appid = $1 AND chain = $2 AND username = $3"
    );
    Ok(on_tx!(tx, db => sqlx::query_as(&sql)
        .bind(r.appid)
        .bind(r.chain)
        .bind(r.username)
        .fetch_optional(db)
        .await?))
}

/// Write down that the user asked for their address now, if the last time is over a
/// day old (an address asked for lately is not idle: it is never retired).
async fn touch_request(tx: &mut Tx<'_>, r: AllocationRequest<'_>) -> Result<(), StoreError> {
    let sql = "UPDATE address_allocations SET requested_at = $4 \
               WHERE appid = $1 AND chain = $2 AND username = $3 AND requested_at < $5";
    on_tx!(tx, db => sqlx::query(sql)
        .bind(r.appid)
        .bind(r.chain)
        .bind(r.username)
        .bind(r.now)
        .bind(r.now - REQUEST_TOUCH_MS)
        .execute(db)
        .await
        .map(drop)?);
    Ok(())
}

/// Count one more allocation of `(appid, chain)` unless it holds `max_per_chain`
/// already; whether it was counted. One guarded upsert: the check and the increment are
/// one statement on the latest committed count (PostgreSQL re-reads a row another
/// transaction changed before updating it), so neither concurrent requests nor two
/// replicas can pass the total together.
async fn count_allocation(tx: &mut Tx<'_>, r: AllocationRequest<'_>) -> Result<bool, StoreError> {
    let sql = "INSERT INTO address_allocation_counts (appid, chain, allocated) VALUES ($1, $2, 1) \
               ON CONFLICT (appid, chain) DO UPDATE \
               SET allocated = address_allocation_counts.allocated + 1 \
               WHERE address_allocation_counts.allocated < $3 \
               RETURNING allocated";
    let counted: Option<i64> = on_tx!(tx, db => sqlx::query_scalar(sql)
        .bind(r.appid)
        .bind(r.chain)
        .bind(r.max_per_chain)
        .fetch_optional(db)
        .await?);
    Ok(counted.is_some())
}

/// One past the highest index allocated for `(appid, chain)`, or 0.
async fn next_index(tx: &mut Tx<'_>, r: AllocationRequest<'_>) -> Result<i64, StoreError> {
    let sql = "SELECT COALESCE(MAX(derivation_index) + 1, 0) FROM address_allocations \
               WHERE appid = $1 AND chain = $2";
    Ok(on_tx!(tx, db => sqlx::query_scalar(sql)
        .bind(r.appid)
        .bind(r.chain)
        .fetch_one(db)
        .await?))
}

/// The `(appid, username)` an address is bound to, if any.
async fn binding_owner(
    tx: &mut Tx<'_>,
    chain: &str,
    address: &str,
) -> Result<Option<(String, String)>, StoreError> {
    let sql = "SELECT appid, username FROM address_bindings WHERE chain = $1 AND address = $2";
    Ok(on_tx!(tx, db => sqlx::query_as(sql)
        .bind(chain)
        .bind(address)
        .fetch_optional(db)
        .await?))
}

/// Insert the allocation and, unless the user's binding exists, the binding.
async fn insert(tx: &mut Tx<'_>, a: &Allocation, bind: bool) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO address_allocations ({COLUMNS}, requested_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)"
    );
    on_tx!(tx, db => sqlx::query(&sql)
        .bind(&a.appid)
        .bind(&a.chain)
        .bind(a.derivation_index)
        .bind(&a.username)
        .bind(&a.address)
        .bind(&a.canonical_address)
        .bind(a.created_at)
        .execute(db)
        .await
        .map(drop)?);
    if bind {
        let sql = "INSERT INTO address_bindings (chain, address, appid, username, created_at) \
                   VALUES ($1, $2, $3, $4, $5)";
        on_tx!(tx, db => sqlx::query(sql)
            .bind(&a.chain)
            .bind(&a.canonical_address)
            .bind(&a.appid)
            .bind(&a.username)
            .bind(a.created_at)
            .execute(db)
            .await
            .map(drop)?);
    }
    Ok(())
}
