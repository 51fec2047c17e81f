//! The protocol component `usdt:recharge@2.2.0`, built from `guest/` by this crate's
//! build script: `cargo build -p usdt-recharge-component` writes it to
//! `target/component/usdt_recharge.wasm`.
//!
//! With the feature `faults` (tests only) the build script also writes
//! `target/component/usdt_recharge_faults.wasm`: the same rules built with the guest's
//! feature `fault-injection`, whose order path hangs, bloats or traps when the order's
//! `username` is `__hang__`, `__bloat__` or `__trap__` (see `guest/src/faults.rs`).

/// Where the build wrote the component (`<target>/component/usdt_recharge.wasm`).
pub const COMPONENT_PATH: &str = env!("USDT_RECHARGE_COMPONENT_PATH");

/// The component's bytes, embedded at build time.
pub const COMPONENT: &[u8] = include_bytes!(env!("USDT_RECHARGE_COMPONENT_PATH"));

/// Where the build wrote the fault-injection build of the component
/// (`<target>/component/usdt_recharge_faults.wasm`). Never ship it: poisoned orders make
/// it hang, exhaust its memory or trap, to prove the host's sandbox.
#[cfg(feature = "faults")]
pub const FAULTS_COMPONENT_PATH: &str = env!("USDT_RECHARGE_FAULTS_COMPONENT_PATH");
