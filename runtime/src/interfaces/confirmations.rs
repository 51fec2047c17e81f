//! `confirmations`: the confirmation policy, and a deposit's confirmations and state.

use crate::{Chain, ConfirmationPolicy, DepositState, Rejection, Rules, RulesFault};

impl Rules {
    /// `confirmations.validate-policy`.
    pub fn validate_policy(
        &self,
        policy: &ConfirmationPolicy,
    ) -> Result<Result<(), Rejection>, RulesFault> {
        self.call(|r, s| r.confirmations.call_validate_policy(s, policy))
    }

    /// `confirmations.required-confirmations`.
    pub fn required_confirmations(
        &self,
        chain: Chain,
        amount: u64,
        policy: &ConfirmationPolicy,
    ) -> Result<u32, RulesFault> {
        self.call(|r, s| {
            r.confirmations
                .call_required_confirmations(s, chain, amount, policy)
        })
    }

    /// `confirmations.count-confirmations`.
    pub fn count_confirmations(&self, head: u64, block: u64) -> Result<u64, RulesFault> {
        self.call(|r, s| r.confirmations.call_count_confirmations(s, head, block))
    }

    /// `confirmations.deposit-state-of`.
    pub fn deposit_state_of(
        &self,
        confirmations: u64,
        required: u32,
    ) -> Result<DepositState, RulesFault> {
        self.call(|r, s| {
            r.confirmations
                .call_deposit_state_of(s, confirmations, required)
        })
    }
}
