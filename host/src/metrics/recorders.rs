//! What the background parts count as they work: the order writer (orders created,
//! batch sizes, commit latency), the chain watchers (head, cursor, lag, failed rounds)
//! and the callback dispatcher (attempts by merchant and outcome, their latency).

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::ChainLabels;
use super::http::latency_histogram;

/// Batch size buckets: 1, 2, 4, … 512 (the writer's largest batch).
fn batch_histogram() -> Histogram {
    Histogram::new(exponential_buckets(1.0, 2.0, 10))
}

/// The order writer's families.
#[derive(Clone, Debug)]
pub struct WriterMetrics {
    created: Family<ChainLabels, Counter>,
    batch_size: Histogram,
    commit_seconds: Histogram,
}

impl Default for WriterMetrics {
    fn default() -> Self {
        Self {
            created: Family::default(),
            batch_size: batch_histogram(),
            commit_seconds: latency_histogram(),
        }
    }
}

impl WriterMetrics {
    pub(super) fn register(registry: &mut Registry) -> Self {
        let metrics = Self::default();
        registry.register(
            "orders_created",
            "New orders committed (an identical retry is not counted), by chain",
            metrics.created.clone(),
        );
        registry.register(
            "writer_batch_size",
            "Orders per group-commit transaction of the order writer",
            metrics.batch_size.clone(),
        );
        registry.register(
            "writer_commit_duration_seconds",
            "Time of one group-commit transaction of the order writer",
            metrics.commit_seconds.clone(),
        );
        metrics
    }

    /// One batch of `size` orders committed (or failed) in `took`.
    pub fn batch(&self, size: usize, took: Duration) {
        self.batch_size.observe(size as f64);
        self.commit_seconds.observe(took.as_secs_f64());
    }

    /// A new order on `chain` was committed.
    pub fn created(&self, chain: &str) {
        self.created
            .get_or_create(&ChainLabels {
                chain: chain.to_owned(),
            })
            .inc();
    }
}

/// The chain watchers' families; [`ChainMetrics::recorder`] gives each watcher its own.
#[derive(Clone, Debug, Default)]
pub struct ChainMetrics {
    head: Family<ChainLabels, Gauge>,
    cursor: Family<ChainLabels, Gauge>,
    lag_blocks: Family<ChainLabels, Gauge>,
    watched: Family<ChainLabels, Gauge>,
    lag_seconds: Family<ChainLabels, Gauge<f64, AtomicU64>>,
    rounds_failed: Family<ChainLabels, Counter>,
    /// When each chain's watcher last stood at the head (or started).
    caught_up: Arc<Mutex<HashMap<String, Instant>>>,
}

impl ChainMetrics {
    pub(super) fn register(registry: &mut Registry) -> Self {
        let metrics = Self::default();
        let families = [
            (
                "chain_head_block",
                "The newest block the watcher saw",
                &metrics.head,
            ),
            (
                "chain_cursor_block",
                "The last block the watcher scanned",
                &metrics.cursor,
            ),
            (
                "chain_lag_blocks",
                "Blocks between the head and the last scanned block",
                &metrics.lag_blocks,
            ),
            (
                "chain_watched_addresses",
                "Addresses the watcher looks for in each scan step (its watch list, kept in memory)",
                &metrics.watched,
            ),
        ];
        for (name, help, family) in families {
            registry.register(name, help, family.clone());
        }
        registry.register(
            "chain_lag_seconds",
            "Seconds since the watcher last had every block up to the head scanned",
            metrics.lag_seconds.clone(),
        );
        registry.register(
            "chain_rounds_failed",
            "Watcher rounds that failed (the node, the database or the component); retried with backoff",
            metrics.rounds_failed.clone(),
        );
        metrics
    }

    /// The recorder of `chain`'s watcher; its lag in seconds counts from now, its
    /// failed rounds from 0 (shown before the first failure, so `increase` sees it).
    pub fn recorder(&self, chain: &str) -> ChainRecorder {
        self.lock().insert(chain.to_owned(), Instant::now());
        let labels = ChainLabels {
            chain: chain.to_owned(),
        };
        self.rounds_failed.get_or_create(&labels).inc_by(0);
        ChainRecorder {
            labels,
            metrics: self.clone(),
        }
    }

    /// Set each chain's lag in seconds (when scraped).
    pub(super) fn refresh_lag(&self) {
        for (chain, at) in self.lock().iter() {
            self.lag_seconds
                .get_or_create(&ChainLabels {
                    chain: chain.clone(),
                })
                .set(at.elapsed().as_secs_f64());
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
        self.caught_up
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// What one chain's watcher reports.
#[derive(Clone, Debug)]
pub struct ChainRecorder {
    labels: ChainLabels,
    metrics: ChainMetrics,
}

impl ChainRecorder {
    /// The watcher saw `head` and has scanned every block up to `scanned`.
    pub fn progress(&self, head: u64, scanned: u64) {
        let m = &self.metrics;
        m.head.get_or_create(&self.labels).set(gauge(head));
        m.cursor.get_or_create(&self.labels).set(gauge(scanned));
        let lag = head.saturating_sub(scanned);
        m.lag_blocks.get_or_create(&self.labels).set(gauge(lag));
        if lag == 0 {
            m.lock().insert(self.labels.chain.clone(), Instant::now());
        }
    }

    /// The watcher's list holds `addresses` addresses.
    pub fn watched(&self, addresses: usize) {
        let n = i64::try_from(addresses).unwrap_or(i64::MAX);
        self.metrics.watched.get_or_create(&self.labels).set(n);
    }

    /// A round failed.
    pub fn round_failed(&self) {
        self.metrics.rounds_failed.get_or_create(&self.labels).inc();
    }
}

fn gauge(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// `{appid, outcome}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AttemptLabels {
    /// A configured merchant's appid (`other` for one no longer configured).
    pub appid: String,
    /// `delivered`, `failed`, `refused`, `not_configured`.
    pub outcome: &'static str,
}

/// `{outcome}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// As in [`AttemptLabels`].
    pub outcome: &'static str,
}

/// The callback dispatcher's families.
#[derive(Clone, Debug)]
pub struct CallbackMetrics {
    attempts: Family<AttemptLabels, Counter>,
    latency: Family<OutcomeLabels, Histogram, fn() -> Histogram>,
}

impl Default for CallbackMetrics {
    fn default() -> Self {
        Self {
            attempts: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
        }
    }
}

impl CallbackMetrics {
    pub(super) fn register(registry: &mut Registry) -> Self {
        let metrics = Self::default();
        registry.register(
            "callback_attempts",
            "Callback attempts, by merchant and outcome",
            metrics.attempts.clone(),
        );
        registry.register(
            "callback_attempt_duration_seconds",
            "Time of one callback attempt (the HTTP request), by outcome",
            metrics.latency.clone(),
        );
        metrics
    }

    /// One attempt for merchant `appid` ended with `outcome` after `took`.
    pub fn attempt(&self, appid: &str, outcome: &'static str, took: Duration) {
        self.attempts
            .get_or_create(&AttemptLabels {
                appid: appid.to_owned(),
                outcome,
            })
            .inc();
        self.latency
            .get_or_create(&OutcomeLabels { outcome })
            .observe(took.as_secs_f64());
    }
}
