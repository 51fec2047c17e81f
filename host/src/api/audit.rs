//! The audit log: one line per admin action (log target `audit`), naming who did it and
//! what. "Who" is the id of the credential used — a short hash of the admin token (or of
//! the console session) — never the credential itself, so the log can be shared.

use sha2::{Digest, Sha256};

/// The id of a credential in the audit log: the first 12 hex digits of its SHA-256.
/// Stable across restarts (the same token has the same id), and no use for logging in.
pub fn credential_id(credential: &str) -> String {
    let digest = Sha256::digest(credential.as_bytes());
    digest.iter().take(6).map(|b| format!("{b:02x}")).collect()
}
