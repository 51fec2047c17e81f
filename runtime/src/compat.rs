//! Components built against an older minor version of the contract: 2.0.0
//! (`wit/deps/recharge-2.0.0/`: no `protocol` or `gateway`) and 2.1.0
//! (`wit/deps/recharge-2.1.0/`: no `derivation`). Which of the newer interfaces a
//! component exports is found once, when it is loaded; a function it lacks fails with a
//! [`RulesFault`] naming the version it needs. The interfaces of 2.0.0 are the same in
//! every version (wasmtime finds `…/orders@2.0.0` for `…/orders@2.2.0` and checks the
//! types), so only these three are optional.

use wasmtime::component::{Instance, InstancePre};
use wasmtime::{Result, Store};

use crate::bindings::exports::usdt::recharge::{derivation, gateway, protocol};
use crate::stats::Limiter;
use crate::{Rules, RulesFault};

/// The version of the `usdt:recharge` contract a component exports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ContractVersion {
    /// `usdt:recharge@2.0.0`: no `protocol` or `gateway` interface.
    V2_0,
    /// `usdt:recharge@2.1.0`: no `derivation` interface.
    V2_1,
    /// `usdt:recharge@2.2.0`: every interface.
    V2_2,
}

impl std::fmt::Display for ContractVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::V2_0 => "usdt:recharge@2.0.0",
            Self::V2_1 => "usdt:recharge@2.1.0",
            Self::V2_2 => "usdt:recharge@2.2.0",
        })
    }
}

/// Where the functions of the interfaces added since 2.0.0 are, when the component
/// exports them.
pub(crate) struct NewerIndices {
    /// Since 2.1.0: both or neither.
    v2_1: Option<(protocol::GuestIndices, gateway::GuestIndices)>,
    /// Since 2.2.0 (only with `v2_1`).
    v2_2: Option<derivation::GuestIndices>,
}

impl NewerIndices {
    /// Look the newer interfaces up; a component without them is an older version.
    pub(crate) fn find(pre: &InstancePre<Limiter>) -> Self {
        let v2_1 = match (
            protocol::GuestIndices::new(pre),
            gateway::GuestIndices::new(pre),
        ) {
            (Ok(p), Ok(g)) => Some((p, g)),
            _ => None,
        };
        let v2_2 = v2_1
            .as_ref()
            .and_then(|_| derivation::GuestIndices::new(pre).ok());
        Self { v2_1, v2_2 }
    }

    /// The contract version these interfaces make.
    pub(crate) fn version(&self) -> ContractVersion {
        match (&self.v2_1, &self.v2_2) {
            (Some(_), Some(_)) => ContractVersion::V2_2,
            (Some(_), None) => ContractVersion::V2_1,
            (None, _) => ContractVersion::V2_0,
        }
    }

    /// The newer interfaces of one instance.
    pub(crate) fn load(
        &self,
        store: &mut Store<Limiter>,
        instance: &Instance,
    ) -> Result<NewerExports> {
        let (protocol, gateway) = match &self.v2_1 {
            Some((p, g)) => (
                Some(p.load(&mut *store, instance)?),
                Some(g.load(&mut *store, instance)?),
            ),
            None => (None, None),
        };
        let derivation = match &self.v2_2 {
            Some(d) => Some(d.load(&mut *store, instance)?),
            None => None,
        };
        Ok(NewerExports {
            protocol,
            gateway,
            derivation,
        })
    }
}

/// The functions of one instance's interfaces added since 2.0.0, where it has them.
pub(crate) struct NewerExports {
    protocol: Option<protocol::Guest>,
    gateway: Option<gateway::Guest>,
    derivation: Option<derivation::Guest>,
}

impl NewerExports {
    /// `protocol` (2.1.0), for the function `what`.
    pub(crate) fn protocol(&self, what: &str) -> Result<&protocol::Guest> {
        self.protocol.as_ref().ok_or_else(|| needs_2_1(what))
    }

    /// `gateway` (2.1.0), for the function `what`.
    pub(crate) fn gateway(&self, what: &str) -> Result<&gateway::Guest> {
        self.gateway.as_ref().ok_or_else(|| needs_2_1(what))
    }

    /// `derivation` (2.2.0), for the function `what`.
    pub(crate) fn derivation(&self, what: &str) -> Result<&derivation::Guest> {
        self.derivation.as_ref().ok_or_else(|| needs_2_2(what))
    }
}

impl Rules {
    /// The contract version the component exports.
    pub fn version(&self) -> ContractVersion {
        self.indices.newer.version()
    }

    /// Refuse the function `what` of contract version `needed` when the component is
    /// older, before any instance is used (nothing is counted).
    pub(crate) fn require(&self, needed: ContractVersion, what: &str) -> Result<(), RulesFault> {
        if self.version() >= needed {
            return Ok(());
        }
        Err(RulesFault(match needed {
            ContractVersion::V2_2 => needs_2_2(what),
            ContractVersion::V2_0 | ContractVersion::V2_1 => needs_2_1(what),
        }))
    }
}

/// The error of a 2.1.0 function called on a 2.0.0 component.
fn needs_2_1(what: &str) -> wasmtime::Error {
    wasmtime::format_err!("`{what}` needs a usdt:recharge@2.1.0 component; this one is 2.0.0")
}

/// The error of a 2.2.0 function called on an older component.
fn needs_2_2(what: &str) -> wasmtime::Error {
    wasmtime::format_err!(
        "`{what}` needs a usdt:recharge@2.2.0 component; this one is older (no `derivation`)"
    )
}
