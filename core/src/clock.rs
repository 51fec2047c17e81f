//! The clock port and wall-clock time as the database stores it (Unix milliseconds).

use std::time::SystemTime;

use crate::units::UnixMillis;

/// Where "now" comes from: the system clock in the gateway, a fixed or stepped one in
/// tests.
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> UnixMillis;
}

/// The system's wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixMillis {
        UnixMillis::from_system(SystemTime::now())
    }
}

/// Milliseconds since the Unix epoch at `t` (0 before the epoch).
pub fn unix_millis(t: SystemTime) -> i64 {
    UnixMillis::from_system(t).0
}

/// Milliseconds since the Unix epoch, now.
pub fn now_millis() -> i64 {
    SystemClock.now().0
}

pub use crate::units::millis;
