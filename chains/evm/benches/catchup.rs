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

async fn run() {
    let blocks = env("CATCHUP_BLOCKS", 10_000);
    let transfers = env("CATCHUP_TRANSFERS", 10_000);
    let watched_count = env("CATCHUP_WATCHED", 1_000);
    let noise = env("CATCHUP_NOISE", 4);
    let runs = env("CATCHUP_RUNS", 5).max(1) as usize;
    assert!(blocks >= 1 && transfers >= 1 && watched_count >= 1);

    // Pruned history: mining 10,000 blocks stays fast (no reorgs needed here).
    let node = TestNode::start_or_skip_with(TestNodeOptions {
        prune_history: true,
        block_gas_limit: Some(100_000_000),
        ..TestNodeOptions::default()
    })
    .await
    .expect("USDT_SKIP_ANVIL=1: no benchmark");
    let watched: Vec<String> = (0..watched_count).map(test_address).collect();

    // Build the chain: automine off, one batchTransfer per block (its watched transfers
    // and the noise), then mine exactly one block. Blocks without a transfer are mined
    // empty, in runs.
    let setup = Instant::now();
    node.set_automine(false).await.unwrap();
    let start = node.block_number().await.unwrap() + 1;
    let mut expected: Vec<(u64, String, String)> = Vec::with_capacity(transfers as usize);
    let mut next = 0u64; // next transfer
    let mut empty_run = 0u64;
    for i in 0..blocks {
        let block = start + i;
        // Transfers j with j * blocks / transfers == i go into block i.
        let mut recipients = Vec::new();
        while next < transfers && next * blocks / transfers == i {
            let to = watched[(next % watched_count) as usize].clone();
            let amount = 1_000_000 + u128::from(next);
            expected.push((block, to.clone(), format!("0x{amount:064x}")));
            recipients.push((to, amount));
            next += 1;
        }
        if recipients.is_empty() && noise == 0 {
            empty_run += 1;
            continue;
        }
        if empty_run > 0 {
            node.mine(empty_run).await.unwrap();
            empty_run = 0;
        }
        // Unwatched recipients from a pool of 256: new addresses in every block would
        // grow the state, and anvil's mining slows down with the state's size.
        for k in 0..noise {
            recipients.push((test_address(1 << 40 | ((i * noise + k) % 256)), 1));
        }
        node.send_transaction(json!({
            "from": node.deployer(),
            "to": node.token(),
            "data": batch_transfer_calldata(&recipients),
            "gas": "0x2faf080",
        }))
        .await
        .unwrap();
        node.mine(1).await.unwrap();
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
    assert_eq!(head, start + blocks - 1);
    let setup_time = setup.elapsed();
    let scanned = head + 1; // blocks 0..=head
    eprintln!(
        "setup: {blocks} blocks, {transfers} watched + {} unwatched transfers in {:.1} s",
        blocks * noise,
        setup_time.as_secs_f64()
    );

    let check = |got: &[usdt_evm_rpc::TokenTransfer]| {
        let got: Vec<(u64, String, String)> = got
            .iter()
            .map(|t| (t.block_number, t.to.clone(), t.value.clone()))
            .collect();
        assert_eq!(got.len(), expected.len());
        assert!(
            got == expected,
            "catch-up result differs from what was sent"
        );
    };

    println!();
    println!(
        "chain: {scanned} blocks (0..={head}), {transfers} transfers to {watched_count} watched addresses, {} unwatched transfers; anvil {}, setup {:.1} s",
        blocks * noise,
        node.call("web3_clientVersion", json!([]))
            .await
            .unwrap()
            .as_str()
            .unwrap_or("?"),
        setup_time.as_secs_f64()
    );
    println!();
    println!(
        "| measurement | eth_getLogs calls | min | median | max | blocks/s (median) | transfers/s (median) |"
    );
    println!("|---|---|---|---|---|---|---|");

    let configs: [(&str, u64, usize); 3] = [
        (
            "catch-up, default config (2,000 blocks × 500 addresses per query)",
            2_000,
            500,
        ),
        (
            "catch-up, one query per 1,000 addresses over all blocks",
            scanned,
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
            ..node.rpc_config()
        })
        .unwrap();
        let calls = scanned.div_ceil(span) * watched_count.div_ceil(per_query as u64);
        let mut samples = Vec::new();
        for _ in 0..runs {
            let t = Instant::now();
            let got = rpc.transfers(0, head, &watched).await.unwrap();
            samples.push(t.elapsed());
            check(&got);
        }
        assert_eq!(
            rpc.current_block_span(),
            span,
            "anvil never refuses a range"
        );
        let s = stats(samples);
        println!(
            "| {name} | {calls} | {} | {} | {} | {} | {} |",
            ms(s.min),
            ms(s.median),
            ms(s.max),
            per_second(scanned, s.median),
            per_second(transfers, s.median)
        );
    }

    // Baseline: the default configuration's 12 queries sent raw (TestNode::call, parsed
    // into serde_json::Value, no validation): what the node and HTTP cost by themselves.
    let topics: Vec<String> = watched
        .iter()
        .map(|a| format!("0x{:0>64}", &a[2..]))
        .collect();
    let mut samples = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let mut count = 0;
        for chunk in topics.chunks(500) {
            let mut from = 0;
            while from <= head {
                let to = (from + 1_999).min(head);
                let logs = node
                    .call(
                        "eth_getLogs",
                        json!([{
                            "address": node.token(),
                            "fromBlock": format!("{from:#x}"),
                            "toBlock": format!("{to:#x}"),
                            "topics": [usdt_evm_rpc::TRANSFER_TOPIC, null, chunk],
                        }]),
                    )
                    .await
                    .unwrap();
                count += logs.as_array().unwrap().len();
                from = to + 1;
            }
        }
        samples.push(t.elapsed());
        assert_eq!(count, expected.len());
    }
    let s = stats(samples);
    println!(
        "| baseline: the same 12 eth_getLogs raw (serde_json::Value, no checks) | 12 | {} | {} | {} | {} | {} |",
        ms(s.min),
        ms(s.median),
        ms(s.max),
        per_second(scanned, s.median),
        per_second(transfers, s.median)
    );

    // Steady state: a poll of the newest block (+ its hash as the checkpoint).
    let rpc = node.rpc();
    let polls = 200u32;
    let mut samples = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        for _ in 0..polls {
            let got = rpc.transfers(head, head, &watched).await.unwrap();
            assert_eq!(
                got.len() as u64,
                expected.iter().filter(|e| e.0 == head).count() as u64
            );
            rpc.block_hash(head).await.unwrap().unwrap();
        }
        samples.push(t.elapsed() / polls);
    }
    let s = stats(samples);
    println!(
        "| poll of the newest block + its block_hash (per poll, {} addresses) | {} | {} | {} | {} | — | — |",
        watched_count,
        watched_count.div_ceil(500),
        ms(s.min),
        ms(s.median),
        ms(s.max)
    );

    // block_hash of every block: sequential, and 8 in flight.
    let mut samples = Vec::new();
    for _ in 0..runs.min(3) {
        let t = Instant::now();
        for n in 0..=head {
            rpc.block_hash(n).await.unwrap().unwrap();
        }
        samples.push(t.elapsed());
    }
    let s = stats(samples);
    println!(
        "| block_hash of every block, sequential | — | {} | {} | {} | {} | — |",
        ms(s.min),
        ms(s.median),
        ms(s.max),
        per_second(scanned, s.median)
    );
    let mut samples = Vec::new();
    for _ in 0..runs.min(3) {
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
    let s = stats(samples);
    println!(
        "| block_hash of every block, 8 concurrent | — | {} | {} | {} | {} | — |",
        ms(s.min),
        ms(s.median),
        ms(s.max),
        per_second(scanned, s.median)
    );
    println!();
}
