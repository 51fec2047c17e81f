//! Reloading the merchants (and the admin token) from the configuration: the operator's
//! action through the admin API, and the process's on SIGHUP. Audited here, so every
//! front end gets the same line.

use crate::audit::Actor;

/// What a reload put in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reloaded {
    /// How many merchants are configured now.
    pub merchants: usize,
    /// Whether the admin token changed.
    pub admin_token_changed: bool,
    /// Console sessions the token's change ended.
    pub sessions_ended: usize,
}

/// Where the merchants come from: the gateway's configuration (its file, then the
/// environment), checked whole before anything is replaced.
pub trait MerchantSource: Send + Sync {
    /// Load, check and put in place; on any error nothing changes and the error says
    /// why.
    fn reload(&self) -> Result<Reloaded, String>;
}

/// Reload the merchants from `source` for `actor`. Audited, success or not.
pub fn reload_merchants(source: &dyn MerchantSource, actor: &Actor) -> Result<Reloaded, String> {
    let outcome = source.reload();
    match &outcome {
        Ok(done) => tracing::info!(
            target: "audit",
            who = %actor.who,
            via = actor.via(),
            action = "reload_merchants",
            ok = true,
            merchants = done.merchants,
            admin_token_changed = done.admin_token_changed,
            sessions_ended = done.sessions_ended,
            "operator reloaded the merchants"
        ),
        Err(error) => tracing::warn!(
            target: "audit",
            who = %actor.who,
            via = actor.via(),
            action = "reload_merchants",
            ok = false,
            error,
            "reload refused; nothing changed"
        ),
    }
    outcome
}
