//! One connection: served by hyper (HTTP/1.1 or HTTP/2) until it ends, stays idle too
//! long, leaves a response unwritten for `write_timeout`, is reclaimed to make room, or
//! the server stops. Each request is tracked from its arrival until its response body
//! is written or dropped.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request};
use axum::http::Response;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;
use tower::ServiceExt;

use super::activity::{Activity, BodyMarker, InFlight};
use super::{Admitted, Builder};
use crate::config::HttpConfig;
use crate::metrics::{CloseReason, ConnectionMetrics};

/// A connection's time limits.
#[derive(Clone, Copy, Debug)]
pub(super) struct Timeouts {
    /// Before its first request (the request head must be in by then).
    first_request: Duration,
    /// With no request in flight, after a request.
    idle: Duration,
    /// For a ready response to be written whole.
    write: Duration,
}

impl Timeouts {
    pub(super) fn of(limits: &HttpConfig) -> Self {
        Self {
            first_request: limits.header_read_timeout,
            idle: limits.idle_timeout,
            write: limits.write_timeout,
        }
    }
}

/// What every connection is served with.
#[derive(Clone, Debug)]
pub(super) struct Connection {
    pub builder: Arc<Builder>,
    pub router: Router,
    pub timeouts: Timeouts,
    pub metrics: ConnectionMetrics,
}

/// Why the watchdog closed a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expired {
    /// No request in flight for its limit.
    Idle,
    /// A response was not written within the write timeout.
    WriteTimeout,
}

impl Connection {
    /// Serve one connection until it ends; its slot and its place in the table are
    /// given back when it closes.
    pub(super) async fn serve(self, admitted: Admitted, mut stopping: watch::Receiver<bool>) {
        let Admitted {
            stream,
            peer,
            _permit,
            registration,
            activity,
        } = admitted;
        let _open = self.metrics.opened();
        let watched = activity.clone();
        let router = self.router;
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            let has_body = !hyper::body::Body::is_end_stream(request.body());
            handle(router.clone(), activity.begin(has_body), request)
        });
        let stream = WatchedStream {
            stream,
            activity: watched.clone(),
            blocked: false,
        };
        let mut connection =
            std::pin::pin!(self.builder.serve_connection(TokioIo::new(stream), service));
        tokio::select! {
            ended = connection.as_mut() => {
                if let Err(e) = ended {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            expired = watchdog(&watched, self.timeouts) => {
                if expired == Expired::WriteTimeout {
                    tracing::debug!(%peer, "connection closed: a response was not read within the write timeout");
                    self.metrics.closed(CloseReason::WriteTimeout);
                }
                return;
            }
            () = registration.close.notified() => {
                tracing::debug!(%peer, "connection closed to make room: it waited on its client");
                return;
            }
            _ = stopping.wait_for(|stop| *stop) => {}
        }
        if watched.snapshot().idle_since.is_some() {
            return; // idle or half-open: closed at once
        }
        // Finish what is in flight (HTTP/2: GOAWAY), then close; the drain deadline aborts
        // this task if that takes too long.
        connection.as_mut().graceful_shutdown();
        let _ = connection.await;
    }
}

/// Run one request through the router. The request counts as in flight until its
/// response body is sent or dropped; its body, as read, until it ends.
async fn handle(
    router: Router,
    in_flight: InFlight,
    request: Request<Incoming>,
) -> Result<Response<TrackedBody>, Infallible> {
    let marker = in_flight.body_marker();
    let request = request.map(|body| {
        Body::new(TrackedIncoming {
            body,
            marker,
            ended: false,
        })
    });
    let response = router.oneshot(request).await?;
    in_flight.writing();
    Ok(response.map(|body| TrackedBody {
        body,
        _in_flight: in_flight,
    }))
}

/// Resolves once the connection has had no request in flight for its limit, or a
/// response has been left unwritten for the write timeout. Requests never wake it: it
/// looks at the connection when a deadline could have come, and at least every
/// `min(idle, first_request, write)` (a request can shorten a limit).
async fn watchdog(activity: &Activity, timeouts: Timeouts) -> Expired {
    let look_every = timeouts
        .idle
        .min(timeouts.first_request)
        .min(timeouts.write);
    loop {
        let now = Instant::now();
        let state = activity.snapshot();
        let mut wake = now + look_every;
        if let Some(started) = state.delivering_since {
            let deadline = started + timeouts.write;
            if deadline <= now {
                return Expired::WriteTimeout;
            }
            wake = wake.min(deadline);
        }
        if let Some(idle_since) = state.idle_since {
            let limit = if state.served {
                timeouts.idle
            } else {
                timeouts.first_request
            };
            let deadline = idle_since + limit;
            if deadline <= now {
                return Expired::Idle;
            }
            wake = wake.min(deadline);
        }
        tokio::time::sleep_until(wake).await;
    }
}

/// The connection's socket, telling its [`Activity`] when writes are refused (the
/// client does not read) and when they go through again.
#[derive(Debug)]
struct WatchedStream {
    stream: TcpStream,
    activity: Activity,
    /// The last write was refused (changes are reported, not every write).
    blocked: bool,
}

impl WatchedStream {
    fn note<T>(&mut self, polled: Poll<T>) -> Poll<T> {
        let blocked = polled.is_pending();
        if blocked != self.blocked {
            self.blocked = blocked;
            self.activity.write_blocked(blocked);
        }
        polled
    }
}

impl AsyncRead for WatchedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for WatchedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write(cx, buf);
        self.note(polled)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        self.note(polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let polled = Pin::new(&mut self.stream).poll_flush(cx);
        self.note(polled)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// A request body that marks its request's body read when it ends.
#[derive(Debug)]
struct TrackedIncoming {
    body: Incoming,
    marker: BodyMarker,
    /// Marked already.
    ended: bool,
}

impl hyper::body::Body for TrackedIncoming {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        if !self.ended
            && (matches!(polled, Poll::Ready(None | Some(Err(_))))
                || hyper::body::Body::is_end_stream(&self.body))
        {
            self.ended = true;
            self.marker.mark();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        hyper::body::Body::is_end_stream(&self.body)
    }

    fn size_hint(&self) -> SizeHint {
        hyper::body::Body::size_hint(&self.body)
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
