//! Host bindings generated from `wit/` for the `recharge` world. Private: the rest of
//! the host sees only what `rules` re-exports.

#![allow(missing_docs)] // generated code; the WIT documents every item

wasmtime::component::bindgen!({
    world: "recharge",
    path: "../wit",
});
