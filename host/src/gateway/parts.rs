//! The parts `Gateway::start` builds: the chain watchers with their sources, the
//! callback dispatcher, and the use cases over the store.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use tokio::sync::{Notify, watch};
use usdt_callback_http::{CallbackHttp, TransportConfig};
use usdt_gateway_core::clock::SystemClock;
use usdt_gateway_core::ports::{AccountKeys, Wakeups};
use usdt_gateway_core::{AddressDesk, Core, OrderIntake};

use crate::chain::{DevChain, EvmSource, OmniSource, Source};
use crate::config::{ChainConfig, Config, ConfigError, ConfirmationDepth, Database, DevMode};
use crate::delivery::{DeliveryConfig, Dispatcher};
use crate::merchants::MerchantDirectory;
use crate::metrics::Metrics;
use crate::metrics::scrape::Providers;
use crate::policies::Policies;
use crate::rules::{Chain, ChainFacts, ConfirmationPolicy, Rules};
use crate::store::{self, Store};
use crate::wakeups::Workers;
use crate::watcher::{Watcher, WatcherConfig};
use crate::writer::OrderWriter;

impl<'a> From<&'a Database> for store::Database<'a> {
    fn from(database: &'a Database) -> Self {
        match database {
            Database::Sqlite(path) => Self::Sqlite(path),
            Database::Postgres(url) => Self::Postgres(url.expose()),
        }
    }
}

/// Say loudly that dev mode is on, and why.
pub(super) fn announce_dev_mode(dev_mode: &DevMode) {
    if dev_mode.on {
        tracing::warn!(
            reason = dev_mode.reason,
            "DEV MODE: /dev/… routes let anyone who reaches this port mint deposits; never run it with real money"
        );
    }
}

/// `metrics.listen`, bound; says where `GET /metrics` is not served.
pub(super) async fn bind_metrics(config: &Config) -> anyhow::Result<Option<TcpListener>> {
    let listener = match config.metrics.listen {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .with_context(|| format!("listening on {addr} (metrics.listen)"))?,
        ),
        None => None,
    };
    if listener.is_none() && !config.metrics_on_main_port() {
        tracing::info!(
            "GET /metrics is not served: set metrics.listen (a private address), or metrics.on_main_port = true"
        );
    }
    Ok(listener)
}

/// What the background workers and the use cases are built from.
pub(super) struct Parts<'a> {
    pub(super) config: &'a Config,
    pub(super) rules: &'a Arc<Rules>,
    pub(super) store: &'a Store,
    pub(super) metrics: &'a Arc<Metrics>,
    pub(super) stopped: &'a watch::Receiver<bool>,
}

/// The embedded dev chains, by chain name.
type DevChains = HashMap<&'static str, DevChain>;

/// A chain's deposits come from: a configured node, else the dev chain in dev mode.
type ChainFeed = (Source, WatcherConfig);

