//! `EvmRpc` against a real Ethereum node: anvil with a USDT-like token (see
//! `usdt_evm_rpc::testnode`). Needs `chains/evm/anvil/setup.sh`; fails without it unless
//! `USDT_SKIP_ANVIL=1`.

#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]
// a failed expectation is a failed test
// An integration test is one scenario against a real process or node, or one table of
// cases, read top to bottom: exempt from clippy::too_many_lines (see clippy.toml).
#![allow(clippy::too_many_lines)]

use std::collections::BTreeMap;

use usdt_evm_rpc::testnode::{TOKEN_SUPPLY, TestNode, test_address};
use usdt_evm_rpc::{EvmRpc, EvmRpcConfig, TokenTransfer};

fn word(amount: u128) -> String {
    format!("0x{amount:064x}")
}

/// The receipt's log index of the `Transfer` to `to`.
async fn receipt_log_index(node: &TestNode, txid: &str, to: &str) -> u64 {
    let receipt = node.receipt(txid).await.unwrap().unwrap();
    let topic = format!("0x{:0>64}", &to[2..]);
    let log = receipt["logs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["topics"][2].as_str() == Some(topic.as_str()))
        .unwrap();
    u64::from_str_radix(
        log["logIndex"].as_str().unwrap().trim_start_matches("0x"),
        16,
    )
    .unwrap()
}

#[tokio::test]
async fn transfers_to_watched_addresses_are_found_exactly() {
    let Some(node) = TestNode::start_or_skip().await else {
        return;
    };
    let rpc = node.rpc();
    let (alice, bob, carol) = (test_address(1), test_address(2), test_address(3));

    let (tx1, block1) = node.transfer(&alice, 1_500_000).await.unwrap(); // 1.5 USDT
    let (_, block2) = node.transfer(&bob, 7).await.unwrap(); // unwatched
    let big = (1u128 << 70) + 5; // above 2^64: the value must pass through exactly
    let (tx3, block3) = node.transfer(&alice, big).await.unwrap();
    // Three transfers in one transaction: alice's is the second log.
    let (tx4, block4) = node
        .batch_transfer(&[(bob.clone(), 1), (alice.clone(), 2), (carol.clone(), 3)])
        .await
        .unwrap();
    assert!(block1 < block2 && block2 < block3 && block3 < block4);
    let head = rpc.block_number().await.unwrap();
    assert_eq!(head, node.block_number().await.unwrap());
    assert_eq!(head, block4);

    // Watched in mixed case: the node wants lowercase topics, the client normalises.
    let watched = vec![alice.to_uppercase().replacen("0X", "0x", 1)];
    let got = rpc.transfers(0, head, &watched).await.unwrap();
    let expected = [
        (tx1, block1, 1_500_000u128),
        (tx3, block3, big),
        (tx4, block4, 2),
    ];
    assert_eq!(got.len(), expected.len(), "{got:#?}");
    for (t, (txid, block, amount)) in got.iter().zip(&expected) {
        let hash = node.block_hash(*block).await.unwrap().unwrap();
        assert_eq!(
            t,
            &TokenTransfer {
                block_number: *block,
                block_hash: hash.clone(),
                txid: txid.clone(),
                log_index: receipt_log_index(&node, txid, &alice).await,
                from: node.deployer().to_owned(),
                to: alice.clone(),
                value: word(*amount),
                removed: false,
            }
        );
        assert_eq!(rpc.block_hash(*block).await.unwrap(), Some(hash));
    }
    assert_eq!(got[0].log_index, 0);
    assert_eq!(got[2].log_index, 1, "the second Transfer of the batch");
    assert_eq!(node.balance_of(&alice).await.unwrap(), 1_500_000 + big + 2);

    // Unwatched recipients are not returned; watching them returns exactly theirs.
    let got = rpc
        .transfers(0, head, &[bob.clone(), carol.clone()])
        .await
        .unwrap();
    let who: Vec<(u64, &str, &str)> = got
        .iter()
        .map(|t| (t.block_number, t.to.as_str(), t.value.as_str()))
        .collect();
    let (w7, w1, w3) = (word(7), word(1), word(3));
    assert_eq!(
        who,
        vec![
            (block2, bob.as_str(), w7.as_str()),
            (block4, bob.as_str(), w1.as_str()),
            (block4, carol.as_str(), w3.as_str())
        ]
    );
    assert!(got[1].log_index < got[2].log_index);
    // Nobody's transfers for an address that received nothing.
    assert!(
        rpc.transfers(0, head, &[test_address(99)])
            .await
            .unwrap()
            .is_empty()
    );
    // The mint to the deployer in the deploy block.
    let mint = rpc
        .transfers(
            node.deploy_block(),
            node.deploy_block(),
            &[node.deployer().to_owned()],
        )
        .await
        .unwrap();
    assert_eq!(mint.len(), 1);
    assert_eq!(mint[0].from, format!("0x{}", "0".repeat(40)));
    assert_eq!(mint[0].value, word(TOKEN_SUPPLY));
    // Partial ranges are inclusive on both ends.
    assert_eq!(
        rpc.transfers(block3, block3, &watched).await.unwrap().len(),
        1
    );
    assert_eq!(
        rpc.transfers(block1 + 1, block3 - 1, &watched)
            .await
            .unwrap()
            .len(),
        0
    );
    // A block beyond the head has no hash.
    assert_eq!(rpc.block_hash(head + 1).await.unwrap(), None);
}

#[tokio::test]
async fn many_addresses_over_several_chunks_and_spans() {
    let Some(node) = TestNode::start_or_skip().await else {
        return;
    };
    // 1,200 watched addresses, 1,100 of them paid (amount = 1000 + i), 100 never paid, and
    // 50 unwatched recipients mixed in.
    let watched: Vec<String> = (0..1200).map(test_address).collect();
    let mut expected: BTreeMap<String, u128> = BTreeMap::new();
    let mut batch = Vec::new();
    for i in 0..1100u64 {
        batch.push((watched[i as usize].clone(), 1000 + u128::from(i)));
        expected.insert(watched[i as usize].clone(), 1000 + u128::from(i));
        if i % 22 == 0 {
            batch.push((test_address(100_000 + i), 5));
        }
        if batch.len() >= 250 {
            node.batch_transfer(&std::mem::take(&mut batch))
                .await
                .unwrap();
            node.mine(3).await.unwrap();
        }
    }
    node.batch_transfer(&batch).await.unwrap();
    let head = node.block_number().await.unwrap();

    for (span, per_query) in [(2000, 500), (2, 500), (1, 1000), (7, 64)] {
        let rpc = EvmRpc::new(EvmRpcConfig {
            max_block_range: span,
            max_addresses_per_query: per_query,
            ..node.rpc_config()
        })
        .unwrap();
        let got = rpc.transfers(0, head, &watched).await.unwrap();
        let found: BTreeMap<String, u128> = got
            .iter()
            .map(|t| {
                (
                    t.to.clone(),
                    u128::from_str_radix(&t.value[2..], 16).unwrap(),
                )
            })
            .collect();
        assert_eq!(got.len(), 1100, "span {span}, {per_query} per query");
        assert_eq!(found, expected, "span {span}, {per_query} per query");
        for pair in got.windows(2) {
            assert!(
                (pair[0].block_number, pair[0].log_index)
                    < (pair[1].block_number, pair[1].log_index)
            );
        }
    }
}

#[tokio::test]
async fn revert_changes_the_block_hash_and_drops_the_transfer() {
    let Some(node) = TestNode::start_or_skip().await else {
        return;
    };
    let rpc = node.rpc();
    let alice = test_address(1);
    node.mine(5).await.unwrap();
    let snapshot = node.snapshot().await.unwrap();
    let (txid, block) = node.transfer(&alice, 42_000_000).await.unwrap();
    node.mine(2).await.unwrap();
    let old_hash = rpc.block_hash(block).await.unwrap().unwrap();
    let seen = rpc
        .transfers(block, block + 2, std::slice::from_ref(&alice))
        .await
        .unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        (seen[0].txid.as_str(), seen[0].block_hash.as_str()),
        (txid.as_str(), old_hash.as_str())
    );

    node.revert(&snapshot).await.unwrap();
    assert_eq!(rpc.block_number().await.unwrap(), block - 1);
    assert_eq!(
        rpc.block_hash(block).await.unwrap(),
        None,
        "the block is gone"
    );
    node.mine(3).await.unwrap();
    let new_hash = rpc.block_hash(block).await.unwrap().unwrap();
    assert_ne!(new_hash, old_hash, "another block at the same height");
    assert!(
        rpc.transfers(block, block + 2, std::slice::from_ref(&alice))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(node.receipt(&txid).await.unwrap().is_none());
    assert_eq!(node.balance_of(&alice).await.unwrap(), 0);
}

#[tokio::test]
async fn reorg_replaces_the_blocks_and_the_transfer_is_gone() {
    let Some(node) = TestNode::start_or_skip().await else {
        return;
    };
    let rpc = node.rpc();
    let alice = test_address(1);
    let (_, block) = node.transfer(&alice, 1_000_000).await.unwrap();
    node.mine(2).await.unwrap();
    let head = rpc.block_number().await.unwrap();
    assert_eq!(head, block + 2);
    let old: Vec<String> = futures_hashes(&rpc, block, head).await;
    assert_eq!(
        rpc.transfers(block, head, std::slice::from_ref(&alice))
            .await
            .unwrap()
            .len(),
        1
    );

    node.reorg(3).await.unwrap();
    assert_eq!(rpc.block_number().await.unwrap(), head, "same height");
    let new: Vec<String> = futures_hashes(&rpc, block, head).await;
    for (o, n) in old.iter().zip(&new) {
        assert_ne!(o, n, "every reorganised block has a new hash");
    }
    assert!(rpc.block_hash(block - 1).await.unwrap().is_some());
    assert!(
        rpc.transfers(block, head, std::slice::from_ref(&alice))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(node.balance_of(&alice).await.unwrap(), 0);
}

async fn futures_hashes(rpc: &EvmRpc, from: u64, to: u64) -> Vec<String> {
    let mut out = Vec::new();
    for n in from..=to {
        out.push(rpc.block_hash(n).await.unwrap().unwrap());
    }
    out
}

#[tokio::test]
async fn catch_up_over_many_blocks() {
    let Some(node) = TestNode::start_or_skip().await else {
        return;
    };
    let watched: Vec<String> = (0..20).map(test_address).collect();
    let mut expected = Vec::new();
    for i in 0..20u64 {
        let (txid, block) = node
            .transfer(&watched[i as usize], u128::from(i) + 1)
            .await
            .unwrap();
        expected.push((block, txid));
        node.mine(250 + i * 7).await.unwrap();
    }
    let head = node.block_number().await.unwrap();
    assert!(head > 6000, "{head}");
    for span in [2000, 333, 10_000] {
        let rpc = EvmRpc::new(EvmRpcConfig {
            max_block_range: span,
            ..node.rpc_config()
        })
        .unwrap();
        let got = rpc.transfers(0, head, &watched).await.unwrap();
        let got: Vec<(u64, String)> = got.into_iter().map(|t| (t.block_number, t.txid)).collect();
        assert_eq!(got, expected, "span {span}");
    }
}

/// Run by `missing_setup_fails_unless_skipped` in a child process with its environment.
#[tokio::test]
#[ignore = "a probe run in a child process by missing_setup_fails_unless_skipped"]
async fn probe_start_or_skip() {
    let _node = TestNode::start_or_skip().await;
}

#[test]
fn missing_setup_fails_unless_skipped() {
    let run = |skip: bool| {
        let mut command = std::process::Command::new(std::env::current_exe().unwrap());
        command
            .args([
                "--exact",
                "probe_start_or_skip",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("USDT_ANVIL_BIN", "/nonexistent/anvil")
            .env_remove("USDT_SKIP_ANVIL");
        if skip {
            command.env("USDT_SKIP_ANVIL", "1");
        }
        command.output().unwrap()
    };
    let failed = run(false);
    let text = String::from_utf8_lossy(&failed.stdout).into_owned()
        + &String::from_utf8_lossy(&failed.stderr);
    assert!(!failed.status.success(), "must fail without anvil: {text}");
    assert!(text.contains("chains/evm/anvil/setup.sh"), "{text}");
    let skipped = run(true);
    let text = String::from_utf8_lossy(&skipped.stderr);
    assert!(skipped.status.success(), "{text}");
    assert!(text.contains("USDT_SKIP_ANVIL=1"), "{text}");
}
