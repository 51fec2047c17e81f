//! What the HTTP server counts: connections open, and those it closed or refused to
//! protect its capacity (a response nobody read, a slot reclaimed from a connection
//! that waited only on its client, a client over its connection limit).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// Why the server closed or refused a connection.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum CloseReason {
    /// A response was not written within `http.write_timeout`.
    WriteTimeout,
    /// At the connection cap, closed to make room (it waited only on its client).
    Reclaimed,
    /// Refused: its client already held `http.max_connections_per_client`.
    PerClientLimit,
}

impl CloseReason {
    /// The label value.
    fn as_str(self) -> &'static str {
        match self {
            Self::WriteTimeout => "write_timeout",
            Self::Reclaimed => "reclaimed",
            Self::PerClientLimit => "per_client_limit",
        }
    }
}

/// `{reason}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

/// The server's connection families.
#[derive(Clone, Debug, Default)]
pub struct ConnectionMetrics {
    open: Gauge,
    max: Gauge,
    closed: Family<ReasonLabels, Counter>,
}

/// One open connection; dropping it counts it closed.
#[derive(Debug)]
pub struct OpenConnection(Gauge);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.dec();
    }
}

impl ConnectionMetrics {
    pub(super) fn register(registry: &mut Registry) -> Self {
        let metrics = Self::default();
        // Every reason from the start, at zero: a rate over a series that appears late
        // misses its first increase.
        for reason in [
            CloseReason::WriteTimeout,
            CloseReason::Reclaimed,
            CloseReason::PerClientLimit,
        ] {
            let _zero = metrics.closed.get_or_create(&ReasonLabels {
                reason: reason.as_str(),
            });
        }
        registry.register(
            "http_connections_open",
            "HTTP connections open now (the cap is http.max_connections)",
            metrics.open.clone(),
        );
        registry.register(
            "http_connections_max",
            "The cap on open HTTP connections (http.max_connections)",
            metrics.max.clone(),
        );
        registry.register(
            "http_connections_closed_by_gateway",
            "Connections the gateway closed or refused to protect its capacity, by reason: \
             write_timeout (a response not read in time), reclaimed (at the cap, one that \
             waited only on its client), per_client_limit (refused at once)",
            metrics.closed.clone(),
        );
        metrics
    }

    /// The server's cap on open connections.
    pub fn set_cap(&self, cap: usize) {
        self.max.set(i64::try_from(cap).unwrap_or(i64::MAX));
    }

    /// A connection opened.
    pub fn opened(&self) -> OpenConnection {
        self.open.inc();
        OpenConnection(self.open.clone())
    }

    /// The server closed or refused one.
    pub fn closed(&self, reason: CloseReason) {
        self.closed
            .get_or_create(&ReasonLabels {
                reason: reason.as_str(),
            })
            .inc();
    }
}
