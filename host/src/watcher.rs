//! The chain watcher: one task per chain. Each round it reads the head, checks the
//! newest remembered block hash (a different hash is a reorg: walk back to the fork and
//! rescan from there, un-counting unconfirmed deposits above it), scans the blocks since
//! its persisted cursor for transfers to bound addresses (so it catches up after any
//! downtime), stores them as deposits matched to orders, and confirms the deposits that
//! reached their required confirmations — after checking once more that their block is
//! still on the chain. A confirmation queues the order's callback in the same
//! transaction.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, watch};

use crate::chain::{Source, SourceError, Transfer, WatchForm};
use crate::clock::now_millis as now;
use crate::metrics::ChainRecorder;
use crate::rules::{ConfirmationPolicy, DepositState, Rules};
use crate::store::{NewDeposit, Scan, Store};

/// How a watcher runs.
#[derive(Clone, Debug)]
pub struct WatcherConfig {
    /// Time between rounds.
    pub poll_interval: Duration,
    /// Most blocks scanned per stored step (the cursor advances after each).
    pub max_blocks_per_scan: u64,
    /// Where a chain with no cursor starts: `None` for the current head (a new
    /// gateway does not scan history), `Some(n)` for block `n`.
    pub start_block: Option<u64>,
    /// Confirm a deposit once its block is at or below the node's `finalized` block
    /// instead of by the policy's block counts.
    pub confirm_finalized: bool,
}

/// What one round did (for logs and tests).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Round {
    /// The head seen.
    pub head: u64,
    /// Blocks scanned.
    pub scanned: u64,
    /// New deposits stored.
    pub deposits: usize,
    /// Deposits confirmed.
    pub confirmed: usize,
    /// Deposits orphaned by a reorg.
    pub orphaned: u64,
}

/// One chain's watcher.
#[derive(Debug)]
pub struct Watcher {
    source: Source,
    store: Store,
    rules: Arc<Rules>,
    policy: Arc<ConfirmationPolicy>,
    config: WatcherConfig,
    watch: WatchList,
    /// Woken when a confirmation queued a callback (the dispatcher).
    confirmed: Arc<Notify>,
    /// Head, cursor, lag and failed rounds, for the metrics.
    recorder: ChainRecorder,
}

/// The bound addresses of the chain, in the source's form, read incrementally; read
/// afresh when the chain's watch epoch changes (addresses were retired).
#[derive(Debug, Default)]
struct WatchList {
    /// The chain's watch epoch this list was read in ([`Store::watch_epoch`]).
    epoch: i64,
    /// Where the next read of the bindings starts ([`Store::bindings_after`]).
    position: i64,
    /// Watch form → canonical address.
    canonical: HashMap<String, String>,
    /// The canonical addresses already watched: a binding read again (PostgreSQL
    /// re-reads those of transactions that were still running) costs no component call.
    seen: HashSet<String>,
    /// The watch forms, for the source.
    list: Vec<String>,
}

impl Watcher {
    /// A watcher of `source`'s chain.
    pub fn new(
        source: Source,
        store: Store,
        rules: Arc<Rules>,
        policy: Arc<ConfirmationPolicy>,
        config: WatcherConfig,
        confirmed: Arc<Notify>,
        recorder: ChainRecorder,
    ) -> Self {
        Self {
            source,
            store,
            rules,
            policy,
            config,
            watch: WatchList::default(),
            confirmed,
            recorder,
        }
    }

