//! Host bindings generated from `wit/recharge.wit` (not `wit/deps/`) for the
//! `usdt:recharge@2.2.0` world. Private: users of the crate see only what `lib.rs`
//! re-exports.
//!
//! The runtime loads each exported interface on its own (`GuestIndices`, see `pool` and
//! `compat`), not the whole world, so that a component built against 2.0.0
//! (`wit/deps/recharge-2.0.0/`, the interfaces of 2.1.0 minus `protocol` and `gateway`) or
//! 2.1.0 (`wit/deps/recharge-2.1.0/`, those of 2.2.0 minus `derivation`) loads too:
//! wasmtime finds `usdt:recharge/orders@2.0.0` for `…/orders@2.2.0` (semver-compatible
//! names) and checks the types, which no later minor version changed.

#![allow(missing_docs)] // generated code; the WIT documents every item

wasmtime::component::bindgen!({
    world: "recharge",
    path: "../wit/recharge.wit",
    // Records compare by value: e.g. two orders' `order-fields` (exactly the fields the
    // order sign covers) are equal when a retry is identical.
    additional_derives: [PartialEq, Eq],
});
