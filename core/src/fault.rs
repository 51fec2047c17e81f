//! What a port's failure is to the core: the storage failed.

/// A storage failure. Never the caller's mistake: front ends answer "unavailable, retry"
/// and nothing that was acknowledged is lost.
#[derive(Debug, thiserror::Error)]
#[error("storage: {0}")]
pub struct StorageError(pub Box<dyn std::error::Error + Send + Sync>);

/// What a storage call answers.
pub type Stored<T> = Result<T, StorageError>;
