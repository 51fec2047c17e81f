//! Group commit for new orders: requests queue their order, one task stores whatever has
//! queued up in a single transaction (one fsync for the whole batch) and answers each
//! request only after that commit. Under light load a batch is one order and nothing
//! waits; under heavy load batches grow while the previous commit runs.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::store::{CreateOutcome, NewOrder, Store, StoreError};

/// Most orders committed in one transaction.
const MAX_BATCH: usize = 512;

/// Orders that may wait for the writer; beyond this, requests wait to queue.
const QUEUE_DEPTH: usize = 16 * MAX_BATCH;

/// Why an order could not be stored. Nothing was acknowledged; the client may retry.
#[derive(Clone, Debug, thiserror::Error)]
pub enum WriteError {
    /// The database refused or failed the transaction.
    #[error("{0}")]
    Store(Arc<StoreError>),
    /// The writer has stopped (the gateway is shutting down).
    #[error("the order writer has stopped")]
    Stopped,
}

struct Job {
    order: NewOrder,
    reply: oneshot::Sender<Result<CreateOutcome, WriteError>>,
}

/// The queue into the group-commit task. Cloning shares the queue; the task ends once
/// every clone is dropped and the queue is drained.
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

impl OrderWriter {
    /// Start the writer task on `store`.
    pub fn spawn(store: Store) -> (Self, JoinHandle<()>) {
        let (queue, jobs) = mpsc::channel(QUEUE_DEPTH);
        let task = tokio::spawn(run(store, jobs));
        (Self { queue }, task)
    }

    /// Store one order; returns once it is committed (or judged a retry, a duplicate
    /// or a bound address).
    pub async fn submit(&self, order: NewOrder) -> Result<CreateOutcome, WriteError> {
        let (reply, outcome) = oneshot::channel();
        self.queue
            .send(Job { order, reply })
            .await
            .map_err(|_| WriteError::Stopped)?;
        outcome.await.map_err(|_| WriteError::Stopped)?
    }
}

async fn run(store: Store, mut jobs: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while jobs.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (orders, replies): (Vec<NewOrder>, Vec<_>) =
            batch.drain(..).map(|j| (j.order, j.reply)).unzip();
        match store.create_orders(&orders).await {
            Ok(outcomes) => {
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
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
    tracing::debug!("order writer drained");
}
