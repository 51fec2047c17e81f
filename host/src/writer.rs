//! Group commit for new orders: requests queue their order, one task stores whatever has
//! queued up in a single transaction (one fsync for the whole batch) and answers each
//! request only after that commit. Under light load a batch is one order and nothing
//! waits; under heavy load batches grow while the previous commit runs. The queue is
//! bounded: when it is full a new order is refused at once ([`WriteError::Overloaded`])
//! rather than left waiting. The task keeps one connection of its own
//! ([`OrderConnection`]) instead of taking one from the pool for each batch.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::metrics::WriterMetrics;
use crate::store::{Backend, CreateOutcome, NewOrder, OrderConnection, Store, StoreError};
use usdt_gateway_core::ports::{OrderSink, StorageError, SubmitError, SubmitFuture};

/// Most orders committed in one transaction.
const MAX_BATCH: usize = 512;

/// Why an order could not be stored. Nothing was acknowledged; the client may retry.
#[derive(Clone, Debug, thiserror::Error)]
pub enum WriteError {
    /// The database refused or failed the transaction.
    #[error("{0}")]
    Store(Arc<StoreError>),
    /// The writer has stopped (the gateway is shutting down).
    #[error("the order writer has stopped")]
    Stopped,
    /// The queue is full: the database is slower than the arrivals. Nothing was queued.
    #[error("the order queue is full")]
    Overloaded,
}

/// Shortest time between two "queue full" warnings.
const FULL_WARNING_EVERY: Duration = Duration::from_secs(10);

struct Job {
    order: NewOrder,
    reply: oneshot::Sender<Result<CreateOutcome, WriteError>>,
}

/// The queue into the group-commit task. Cloning shares the queue; the task ends once
/// it is stopped ([`WriterTask::stop`]) or every clone is dropped, and the queue is
/// drained.
#[derive(Clone, Debug)]
pub struct OrderWriter {
    queue: mpsc::Sender<Job>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("ordersn", &self.order.ordersn)
            .finish()
    }
}

/// The running group-commit task.
#[derive(Debug)]
pub struct WriterTask {
    task: JoinHandle<()>,
    stop: oneshot::Sender<()>,
}

impl WriterTask {
    /// Refuse new orders ([`WriteError::Stopped`]), commit and answer every queued one,
    /// and wait for the task to end.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "order writer ended abnormally");
        }
    }
}

impl OrderWriter {
    /// Start the writer task on `store`; at most `queue_depth` orders wait for it. It
    /// reports its batches and the orders it created to `metrics`.
    ///
    /// On SQLite the task runs on a thread of its own (a `current_thread` runtime in
    /// tokio's blocking pool), not on the workers that serve HTTP: a batch is several
    /// round trips to sqlx's SQLite thread, and on a shared worker each reply waited
    /// behind the request tasks queued there. On PostgreSQL it stays on the gateway's
    /// runtime: the connection is a socket on that runtime's reactor, and polled from
    /// another runtime each reply waited for that reactor instead (`scripts/bench-load`
    /// closed loop: 1,282 orders/s there against 8,441 on the gateway's runtime).
    pub fn spawn(
        store: Store,
        queue_depth: usize,
        metrics: WriterMetrics,
    ) -> std::io::Result<(Self, WriterTask)> {
        let (queue, jobs) = mpsc::channel(queue_depth);
        let (stop, stopped) = oneshot::channel();
        let backend = store.backend();
        let writing = run(store, jobs, stopped, metrics);
        let task = match backend {
            Backend::Sqlite => {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                tokio::task::spawn_blocking(move || runtime.block_on(writing))
            }
            Backend::Postgres => tokio::spawn(writing),
        };
        Ok((Self { queue }, WriterTask { task, stop }))
    }

    /// Orders waiting in the queue now.
    pub fn queued(&self) -> usize {
        self.queue.max_capacity() - self.queue.capacity()
    }

    /// Orders that may wait in the queue.
    pub fn capacity(&self) -> usize {
        self.queue.max_capacity()
    }

