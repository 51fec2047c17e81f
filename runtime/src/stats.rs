//! What the sandbox counts: calls into the component and their faults by kind, read
//! by an embedding program as a [`RulesStats`] snapshot (the gateway exports them as
//! metrics). The store's resource limiter ([`Limiter`]) remembers a refused memory
//! growth, so a fault is classified by what happened, not by an error's text.

use std::sync::atomic::{AtomicU64, Ordering};

use wasmtime::{ResourceLimiter, Result, StoreLimits, Trap};

/// Counts of the calls into the component since it was loaded, and its idle instances.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RulesStats {
    /// Calls made (each public function is one call, whatever it returned).
    pub calls: u64,
    /// Calls that trapped (a panic, an out-of-bounds access, `unreachable`).
    pub traps: u64,
    /// Calls interrupted at the call deadline.
    pub deadlines: u64,
    /// Calls stopped because the instance would have grown past its memory cap.
    pub memory: u64,
    /// Calls that failed otherwise: no instance could be made, or a 2.1.0 function was
    /// asked of a 2.0.0 component.
    pub other: u64,
    /// Calls that outlasted `guard_after` in place and were made again through the call
    /// guard (not faults; a call that then failed is counted as its fault too).
    pub reruns_in_guard: u64,
    /// Instances ready for reuse in the pool.
    pub idle_instances: usize,
}

/// How a call failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FaultKind {
    Trap,
    Deadline,
    Memory,
    Other,
}

impl FaultKind {
    /// Classify `error`, raised by a call on a store whose limiter says whether a
    /// memory growth was refused during the call.
    pub(crate) fn of(error: &wasmtime::Error, memory_refused: bool) -> Self {
        if memory_refused {
            return Self::Memory;
        }
        match error.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => Self::Deadline,
            Some(_) => Self::Trap,
            None => Self::Other,
        }
    }
}

/// The running counts behind [`RulesStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    calls: AtomicU64,
    traps: AtomicU64,
    deadlines: AtomicU64,
    memory: AtomicU64,
    other: AtomicU64,
    reruns_in_guard: AtomicU64,
}

impl Counters {
    /// One call made.
    pub(crate) fn call(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }

    /// One call failed with `kind`.
    pub(crate) fn fault(&self, kind: FaultKind) {
        let counter = match kind {
            FaultKind::Trap => &self.traps,
            FaultKind::Deadline => &self.deadlines,
            FaultKind::Memory => &self.memory,
            FaultKind::Other => &self.other,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// One call outlasted its time in place and is made again through the call guard.
    pub(crate) fn rerun_in_guard(&self) {
        self.reruns_in_guard.fetch_add(1, Ordering::Relaxed);
    }

    /// A snapshot, with the pool's `idle_instances`.
    pub(crate) fn snapshot(&self, idle_instances: usize) -> RulesStats {
        RulesStats {
            calls: self.calls.load(Ordering::Relaxed),
            traps: self.traps.load(Ordering::Relaxed),
            deadlines: self.deadlines.load(Ordering::Relaxed),
            memory: self.memory.load(Ordering::Relaxed),
            other: self.other.load(Ordering::Relaxed),
            reruns_in_guard: self.reruns_in_guard.load(Ordering::Relaxed),
            idle_instances,
        }
    }
}

/// A store's data: wasmtime's [`StoreLimits`], and whether they refused a memory growth
/// since [`Limiter::reset`].
pub(crate) struct Limiter {
    limits: StoreLimits,
    memory_refused: bool,
}

impl Limiter {
    pub(crate) fn new(limits: StoreLimits) -> Self {
        Self {
            limits,
            memory_refused: false,
        }
    }

    /// Forget an earlier refusal (before a call).
    pub(crate) fn reset(&mut self) {
        self.memory_refused = false;
    }

    /// Whether a memory growth was refused since the last reset.
    pub(crate) fn memory_refused(&self) -> bool {
        self.memory_refused
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> Result<bool> {
        let allowed = self.limits.memory_growing(current, desired, maximum);
        if !matches!(allowed, Ok(true)) {
            self.memory_refused = true;
        }
        allowed
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> Result<()> {
        self.memory_refused = true;
        self.limits.memory_grow_failed(error)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> Result<()> {
        self.limits.table_grow_failed(error)
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }
}
