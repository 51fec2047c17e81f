//! `callbacks`: a merchant's check of a callback it received.

use crate::{Callback, Rejection, Rules, RulesFault};

impl Rules {
    /// `callbacks.verify-callback`.
    pub fn verify_callback(
        &self,
        body: &str,
        secret: &str,
        now: u64,
        window: u32,
    ) -> Result<Result<Callback, Rejection>, RulesFault> {
        self.call(|r, s| {
            r.callbacks
                .call_verify_callback(s, body, secret, now, window)
        })
    }
}
