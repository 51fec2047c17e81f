//! What is read when `/metrics` is scraped rather than counted as it happens.
//!
//! Database counts (deposits by state, unmatched deposits, deliveries by state) are
//! queried on each scrape, not by a background task: nothing runs when nobody scrapes,
//! a value is never older than the scrape that shows it, every replica reports the
//! shared database's truth, and the cost follows the operator's scrape interval (two
//! grouped counts over indexed columns, and the allocation counts kept per merchant and
//! chain: one row each). A failed query leaves the previous values and
//! is logged. The pool, the writer's queue and the chains' lag in seconds are read from
//! memory; the component's counts and the providers' errors are encoded straight from
//! their counters ([`Sandbox`]).

use std::sync::{Arc, Mutex, PoisonError};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::registry::Registry;

use super::{Metrics, StateLabels};
use crate::chain::Source;
use crate::merchants::MerchantTable;
use crate::rules::Rules;
use crate::store::{DeliveryState, DepositState, Store, StoreCounts};

/// Gauges set when scraped.
#[derive(Clone, Debug, Default)]
pub struct ScrapeGauges {
    deposits: Family<StateLabels, Gauge>,
    unmatched: Gauge,
    deliveries: Family<StateLabels, Gauge>,
    pool: Family<StateLabels, Gauge>,
    pool_max: Gauge,
    queue: Gauge,
    queue_capacity: Gauge,
    allocations: Family<AllocationLabels, Gauge>,
    allocations_max: Family<AppidLabels, Gauge>,
}

/// `{appid, chain}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AllocationLabels {
    appid: String,
    chain: String,
}

/// `{appid}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AppidLabels {
    appid: String,
}

impl ScrapeGauges {
    pub(super) fn register(registry: &mut Registry) -> Self {
        let g = Self::default();
        let families = [
            ("deposits", "Deposits by state", &g.deposits),
            (
                "callback_deliveries",
                "Callback deliveries by state",
                &g.deliveries,
            ),
            (
                "db_pool_connections",
                "Database pool connections, idle or in use",
                &g.pool,
            ),
        ];
        for (name, help, family) in families {
            registry.register(name, help, family.clone());
        }
        let gauges = [
            (
                "deposits_unmatched",
                "Deposits no order took (not orphaned): the operator assigns them",
                &g.unmatched,
            ),
            (
                "db_pool_max_connections",
                "Largest size of the database pool",
                &g.pool_max,
            ),
            (
                "writer_queue_depth",
                "Orders waiting for the order writer",
                &g.queue,
            ),
            (
                "writer_queue_capacity",
                "Orders that may wait for the order writer (orders.write_queue); beyond it new orders get 503 OVERLOADED",
                &g.queue_capacity,
            ),
        ];
        for (name, help, gauge) in gauges {
            registry.register(name, help, gauge.clone());
        }
        registry.register(
            "address_allocations",
            "Addresses each configured merchant has allocated on each chain (TraderRechargeAddress; a kept count)",
            g.allocations.clone(),
        );
        registry.register(
            "address_allocations_max",
            "Each configured merchant's most addresses per chain (addresses.max_per_chain or its own)",
            g.allocations_max.clone(),
        );
        g
    }

    /// The configured merchants' allocations and limits (a merchant no longer configured
    /// is left out: every label is a configured appid).
    fn set_allocations(&self, counts: &[(String, String, i64)], merchants: &MerchantTable) {
        self.allocations_max.clear();
        self.allocations.clear();
        for (appid, merchant) in merchants {
            self.allocations_max
                .get_or_create(&AppidLabels {
                    appid: appid.clone(),
                })
                .set(i64::from(merchant.address_limits.max_per_chain));
        }
        for (appid, chain, allocated) in counts {
            if merchants.contains_key(appid) {
                let labels = AllocationLabels {
                    appid: appid.clone(),
                    chain: chain.clone(),
                };
                self.allocations.get_or_create(&labels).set(*allocated);
            }
        }
    }

    fn set_counts(&self, counts: &StoreCounts) {
        for state in DepositState::ALL {
            let n = counts.deposits.get(state).copied().unwrap_or(0);
            self.deposits.get_or_create(&label(state.as_str())).set(n);
        }
        for state in DeliveryState::ALL {
            let n = counts.deliveries.get(state).copied().unwrap_or(0);
            self.deliveries.get_or_create(&label(state.as_str())).set(n);
        }
        self.unmatched.set(counts.unmatched_deposits);
    }
}