    /// Run rounds until `shutdown` turns true; `wake` starts a round at once.
    pub async fn run(mut self, wake: Arc<Notify>, mut shutdown: watch::Receiver<bool>) {
        let chain = self.source.chain().as_str();
        tracing::info!(chain, "chain watcher started");
        let mut failures = 0u32;
        loop {
            let pause = match self.round().await {
                Ok(round) => {
                    failures = 0;
                    if round.deposits + round.confirmed > 0 || round.orphaned > 0 {
                        tracing::info!(
                            chain,
                            head = round.head,
                            deposits = round.deposits,
                            confirmed = round.confirmed,
                            orphaned = round.orphaned,
                            "chain round"
                        );
                    }
                    self.config.poll_interval
                }
                Err(e) => {
                    self.recorder.round_failed();
                    failures = failures.saturating_add(1);
                    let source = e.downcast_ref::<SourceError>();
                    let error = format!("{e:#}");
                    if matches!(source, Some(SourceError::Invalid(_))) {
                        tracing::error!(
                            chain,
                            error,
                            failures,
                            "the node's answer is unusable; retrying"
                        );
                    } else {
                        tracing::warn!(chain, error, failures, "chain round failed; retrying");
                    }
                    let asked = source.and_then(SourceError::retry_after);
                    pause_after_failure(self.config.poll_interval, failures, asked)
                }
            };
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                () = wake.notified() => {}
                _ = shutdown.changed() => {}
            }
            if *shutdown.borrow() {
                break;
            }
        }
        tracing::info!(chain, "chain watcher stopped");
    }

    /// One round: reorg check, scan to the head, confirmations. Its span is the scan's:
    /// the chain and the block range (`from`..=`to`, the head).
    #[tracing::instrument(name = "watcher_scan", skip_all, fields(
        chain = self.source.chain().as_str(), from = tracing::field::Empty, to = tracing::field::Empty
    ))]
    pub async fn round(&mut self) -> anyhow::Result<Round> {
        let head = self.source.head().await?;
        let mut round = Round {
            head,
            ..Round::default()
        };
        let mut next = self.resume_point(head).await?;
        self.recorder.progress(head, next.saturating_sub(1));
        next = self.rewind_past_fork(&mut round, next).await?;
        let finality_required = self.finality_requirement(head).await?;

        let span = tracing::Span::current();
        span.record("from", next);
        span.record("to", head);
        self.refresh_watch_list().await?;
        self.recorder.watched(self.watch.list.len());
        self.scan_to_head(&mut round, next, finality_required)
            .await?;
        self.confirm_open_deposits(&mut round, finality_required)
            .await?;
        Ok(round)
    }

    /// The first block to scan: the cursor's, or for a new chain `start_block` (default:
    /// the block after `head`).
    async fn resume_point(&self, head: u64) -> anyhow::Result<u64> {
        let chain = self.source.chain().as_str();
        Ok(match self.store.chain_cursor(chain).await? {
            Some((_, next)) => u64::try_from(next)?,
            None => self.config.start_block.unwrap_or(head.saturating_add(1)),
        })
    }

    /// After a reorg, forget what was recorded past the fork (counted as orphaned) and
    /// scan again from just after it; else scan from `next`.
    async fn rewind_past_fork(&self, round: &mut Round, next: u64) -> anyhow::Result<u64> {
        let Some(fork) = self.find_fork().await? else {
            return Ok(next);
        };
        let chain = self.source.chain().as_str();
        round.orphaned = self.store.rewind(chain, to_i64(fork), now()).await?;
        tracing::warn!(
            chain,
            fork,
            orphaned = round.orphaned,
            "reorg: rescanning from the fork"
        );
        Ok(next.min(fork + 1))
    }

    /// When finality confirms: the confirmations that reach the finalized block, read
    /// once per round (never above `head`, read before it). `None`: each deposit's own
    /// required confirmations apply.
    async fn finality_requirement(&self, head: u64) -> anyhow::Result<Option<u32>> {
        if !self.config.confirm_finalized {
            return Ok(None);
        }
        let finalized = self.source.finalized().await?.ok_or_else(|| {
            anyhow::anyhow!("the node has no finalized block (is the `finalized` tag supported?)")
        })?;
        Ok(Some(self.finality_required(head, finalized.min(head))?))
    }

    /// Scan from `next` to the round's head in ranges of at most `max_blocks_per_scan`,
    /// recording each range's deposits and the cursor; with nothing to scan, record the
    /// head alone.
    async fn scan_to_head(
        &self,
        round: &mut Round,
        mut next: u64,
        finality_required: Option<u32>,
    ) -> anyhow::Result<()> {
        let head = round.head;
        while next <= head {
            let to = head.min(next + self.config.max_blocks_per_scan.max(1) - 1);
            round.deposits += self.scan_range(next, to, head, finality_required).await?;
            round.scanned += to + 1 - next;
            next = to + 1;
            self.recorder.progress(head, to);
        }
        if round.scanned == 0 {
            let chain = self.source.chain().as_str();
            self.store
                .record_head(chain, to_i64(head), to_i64(next), now())
                .await?;
        }
        Ok(())
    }

    /// Scan blocks `next..=to`: the transfers to watched addresses, recorded as deposits
    /// with the blocks' hashes and the new cursor. The number of new deposits.
    async fn scan_range(
        &self,
        next: u64,
        to: u64,
        head: u64,
        finality_required: Option<u32>,
    ) -> anyhow::Result<usize> {
        let transfers = if self.watch.list.is_empty() {
            Vec::new()
        } else {
            self.source.transfers(next, to, &self.watch.list).await?
        };
        let mut blocks: Vec<(i64, String)> = transfers
            .iter()
            .map(|t| (to_i64(t.block_number), t.block_hash.clone()))
            .collect();
        if let Some(hash) = self.source.block_hash(to).await? {
            blocks.push((to_i64(to), hash));
        }
        let deposits = self.deposits(&transfers, finality_required)?;
        let scan = Scan {
            chain: self.source.chain().as_str().to_owned(),
            head: to_i64(head),
            next_block: to_i64(to + 1),
            deposits,
            blocks,
        };
        Ok(self.store.record_scan(&scan, now()).await?)
    }

    /// Confirm the open deposits with enough confirmations whose block is still on the
    /// canonical chain; orphan those whose block is not.
    async fn confirm_open_deposits(
        &self,
        round: &mut Round,
        finality_required: Option<u32>,
    ) -> anyhow::Result<()> {
        let chain = self.source.chain().as_str();
        for deposit in self.store.open_deposits(chain).await? {
            let block = u64::try_from(deposit.block_number)?;
            let confirmations = self.rules.count_confirmations(round.head, block)?;
            let required = match finality_required {
                Some(required) => required,
                None => u32::try_from(deposit.required_confirmations).unwrap_or(u32::MAX),
            };
            if self.rules.deposit_state_of(confirmations, required)? != DepositState::Confirmed {
                continue;
            }
            // Never confirm a transfer that is not on the canonical chain.
            if self.source.block_hash(block).await?.as_deref() == Some(deposit.block_hash.as_str())
            {
                if let Some(ordersn) = self.store.confirm_deposit(deposit.id, now()).await? {
                    tracing::info!(chain, ordersn, "order confirmed; callback queued");
                    self.confirmed.notify_one();
                }
                round.confirmed += 1;
            } else {
                self.store.orphan_deposit(deposit.id, now()).await?;
                round.orphaned += 1;
            }
        }
        Ok(())
    }

    /// The newest remembered block still on the chain, when a newer one is not: the
    /// fork point. `None` when the newest remembered block is still canonical.
    async fn find_fork(&self) -> anyhow::Result<Option<u64>> {
        let chain = self.source.chain().as_str();
        let stored = self.store.block_hashes(chain).await?;
        for (i, (number, hash)) in stored.iter().enumerate() {
            let number = u64::try_from(*number)?;
            if self.source.block_hash(number).await?.as_deref() == Some(hash.as_str()) {
                return Ok((i > 0).then_some(number));
            }
        }
        // Nothing remembered is canonical any more: rescan from below the oldest.
        Ok(stored
            .last()
            .map(|(n, _)| u64::try_from(*n).unwrap_or(0).saturating_sub(1)))
    }

    /// Add the addresses bound (or revived) since the last read, in commit order (never
    /// by their timestamps, which need not agree with it); after a retirement, read the
    /// whole list again without the retired addresses.
    async fn refresh_watch_list(&mut self) -> anyhow::Result<()> {
        let chain = self.source.chain().as_str();
        let epoch = self.store.watch_epoch(chain).await?;
        if epoch != self.watch.epoch {
            tracing::info!(chain, "addresses retired: watch list read again");
            self.watch = WatchList {
                epoch,
                ..WatchList::default()
            };
        }
        let (bound, position) = self
            .store
            .bindings_after(chain, self.watch.position)
            .await?;
        self.watch.position = position;
        for canonical in bound {
            if !self.watch.seen.insert(canonical.clone()) {
                continue;
            }
            let form = match self.source.watch_form() {
                WatchForm::Canonical => canonical.clone(),
                WatchForm::EvmHex => match self.rules.inspect_address(&canonical)? {
                    Ok(info) => match info.evm_hex {
                        Some(hex) => hex,
                        None => continue,
                    },
                    Err(r) => {
                        tracing::error!(
                            chain,
                            address = canonical,
                            code = r.code.as_str(),
                            "bound address not watchable"
                        );
                        continue;
                    }
                },
            };
            if self
                .watch
                .canonical
                .insert(form.clone(), canonical)
                .is_none()
            {
                self.watch.list.push(form);
            }
        }
        Ok(())
    }

    /// Under finality, the confirmations a deposit needs now: those of the finalized block
    /// `finalized` at `head`. The component's decision (`deposit-state-of`) then confirms
    /// exactly the deposits at or below the finalized block, since a block has at least
    /// as many confirmations as `finalized` if and only if it is not above it.
    fn finality_required(&self, head: u64, finalized: u64) -> anyhow::Result<u32> {
        let count = self.rules.count_confirmations(head, finalized)?;
        Ok(u32::try_from(count).unwrap_or(u32::MAX).max(1))
    }

    /// Convert transfers with the component: scaled amount and dust, required
    /// confirmations by the deposit's own amount (under finality: `finality_required`,
    /// the finalized block's distance from the head when the deposit was seen).
    fn deposits(
        &self,
        transfers: &[Transfer],
        finality_required: Option<u32>,
    ) -> anyhow::Result<Vec<NewDeposit>> {
        let chain = self.source.chain();
        let mut out = Vec::with_capacity(transfers.len());
        for t in transfers {
            let Some(address) = self
                .watch
                .canonical
                .get(&t.to.to_ascii_lowercase())
                .or_else(|| self.watch.canonical.get(&t.to))
            else {
                tracing::warn!(
                    chain = chain.as_str(),
                    to = t.to,
                    "transfer to an address not watched"
                );
                continue;
            };
            let amount = match self
                .rules
                .from_chain_units(&t.value, self.source.decimals())?
            {
                Ok(amount) => amount,
                Err(r) => {
                    tracing::error!(
                        chain = chain.as_str(),
                        txid = t.txid,
                        value = t.value,
                        code = r.code.as_str(),
                        "transfer value refused; not credited"
                    );
                    continue;
                }
            };
            let required = match finality_required {
                Some(required) => required,
                None => self
                    .rules
                    .required_confirmations(chain, amount.scaled, &self.policy)?,
            };
            out.push(NewDeposit {
                txid: t.txid.clone(),
                log_index: i64::try_from(t.log_index)?,
                address: address.clone(),
                raw_value: t.value.clone(),
                amount: i64::try_from(amount.scaled)?,
                dust: amount.dust.to_string(),
                block_number: to_i64(t.block_number),
                block_hash: t.block_hash.clone(),
                required_confirmations: i64::from(required),
            });
        }
        Ok(out)
    }
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Longest wait a node's `Retry-After` may impose on a watcher.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// How long to wait after `failures` failed rounds in a row: the poll interval times
/// the failures (at most 10 times, at most 30 s), or longer when the node asked for it
/// (`Retry-After`, at most [`MAX_RETRY_AFTER`]). A wake-up (a new address) cuts it short.
fn pause_after_failure(poll: Duration, failures: u32, retry_after: Option<Duration>) -> Duration {
    let backoff = (poll * failures.min(10)).min(Duration::from_secs(30));
    retry_after.map_or(backoff, |asked| backoff.max(asked.min(MAX_RETRY_AFTER)))
}

