//! What one connection is doing: its requests in flight, each either being handled
//! (with or without its request body read whole) or having its response written, and
//! since when it has had none. The connection's watchdog and the connection table read
//! it to decide when a connection has stalled on its client.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::time::Instant;

/// One request's phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// The router is handling it; `body_read` once its request body has ended (or it had
    /// none).
    Handling { body_read: bool },
    /// Its response is ready and being written to the client.
    Writing,
}

/// One request in flight: its phase and when that phase began (for `Handling`, when
/// the request arrived).
#[derive(Clone, Copy, Debug)]
struct Request {
    phase: Phase,
    since: Instant,
}

#[derive(Debug)]
struct Load {
    /// Requests in flight by a sequence number, so the first is the oldest.
    requests: BTreeMap<u64, Request>,
    next: u64,
    /// When the last request ended (or the connection opened).
    idle_since: Instant,
    /// Whether a request has ended on this connection.
    served: bool,
    /// The socket refused bytes the server has to write (its last write was pending).
    write_blocked: bool,
    /// Since when responses have been on their way without a break: some response being
    /// handed to the protocol, or bytes waiting for the socket.
    delivering_since: Option<Instant>,
}

impl Load {
    /// End the delivery span once nothing is left to deliver.
    fn settle(&mut self) {
        let handing_over = self.requests.values().any(|r| r.phase == Phase::Writing);
        if !handing_over && !self.write_blocked {
            self.delivering_since = None;
        }
    }
}

/// A connection's state at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Snapshot {
    /// No request in flight since this instant (`None`: requests are in flight).
    pub idle_since: Option<Instant>,
    /// Whether a request has ended on this connection.
    pub served: bool,
    /// Since when responses have been on their way without a break (being handed to the
    /// protocol, or waiting for the socket to take their bytes).
    pub delivering_since: Option<Instant>,
    /// Since when the connection has waited only on its client — idle, or every request
    /// in flight either writing its response or waiting for its request body — if it
    /// does; `None` while the gateway is working on a request.
    pub waiting_on_client_since: Option<Instant>,
}

/// Counts a connection's requests in flight (HTTP/2 runs several at once).
#[derive(Clone, Debug)]
pub(super) struct Activity(Arc<Mutex<Load>>);

impl Activity {
    /// A connection that just opened.
    pub fn new() -> Self {
        Self(Arc::new(Mutex::new(Load {
            requests: BTreeMap::new(),
            next: 0,
            idle_since: Instant::now(),
            served: false,
            write_blocked: false,
            delivering_since: None,
        })))
    }

    fn lock(&self) -> MutexGuard<'_, Load> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// What the connection is doing now.
    pub fn snapshot(&self) -> Snapshot {
        let load = self.lock();
        let waiting_on_client_since = if load.requests.is_empty() {
            Some(load.idle_since)
        } else {
            load.requests
                .values()
                .map(|r| match r.phase {
                    Phase::Writing | Phase::Handling { body_read: false } => Some(r.since),
                    Phase::Handling { body_read: true } => None,
                })
                .try_fold(None::<Instant>, |latest, since| {
                    since.map(|s| Some(latest.map_or(s, |l| l.max(s))))
                })
                .flatten()
        };
        Snapshot {
            idle_since: load.requests.is_empty().then_some(load.idle_since),
            served: load.served,
            delivering_since: load.delivering_since,
            waiting_on_client_since,
        }
    }

    /// A request arrived; `has_body` when a request body is still to come.
    pub fn begin(&self, has_body: bool) -> InFlight {
        let mut load = self.lock();
        let id = load.next;
        load.next = load.next.wrapping_add(1);
        load.requests.insert(
            id,
            Request {
                phase: Phase::Handling {
                    body_read: !has_body,
                },
                since: Instant::now(),
            },
        );
        InFlight {
            activity: self.clone(),
            id,
        }
    }

