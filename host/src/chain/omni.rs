//! A chain source over Omni Core's JSON-RPC (`usdt-omni-rpc`): USDT (property 31) on the
//! Omni Layer. Addresses are Bitcoin base58 in their canonical form, as orders store them;
//! one transfer per transaction, its `log_index` the transaction's position in its block.

use std::time::Duration;

use usdt_omni_rpc::{Credentials, OmniRpc, OmniRpcConfig};

use crate::rules::Chain;

use super::{ChainSource, SourceError, SourceResult, Transfer, omni_error};

/// One Omni Core connection (several URLs, failover in order).
#[derive(Clone, Debug)]
pub struct OmniSource {
    rpc: OmniRpc,
}

impl OmniSource {
    /// Connect to `urls` with `credentials` (user and password), or with the credentials
    /// the URLs carry.
    pub fn new(urls: Vec<String>, credentials: Option<(String, String)>) -> anyhow::Result<Self> {
        let mut config = OmniRpcConfig::new(
            urls,
            credentials.map(|(user, password)| Credentials::new(user, password)),
        );
        config.request_timeout = Duration::from_secs(10);
        Ok(Self {
            rpc: OmniRpc::new(config)?,
        })
    }

    /// Each node endpoint, redacted, with the calls it failed.
    pub fn endpoint_errors(&self) -> Vec<(String, u64)> {
        self.rpc.endpoint_errors()
    }

    /// Which chain: OMNI.
    pub fn chain(&self) -> Chain {
        Chain::Omni
    }

    /// The amounts' decimals: 8, as every divisible Omni property's.
    pub fn decimals(&self) -> u8 {
        usdt_omni_rpc::DECIMALS
    }

    /// `getblockcount`.
    pub async fn head(&self) -> Result<u64, SourceError> {
        self.rpc.block_count().await.map_err(omni_error)
    }

    /// `getblockhash`.
    pub async fn block_hash(&self, number: u64) -> Result<Option<String>, SourceError> {
        self.rpc.block_hash(number).await.map_err(omni_error)
    }

    /// Valid Simple Sends of USDT to `watched` (canonical addresses) in `from..=to`.
    pub async fn transfers(
        &self,
        from: u64,
        to: u64,
        watched: &[String],
    ) -> Result<Vec<Transfer>, SourceError> {
        let found = self
            .rpc
            .transfers(from, to, watched)
            .await
            .map_err(omni_error)?;
        Ok(found
            .into_iter()
            .map(|t| Transfer {
                txid: t.txid,
                log_index: t.position_in_block,
                block_number: t.block_number,
                block_hash: t.block_hash,
                to: t.to,
                value: t.amount.to_string(),
            })
            .collect())
    }
}

impl ChainSource for OmniSource {
    fn chain(&self) -> Chain {
        OmniSource::chain(self)
    }

    fn decimals(&self) -> u8 {
        OmniSource::decimals(self)
    }

    fn endpoint_errors(&self) -> Vec<(String, u64)> {
        OmniSource::endpoint_errors(self)
    }

    fn head(&self) -> SourceResult<'_, u64> {
        Box::pin(OmniSource::head(self))
    }

    fn block_hash(&self, number: u64) -> SourceResult<'_, Option<String>> {
        Box::pin(OmniSource::block_hash(self, number))
    }

    fn transfers<'a>(
        &'a self,
        from: u64,
        to: u64,
        watched: &'a [String],
    ) -> SourceResult<'a, Vec<Transfer>> {
        Box::pin(OmniSource::transfers(self, from, to, watched))
    }
}
