//! Deliberate faults, for proving the host's sandbox — **never in the shipped component**.
//!
//! Compiled only for `wasm32` with the `fault-injection` feature, which only the build
//! script of `usdt-recharge-component` turns on, and only for a second component,
//! `target/component/usdt_recharge_faults.wasm` (that crate's feature `faults`; the
//! gateway's tests use it). The shipped `usdt_recharge.wasm` is built without it and is
//! byte-for-byte the same as if this file did not exist.
//!
//! The adapter (`component.rs`) calls [`inject`] first on the order path —
//! `orders.parse-order` and `merchant-keyring.check-order` — and nowhere else. When the
//! body's `username` is one of the poisoned names below, the call misbehaves the way a
//! buggy build of the rules could; for any other input it returns at once and the rules
//! run exactly as in the real build:
//!
//! | `username` | what the call does | what the host must do |
//! |---|---|---|
//! | [`HANG`] `__hang__` | loops forever | interrupt it at the epoch deadline |
//! | [`BLOAT`] `__bloat__` | allocates (and touches) 1 MiB blocks without bound | refuse the memory growth past the cap |
//! | [`TRAP`] `__trap__` | panics (`panic = "abort"`: `unreachable`) | report the trap |
//!
//! In every case the call never returns normally, so the host sees a fault and must
//! discard the instance.

use std::hint::black_box;

use serde::Deserialize;

/// `username` that makes the call loop forever.
pub(crate) const HANG: &str = "__hang__";
/// `username` that makes the call allocate until memory growth fails.
pub(crate) const BLOAT: &str = "__bloat__";
/// `username` that makes the call trap.
pub(crate) const TRAP: &str = "__trap__";

/// Only the field that selects a fault; everything else in the body is ignored.
#[derive(Deserialize)]
struct Probe {
    username: Option<String>,
}

/// Misbehave if the order `body` asks for it (see the module docs); otherwise return.
pub(crate) fn inject(body: &str) {
    let Ok(Probe {
        username: Some(username),
    }) = serde_json::from_str::<Probe>(body)
    else {
        return;
    };
    match username.as_str() {
        HANG => hang(),
        BLOAT => bloat(),
        TRAP => trap(),
        _ => {}
    }
}

/// An endless loop the optimizer cannot remove: every turn goes through `black_box`.
fn hang() -> ! {
    let mut turns: u64 = 0;
    loop {
        turns = black_box(turns.wrapping_add(1));
    }
}

/// Keep every block alive and write to it, so the linear memory really grows until the
/// host's cap refuses it (a trap with `trap_on_grow_failure`; otherwise the allocator
/// fails and `handle_alloc_error` aborts, which is a trap too).
fn bloat() -> ! {
    const BLOCK: usize = 1 << 20;
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        hoard.push(black_box(vec![0xA5; BLOCK]));
        black_box(&mut hoard);
    }
}

/// A bug that panics; the wasm profile aborts on panic, which executes `unreachable`.
#[allow(clippy::panic)] // the whole point of this function
fn trap() -> ! {
    panic!("fault injection: {TRAP}")
}
