//! The protocol component `usdt:recharge@2.0.0`, built from `guest/` by this crate's
//! build script: `cargo build -p usdt-recharge-component` writes it to
//! `target/component/usdt_recharge.wasm`.

/// Where the build wrote the component (`<target>/component/usdt_recharge.wasm`).
pub const COMPONENT_PATH: &str = env!("USDT_RECHARGE_COMPONENT_PATH");

/// The component's bytes, embedded at build time.
pub const COMPONENT: &[u8] = include_bytes!(env!("USDT_RECHARGE_COMPONENT_PATH"));
