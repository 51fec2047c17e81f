//! Assembling and running the gateway from a [`Config`]: the component, the store, the
//! merchants, the policy, the order writer, and the HTTP server with a bounded drain.

mod parts;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use tokio::sync::watch;

use crate::api::access::AdminAccess;
use crate::api::{self, AppState, Shared};
use crate::config::{Config, HttpConfig};
use crate::merchants::MerchantDirectory;
use crate::metrics::Metrics;
use crate::metrics::scrape::Providers;
use crate::server;
use crate::store::Store;
use crate::wakeups::Workers;
use crate::writer::{OrderWriter, WriterTask};

use crate::preflight::chosen_component;
use parts::{Parts, announce_dev_mode, bind_metrics};

pub use crate::api::reload::{MerchantReload, ReloadOutcome};
pub use crate::preflight::{DEV_APPID, check_protocol, confirmation_policy, load_rules, merchants};

/// A started gateway: everything but the listening socket.
#[derive(Debug)]
pub struct Gateway {
    state: AppState,
    writer_task: WriterTask,
    /// Connection limits and the drain time of [`Gateway::serve`].
    http: HttpConfig,
    /// Chain watchers and the callback dispatcher.
    background: Vec<JoinHandle<()>>,
    stop_background: watch::Sender<bool>,
    /// `metrics.listen`, bound: `GET /metrics` is served there alone.
    metrics_listener: Option<TcpListener>,
    /// Whether the demo merchant of dev mode is in use.
    pub dev_merchant: bool,
}

impl Gateway {
    /// Build everything from the configuration: component, store (migrated), merchants,
    /// policy, writer, the chain watchers and the callback dispatcher. `component`
    /// overrides `rules.component`.
    pub async fn start(config: &Config, component: Option<PathBuf>) -> anyhow::Result<Self> {
        let admin = Arc::new(AdminAccess::new(config.admin_token()?));
        let rules = load_rules(chosen_component(config, component).as_deref(), config)?;
        check_protocol(config, &rules)?;
        let policy = confirmation_policy(config, &rules)?;
        let dev_mode = config.dev_mode();
        announce_dev_mode(&dev_mode);
        let (merchants, dev_merchant) = merchants(config)?;
        let merchants = Arc::new(MerchantDirectory::new(
            Arc::clone(&rules),
            policy.clone(),
            merchants,
        ));
        let store = Store::open(&config.database())
            .await
            .context("opening the database")?;
        let providers = Providers::default();
        let metrics = Arc::new(Metrics::new(Arc::clone(&rules), providers.clone()));
        let metrics_listener = bind_metrics(config).await?;
        let (writer, writer_task) = OrderWriter::spawn(
            store.clone(),
            config.orders.write_queue,
            metrics.writer.clone(),
        )
        .context("starting the order writer")?;
        let (stop_background, stopped) = watch::channel(false);
        let parts = Parts {
            config,
            rules: &rules,
            store: &store,
            metrics: &metrics,
            stopped: &stopped,
        };
        let mut workers = Workers::default();
        let (mut background, dev_chains) =
            parts.start_watchers(&mut workers, &Arc::new(policy), &providers, dev_mode.on)?;
        background.push(parts.start_dispatcher(&merchants, &workers)?);
        background.push(parts.forward_announcements(&workers));
        let workers = Arc::new(workers);
        let state = AppState::new(Shared {
            core: parts.core(&workers),
            intake: parts.intake(&writer, &merchants),
            addresses: parts.addresses(&merchants, &workers),
            rules: Arc::clone(&rules),
            store: store.clone(),
            writer,
            merchants: Arc::clone(&merchants),
            reload: Arc::new(MerchantReload::new(
                config.source_file.clone(),
                merchants,
                Arc::clone(&admin),
            )),
            dev_mode: dev_mode.on,
            dev_chains: Arc::new(dev_chains),
            wakeups: workers,
            admin,
            metrics: Arc::clone(&metrics),
            metrics_route: config.metrics_on_main_port(),
            trusted_proxies: config.http.trusted_proxies.clone(),
            public_limits: api::public::PublicLimits::new(&config.http),
        });
        Ok(Self {
            state,
            writer_task,
            http: config.http.clone(),
            background,
            stop_background,
            metrics_listener,
            dev_merchant,
        })
    }

    /// The shared state (tests build their own router from it).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Where `GET /metrics` is served alone (`metrics.listen`), if it is.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    /// Serve the API on `listener` (HTTP/1.1 keep-alive and HTTP/2 prior knowledge on
    /// the same port, within the `[http]` limits) until `shutdown` resolves; then stop
    /// accepting, close idle connections, let in-flight requests finish for at most
    /// `http.drain_timeout`, drain the order writer and close the database.
    /// `GET /metrics` is served on its own address too when `metrics.listen` is set,
    /// and stops with the API.
    pub async fn serve(
        mut self,
        listener: TcpListener,
        request_timeout: std::time::Duration,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stopping, stopped) = watch::channel(false);
        let metrics_server = self.metrics_listener.take().map(|metrics_listener| {
            let router = api::metrics_app(self.state.clone());
            let http = self.http.clone();
            let mut stopped = stopped.clone();
            tokio::spawn(async move {
                let until = async move {
                    let _ = stopped.wait_for(|stop| *stop).await;
                };
                server::serve(metrics_listener, router, &http, Default::default(), until).await;
            })
        });
        let router = crate::router::app(self.state.clone(), request_timeout);
        let connections = self.state.metrics.connections.clone();
        server::serve(listener, router, &self.http, connections, shutdown).await;
        stopping.send_replace(true);
        if let Some(task) = metrics_server
            && let Err(e) = task.await
        {
            tracing::error!(error = %e, "the metrics server ended abnormally");
        }
        self.stop().await;
        Ok(())
    }

    /// Stop the watchers and the dispatcher (attempts in flight finish and are
    /// recorded), stop the writer (new orders are refused; every queued order is
    /// committed and answered) and close the database.
    pub async fn stop(self) {
        let Self {
            state,
            writer_task,
            background,
            stop_background,
            ..
        } = self;
        let _ = stop_background.send(true);
        for task in background {
            if let Err(e) = task.await {
                tracing::error!(error = %e, "a background task ended abnormally");
            }
        }
        let store = state.store.clone();
        drop(state);
        writer_task.stop().await;
        store.close().await;
    }
}

/// Resolves on SIGTERM or Ctrl-C. The SIGTERM handler is installed by this call, not
/// when the future is first polled: call it before announcing the address, so a SIGTERM
/// sent right after start-up is a clean shutdown, never the default (fatal) action.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        let ctrl_c = async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        #[cfg(unix)]
        let term = async move {
            match term {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            () = ctrl_c => {},
            () = term => {},
        }
        tracing::info!("shutting down: draining in-flight requests");
    }
}
