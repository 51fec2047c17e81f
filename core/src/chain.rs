//! Chains as the operator sees them: each watcher's cursor.

/// A chain watcher's cursor, as the operator sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CursorRecord {
    /// The chain.
    pub chain: String,
    /// The head the watcher last saw.
    pub head: i64,
    /// The first block not yet scanned.
    pub next_block: i64,
    /// When the cursor last moved (Unix ms).
    pub updated_at: i64,
}

impl CursorRecord {
    /// How many blocks the watcher is behind the head it last saw.
    pub fn lag(&self) -> i64 {
        (self.head - (self.next_block - 1)).max(0)
    }
}
