//! Deposit addresses: one per `(merchant, chain, user)`, derived by the component from
//! the merchant's account key (xpub) at the next free index, for good.

use serde::Serialize;

use crate::ids::ChainName;

/// An address handed to a user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AllocatedAddress {
    /// The merchant.
    pub appid: String,
    /// The merchant's user, the address's one owner.
    pub username: String,
    /// The chain's wire name.
    pub chain: ChainName,
    /// The address as handed out (ERC20: EIP-55).
    pub address: String,
    /// The index on the account key's external chain (`…/0/index`).
    pub index: i64,
}

/// A user's address as a repeated request finds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KnownAddress {
    /// The address.
    pub address: AllocatedAddress,
    /// Whether answering it changes nothing (not retired, asked for within the last
    /// day); otherwise the allocation's write answers it, reviving the address or
    /// writing the request down — with no limit, since the user has it already.
    pub as_is: bool,
}

/// How many addresses a merchant may allocate, and how fast.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddressLimits {
    /// Most addresses the merchant may hold on one chain, ever (each is watched).
    pub max_per_chain: u32,
    /// New allocations per second, sustained (per process).
    pub rate: u32,
    /// New allocations at once above the rate (per process).
    pub burst: u32,
}

/// The address derived at one index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Derived {
    /// As handed out.
    pub address: String,
    /// As bound and watched.
    pub canonical_address: String,
}

/// Who asks for an address, and when.
#[derive(Clone, Copy, Debug)]
pub struct AllocationRequest<'a> {
    /// The merchant.
    pub appid: &'a str,
    /// The chain's wire name.
    pub chain: &'a str,
    /// The merchant's user.
    pub username: &'a str,
    /// Unix milliseconds.
    pub now: i64,
    /// Most addresses the merchant may hold on the chain: a new allocation beyond it is
    /// refused, an existing one is still answered.
    pub max_per_chain: i64,
}

/// Why the storage allocated no address.
#[derive(Debug, thiserror::Error)]
pub enum AllocateError<E> {
    /// The storage failed; nothing was allocated.
    #[error(transparent)]
    Storage(#[from] crate::fault::StorageError),
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

/// The shortest idleness after which an address may be retired: 30 days (a user may pay
/// to a saved address at any time).
pub const MIN_IDLE_MS: i64 = 30 * 24 * 3600 * 1000;

/// One allocation, as the operator lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Allocation {
    /// The merchant.
    pub appid: String,
    /// The chain's wire name.
    pub chain: ChainName,
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

/// Which idle addresses to retire (stop watching until they are used again).
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Retired {
    /// The chain.
    pub chain: ChainName,
    /// The canonical address.
    pub address: String,
    /// Its merchant.
    pub appid: String,
    /// Its user.
    pub username: String,
}

/// One entry of the retirements' trail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RetirementRecord {
    /// The chain.
    pub chain: ChainName,
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