    /// Store one order; returns once it is committed (or judged a retry, a duplicate
    /// or a bound address). A full queue refuses it at once: nothing is stored.
    pub async fn submit(&self, order: NewOrder) -> Result<CreateOutcome, WriteError> {
        let (reply, outcome) = oneshot::channel();
        self.queue
            .try_send(Job { order, reply })
            .map_err(|e| match e {
                TrySendError::Full(_) => WriteError::Overloaded,
                TrySendError::Closed(_) => WriteError::Stopped,
            })?;
        outcome.await.map_err(|_| WriteError::Stopped)?
    }
}

impl OrderSink for OrderWriter {
    fn submit(&self, order: NewOrder) -> SubmitFuture<'_> {
        Box::pin(async move {
            OrderWriter::submit(self, order).await.map_err(|e| match e {
                WriteError::Overloaded => SubmitError::Overloaded,
                other => SubmitError::Unavailable(StorageError(Box::new(other))),
            })
        })
    }
}

/// Commit batches until stopped (or every sender is gone), then commit what had queued.
async fn run(
    store: Store,
    mut jobs: mpsc::Receiver<Job>,
    stop: oneshot::Receiver<()>,
    metrics: WriterMetrics,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut stop = Some(stop);
    let mut last_warning: Option<Instant> = None;
    let mut conn = OrderConnection::new(store);
    while next_batch(&mut jobs, &mut batch, &mut stop).await > 0 {
        warn_when_full(&jobs, batch.len(), &mut last_warning);
        commit(&mut conn, &mut batch, &metrics).await;
    }
    tracing::debug!("order writer drained");
}

/// Say so (at most every [`FULL_WARNING_EVERY`]) when the queue was full as this batch
/// was taken: new orders were being answered 503 `OVERLOADED`.
fn warn_when_full(jobs: &mpsc::Receiver<Job>, taken: usize, last: &mut Option<Instant>) {
    let full = taken + jobs.len() >= jobs.max_capacity();
    if full && last.is_none_or(|at| at.elapsed() >= FULL_WARNING_EVERY) {
        tracing::warn!(
            queue = jobs.max_capacity(),
            "order queue full: the database is slower than the orders arriving; \
             new orders are answered 503 OVERLOADED"
        );
        *last = Some(Instant::now());
    }
}

/// Wait for queued jobs. Once `stop` fires (or its sender is dropped) the queue refuses
/// new jobs and keeps giving what it holds; 0 when it is empty and closed.
async fn next_batch(
    jobs: &mut mpsc::Receiver<Job>,
    batch: &mut Vec<Job>,
    stop: &mut Option<oneshot::Receiver<()>>,
) -> usize {
    if let Some(signal) = stop {
        tokio::select! {
            received = jobs.recv_many(batch, MAX_BATCH) => return received,
            _ = signal => {
                jobs.close();
                *stop = None;
            }
        }
    }
    jobs.recv_many(batch, MAX_BATCH).await
}

/// Store `batch` in one transaction and answer each job.
async fn commit(conn: &mut OrderConnection, batch: &mut Vec<Job>, metrics: &WriterMetrics) {
    let (orders, replies): (Vec<NewOrder>, Vec<_>) =
        batch.drain(..).map(|j| (j.order, j.reply)).unzip();
    let started = Instant::now();
    let committed = conn.create_orders(&orders).await;
    metrics.batch(orders.len(), started.elapsed());
    match committed {
        Ok(outcomes) => {
            for (reply, outcome) in replies.into_iter().zip(outcomes) {
                if let CreateOutcome::Created(order) = &outcome {
                    metrics.created(&order.chain);
                }
                // The client may have gone; the order is stored all the same.
                let _ = reply.send(Ok(outcome));
            }
        }
        Err(e) => {
            tracing::error!(error = %e, orders = orders.len(), "order batch not stored");
            let e = WriteError::Store(Arc::new(e));
            for reply in replies {
                let _ = reply.send(Err(e.clone()));
            }
        }
    }
}
