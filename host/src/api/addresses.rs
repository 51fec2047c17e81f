//! `POST /api/merchant/v2/TraderRechargeAddress` (our extension of the protocol): the
//! user's own deposit address on a chain, derived by the component from the merchant's
//! account key (xpub). The component parses the request and checks its sign
//! `md5(appid|username|chain|secret)`; this module adds the database (one index per
//! user, for good) and wakes the chain's watcher.
//!
//! A new allocation is limited per merchant (`[addresses]`, or the merchant's own
//! `addresses` table): by a rate with a burst (per process, 429 `ADDRESS_RATE_LIMITED`
//! with `Retry-After`) and by a total per chain (in the allocation's transaction, so
//! exact across replicas: 409 `ADDRESS_QUOTA_EXCEEDED`). A user who has an address is
//! answered it before either limit is looked at; if the operator retired it (`address
//! retire`), the request revives it.

use std::time::SystemTime;

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use utoipa::ToSchema;

use super::body::JsonText;
use super::error::{AppError, GatewayCode};
use super::openapi::{AddressFailures, AddressRequest};
use super::orders::Success;
use super::{ADDRESS_PATH, AppState};
use crate::clock::unix_millis;
use crate::rules::{Chain, DerivationErrorCode, Rules, RulesFault};
use crate::store::{AllocateError, AllocationRequest, Derived};

/// The data of an answered address request.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"appid": "yourAppId", "username": "alice", "chain": "TRC20", "address": "TUEZSdKsoDHQMeZwihtdoBiN46zxhGWYdH", "index": 0}))]
pub struct AddressData {
    /// The merchant's id.
    appid: String,
    /// The user the address belongs to, for good.
    username: String,
    /// The chain: `TRC20`, `ERC20` or `OMNI`.
    chain: String,
    /// The deposit address (ERC20: EIP-55).
    address: String,
    /// Its index on the account key's external chain: the address is `…/0/index` of
    /// the merchant's xpub for the chain, which the merchant can check.
    index: i64,
}

/// Why an address could not be derived.
#[derive(Debug, thiserror::Error)]
enum DeriveFault {
    /// The component failed.
    #[error(transparent)]
    Rules(#[from] RulesFault),
    /// The configured key or the derived address was refused (never expected: the
    /// configuration is checked at start).
    #[error("{0}")]
    Refused(String),
}

/// The address at `index` of `xpub` for `chain`, with its canonical form; `None` when
/// the index has no key (BIP32: take the next one).
fn derive(
    rules: &Rules,
    xpub: &str,
    chain: Chain,
    index: u32,
) -> Result<Option<Derived>, DeriveFault> {
    let derived = match rules.derive_address(xpub, chain, index)? {
        Ok(derived) => derived,
        Err(e) if e.code == DerivationErrorCode::InvalidChildKey => return Ok(None),
        Err(e) => return Err(DeriveFault::Refused(e.code.as_str().to_owned())),
    };
    let info = rules
        .validate_address(&derived.address, chain)?
        .map_err(|r| DeriveFault::Refused(r.message))?;
    Ok(Some(Derived {
        address: derived.address,
        canonical_address: info.canonical,
    }))
}

impl From<AllocateError<DeriveFault>> for AppError {
    fn from(e: AllocateError<DeriveFault>) -> Self {
        match e {
            AllocateError::Store(e) => e.into(),
            AllocateError::Derive(DeriveFault::Rules(fault)) => fault.into(),
            AllocateError::Derive(DeriveFault::Refused(why)) => {
                tracing::error!(why, "a configured account key derived no address");
                Self::gateway(GatewayCode::Internal, "the account key derived no address")
            }
            AllocateError::Exhausted => Self::gateway(
                GatewayCode::AddressesExhausted,
                "every index of this merchant's account key for the chain is allocated",
            ),
            AllocateError::QuotaExceeded(limit) => Self::gateway(
                GatewayCode::AddressQuotaExceeded,
                format!(
                    "this merchant holds its {limit} addresses on this chain \
                     (addresses.max_per_chain); users who have one still get it"
                ),
            ),
        }
    }
}

/// Answer the user's address on the chain: the one allocated before, or a new one
/// (committed, binding included, before the answer; the watcher is woken at once).
#[utoipa::path(
    post,
    path = ADDRESS_PATH,
    tag = "orders",
    summary = "The user's deposit address on a chain (our extension)",
    description = "Signed with `sign = md5(appid|username|chain|secret)` (lowercase hex; `chain` exactly `TRC20`, `ERC20` or `OMNI`). Answers the user's own address: `…/0/index` of the merchant's account key (xpub) for the chain, derived by the component, so the merchant can check it against its xpub. The same user and chain always get the same address; a new allocation and its binding are committed before the answer. A merchant without an xpub for the chain gets 409 `XPUB_NOT_CONFIGURED`. New allocations are limited per merchant (`[addresses]`): faster than `rate` a second beyond `burst` gets 429 `ADDRESS_RATE_LIMITED` with `Retry-After`; beyond `max_per_chain` addresses on the chain, 409 `ADDRESS_QUOTA_EXCEEDED`. A user who has an address is answered it whatever the limits.",
    request_body(content = AddressRequest, content_type = "application/json"),
    responses((status = 200, description = "The user's address (allocated now or before).", body = Success<AddressData>), AddressFailures),
)]
pub async fn allocate(
    State(state): State<AppState>,
    JsonText(body): JsonText,
) -> Result<Json<Success<AddressData>>, AppError> {
    let request = state
        .merchants
        .check_address_request(&body)?
        .map_err(AppError::Rejected)?;
    let chain = request.chain.as_str();
    let (xpub, limits) = state
        .merchants
        .snapshot()
        .get(&request.appid)
        .and_then(|m| Some((m.xpubs.get(chain).cloned()?, m.address_limits)))
        .ok_or_else(|| {
            AppError::gateway(
                GatewayCode::XpubNotConfigured,
                "this merchant has no account key (xpub) for this chain",
            )
        })?;
    // The user's own address, whatever the limits (and without a write transaction
    // unless it is retired or its last request is over a day old).
    let now = unix_millis(SystemTime::now());
    let known = state
        .store
        .user_allocation(&request.appid, chain, &request.username)
        .await?;
    match known {
        Some(known) if known.answers_as_is(now) => return Ok(answer(known.allocation)),
        // Retired, or asked for over a day ago: answered by the write below, no limit.
        Some(_) => {}
        None => state
            .merchants
            .take_allocation(&request.appid, limits)
            .map_err(|wait| {
                AppError::RetryAfter(
                    GatewayCode::AddressRateLimited,
                    format!(
                        "this merchant allocates new addresses faster than {} a second \
                         (addresses.rate, burst {}); nothing was allocated, retry later",
                        limits.rate, limits.burst
                    ),
                    wait,
                )
            })?,
    }
    let ask = AllocationRequest {
        appid: &request.appid,
        chain,
        username: &request.username,
        now,
        max_per_chain: i64::from(limits.max_per_chain),
    };
    let (allocation, to_watch) = state
        .store
        .allocate_address(ask, |index| {
            derive(&state.rules, &xpub, request.chain, index)
        })
        .await?;
    if to_watch {
        state.wake_watcher(request.chain);
    }
    Ok(answer(allocation))
}

/// The answer that hands out `allocation`.
fn answer(allocation: crate::store::Allocation) -> Json<Success<AddressData>> {
    Success::new(AddressData {
        appid: allocation.appid,
        username: allocation.username,
        chain: allocation.chain,
        address: allocation.address,
        index: allocation.derivation_index,
    })
}
