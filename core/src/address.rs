//! Deposit addresses: one per `(merchant, chain, user)`, derived by the component from
//! the merchant's account key (xpub) at the next free index, for good.

use serde::Serialize;

/// An address handed to a user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AllocatedAddress {
    /// The merchant.
    pub appid: String,
    /// The merchant's user, the address's one owner.
    pub username: String,
    /// The chain's wire name.
    pub chain: String,
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
