//! The HTTP server: an accept loop with a cap on open connections, HTTP/1.1 and HTTP/2
//! (prior knowledge) on one port, a header read timeout, an idle timeout, and a drain on
//! shutdown that waits for requests in flight for a bounded time (`[http]` in the
//! configuration).

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request};
use axum::http::Response;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::{JoinError, JoinSet};
use tokio::time::Instant;
use tower::ServiceExt;

use crate::config::HttpConfig;

/// Pause after a failed accept (out of file descriptors, say) before the next one.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// How a connection is built: protocols and their timers.
type Builder = auto::Builder<TokioExecutor>;

/// Serve `router` on `listener` until `shutdown` resolves. Then stop accepting, close
/// idle and half-open connections at once, give requests in flight up to
/// `limits.drain_timeout`, and close whatever is still open.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: &HttpConfig,
    shutdown: impl Future<Output = ()>,
) {
    let builder = Arc::new(connection_builder(limits));
    let timeouts = Timeouts {
        first_request: limits.header_read_timeout,
        idle: limits.idle_timeout,
    };
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let (stop, stopping) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            (stream, peer, permit) = accept(&listener, &permits) => {
                connections.spawn(serve_connection(
                    stream,
                    peer,
                    Arc::clone(&builder),
                    router.clone(),
                    timeouts,
                    stopping.clone(),
                    permit,
                ));
            }
            Some(ended) = connections.join_next(), if !connections.is_empty() => {
                report_abnormal_end(ended);
            }
        }
    }
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

/// The next connection, once one of the `permits` is free: while every permit is taken
/// nothing is accepted and new connections wait in the kernel's listen backlog.
async fn accept(
    listener: &TcpListener,
    permits: &Arc<Semaphore>,
) -> (TcpStream, SocketAddr, OwnedSemaphorePermit) {
    loop {
        let Ok(permit) = Arc::clone(permits).acquire_owned().await else {
            // The semaphore is never closed; should it be, accept nothing more.
            return std::future::pending().await;
        };
        match listener.accept().await {
            Ok((stream, peer)) => return (stream, peer, permit),
            Err(e) => {
                tracing::warn!(error = %e, "accepting a connection failed");
                drop(permit);
                tokio::time::sleep(ACCEPT_BACKOFF).await;
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

/// A connection's time limits while it has no request in flight.
#[derive(Clone, Copy, Debug)]
struct Timeouts {
    /// Before its first request (the request head must be in by then).
    first_request: Duration,
    /// After a request.
    idle: Duration,
}

/// Serve one connection until it ends, stays idle too long, or the server stops; the
/// permit is given back when it closes.
async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    builder: Arc<Builder>,
    router: Router,
    timeouts: Timeouts,
    mut stopping: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
) {
    let activity = Activity::new();
    let watched = activity.clone();
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        handle(router.clone(), activity.begin(), request)
    });
    let mut connection = std::pin::pin!(builder.serve_connection(TokioIo::new(stream), service));
    tokio::select! {
        ended = connection.as_mut() => {
            if let Err(e) = ended {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            return;
        }
        () = idle_expired(&watched, timeouts) => return,
        _ = stopping.wait_for(|stop| *stop) => {}
    }
    if watched.load().in_flight == 0 {
        return; // idle or half-open: closed at once
    }
    // Finish what is in flight (HTTP/2: GOAWAY), then close; the drain deadline aborts
    // this task if that takes too long.
    connection.as_mut().graceful_shutdown();
    let _ = connection.await;
}

/// Run one request through the router; the request counts as in flight until its
/// response body is sent or dropped.
async fn handle(
    router: Router,
    in_flight: InFlight,
    request: Request<Incoming>,
) -> Result<Response<TrackedBody>, Infallible> {
    let response = router.oneshot(request.map(Body::new)).await?;
    Ok(response.map(|body| TrackedBody {
        body,
        _in_flight: in_flight,
    }))
}

/// Resolves once the connection has had no request in flight for its limit. Requests
/// never wake it: it looks at the connection when its deadline could have come, and at
/// least every `min(idle, first_request)` (a served request can shorten the limit).
async fn idle_expired(activity: &Activity, timeouts: Timeouts) {
    let look_every = timeouts.idle.min(timeouts.first_request);
    loop {
        let load = activity.load();
        let now = Instant::now();
        let next_look = now + look_every;
        let wake = if load.in_flight > 0 {
            next_look
        } else {
            let limit = if load.served {
                timeouts.idle
            } else {
                timeouts.first_request
            };
            let deadline = load.idle_since + limit;
            if deadline <= now {
                return;
            }
            deadline.min(next_look)
        };
        tokio::time::sleep_until(wake).await;
    }
}

/// What a connection is doing.
#[derive(Clone, Copy, Debug)]
struct Load {
    /// Requests whose response is not sent yet.
    in_flight: usize,
    /// When the last request ended (or the connection opened).
    idle_since: Instant,
    /// Whether a request has ended on this connection.
    served: bool,
}

/// Counts a connection's requests in flight (HTTP/2 runs several at once).
#[derive(Clone, Debug)]
struct Activity(Arc<Mutex<Load>>);

impl Activity {
    fn new() -> Self {
        Self(Arc::new(Mutex::new(Load {
            in_flight: 0,
            idle_since: Instant::now(),
            served: false,
        })))
    }

    fn load(&self) -> Load {
        *self.lock()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Load> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn begin(&self) -> InFlight {
        let mut load = self.lock();
        load.in_flight = load.in_flight.saturating_add(1);
        InFlight(self.clone())
    }
}

/// One request in flight; dropping it ends the request.
#[derive(Debug)]
struct InFlight(Activity);

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut load = self.0.lock();
        load.in_flight = load.in_flight.saturating_sub(1);
        load.served = true;
        if load.in_flight == 0 {
            load.idle_since = Instant::now();
        }
    }
}

/// A response body that keeps its request in flight until it is sent or dropped.
#[derive(Debug)]
struct TrackedBody {
    body: Body,
    _in_flight: InFlight,
}

impl hyper::body::Body for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        hyper::body::Body::poll_frame(Pin::new(&mut self.body), cx)
    }

    fn is_end_stream(&self) -> bool {
        hyper::body::Body::is_end_stream(&self.body)
    }

    fn size_hint(&self) -> SizeHint {
        hyper::body::Body::size_hint(&self.body)
    }
}
