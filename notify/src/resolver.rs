//! DNS resolution that only ever hands vetted addresses to the connector, so a name that
//! resolves (or re-binds) to an internal address cannot be connected to.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::target::{forbidden_host, forbidden_range};

/// A boxed future, as [`Lookup`] returns.
pub type LookupFuture = Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send>>;

/// Turns a host name into addresses. [`SystemLookup`] is the real one; tests substitute a
/// fixed table to simulate a name that points at an internal address.
pub trait Lookup: Send + Sync + 'static {
    /// All addresses of `host` (no port), in preference order.
    fn lookup(&self, host: String) -> LookupFuture;
}

/// The operating system's resolver, through `tokio::net::lookup_host`.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemLookup;

impl Lookup for SystemLookup {
    fn lookup(&self, host: String) -> LookupFuture {
        Box::pin(async move {
            let addrs = tokio::net::lookup_host((host.as_str(), 0)).await?;
            Ok(addrs.map(|sa| sa.ip()).collect())
        })
    }
}

/// The resolver refused a name: it is on the forbidden list, or every address it resolves
/// to is in a forbidden range. The target may not be contacted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefusedTarget {
    /// The name that was looked up.
    pub host: String,
    /// Why, in English.
    pub reason: String,
}

impl fmt::Display for RefusedTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "refused target {}: {}", self.host, self.reason)
    }
}

impl std::error::Error for RefusedTarget {}

/// A [`reqwest::dns::Resolve`] that resolves through a [`Lookup`] and drops every address
/// in a [forbidden range](crate::forbidden_range) (unless private targets are allowed).
/// When nothing is left, resolution fails with [`RefusedTarget`], so the connection can
/// only ever be made to an address that passed the check: a DNS answer that changes
/// between the order-time check and the attempt (rebinding) gains nothing.
#[derive(Clone)]
pub struct GuardedResolver {
    allow_private_targets: bool,
    lookup: Arc<dyn Lookup>,
}

impl fmt::Debug for GuardedResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardedResolver")
            .field("allow_private_targets", &self.allow_private_targets)
            .finish_non_exhaustive()
    }
}

impl GuardedResolver {
    /// A guard around `lookup`.
    pub fn new(allow_private_targets: bool, lookup: Arc<dyn Lookup>) -> Self {
        Self {
            allow_private_targets,
            lookup,
        }
    }

    /// A guard around the system resolver.
    pub fn system(allow_private_targets: bool) -> Self {
        Self::new(allow_private_targets, Arc::new(SystemLookup))
    }

    /// Resolve `host` and keep the permitted addresses (the same rule the
    /// [`Resolve`] implementation applies).
    pub async fn resolve_host(&self, host: &str) -> Result<Vec<IpAddr>, ResolveError> {
        if !self.allow_private_targets
            && let Some(reason) = forbidden_host(host)
        {
            return Err(ResolveError::Refused(RefusedTarget {
                host: host.to_owned(),
                reason,
            }));
        }
        let found = self
            .lookup
            .lookup(host.to_owned())
            .await
            .map_err(ResolveError::Lookup)?;
        if found.is_empty() {
            return Err(ResolveError::Lookup(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{host} has no addresses"),
            )));
        }
        if self.allow_private_targets {
            return Ok(found);
        }
        let (kept, refused) = filter_addresses(found);
        if kept.is_empty() {
            let reason = refused
                .iter()
                .map(|(ip, why)| format!("{ip} is {why}"))
                .collect::<Vec<_>>()
                .join("; ");
            return Err(ResolveError::Refused(RefusedTarget {
                host: host.to_owned(),
                reason: format!("every address is forbidden: {reason}"),
            }));
        }
        Ok(kept)
    }
}

/// Split addresses into permitted ones and refused ones with their reason.
pub(crate) fn filter_addresses(found: Vec<IpAddr>) -> (Vec<IpAddr>, Vec<(IpAddr, String)>) {
    let mut kept = Vec::with_capacity(found.len());
    let mut refused = Vec::new();
    for ip in found {
        match forbidden_range(ip) {
            Some(range) => refused.push((ip, range.to_string())),
            None => kept.push(ip),
        }
    }
    (kept, refused)
}

/// Why [`GuardedResolver::resolve_host`] returned no address.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// The name or all its addresses are forbidden: do not retry.
    #[error(transparent)]
    Refused(RefusedTarget),
    /// The lookup itself failed (no such name, resolver down): may work later.
    #[error("DNS lookup failed: {0}")]
    Lookup(io::Error),
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let this = self.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            match this.resolve_host(&host).await {
                Ok(ips) => {
                    let addrs: Addrs = Box::new(ips.into_iter().map(|ip| SocketAddr::new(ip, 0)));
                    Ok(addrs)
                }
                Err(ResolveError::Refused(refused)) => Err(Box::new(refused) as _),
                Err(ResolveError::Lookup(e)) => Err(Box::new(e) as _),
            }
        })
    }
}
