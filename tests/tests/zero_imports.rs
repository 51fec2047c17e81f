//! The component imports nothing: no WASI, no clock, no randomness.

#![allow(clippy::panic, clippy::indexing_slicing)] // a failed expectation is a failed test

use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine};

#[test]
fn the_component_has_no_imports_and_instantiates_with_an_empty_linker() {
    let engine = Engine::new(&Config::new()).expect("engine");
    let component =
        Component::new(&engine, usdt_recharge_component::COMPONENT).expect("component compiles");
    let imports: Vec<String> = component
        .component_type()
        .imports(&engine)
        .map(|(name, _)| name.to_owned())
        .collect();
    assert!(imports.is_empty(), "the component imports {imports:?}");
    let exports: Vec<String> = component
        .component_type()
        .exports(&engine)
        .map(|(name, _)| name.to_owned())
        .collect();
    for interface in [
        "amounts",
        "signing",
        "orders",
        "callbacks",
        "addresses",
        "confirmations",
        "protocol",
        "gateway",
        "derivation",
    ] {
        let name = format!("usdt:recharge/{interface}@2.2.0");
        assert!(
            exports.contains(&name),
            "missing export {name} in {exports:?}"
        );
    }
    Linker::<()>::new(&engine)
        .instantiate_pre(&component)
        .expect("an empty linker satisfies the component");
}
