//! Quantities of the domain as their own types: money in protocol units, block heights,
//! and instants. Money is an integer end to end.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

/// An amount of USDT in protocol units (×10000, as the V2 protocol sends it): an
/// integer, never a float.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Amount(pub i64);

/// A block's height on its chain.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Height(pub u64);

impl Height {
    /// A height as stored (a signed 64-bit column); a negative one reads as 0.
    pub fn from_stored(height: i64) -> Self {
        Self(u64::try_from(height).unwrap_or(0))
    }
}

/// An instant, in Unix milliseconds (as stored).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct UnixMillis(pub i64);

impl UnixMillis {
    /// `t` in Unix milliseconds (0 before 1970, saturated in the far future).
    pub fn from_system(t: SystemTime) -> Self {
        Self(
            t.duration_since(UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
        )
    }

    /// Whole Unix seconds.
    pub fn seconds(self) -> i64 {
        self.0.div_euclid(1000)
    }

    /// This instant moved `by` later, saturating.
    pub fn plus(self, by: Duration) -> Self {
        Self(self.0.saturating_add(millis(by)))
    }

    /// Milliseconds from `self` until `later` (0 when `later` is not later).
    pub fn until(self, later: Self) -> Duration {
        Duration::from_millis(u64::try_from(later.0.saturating_sub(self.0)).unwrap_or(0))
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for Height {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A duration in whole milliseconds, saturated at `i64::MAX`.
pub fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_convert_and_saturate() {
        assert_eq!(UnixMillis::from_system(UNIX_EPOCH), UnixMillis(0));
        let t = UNIX_EPOCH + Duration::from_millis(1_757_030_400_123);
        assert_eq!(UnixMillis::from_system(t).seconds(), 1_757_030_400);
        assert_eq!(UnixMillis(-1).seconds(), -1);
        assert_eq!(
            UnixMillis(i64::MAX).plus(Duration::from_secs(1)),
            UnixMillis(i64::MAX)
        );
        assert_eq!(UnixMillis(5).until(UnixMillis(3)), Duration::ZERO);
        assert_eq!(UnixMillis(3).until(UnixMillis(5)), Duration::from_millis(2));
    }

    #[test]
    fn a_negative_stored_height_reads_as_zero() {
        assert_eq!(Height::from_stored(-3), Height(0));
        assert_eq!(Height::from_stored(42), Height(42));
    }
}
