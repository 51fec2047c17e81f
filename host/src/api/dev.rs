//! Dev mode only: the embedded dev chains' endpoints. `POST /dev/chains/{chain}/transfers`
//! `{"to","amount"}`, `…/mine` `{"blocks"}`, `…/reorg` `{"depth"}`. Each wakes the
//! chain's watcher so the effect shows at once.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
use super::body::JsonText;
use super::error::{AppError, GatewayCode};
use super::openapi::{ChainName, DevBlockFailures, DevTransferFailures};
use crate::chain::DevChain;
use crate::chain::dev::DevError;

/// `{"to","amount"}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"to": "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", "amount": "100.5"}))]
pub struct TransferBody {
    /// The receiving address (valid for the chain).
    to: String,
    /// USDT as decimal text with at most 4 decimals, above zero (`"100.5"`).
    amount: String,
}

/// `{"blocks"}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MineBody {
    /// Empty blocks to append (1..=100000).
    #[schema(minimum = 0)]
    blocks: u64,
}

/// `{"depth"}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReorgBody {
    /// Newest blocks to replace (1..=1000, at most the chain's head: the genesis block
    /// stays).
    #[schema(minimum = 0)]
    depth: u64,
}

/// `{"txid","block"}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Transferred {
    /// The transfer's transaction id.
    txid: String,
    /// The block it was mined in.
    block: u64,
}

/// `{"head"}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Head {
    /// The chain's newest block now.
    head: u64,
}

/// The path's chain, or 404 `NOT_FOUND` when no dev chain has that name.
fn chain_name(path: Result<Path<String>, PathRejection>) -> Result<String, AppError> {
    path.map(|Path(s)| s)
        .map_err(|_| AppError::gateway(GatewayCode::NotFound, "no such dev chain"))
}

fn parse<T: serde::de::DeserializeOwned>(body: &str) -> Result<T, AppError> {
    serde_json::from_str(body)
        .map_err(|e| AppError::gateway(GatewayCode::InvalidJson, e.to_string()))
}

fn dev_chain(state: &AppState, name: &str) -> Result<DevChain, AppError> {
    // Dev chains are keyed by the component's chain names: an exact lookup.
    state
        .dev_chains
        .get(name)
        .cloned()
        .ok_or_else(|| AppError::gateway(GatewayCode::NotFound, format!("no dev chain {name}")))
}

impl From<DevError> for AppError {
    fn from(e: DevError) -> Self {
        match e {
            DevError::Invalid { code, message } => AppError::Dev(code, message),
            DevError::Fault(e) => AppError::Store(format!("{e:#}")),
        }
    }
}

/// Send USDT to an address; mined into a new block at once.
#[utoipa::path(
    post,
    path = "/dev/chains/{chain}/transfers",
    tag = "dev",
    summary = "Send USDT to an address on the dev chain (mined into a new block at once)",
    params(("chain" = ChainName, Path, description = "The dev chain.")),
    request_body(content = TransferBody, content_type = "application/json"),
    responses((status = 200, description = "Done; the chain's watcher is woken.", body = Transferred), DevTransferFailures),
)]
pub async fn transfer(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    JsonText(body): JsonText,
) -> Result<Json<Transferred>, AppError> {
    let dev = dev_chain(&state, &chain_name(path)?)?;
    let body: TransferBody = parse(&body)?;
    let made = dev.transfer(&body.to, &body.amount).await?;
    state.wake_watcher(dev.chain());
    Ok(Json(Transferred {
        txid: made.txid,
        block: made.block,
    }))
}

/// Mine empty blocks.
#[utoipa::path(
    post,
    path = "/dev/chains/{chain}/mine",
    tag = "dev",
    summary = "Mine empty blocks on the dev chain",
    params(("chain" = ChainName, Path, description = "The dev chain.")),
    request_body(content = MineBody, content_type = "application/json"),
    responses((status = 200, description = "Done; the chain's watcher is woken.", body = Head), DevBlockFailures),
)]
pub async fn mine(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    JsonText(body): JsonText,
) -> Result<Json<Head>, AppError> {
    let dev = dev_chain(&state, &chain_name(path)?)?;
    let body: MineBody = parse(&body)?;
    let head = dev.mine(body.blocks).await?;
    state.wake_watcher(dev.chain());
    Ok(Json(Head { head }))
}

/// Replace the newest blocks, dropping their transfers.
#[utoipa::path(
    post,
    path = "/dev/chains/{chain}/reorg",
    tag = "dev",
    summary = "Replace the dev chain's newest blocks, dropping their transfers",
    params(("chain" = ChainName, Path, description = "The dev chain.")),
    request_body(content = ReorgBody, content_type = "application/json"),
    responses((status = 200, description = "Done; the chain's watcher is woken.", body = Head), DevBlockFailures),
)]
pub async fn reorg(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    JsonText(body): JsonText,
) -> Result<Json<Head>, AppError> {
    let dev = dev_chain(&state, &chain_name(path)?)?;
    let body: ReorgBody = parse(&body)?;
    let head = dev.reorg(body.depth).await?;
    state.wake_watcher(dev.chain());
    Ok(Json(Head { head }))
}
