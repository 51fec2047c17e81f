//! Metrics in the Prometheus text format (`GET /metrics`), through `prometheus-client`:
//! one registry per gateway (no global state: two gateways in one process count apart).
//!
//! - [`http`]: requests, latency and rejections per route template, as a middleware.
//! - [`recorders`]: what the order writer, the chain watchers and the callback
//!   dispatcher count as they work.
//! - [`scrape`]: what is read when scraped: database counts, pool usage, the writer's
//!   queue, chain lag in seconds, the component's calls and faults, provider errors.
//!
//! Every label is bounded: route templates (never raw paths), error codes, chain names,
//! configured appids and provider URLs (redacted), states and outcomes; never an order
//! id, an address or a secret. Every metric name starts with `usdt_gateway_`;
//! `docs/operations.md` lists them.

pub mod connections;
pub mod http;
pub mod recorders;
pub mod scrape;

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::prometheus_text;
use prometheus_client::registry::Registry;

use crate::rules::Rules;

pub use connections::{CloseReason, ConnectionMetrics};
pub use http::{RejectionCode, track};
pub use recorders::{CallbackMetrics, ChainMetrics, ChainRecorder, WriterMetrics};
pub use scrape::{ProviderErrors, ScrapeGauges};

/// The `Content-Type` of `GET /metrics`: the Prometheus text format 0.0.4.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// Every metric name begins with this (and `_`).
const PREFIX: &str = "usdt_gateway";

/// `{chain}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ChainLabels {
    /// `TRC20`, `ERC20`, `OMNI`.
    pub chain: String,
}

/// `{state}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabels {
    /// A stored state's word.
    pub state: String,
}

/// The gateway's metrics: the registry and a handle to each family.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// HTTP requests, latency, rejections.
    pub http: http::HttpMetrics,
    /// HTTP connections: open, and closed or refused by the server's limits.
    pub connections: ConnectionMetrics,
    /// The order writer.
    pub writer: WriterMetrics,
    /// The chain watchers.
    pub chains: ChainMetrics,
    /// The callback dispatcher.
    pub callbacks: CallbackMetrics,
    /// Values read when scraped.
    pub gauges: ScrapeGauges,
    /// The chain node endpoints, for their errors.
    providers: scrape::Providers,
}

impl Metrics {
    /// Every family registered, empty; the component's calls and faults and the chain
    /// providers' errors are read from `rules` and `providers` when scraped.
    pub fn new(rules: Arc<Rules>, providers: scrape::Providers) -> Self {
        let mut registry = Registry::with_prefix(PREFIX);
        let http = http::HttpMetrics::register(&mut registry);
        let connections = ConnectionMetrics::register(&mut registry);
        let writer = WriterMetrics::register(&mut registry);
        let chains = ChainMetrics::register(&mut registry);
        let callbacks = CallbackMetrics::register(&mut registry);
        let gauges = ScrapeGauges::register(&mut registry);
        registry.register_collector(Box::new(scrape::Sandbox::new(rules, providers.clone())));
        Self {
            registry,
            http,
            connections,
            writer,
            chains,
            callbacks,
            gauges,
            providers,
        }
    }

    /// Each chain node endpoint's failed calls since start (the operator console shows them).
    pub fn provider_errors(&self) -> Vec<scrape::ProviderErrors> {
        self.providers.errors()
    }

    /// The text of a scrape (call [`ScrapeGauges::refresh`] first).
    pub fn encode(&self) -> String {
        let mut text = String::new();
        if let Err(e) = prometheus_text::encode(&mut text, &self.registry) {
            tracing::error!(error = %e, "metrics could not be encoded");
        }
        text
    }
}