impl Parts<'_> {
    /// One watcher per chain with a source, each with its wake-up in `workers`; the
    /// tasks and the dev chains.
    pub(super) fn start_watchers(
        &self,
        workers: &mut Workers,
        policy: &Arc<ConfirmationPolicy>,
        providers: &Providers,
        dev_mode: bool,
    ) -> anyhow::Result<(Vec<JoinHandle<()>>, DevChains)> {
        let mut tasks = Vec::new();
        let mut dev_chains = HashMap::new();
        for facts in self.rules.chains()? {
            let chain = facts.chain;
            let feed = match self.config.chains.get(chain.as_str()) {
                Some(c) => {
                    let feed = node_feed(c, &facts)?;
                    providers.add(chain.as_str(), feed.0.clone());
                    feed
                }
                None if dev_mode => {
                    let dev = self.dev_chain(&facts);
                    dev_chains.insert(chain.as_str(), dev.clone());
                    (Arc::new(dev) as Source, self.dev_watch())
                }
                None => {
                    tracing::warn!(
                        chain = chain.as_str(),
                        "no node configured: deposits on this chain are not watched"
                    );
                    continue;
                }
            };
            let wake = Arc::new(Notify::new());
            workers.watchers.insert(chain.as_str(), Arc::clone(&wake));
            let watcher = Watcher::new(
                feed.0,
                self.store.clone(),
                Arc::clone(self.rules),
                Arc::clone(policy),
                feed.1,
                Arc::clone(&workers.dispatcher),
                self.metrics.chains.recorder(chain.as_str()),
            );
            tasks.push(tokio::spawn(watcher.run(wake, self.stopped.clone())));
        }
        Ok((tasks, dev_chains))
    }

    /// The embedded dev chain of `facts`' chain.
    fn dev_chain(&self, facts: &ChainFacts) -> DevChain {
        DevChain::new(
            self.store.clone(),
            Arc::clone(self.rules),
            facts.chain,
            facts.usdt_decimals,
        )
    }

    /// How the dev chain is watched: from its genesis block, at `dev.poll_interval`.
    fn dev_watch(&self) -> WatcherConfig {
        WatcherConfig {
            poll_interval: self.config.dev.poll_interval,
            max_blocks_per_scan: 10_000,
            start_block: Some(0),
            confirm_finalized: false,
        }
    }

    /// The callback dispatcher, woken through `workers`.
    pub(super) fn start_dispatcher(
        &self,
        merchants: &Arc<MerchantDirectory>,
        workers: &Workers,
    ) -> anyhow::Result<JoinHandle<()>> {
        let notify = &self.config.notify;
        let http = CallbackHttp::new(TransportConfig {
            timeout: notify.timeout,
            allow_private_targets: self.config.allow_private_targets(),
            max_in_flight_per_merchant: notify.max_in_flight_per_merchant,
            max_in_flight_total: notify.max_in_flight,
            ..TransportConfig::default()
        })
        .context("the callback HTTP client")?;
        let dispatcher = Dispatcher::new(
            self.store.clone(),
            Arc::clone(self.rules),
            http,
            Arc::clone(merchants),
            DeliveryConfig {
                retry_delays: notify.retry_delays.clone(),
                timeout: notify.timeout,
                max_in_flight_per_merchant: notify.max_in_flight_per_merchant,
                max_in_flight: notify.max_in_flight,
            },
            self.metrics.callbacks.clone(),
        );
        Ok(tokio::spawn(dispatcher.run(
            Arc::clone(&workers.dispatcher),
            self.stopped.clone(),
        )))
    }

    /// Wakes the dispatcher at each due delivery another process announces (a resend
    /// on another replica or from the command line; PostgreSQL only).
    pub(super) fn forward_announcements(&self, workers: &Workers) -> JoinHandle<()> {
        let store = self.store.clone();
        let wake = Arc::clone(&workers.dispatcher);
        let stopped = self.stopped.clone();
        tokio::spawn(async move { store.forward_announcements(wake, stopped).await })
    }

    /// The use cases over the store, waking `workers`.
    pub(super) fn core(&self, workers: &Arc<Workers>) -> Core<Store> {
        Core::new(
            self.store.clone(),
            Arc::clone(self.rules),
            Arc::clone(workers) as Arc<dyn Wakeups>,
            Arc::new(SystemClock),
        )
    }

    /// The address desk: the merchants' account keys, waking `workers`' watchers.
    pub(super) fn addresses(
        &self,
        merchants: &Arc<MerchantDirectory>,
        workers: &Arc<Workers>,
    ) -> AddressDesk<Store> {
        AddressDesk::new(
            self.store.clone(),
            Arc::clone(self.rules),
            Arc::clone(merchants) as Arc<dyn AccountKeys>,
            Arc::clone(workers) as Arc<dyn Wakeups>,
            Arc::new(SystemClock),
        )
    }

    /// The order intake: through `writer`, after the merchants' and the network's
    /// policies.
    pub(super) fn intake(
        &self,
        writer: &OrderWriter,
        merchants: &Arc<MerchantDirectory>,
    ) -> OrderIntake<Store> {
        OrderIntake::new(
            self.store.clone(),
            Arc::new(writer.clone()),
            Arc::new(Policies {
                merchants: Arc::clone(merchants),
                allow_private_targets: self.config.allow_private_targets(),
            }),
            Arc::new(SystemClock),
            self.config.orders.ttl,
        )
    }
}

/// A configured node's source of `facts`' chain, and how it is watched.
fn node_feed(c: &ChainConfig, facts: &ChainFacts) -> anyhow::Result<ChainFeed> {
    let chain = facts.chain;
    let source = if matches!(chain, Chain::Omni) {
        Arc::new(omni_source(c, facts)?) as Source
    } else {
        Arc::new(EvmSource::new(chain, c)?) as Source
    };
    let watch = WatcherConfig {
        poll_interval: c.poll_interval,
        max_blocks_per_scan: c.max_blocks_per_scan,
        start_block: c.start_block,
        confirm_finalized: c.confirmation == ConfirmationDepth::Finalized,
    };
    Ok((source, watch))
}

/// An Omni Core node, whose amounts must have the decimals the protocol says.
fn omni_source(c: &ChainConfig, facts: &ChainFacts) -> anyhow::Result<OmniSource> {
    let urls = c.rpc_urls.iter().map(|u| u.expose().to_owned()).collect();
    let credentials = c
        .rpc_credentials(facts.chain.as_str())?
        .map(|(u, p)| (u.expose().to_owned(), p.expose().to_owned()));
    let omni = OmniSource::new(urls, credentials)?;
    if omni.decimals() != facts.usdt_decimals {
        return Err(ConfigError(format!(
            "`chains.OMNI`: Omni amounts have {} decimals, the protocol says {}",
            omni.decimals(),
            facts.usdt_decimals
        ))
        .into());
    }
    Ok(omni)
}
