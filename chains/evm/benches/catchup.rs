//! Catch-up benchmark on a real node (anvil, see `usdt_evm_rpc::testnode`).
//!
//! Builds a chain of `CATCHUP_BLOCKS` blocks (default 10,000) holding `CATCHUP_TRANSFERS`
//! token transfers (default 10,000, spread evenly, one transaction per block) to
//! `CATCHUP_WATCHED` watched addresses (default 1,000, round robin), each block also holding
//! `CATCHUP_NOISE` transfers to unwatched addresses (default 4, from a pool of 256), then times, `CATCHUP_RUNS`
//! times each (default 5):
//!
//! - the full catch-up `transfers(0, head, watched)` with the default configuration
//!   (2,000-block spans, 500 addresses per query) and two others;
//! - a steady-state poll of the newest block;
//! - `block_hash` of every block, one after the other and 8 at a time.
//!
//! Every catch-up result is checked against what was sent. Run with
//! `cargo bench -p usdt-evm-rpc --bench catchup` (after `chains/evm/anvil/setup.sh`).

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)] // a benchmark: failures abort

use std::time::{Duration, Instant};

use serde_json::json;
use usdt_evm_rpc::testnode::{TestNode, TestNodeOptions, batch_transfer_calldata, test_address};
use usdt_evm_rpc::{EvmRpc, EvmRpcConfig};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // `cargo test --benches` runs this with no `--bench`: nothing to do then.
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("catchup: run with `cargo bench -p usdt-evm-rpc --bench catchup`");
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run());
}

struct Stats {
    min: Duration,
    median: Duration,
    max: Duration,
}

fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort();
    Stats {
        min: samples[0],
        median: samples[samples.len() / 2],
        max: samples[samples.len() - 1],
    }
}