    /// The socket refused bytes (`true`), or took them (`false`).
    pub fn write_blocked(&self, blocked: bool) {
        let mut load = self.lock();
        load.write_blocked = blocked;
        if blocked {
            load.delivering_since.get_or_insert_with(Instant::now);
        } else {
            load.settle();
        }
    }

    fn update(&self, id: u64, change: impl FnOnce(&mut Request)) {
        if let Some(request) = self.lock().requests.get_mut(&id) {
            change(request);
        }
    }
}

/// One request in flight; dropping it ends the request.
#[derive(Debug)]
pub(super) struct InFlight {
    activity: Activity,
    id: u64,
}

impl InFlight {
    /// Its response is ready: from now on it is being written.
    pub fn writing(&self) {
        let now = Instant::now();
        let mut load = self.activity.lock();
        if let Some(request) = load.requests.get_mut(&self.id) {
            request.phase = Phase::Writing;
            request.since = now;
        }
        load.delivering_since.get_or_insert(now);
    }

    /// A handle that marks the request body read (for the body's wrapper).
    pub fn body_marker(&self) -> BodyMarker {
        BodyMarker {
            activity: self.activity.clone(),
            id: self.id,
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut load = self.activity.lock();
        load.requests.remove(&self.id);
        load.served = true;
        load.settle();
        if load.requests.is_empty() {
            load.idle_since = Instant::now();
        }
    }
}

/// Marks one request's body read, once.
#[derive(Debug)]
pub(super) struct BodyMarker {
    activity: Activity,
    id: u64,
}

impl BodyMarker {
    /// The body ended.
    pub fn mark(&self) {
        self.activity.update(self.id, |r| {
            if let Phase::Handling { body_read } = &mut r.phase {
                *body_read = true;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_connection_waits_on_its_client_only_when_no_handler_works_for_it() {
        let activity = Activity::new();
        let opened = Instant::now();
        let s = activity.snapshot();
        assert_eq!(s.idle_since, Some(opened));
        assert_eq!(s.waiting_on_client_since, Some(opened));
        assert!(!s.served);

        tokio::time::advance(std::time::Duration::from_secs(1)).await;
        let get = activity.begin(false);
        let s = activity.snapshot();
        assert_eq!(s.idle_since, None);
        assert_eq!(s.waiting_on_client_since, None, "a handler is working");

        let upload = activity.begin(true);
        assert_eq!(activity.snapshot().waiting_on_client_since, None);
        tokio::time::advance(std::time::Duration::from_secs(1)).await;
        get.writing();
        let s = activity.snapshot();
        assert_eq!(s.delivering_since, Some(Instant::now()));
        // One response being written, one body not arrived: waiting on the client since
        // the later of the two.
        assert_eq!(s.waiting_on_client_since, Some(Instant::now()));
        upload.body_marker().mark();
        assert_eq!(activity.snapshot().waiting_on_client_since, None);
        drop(upload);
        drop(get);
        let s = activity.snapshot();
        assert!(s.served);
        assert_eq!(s.idle_since, Some(Instant::now()));
        assert_eq!(s.delivering_since, None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_response_is_delivered_once_the_socket_took_its_last_bytes() {
        let activity = Activity::new();
        let request = activity.begin(false);
        let ready = Instant::now();
        request.writing();
        tokio::time::advance(std::time::Duration::from_secs(1)).await;
        // The socket is full when the protocol has taken the whole body.
        activity.write_blocked(true);
        drop(request);
        tokio::time::advance(std::time::Duration::from_secs(1)).await;
        assert_eq!(
            activity.snapshot().delivering_since,
            Some(ready),
            "bytes still wait"
        );
        activity.write_blocked(false);
        assert_eq!(activity.snapshot().delivering_since, None);
        // Blocked with no response in hand (a pipelined one already handed over).
        activity.write_blocked(true);
        assert_eq!(activity.snapshot().delivering_since, Some(Instant::now()));
    }
}
