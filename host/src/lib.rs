//! `usdt-gateway`: the host that runs the USDT Recharge API V2 on the protocol
//! component `usdt:recharge@2.2.0`.
//!
//! - [`rules`]: the component, sandboxed (compiled once, pooled, capped, interruptible):
//!   the crate `usdt-recharge-runtime`, re-exported.
//! - [`config`]: defaults → file → environment, validated.
//! - [`store`]: SQLite (embedded) or PostgreSQL; orders and address bindings.
//! - [`writer`]: group commit of new orders.
//! - [`api`]: the HTTP API.
//! - [`chain`]: where deposits come from (the dev chain, EVM JSON-RPC).
//! - [`watcher`]: scanning chains, matching deposits, confirmations, reorgs.
//! - [`delivery`]: the callback dispatcher over the outbox.
//! - [`merchants`]: the merchant directory, reloadable, with secret rotation.
//! - [`pages`]: the payer's checkout page, the front door and the operator console.
//! - [`router`]: the main port's routes, the API and the pages side by side.
//! - [`server`]: HTTP connections: limits, timeouts, the bounded drain.
//! - [`metrics`]: `GET /metrics` in the Prometheus text format.
//! - [`policies`]: the operator's order policies, behind the core's port.
//! - [`wakeups`]: the workers' wake-ups, behind the core's port.
//! - [`preflight`]: what is loaded and checked before anything runs.
//! - [`gateway`]: assembling and serving all of it.

pub mod api;
pub mod chain;
pub mod config;
pub mod delivery;
pub mod gateway;
pub mod merchants;
pub mod metrics;
pub mod pages;
pub mod policies;
pub mod preflight;
pub mod router;
pub mod server;
pub mod telemetry;
pub mod wakeups;
pub mod watcher;
pub mod writer;

pub use usdt_gateway_core::clock;
pub use usdt_gateway_storage as store;
pub use usdt_recharge_runtime as rules;
