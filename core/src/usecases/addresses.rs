//! Allocating a deposit address: the user's own address on a chain, the one handed out
//! before or a new one, within the merchant's limits; the chain's watcher is woken when
//! there is a new address to watch.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::CoreError;
use crate::address::{AllocateError, AllocatedAddress, AllocationRequest, Derived};
use crate::clock::Clock;
use crate::ports::{AccountKeys, Storage, Wakeups};
use crate::rules::{AddressRequest, Chain, DerivationErrorCode, Rules, RulesFault};

/// Why no address was handed out. Nothing was allocated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AddressRefusal {
    /// The merchant has no account key (xpub) for the chain.
    XpubNotConfigured,
    /// The merchant allocates new addresses faster than its rate: retry after `wait`.
    RateLimited {
        /// How long until the next allocation may go.
        wait: Duration,
        /// The merchant's `addresses.rate`.
        rate: u32,
        /// The merchant's `addresses.burst`.
        burst: u32,
    },
    /// The merchant holds its `max_per_chain` addresses on the chain.
    QuotaExceeded(i64),
    /// Every index of the account key below 2^31 is allocated.
    Exhausted,
    /// The configured account key derived no address (why): an operator's error.
    Underivable(String),
}

/// A derivation that failed.
#[derive(Debug, thiserror::Error)]
enum DeriveFault {
    #[error(transparent)]
    Rules(#[from] RulesFault),
    #[error("{0}")]
    Refused(String),
}

/// The address desk: hands out deposit addresses.
pub struct AddressDesk<S> {
    storage: S,
    rules: Arc<Rules>,
    keys: Arc<dyn AccountKeys>,
    wakeups: Arc<dyn Wakeups>,
    clock: Arc<dyn Clock>,
}

impl<S> fmt::Debug for AddressDesk<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AddressDesk").finish_non_exhaustive()
    }
}

impl<S: Storage> AddressDesk<S> {
    /// The desk over `storage`, deriving with `rules` from the merchants' `keys`.
    pub fn new(
        storage: S,
        rules: Arc<Rules>,
        keys: Arc<dyn AccountKeys>,
        wakeups: Arc<dyn Wakeups>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            storage,
            rules,
            keys,
            wakeups,
            clock,
        }
    }

    /// The user's address on the chain of `request` (checked by the component): the
    /// one allocated before — whatever the limits — or a new one, committed with its
    /// binding before the answer.
    pub async fn allocate_address(
        &self,
        request: &AddressRequest,
    ) -> Result<Result<AllocatedAddress, AddressRefusal>, CoreError> {
        let chain = request.chain.as_str();
        let Some((xpub, limits)) = self.keys.account_key(&request.appid, chain) else {
            return Ok(Err(AddressRefusal::XpubNotConfigured));
        };
        let now = self.clock.now();
        let known = self
            .storage
            .user_address(&request.appid, chain, &request.username, now)
            .await?;
        match known {
            Some(known) if known.as_is => return Ok(Ok(known.address)),
            Some(_) => {} // retired, or asked for over a day ago: the write answers it
            None => {
                if let Err(wait) = self.keys.take_allocation(&request.appid, limits) {
                    let (rate, burst) = (limits.rate, limits.burst);
                    return Ok(Err(AddressRefusal::RateLimited { wait, rate, burst }));
                }
            }
        }
        let ask = AllocationRequest {
            appid: &request.appid,
            chain,
            username: &request.username,
            now: now.0,
            max_per_chain: i64::from(limits.max_per_chain),
        };
        let allocated = self
            .storage
            .allocate_address(ask, |index| {
                derive(&self.rules, &xpub, request.chain, index)
            })
            .await;
        self.answer(request.chain, allocated)
    }

    /// The allocation's outcome as the use case answers it; the watcher is woken when
    /// it has an address to read.
    fn answer(
        &self,
        chain: Chain,
        allocated: Result<(AllocatedAddress, bool), AllocateError<DeriveFault>>,
    ) -> Result<Result<AllocatedAddress, AddressRefusal>, CoreError> {
        match allocated {
            Ok((address, to_watch)) => {
                if to_watch {
                    self.wakeups.wake_watcher(chain.as_str());
                }
                Ok(Ok(address))
            }
            Err(AllocateError::Storage(e)) => Err(e.into()),
            Err(AllocateError::Derive(DeriveFault::Rules(fault))) => Err(fault.into()),
            Err(AllocateError::Derive(DeriveFault::Refused(why))) => {
                Ok(Err(AddressRefusal::Underivable(why)))
            }
            Err(AllocateError::Exhausted) => Ok(Err(AddressRefusal::Exhausted)),
            Err(AllocateError::QuotaExceeded(limit)) => {
                Ok(Err(AddressRefusal::QuotaExceeded(limit)))
            }
        }
    }
}

/// The address at `index` of `xpub` on `chain`, with its canonical form (`None`: no
/// address at this index, the next one is taken).
fn derive(
    rules: &Rules,
    xpub: &str,
    chain: Chain,
    index: u32,
) -> Result<Option<Derived>, DeriveFault> {
    let derived = match rules.derive_address(xpub, chain, index)? {
        Ok(derived) => derived,
        Err(e) if e.code == DerivationErrorCode::InvalidChildKey => return Ok(None),
        Err(e) => return Err(DeriveFault::Refused(e.code.as_str().to_owned())),
    };
    let info = rules
        .validate_address(&derived.address, chain)?
        .map_err(|r| DeriveFault::Refused(r.message))?;
    Ok(Some(Derived {
        address: derived.address,
        canonical_address: info.canonical,
    }))
}
