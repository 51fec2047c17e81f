//! A chain source over EVM JSON-RPC (`usdt-evm-rpc`): ERC20 USDT on Ethereum, and TRC20
//! USDT through TRON's Ethereum-compatible `/jsonrpc` (20-byte hex addresses; the
//! watcher converts them with the component).

use std::time::Duration;

use usdt_evm_rpc::{EvmRpc, EvmRpcConfig};

use crate::rules::Chain;

use super::Transfer;

/// One chain's node connection and token.
#[derive(Clone, Debug)]
pub struct EvmSource {
    rpc: EvmRpc,
    chain: Chain,
    decimals: u8,
}

impl EvmSource {
    /// Connect to `urls` (failover in order) watching `token_contract` (`0x` hex).
    pub fn new(
        chain: Chain,
        urls: Vec<String>,
        token_contract: String,
        decimals: u8,
    ) -> anyhow::Result<Self> {
        let rpc = EvmRpc::new(EvmRpcConfig {
            urls,
            token_contract,
            request_timeout: Duration::from_secs(10),
            max_block_range: 2_000,
            max_addresses_per_query: 500,
            max_retries: 5,
        })?;
        Ok(Self {
            rpc,
            chain,
            decimals,
        })
    }

    /// Each node endpoint, redacted, with the calls it failed.
    pub fn endpoint_errors(&self) -> Vec<(String, u64)> {
        self.rpc.endpoint_errors()
    }

    /// Which chain.
    pub fn chain(&self) -> Chain {
        self.chain
    }

    /// The token's decimals.
    pub fn decimals(&self) -> u8 {
        self.decimals
    }

    /// `eth_blockNumber`.
    pub async fn head(&self) -> anyhow::Result<u64> {
        Ok(self.rpc.block_number().await?)
    }

    /// The canonical hash at `number`.
    pub async fn block_hash(&self, number: u64) -> anyhow::Result<Option<String>> {
        Ok(self.rpc.block_hash(number).await?)
    }

    /// `Transfer` logs of the token to `watched` (`0x` hex) in `from..=to`.
    pub async fn transfers(
        &self,
        from: u64,
        to: u64,
        watched: &[String],
    ) -> anyhow::Result<Vec<Transfer>> {
        let logs = self.rpc.transfers(from, to, watched).await?;
        Ok(logs
            .into_iter()
            .filter(|log| !log.removed)
            .map(|log| Transfer {
                txid: log.txid,
                log_index: log.log_index,
                block_number: log.block_number,
                block_hash: log.block_hash,
                to: log.to,
                value: log.value,
            })
            .collect())
    }
}
