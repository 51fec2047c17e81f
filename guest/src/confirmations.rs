//! Confirmation policy: how many confirmations a deposit needs, and where it stands.

use crate::{Chain, ErrorCode, Rejection};

/// Confirmations for one chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConfirmationRule {
    /// Required below `large_amount` (at least 1).
    pub default_required: u32,
    /// The large-amount threshold in scaled units.
    pub large_amount: u64,
    /// Required at or above `large_amount` (at least `default_required`).
    pub large_required: u32,
}

impl Default for ConfirmationRule {
    /// The protocol's defaults: 1 confirmation; 3 at or above 10,000 USDT (seed FAQ Q5).
    fn default() -> Self {
        Self {
            default_required: 1,
            large_amount: 10_000 * crate::SCALE,
            large_required: 3,
        }
    }
}

/// A base rule and per-chain overrides.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConfirmationPolicy {
    /// Applies to chains without an override.
    pub base: ConfirmationRule,
    /// Per-chain rules.
    pub overrides: Vec<(Chain, ConfirmationRule)>,
}

/// Where a deposit stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DepositState {
    /// Not in a block on the canonical chain.
    Pending,
    /// In a block, fewer confirmations than required.
    Confirming,
    /// At or above the required confirmations.
    Confirmed,
}

fn check_rule(rule: &ConfirmationRule, which: &str) -> Result<(), Rejection> {
    if rule.default_required < 1 {
        return Err(Rejection::general(
            ErrorCode::InvalidPolicy,
            format!("{which}: default_required must be at least 1"),
        ));
    }
    if rule.large_required < rule.default_required {
        return Err(Rejection::general(
            ErrorCode::InvalidPolicy,
            format!("{which}: large_required must be at least default_required"),
        ));
    }
    Ok(())
}

/// Check a policy's consistency.
pub fn validate_policy(policy: &ConfirmationPolicy) -> Result<(), Rejection> {
    check_rule(&policy.base, "base rule")?;
    for (i, (chain, rule)) in policy.overrides.iter().enumerate() {
        check_rule(rule, chain.as_str())?;
        if policy.overrides.iter().take(i).any(|(c, _)| c == chain) {
            return Err(Rejection::general(
                ErrorCode::InvalidPolicy,
                format!("{chain} is overridden twice"),
            ));
        }
    }
    Ok(())
}

/// The confirmations a deposit of `amount` on `chain` needs (never less than 1).
pub fn required_confirmations(chain: Chain, amount: u64, policy: &ConfirmationPolicy) -> u32 {
    let rule = policy
        .overrides
        .iter()
        .find(|(c, _)| *c == chain)
        .map_or(&policy.base, |(_, rule)| rule);
    let required = if amount >= rule.large_amount {
        rule.large_required.max(rule.default_required)
    } else {
        rule.default_required
    };
    required.max(1)
}

/// `head - block + 1` when `block <= head`, else 0 (saturating at `u64::MAX`).
pub fn count_confirmations(head: u64, block: u64) -> u64 {
    if block <= head {
        (head - block).saturating_add(1)
    } else {
        0
    }
}

/// The state for `confirmations` out of `required`.
pub fn deposit_state(confirmations: u64, required: u32) -> DepositState {
    if confirmations == 0 {
        DepositState::Pending
    } else if confirmations < u64::from(required) {
        DepositState::Confirming
    } else {
        DepositState::Confirmed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_seed() {
        let policy = ConfirmationPolicy::default();
        assert!(validate_policy(&policy).is_ok());
        assert_eq!(required_confirmations(Chain::Trc20, 99_999_999, &policy), 1);
        assert_eq!(
            required_confirmations(Chain::Trc20, 100_000_000, &policy),
            3
        );
        assert_eq!(count_confirmations(10, 10), 1);
        assert_eq!(count_confirmations(9, 10), 0);
        assert_eq!(deposit_state(2, 3), DepositState::Confirming);
        assert_eq!(deposit_state(3, 3), DepositState::Confirmed);
    }
}
