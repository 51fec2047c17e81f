//! The HTTP server: an accept loop with a cap on open connections, HTTP/1.1 and HTTP/2
//! (prior knowledge) on one port, a header read timeout, an idle timeout, a write
//! timeout on every response, and a drain on shutdown that waits for requests in flight
//! for a bounded time (`[http]` in the configuration).
//!
//! What a client can hold, whatever it does:
//! - a connection that sends no complete request head: `header_read_timeout`;
//! - a connection with no request in flight: `idle_timeout` (HTTP/1.1: also the header
//!   timeout, which hyper restarts after each response);
//! - a request: `request_timeout` to be handled (the router's deadline), then
//!   `write_timeout` for its response to be written — a response the client does not
//!   read (HTTP/2 flow-control window kept at zero, a full TCP window, a slow reader)
//!   closes its connection;
//! - connections: `max_connections_per_client` per client address once half of
//!   `max_connections` are open (trusted proxies exempt), `max_connections` in all; at the cap, a connection that has waited only on
//!   its client for `reclaim_after` (idle, silent, stalled) is closed to make room for a
//!   new one ([`registry`]), so idle keep-alive connections and stalled clients never
//!   keep merchants out.

mod activity;
mod connection;
mod registry;

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::{JoinError, JoinSet};

use crate::api::client::ClientIp;
use crate::config::HttpConfig;
use crate::metrics::{CloseReason, ConnectionMetrics};

use connection::{Connection, Timeouts};
use registry::Registry;

/// Pause after a failed accept (out of file descriptors, say) before the next one.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// At the cap with nothing to reclaim, look again this often.
const LOOK_AGAIN: Duration = Duration::from_millis(100);

/// How long a reclaimed connection has to give its slot back before another is chosen.
const RECLAIM_WAIT: Duration = Duration::from_millis(500);

/// How a connection is built: protocols and their timers.
type Builder = auto::Builder<TokioExecutor>;

/// Serve `router` on `listener` until `shutdown` resolves. Then stop accepting, close
/// idle and half-open connections at once, give requests in flight up to
/// `limits.drain_timeout`, and close whatever is still open.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: &HttpConfig,
    metrics: ConnectionMetrics,
    shutdown: impl Future<Output = ()>,
) {
    metrics.set_cap(limits.max_connections);
    let admission = Admission {
        listener: &listener,
        permits: Arc::new(Semaphore::new(limits.max_connections)),
        registry: Registry::default(),
        limits,
        metrics: metrics.clone(),
    };
    let template = Connection {
        builder: Arc::new(connection_builder(limits)),
        router,
        timeouts: Timeouts::of(limits),
        metrics,
    };
    let (stop, stopping) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    // Kept across loop turns: a connection being admitted is never dropped because
    // another branch of the `select!` finished first.
    let mut next = Box::pin(admission.next());
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            admitted = &mut next => {
                next = Box::pin(admission.next());
                connections.spawn(template.clone().serve(admitted, stopping.clone()));
            }
            Some(ended) = connections.join_next(), if !connections.is_empty() => {
                report_abnormal_end(ended);
            }
        }
    }
    drop(next);
    drop(listener);
    drain(connections, &stop, limits.drain_timeout).await;
}

/// HTTP/1.1 with the header read timeout, and HTTP/2 prior knowledge, on one port.
fn connection_builder(limits: &HttpConfig) -> Builder {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder.http2().timer(TokioTimer::new());
    builder
}

/// A connection let in: its stream, its peer, its slot and its place in the table.
struct Admitted {
    stream: TcpStream,
    peer: SocketAddr,
    _permit: OwnedSemaphorePermit,
    registration: registry::Registration,
    activity: activity::Activity,
}

/// Decides which connections are let in.
struct Admission<'a> {
    listener: &'a TcpListener,
    permits: Arc<Semaphore>,
    registry: Registry,
    limits: &'a HttpConfig,
    metrics: ConnectionMetrics,
}

impl Admission<'_> {
    /// The next connection let in: accepted, within its client's limit, and holding one
    /// of the `max_connections` slots (reclaiming one from a connection that waits only
    /// on its client when all are taken; while none can be, the new connection waits,
    /// and those behind it wait in the kernel's listen backlog).
    async fn next(&self) -> Admitted {
        loop {
            let (stream, peer) = match self.listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            };
            let client = self.client_of(peer);
            if let Some(client) = client
                && !self.within_client_limit(client)
            {
                tracing::debug!(%peer, "connection refused: its client holds its limit of connections");
                self.metrics.closed(CloseReason::PerClientLimit);
                drop(stream);
                continue;
            }
            let permit = self.slot().await;
            let activity = activity::Activity::new();
            let registration = self.registry.register(client, activity.clone());
            return Admitted {
                stream,
                peer,
                _permit: permit,
                registration,
                activity,
            };
        }
    }

    /// The key the per-client limit counts `peer` under; `None` for a trusted proxy
    /// (its connections carry many clients) or when there is no per-client limit.
    fn client_of(&self, peer: SocketAddr) -> Option<IpAddr> {
        if self.limits.max_connections_per_client == 0 {
            return None;
        }
        ClientIp::connection_key(peer.ip(), &self.limits.trusted_proxies)
    }

    /// Whether `client` may open one more connection: always while fewer than half of
    /// `max_connections` are open (a merchant's busy server may hold many); beyond that
    /// only below its limit, or at it with one of its own connections stalled long
    /// enough to be closed instead.
    fn within_client_limit(&self, client: IpAddr) -> bool {
        let open = self.limits.max_connections - self.permits.available_permits();
        if open < self.limits.max_connections / 2
            || self.registry.held_by(client) < self.limits.max_connections_per_client
        {
            return true;
        }
        let reclaimed = self
            .registry
            .reclaim(self.limits.reclaim_after, Some(client));
        if reclaimed {
            self.metrics.closed(CloseReason::Reclaimed);
        }
        reclaimed
    }

    /// One of the `max_connections` slots: a free one, or one given back by a
    /// connection reclaimed for it.
    async fn slot(&self) -> OwnedSemaphorePermit {
        loop {
            if let Ok(permit) = Arc::clone(&self.permits).try_acquire_owned() {
                return permit;
            }
            let reclaimed = self.registry.reclaim(self.limits.reclaim_after, None);
            if reclaimed {
                self.metrics.closed(CloseReason::Reclaimed);
            }
            let wait = if reclaimed { RECLAIM_WAIT } else { LOOK_AGAIN };
            if let Ok(Ok(permit)) =
                tokio::time::timeout(wait, Arc::clone(&self.permits).acquire_owned()).await
            {
                return permit;
            }
        }
    }
}

/// Tell every connection to stop, wait for them at most `limit`, then close the rest.
async fn drain(mut connections: JoinSet<()>, stop: &watch::Sender<bool>, limit: Duration) {
    stop.send_replace(true);
    tracing::info!(open = connections.len(), "draining connections");
    let drained = tokio::time::timeout(limit, async {
        while let Some(ended) = connections.join_next().await {
            report_abnormal_end(ended);
        }
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            open = connections.len(),
            "drain time over: closing the connections still open"
        );
        connections.shutdown().await;
    }
}

fn report_abnormal_end(ended: Result<(), JoinError>) {
    if let Err(e) = ended
        && e.is_panic()
    {
        tracing::error!(error = %e, "a connection task panicked");
    }
}
