//! Where deposits come from: the sources behind the core's chain-source port
//! ([`ChainSource`]) — the embedded dev chain, an EVM node, an Omni Core node — and how
//! each client's failures become the port's [`SourceError`] (the watcher honours a node's
//! `Retry-After` and tells an unusable answer from an unreachable node).

pub mod dev;
pub mod evm;
pub mod omni;

pub use usdt_gateway_core::chain::{
    ChainSource, Source, SourceError, SourceResult, Transfer, WatchForm,
};

pub use dev::DevChain;
pub use evm::EvmSource;
pub use omni::OmniSource;

/// An EVM client's failure as the watcher needs to know it.
pub fn evm_error(e: usdt_evm_rpc::RpcError) -> SourceError {
    use usdt_evm_rpc::RpcError as E;
    match e {
        E::Unavailable { retry_after, .. } => SourceError::Unavailable {
            message: e.to_string(),
            retry_after,
        },
        E::Config(_) | E::InvalidArgument(_) => SourceError::Fault(Box::new(e)),
        other => SourceError::Invalid(other.to_string()),
    }
}

/// An Omni Core client's failure as the watcher needs to know it.
pub fn omni_error(e: usdt_omni_rpc::OmniRpcError) -> SourceError {
    use usdt_omni_rpc::OmniRpcError as E;
    match e {
        E::Unavailable { .. } => SourceError::Unavailable {
            message: e.to_string(),
            retry_after: None,
        },
        E::Config(_) | E::InvalidArgument(_) => SourceError::Fault(Box::new(e)),
        other => SourceError::Invalid(other.to_string()),
    }
}

/// The gateway's own failure (the dev chain's database).
pub fn own_fault(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> SourceError {
    SourceError::Fault(e.into())
}