#[cfg(test)]
mod pause_tests {
    use super::*;

    #[test]
    fn failures_back_off_and_a_nodes_retry_after_is_honoured_within_bounds() {
        let poll = Duration::from_secs(2);
        assert_eq!(pause_after_failure(poll, 1, None), Duration::from_secs(2));
        assert_eq!(pause_after_failure(poll, 3, None), Duration::from_secs(6));
        assert_eq!(pause_after_failure(poll, 50, None), Duration::from_secs(20));
        let slow = Duration::from_secs(10);
        assert_eq!(pause_after_failure(slow, 9, None), Duration::from_secs(30));
        let asked = Some(Duration::from_secs(60));
        assert_eq!(pause_after_failure(poll, 1, asked), Duration::from_secs(60));
        let shorter = Some(Duration::from_secs(1));
        assert_eq!(
            pause_after_failure(poll, 3, shorter),
            Duration::from_secs(6)
        );
        let huge = Some(Duration::from_secs(86_400));
        assert_eq!(pause_after_failure(poll, 1, huge), MAX_RETRY_AFTER);
    }

    #[test]
    fn a_nodes_rate_limit_reaches_the_watcher_as_its_wait() {
        let error = usdt_evm_rpc::RpcError::Unavailable {
            method: "eth_blockNumber".into(),
            failures: "#0 429".into(),
            retry_after: Some(Duration::from_secs(42)),
        };
        let round: anyhow::Error = crate::chain::evm_error(error).into();
        let source = round.downcast_ref::<SourceError>();
        assert_eq!(
            source.and_then(SourceError::retry_after),
            Some(Duration::from_secs(42))
        );
        let malformed = usdt_evm_rpc::RpcError::Inconsistent("two hashes".into());
        assert!(matches!(
            crate::chain::evm_error(malformed),
            SourceError::Invalid(_)
        ));
    }
}