fn per_second(count: u64, d: Duration) -> String {
    let rate = count as f64 / d.as_secs_f64();
    if rate >= 100.0 {
        format!("{:.0}", rate)
    } else {
        format!("{rate:.1}")
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// The benchmark's sizes, from the environment.
struct Params {
    blocks: u64,
    transfers: u64,
    watched_count: u64,
    noise: u64,
    runs: usize,
}

impl Params {
    fn from_env() -> Self {
        let p = Self {
            blocks: env("CATCHUP_BLOCKS", 10_000),
            transfers: env("CATCHUP_TRANSFERS", 10_000),
            watched_count: env("CATCHUP_WATCHED", 1_000),
            noise: env("CATCHUP_NOISE", 4),
            runs: env("CATCHUP_RUNS", 5).max(1) as usize,
        };
        assert!(p.blocks >= 1 && p.transfers >= 1 && p.watched_count >= 1);
        p
    }
}

/// The node with its chain built: the watched addresses, the transfers to them as
/// `(block, to, value)` in chain order, the head.
struct Bench {
    node: TestNode,
    p: Params,
    watched: Vec<String>,
    expected: Vec<(u64, String, String)>,
    head: u64,
    setup_time: Duration,
}

impl Bench {
    /// Blocks `0..=head`, the span every catch-up scans.
    fn scanned(&self) -> u64 {
        self.head + 1
    }

    /// A catch-up's result is exactly what was sent to the watched addresses.
    fn check(&self, got: &[usdt_evm_rpc::TokenTransfer]) {
        let got: Vec<(u64, String, String)> = got
            .iter()
            .map(|t| (t.block_number, t.to.clone(), t.value.clone()))
            .collect();
        assert_eq!(got.len(), self.expected.len());
        assert!(
            got == self.expected,
            "catch-up result differs from what was sent"
        );
    }

    /// One row of the results table from a measurement's samples.
    fn row(&self, name: &str, calls: &str, samples: Vec<Duration>, per_transfer: bool) {
        let s = stats(samples);
        let transfers = if per_transfer {
            per_second(self.p.transfers, s.median)
        } else {
            "—".to_owned()
        };
        println!(
            "| {name} | {calls} | {} | {} | {} | {} | {transfers} |",
            ms(s.min),
            ms(s.median),
            ms(s.max),
            per_second(self.scanned(), s.median),
        );
    }
}

async fn run() {
    let p = Params::from_env();
    // Pruned history: mining 10,000 blocks stays fast (no reorgs needed here).
    let node = TestNode::start_or_skip_with(TestNodeOptions {
        prune_history: true,
        block_gas_limit: Some(100_000_000),
        ..TestNodeOptions::default()
    })
    .await
    .expect("USDT_SKIP_ANVIL=1: no benchmark");
    let watched: Vec<String> = (0..p.watched_count).map(test_address).collect();
    let setup = Instant::now();
    let (expected, head) = build_chain(&node, &p, &watched).await;
    let bench = Bench {
        node,
        p,
        watched,
        expected,
        head,
        setup_time: setup.elapsed(),
    };
    eprintln!(
        "setup: {} blocks, {} watched + {} unwatched transfers in {:.1} s",
        bench.p.blocks,
        bench.p.transfers,
        bench.p.blocks * bench.p.noise,
        bench.setup_time.as_secs_f64()
    );
    print_header(&bench).await;
    bench_catch_ups(&bench).await;
    bench_raw_baseline(&bench).await;
    bench_newest_block_poll(&bench).await;
    bench_block_hashes_sequential(&bench).await;
    bench_block_hashes_concurrent(&bench).await;
    println!();
}

/// Build the chain: automine off, one batchTransfer per block (its watched transfers and
/// the noise), then mine exactly one block. Blocks without a transfer are mined empty,
/// in runs. The transfers to watched addresses, and the head.
async fn build_chain(
    node: &TestNode,
    p: &Params,
    watched: &[String],
) -> (Vec<(u64, String, String)>, u64) {
    let setup = Instant::now();
    node.set_automine(false).await.unwrap();
    let start = node.block_number().await.unwrap() + 1;
    let mut expected: Vec<(u64, String, String)> = Vec::with_capacity(p.transfers as usize);
    let mut next = 0u64; // next transfer
    let mut empty_run = 0u64;
    for i in 0..p.blocks {
        let block = start + i;
        // Transfers j with j * blocks / transfers == i go into block i.
        let mut recipients = Vec::new();
        while next < p.transfers && next * p.blocks / p.transfers == i {
            let to = watched[(next % p.watched_count) as usize].clone();
            let amount = 1_000_000 + u128::from(next);
            expected.push((block, to.clone(), format!("0x{amount:064x}")));
            recipients.push((to, amount));
            next += 1;
        }
        if recipients.is_empty() && p.noise == 0 {
            empty_run += 1;
            continue;
        }
        if empty_run > 0 {
            node.mine(empty_run).await.unwrap();
            empty_run = 0;
        }
        recipients.extend(noise_recipients(i, p.noise));
        send_batch_and_mine(node, &recipients).await;
        if i % 1000 == 999 {
            eprintln!(
                "setup: {} blocks in {:.1} s",
                i + 1,
                setup.elapsed().as_secs_f64()
            );
        }
    }
    if empty_run > 0 {
        node.mine(empty_run).await.unwrap();
    }
    let head = node.block_number().await.unwrap();
    assert_eq!(head, start + p.blocks - 1);
    (expected, head)
}

/// Block `i`'s transfers to unwatched recipients, from a pool of 256: new addresses in
/// every block would grow the state, and anvil's mining slows down with the state's size.
fn noise_recipients(i: u64, noise: u64) -> Vec<(String, u128)> {
    (0..noise)
        .map(|k| (test_address(1 << 40 | ((i * noise + k) % 256)), 1))
        .collect()
}

/// One batchTransfer to `recipients`, mined alone in one block.
async fn send_batch_and_mine(node: &TestNode, recipients: &[(String, u128)]) {
    node.send_transaction(json!({
        "from": node.deployer(),
        "to": node.token(),
        "data": batch_transfer_calldata(recipients),
        "gas": "0x2faf080",
    }))
    .await
    .unwrap();
    node.mine(1).await.unwrap();
}

/// The chain and the node, then the results table's head.
async fn print_header(b: &Bench) {
    println!();
    println!(
        "chain: {} blocks (0..={}), {} transfers to {} watched addresses, {} unwatched transfers; anvil {}, setup {:.1} s",
        b.scanned(),
        b.head,
        b.p.transfers,
        b.p.watched_count,
        b.p.blocks * b.p.noise,
        b.node
            .call("web3_clientVersion", json!([]))
            .await
            .unwrap()
            .as_str()
            .unwrap_or("?"),
        b.setup_time.as_secs_f64()
    );
    println!();
    println!(
        "| measurement | eth_getLogs calls | min | median | max | blocks/s (median) | transfers/s (median) |"
    );
    println!("|---|---|---|---|---|---|---|");
}

/// The full catch-up `transfers(0, head, watched)` in three configurations, each result
/// checked.
async fn bench_catch_ups(b: &Bench) {
    let configs: [(&str, u64, usize); 3] = [
        (
            "catch-up, default config (2,000 blocks × 500 addresses per query)",
            2_000,
            500,
        ),
        (
            "catch-up, one query per 1,000 addresses over all blocks",
            b.scanned(),
            1_000,
        ),
        (
            "catch-up, small spans (100 blocks × 500 addresses per query)",
            100,
            500,
        ),
    ];
    for (name, span, per_query) in configs {
        let rpc = EvmRpc::new(EvmRpcConfig {
            max_block_range: span,
            max_addresses_per_query: per_query,
            ..b.node.rpc_config()
        })
        .unwrap();
        let calls = b.scanned().div_ceil(span) * b.p.watched_count.div_ceil(per_query as u64);
        let mut samples = Vec::new();
        for _ in 0..b.p.runs {
            let t = Instant::now();
            let got = rpc.transfers(0, b.head, &b.watched).await.unwrap();
            samples.push(t.elapsed());
            b.check(&got);
        }
        assert_eq!(
            rpc.current_block_span(),
            span,
            "anvil never refuses a range"
        );
        b.row(name, &calls.to_string(), samples, true);
    }
}

/// Baseline: the default configuration's 12 queries sent raw (TestNode::call, parsed into
/// serde_json::Value, no validation): what the node and HTTP cost by themselves.
async fn bench_raw_baseline(b: &Bench) {
    let topics: Vec<String> = b
        .watched
        .iter()
        .map(|a| format!("0x{:0>64}", &a[2..]))
        .collect();
    let mut samples = Vec::new();
    for _ in 0..b.p.runs {
        let t = Instant::now();
        let mut count = 0;
        for chunk in topics.chunks(500) {
            count += raw_logs_count(b, chunk).await;
        }
        samples.push(t.elapsed());
        assert_eq!(count, b.expected.len());
    }
    b.row(
        "baseline: the same 12 eth_getLogs raw (serde_json::Value, no checks)",
        "12",
        samples,
        true,
    );
}

/// The logs to `topics` over the whole chain in 2,000-block raw `eth_getLogs` calls.
async fn raw_logs_count(b: &Bench, topics: &[String]) -> usize {
    let mut count = 0;
    let mut from = 0;
    while from <= b.head {
        let to = (from + 1_999).min(b.head);
        let logs = b
            .node
            .call(
                "eth_getLogs",
                json!([{
                    "address": b.node.token(),
                    "fromBlock": format!("{from:#x}"),
                    "toBlock": format!("{to:#x}"),
                    "topics": [usdt_evm_rpc::TRANSFER_TOPIC, null, topics],
                }]),
            )
            .await
            .unwrap();
        count += logs.as_array().unwrap().len();
        from = to + 1;
    }
    count
}

/// Steady state: a poll of the newest block (+ its hash as the checkpoint).
async fn bench_newest_block_poll(b: &Bench) {
    let rpc = b.node.rpc();
    let head = b.head;
    let polls = 200u32;
    let mut samples = Vec::new();
    for _ in 0..b.p.runs {
        let t = Instant::now();
        for _ in 0..polls {
            let got = rpc.transfers(head, head, &b.watched).await.unwrap();
            assert_eq!(
                got.len() as u64,
                b.expected.iter().filter(|e| e.0 == head).count() as u64
            );
            rpc.block_hash(head).await.unwrap().unwrap();
        }
        samples.push(t.elapsed() / polls);
    }
    let s = stats(samples);
    println!(
        "| poll of the newest block + its block_hash (per poll, {} addresses) | {} | {} | {} | {} | — | — |",
        b.p.watched_count,
        b.p.watched_count.div_ceil(500),
        ms(s.min),
        ms(s.median),
        ms(s.max)
    );
}

/// `block_hash` of every block, one after the other.
async fn bench_block_hashes_sequential(b: &Bench) {
    let rpc = b.node.rpc();
    let mut samples = Vec::new();
    for _ in 0..b.p.runs.min(3) {
        let t = Instant::now();
        for n in 0..=b.head {
            rpc.block_hash(n).await.unwrap().unwrap();
        }
        samples.push(t.elapsed());
    }
    b.row("block_hash of every block, sequential", "—", samples, false);
}

/// `block_hash` of every block, 8 in flight.
async fn bench_block_hashes_concurrent(b: &Bench) {
    let rpc = b.node.rpc();
    let head = b.head;
    let mut samples = Vec::new();
    for _ in 0..b.p.runs.min(3) {
        let t = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for lane in 0..8u64 {
            let rpc = rpc.clone();
            tasks.spawn(async move {
                let mut n = lane;
                while n <= head {
                    rpc.block_hash(n).await.unwrap().unwrap();
                    n += 8;
                }
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }
        samples.push(t.elapsed());
    }
    b.row(
        "block_hash of every block, 8 concurrent",
        "—",
        samples,
        false,
    );
}
