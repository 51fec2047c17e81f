//! Dev mode only: the embedded dev chains' endpoints. `POST /dev/chains/{chain}/transfers`
//! `{"to","amount"}`, `…/mine` `{"blocks"}`, `…/reorg` `{"depth"}`. Each wakes the
//! chain's watcher so the effect shows at once.

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::body::JsonText;
use super::error::{AppError, GatewayCode};
use crate::chain::DevChain;
use crate::chain::dev::DevError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TransferBody {
    to: String,
    amount: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MineBody {
    blocks: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReorgBody {
    depth: u64,
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
pub async fn transfer(
    State(state): State<AppState>,
    Path(chain): Path<String>,
    JsonText(body): JsonText,
) -> Result<Json<Value>, AppError> {
    let dev = dev_chain(&state, &chain)?;
    let body: TransferBody = parse(&body)?;
    let made = dev.transfer(&body.to, &body.amount).await?;
    state.wake_watcher(dev.chain());
    Ok(Json(json!({"txid": made.txid, "block": made.block})))
}

/// Mine empty blocks.
pub async fn mine(
    State(state): State<AppState>,
    Path(chain): Path<String>,
    JsonText(body): JsonText,
) -> Result<Json<Value>, AppError> {
    let dev = dev_chain(&state, &chain)?;
    let body: MineBody = parse(&body)?;
    let head = dev.mine(body.blocks).await?;
    state.wake_watcher(dev.chain());
    Ok(Json(json!({"head": head})))
}

/// Replace the newest blocks, dropping their transfers.
pub async fn reorg(
    State(state): State<AppState>,
    Path(chain): Path<String>,
    JsonText(body): JsonText,
) -> Result<Json<Value>, AppError> {
    let dev = dev_chain(&state, &chain)?;
    let body: ReorgBody = parse(&body)?;
    let head = dev.reorg(body.depth).await?;
    state.wake_watcher(dev.chain());
    Ok(Json(json!({"head": head})))
}
