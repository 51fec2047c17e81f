//! The rules of the USDT Recharge API V2.
//!
//! Pure Rust, no I/O, no clock, no randomness: time and entropy are parameters.
//! The same modules compile natively (the host's tests and benchmarks use them as a
//! reference) and to the WebAssembly component `usdt:recharge@2.2.0`, whose thin
//! adapter lives in `component.rs`. Every failure is a [`Rejection`] carrying a stable
//! [`ErrorCode`]; no input makes any function panic.
//!
//! The feature `fault-injection` is for tests only: it builds a deliberately faulty
//! component whose order path hangs, exhausts its memory or traps on poisoned usernames
//! (`faults.rs`), to prove the host's sandbox. It is never part of the shipped component.

pub mod address_requests;
pub mod addresses;
pub mod amounts;
pub mod callbacks;
pub mod confirmations;
pub mod derivation;
mod error;
mod fields;
pub mod gateway;
pub mod orders;
pub mod protocol;
pub mod signing;

// The generated canonical-ABI glue needs `unsafe` exports; the code written here does not.
#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code)]
mod component;

// Deliberate hangs, bloat and traps for the host's sandbox tests: only in the separate
// fault-injection build (feature `fault-injection`), never in the shipped component.
#[cfg(all(target_arch = "wasm32", feature = "fault-injection"))]
mod faults;

pub use error::{Chain, ErrorCode, Rejection};

/// One USDT in scaled units: the wire amount is `USDT × 10000`.
pub const SCALE: u64 = 10_000;

/// The largest order amount: 2^53-1, so every JavaScript client handles it exactly.
pub const MAX_ORDER_AMOUNT: u64 = (1 << 53) - 1;

/// The largest amount the gateway stores (a signed 64-bit column): 2^63-1.
pub const MAX_STORED_AMOUNT: u64 = i64::MAX as u64;
