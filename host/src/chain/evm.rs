//! A chain source over EVM JSON-RPC (`usdt-evm-rpc`): ERC20 USDT on Ethereum, and TRC20
//! USDT through TRON's Ethereum-compatible `/jsonrpc` (20-byte hex addresses; the
//! watcher converts them with the component).

use usdt_evm_rpc::{EvmRpc, EvmRpcConfig, Provider};

use crate::config::{ChainConfig, ConfigError};
use crate::rules::Chain;

use super::{ChainSource, SourceError, SourceResult, Transfer, WatchForm, evm_error};

/// One chain's node connection and token.
#[derive(Clone, Debug)]
pub struct EvmSource {
    rpc: EvmRpc,
    chain: Chain,
    decimals: u8,
}

impl EvmSource {
    /// The providers of `config` (`[chains.<chain>]`: header values read from the
    /// environment) watching its token contract with its scan settings.
    pub fn new(chain: Chain, config: &ChainConfig) -> anyhow::Result<Self> {
        let providers = config
            .resolve_providers(chain.as_str())?
            .into_iter()
            .map(|p| Provider {
                url: p.url.expose().to_owned(),
                headers: p
                    .headers
                    .into_iter()
                    .map(|(name, value)| (name, value.expose().to_owned()))
                    .collect(),
                rate_limit: p.rate_limit,
                timeout: p.timeout,
            })
            .collect();
        let rpc = EvmRpc::new(EvmRpcConfig {
            providers,
            token_contract: config.token_contract.clone(),
            request_timeout: config.request_timeout,
            max_block_range: config.block_span,
            max_addresses_per_query: config.addresses_per_query,
            max_retries: config.max_retries,
            breaker_threshold: config.breaker_threshold,
            breaker_cooldown: config.breaker_cooldown,
        })
        .map_err(|e| ConfigError(format!("`chains.{}`: {e}", chain.as_str())))?;
        Ok(Self {
            rpc,
            chain,
            decimals: config.decimals,
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
    pub async fn head(&self) -> Result<u64, SourceError> {
        self.rpc.block_number().await.map_err(evm_error)
    }

    /// The newest finalized block (TRON: the latest solidified block).
    pub async fn finalized(&self) -> Result<Option<u64>, SourceError> {
        self.rpc.finalized_block().await.map_err(evm_error)
    }

    /// The canonical hash at `number`.
    pub async fn block_hash(&self, number: u64) -> Result<Option<String>, SourceError> {
        self.rpc.block_hash(number).await.map_err(evm_error)
    }

    /// `Transfer` logs of the token to `watched` (`0x` hex) in `from..=to`.
    pub async fn transfers(
        &self,
        from: u64,
        to: u64,
        watched: &[String],
    ) -> Result<Vec<Transfer>, SourceError> {
        let logs = self
            .rpc
            .transfers(from, to, watched)
            .await
            .map_err(evm_error)?;
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

impl ChainSource for EvmSource {
    fn chain(&self) -> Chain {
        self.chain
    }

    fn decimals(&self) -> u8 {
        self.decimals
    }

    fn watch_form(&self) -> WatchForm {
        WatchForm::EvmHex
    }

    fn endpoint_errors(&self) -> Vec<(String, u64)> {
        self.rpc.endpoint_errors()
    }

    fn head(&self) -> SourceResult<'_, u64> {
        Box::pin(EvmSource::head(self))
    }

    fn finalized(&self) -> SourceResult<'_, Option<u64>> {
        Box::pin(EvmSource::finalized(self))
    }

    fn block_hash(&self, number: u64) -> SourceResult<'_, Option<String>> {
        Box::pin(EvmSource::block_hash(self, number))
    }

    fn transfers<'a>(
        &'a self,
        from: u64,
        to: u64,
        watched: &'a [String],
    ) -> SourceResult<'a, Vec<Transfer>> {
        Box::pin(EvmSource::transfers(self, from, to, watched))
    }
}
