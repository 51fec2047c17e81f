//! The operator's maintenance: allocations and their retirement, and the money state's
//! consistency check.

use std::time::Duration;

use super::{Core, CoreError};
use crate::address::{Allocation, MIN_IDLE_MS, RetireRequest, Retired, RetirementRecord};
use crate::audit::Actor;
use crate::consistency::Violation;
use crate::ports::Storage;
use crate::units::millis;

/// Which idle addresses to retire, as the operator asks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Retirement {
    /// Idle for at least this long (no less than 30 days).
    pub idle_for: Duration,
    /// Only this chain's.
    pub chain: Option<String>,
    /// Only this merchant's.
    pub appid: Option<String>,
    /// List what would be retired; change nothing.
    pub dry_run: bool,
}

/// Why nothing was retired.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetireRefusal {
    /// Less than 30 days of idleness asked for: a user may pay to a saved address at any
    /// time.
    TooRecent,
}

impl<S: Storage> Core<S> {
    /// Every allocation, by merchant, chain and index.
    pub async fn allocations(&self) -> Result<Vec<Allocation>, CoreError> {
        Ok(self.storage.allocations().await?)
    }

    /// Retire the addresses idle as `retirement` says (30 days at least); audited
    /// unless it is a dry run.
    pub async fn retire_idle_addresses(
        &self,
        actor: &Actor,
        retirement: &Retirement,
    ) -> Result<Result<Vec<Retired>, RetireRefusal>, CoreError> {
        let idle_ms = millis(retirement.idle_for);
        if idle_ms < MIN_IDLE_MS {
            return Ok(Err(RetireRefusal::TooRecent));
        }
        let now = self.clock.now().0;
        let request = RetireRequest {
            chain: retirement.chain.as_deref(),
            appid: retirement.appid.as_deref(),
            idle_since: now.saturating_sub(idle_ms),
            now,
            dry_run: retirement.dry_run,
        };
        let retired = self.storage.retire_idle(request).await?;
        if !retirement.dry_run {
            tracing::info!(
                target: "audit",
                who = %actor.who,
                via = actor.via(),
                session = actor.session.as_deref(),
                action = "retire_addresses",
                idle_for_ms = idle_ms,
                chain = retirement.chain.as_deref(),
                appid = retirement.appid.as_deref(),
                retired = retired.len(),
                "operator retired idle addresses"
            );
        }
        Ok(Ok(retired))
    }

    /// The retirements' trail.
    pub async fn retirements(&self) -> Result<Vec<RetirementRecord>, CoreError> {
        Ok(self.storage.retirements().await?)
    }

    /// Every disagreement of the money state, by order (none: consistent).
    pub async fn check_consistency(&self) -> Result<Vec<Violation>, CoreError> {
        Ok(self.storage.check_consistency().await?)
    }
}