fn label(state: &str) -> StateLabels {
    StateLabels {
        state: state.to_owned(),
    }
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Metrics {
    /// Set every gauge that is read when scraped: from `store`, the `merchants`'
    /// limits, and the order writer's `queue` (queued, capacity).
    pub async fn refresh(&self, store: &Store, merchants: &MerchantTable, queue: (usize, usize)) {
        match store.counts().await {
            Ok(counts) => self.gauges.set_counts(&counts),
            Err(e) => tracing::warn!(error = %e, "metrics: database counts not read"),
        }
        match store.allocation_counts().await {
            Ok(counts) => self.gauges.set_allocations(&counts, merchants),
            Err(e) => tracing::warn!(error = %e, "metrics: allocation counts not read"),
        }
        let pool = store.pool_usage();
        let g = &self.gauges;
        g.pool.get_or_create(&label("idle")).set(count(pool.idle));
        g.pool
            .get_or_create(&label("in_use"))
            .set(count(pool.size.saturating_sub(pool.idle)));
        g.pool_max.set(count(pool.max));
        g.queue.set(count(queue.0));
        g.queue_capacity.set(count(queue.1));
        self.chains.refresh_lag();
    }
}

/// One chain node endpoint's failed calls since start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderErrors {
    /// The chain it serves.
    pub chain: String,
    /// The endpoint, redacted (`#0 https://host/…`: no credentials, path or query).
    pub provider: String,
    /// Calls it failed (and was failed over from).
    pub failed: u64,
}

/// The node sources whose endpoints' errors are exported, by chain.
#[derive(Clone, Debug, Default)]
pub struct Providers(Arc<Mutex<Vec<(String, Source)>>>);

impl Providers {
    /// Export `source`'s endpoint errors under `chain`.
    pub fn add(&self, chain: &str, source: Source) {
        self.lock().push((chain.to_owned(), source));
    }

    /// Each chain's endpoints (redacted) with the calls they failed since start.
    pub fn errors(&self) -> Vec<ProviderErrors> {
        self.lock()
            .iter()
            .flat_map(|(chain, source)| {
                source
                    .endpoint_errors()
                    .into_iter()
                    .map(|(provider, failed)| ProviderErrors {
                        chain: chain.clone(),
                        provider,
                        failed,
                    })
            })
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(String, Source)>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// `{kind}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

/// `{chain, provider}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProviderLabels {
    chain: String,
    provider: String,
}

/// Encodes the component's counts and the providers' errors from their own counters.
#[derive(Debug)]
pub(super) struct Sandbox {
    rules: Arc<Rules>,
    providers: Providers,
}

impl Sandbox {
    pub(super) fn new(rules: Arc<Rules>, providers: Providers) -> Self {
        Self { rules, providers }
    }
}

impl Collector for Sandbox {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let stats = self.rules.stats();
        let calls = ConstCounter::new(stats.calls);
        calls.encode(encoder.encode_descriptor(
            "component_calls",
            "Calls into the protocol component",
            None,
            MetricType::Counter,
        )?)?;
        let mut faults = encoder.encode_descriptor(
            "component_faults",
            "Component calls that failed, by kind: trap, deadline (call_timeout), memory (max_memory_mib), other",
            None,
            MetricType::Counter,
        )?;
        for (kind, n) in [
            ("trap", stats.traps),
            ("deadline", stats.deadlines),
            ("memory", stats.memory),
            ("other", stats.other),
        ] {
            ConstCounter::new(n).encode(faults.encode_family(&KindLabels { kind })?)?;
        }
        ConstCounter::new(stats.reruns_in_guard).encode(encoder.encode_descriptor(
            "component_reruns_in_guard",
            "Component calls that outlasted their 1 ms in place on an async worker and were made again off it",
            None,
            MetricType::Counter,
        )?)?;
        ConstGauge::new(count(stats.idle_instances)).encode(encoder.encode_descriptor(
            "component_instances_idle",
            "Component instances pooled for reuse",
            None,
            MetricType::Gauge,
        )?)?;
        let mut errors = encoder.encode_descriptor(
            "chain_provider_errors",
            "Calls a chain node endpoint failed (redacted URL: no credentials, path or query)",
            None,
            MetricType::Counter,
        )?;
        for e in self.providers.errors() {
            let labels = ProviderLabels {
                chain: e.chain,
                provider: e.provider,
            };
            ConstCounter::new(e.failed).encode(errors.encode_family(&labels)?)?;
        }
        Ok(())
    }
}
