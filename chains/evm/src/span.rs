//! The adaptive `eth_getLogs` block span: halved (or set to the provider's hint) when a
//! query is refused as too large, grown back by a quarter after every few successes, up to
//! the configured maximum. A span that failed recently is a soft ceiling for a while, so a
//! provider with a hard limit below the configured maximum does not see a refused query
//! every few requests.

use std::sync::Mutex;

/// Successes at the current span before it grows.
const GROW_AFTER: u32 = 4;
/// Successes after which a failed span is no longer a ceiling (the result density that
/// made it fail may have passed).
const FORGET_FAILURE_AFTER: u32 = 64;

#[derive(Debug)]
pub(crate) struct SpanControl {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    span: u64,
    max: u64,
    successes: u32,
    failed_span: Option<u64>,
    since_failure: u32,
}

impl SpanControl {
    pub(crate) fn new(max: u64) -> Self {
        let max = max.max(1);
        Self {
            state: Mutex::new(State {
                span: max,
                max,
                successes: 0,
                failed_span: None,
                since_failure: 0,
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // No code panics while holding the lock; a poisoned lock still holds valid numbers.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Blocks per query now (at least 1).
    pub(crate) fn current(&self) -> u64 {
        self.state().span
    }

    /// A query succeeded.
    pub(crate) fn success(&self) {
        let mut s = self.state();
        s.since_failure = s.since_failure.saturating_add(1);
        if s.since_failure >= FORGET_FAILURE_AFTER {
            s.failed_span = None;
        }
        s.successes = s.successes.saturating_add(1);
        if s.successes < GROW_AFTER || s.span >= s.max {
            return;
        }
        s.successes = 0;
        let mut grown = s.span.saturating_add((s.span / 4).max(1)).min(s.max);
        if let Some(failed) = s.failed_span {
            grown = grown.min(failed.saturating_sub(1).max(s.span));
        }
        s.span = grown;
    }

    /// A query over `used` blocks (> 1) was refused as too large; `hint` is the provider's
    /// suggestion. Returns the span to retry with.
    pub(crate) fn too_large(&self, used: u64, hint: Option<u64>) -> u64 {
        let mut s = self.state();
        let halved = (used / 2).max(1);
        let next = match hint {
            Some(h) if h >= 1 && h < used => h,
            _ => halved,
        };
        s.span = s.span.min(next);
        s.successes = 0;
        s.since_failure = 0;
        s.failed_span = Some(s.failed_span.map_or(used, |f| f.min(used)));
        s.span
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_and_grows_back() {
        let span = SpanControl::new(2000);
        assert_eq!(span.current(), 2000);
        assert_eq!(span.too_large(2000, None), 1000);
        assert_eq!(
            span.too_large(1000, Some(5000)),
            500,
            "a hint above the span is ignored"
        );
        assert_eq!(
            span.too_large(500, Some(100)),
            100,
            "a smaller hint is taken"
        );
        for _ in 0..GROW_AFTER {
            span.success();
        }
        assert_eq!(span.current(), 125);
        // Grows up to (not into) the smallest failed span while the failure is recent.
        for _ in 0..(FORGET_FAILURE_AFTER - GROW_AFTER - 1) {
            span.success();
        }
        assert_eq!(span.current(), 499);
        for _ in 0..200 {
            span.success();
        }
        assert_eq!(span.current(), 2000);
    }

    #[test]
    fn never_below_one() {
        let span = SpanControl::new(0);
        assert_eq!(span.current(), 1);
        let span = SpanControl::new(3);
        assert_eq!(span.too_large(3, Some(0)), 1);
        assert_eq!(span.too_large(1, None), 1);
    }
}
