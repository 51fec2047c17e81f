//! `usdt-gateway-core`: the gateway's application core.
//!
//! What the gateway *does*, written once, with no HTTP, no SQL and no chain client in it
//! (CI checks that this crate's dependency tree has no `axum`, `sqlx` or `reqwest`):
//!
//! - [`ids`], [`units`]: the domain's identifiers and quantities as their own types
//!   (`AppId`, `OrderSn`, `Amount` in protocol units, `Height`, `UnixMillis`).
//! - [`states`]: the order, deposit, delivery and attempt states, each with one text
//!   mapping; [`order`]: what an order is and what every viewer is shown of it
//!   ([`order::OrderProgress::derive`] — the one place `expired` and confirmations are
//!   derived); [`deposit`], [`delivery`], [`address`], [`chain`]: their records and the
//!   operators' outcomes.
//! - [`usecases`]: the use cases every front end calls — [`OrderIntake`] (place an
//!   order), [`AddressDesk`] (a user's deposit address) and [`Core`] (order status, resend a delivery, assign a deposit …); audit
//!   lines and wake-ups happen inside them.
//! - [`ports`]: what the core needs from the world — [`ports::Storage`] (the
//!   `usdt-gateway-storage` crate), [`ports::Wakeups`] (the gateway's workers) and
//!   [`clock::Clock`].
//!
//! The protocol's rules are not here: they are the component's ([`rules`]), which the
//! core calls (confirmations are counted by it, signed fields are its record).

pub mod address;
pub mod audit;
pub mod chain;
pub mod clock;
pub mod consistency;
pub mod delivery;
pub mod deposit;
pub mod fault;
pub mod ids;
pub mod order;
pub mod ports;
pub mod states;
pub mod units;
pub mod usecases;

pub use usdt_recharge_runtime as rules;
pub use usecases::{AddressDesk, AddressRefusal, Core, CoreError, OrderIntake, OrderView, Refusal};
