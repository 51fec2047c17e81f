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

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use utoipa::ToSchema;

use super::body::JsonText;
use super::error::{AppError, GatewayCode};
use super::openapi::{AddressFailures, AddressRequest};
use super::orders::Success;
use super::{ADDRESS_PATH, AppState};
use usdt_gateway_core::AddressRefusal;

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
    let address = state
        .addresses
        .allocate_address(&request)
        .await?
        .map_err(refusal)?;
    Ok(Success::new(AddressData {
        appid: address.appid,
        username: address.username,
        chain: address.chain.into_string(),
        address: address.address,
        index: address.index,
    }))
}

/// A refused allocation's failure envelope.
fn refusal(refusal: AddressRefusal) -> AppError {
    match refusal {
        AddressRefusal::XpubNotConfigured => AppError::gateway(
            GatewayCode::XpubNotConfigured,
            "this merchant has no account key (xpub) for this chain",
        ),
        AddressRefusal::RateLimited { wait, rate, burst } => AppError::RetryAfter(
            GatewayCode::AddressRateLimited,
            format!(
                "this merchant allocates new addresses faster than {rate} a second \
                 (addresses.rate, burst {burst}); nothing was allocated, retry later"
            ),
            wait,
        ),
        AddressRefusal::Underivable(why) => {
            tracing::error!(why, "a configured account key derived no address");
            AppError::gateway(GatewayCode::Internal, "the account key derived no address")
        }
        AddressRefusal::Exhausted => AppError::gateway(
            GatewayCode::AddressesExhausted,
            "every index of this merchant's account key for the chain is allocated",
        ),
        AddressRefusal::QuotaExceeded(limit) => AppError::gateway(
            GatewayCode::AddressQuotaExceeded,
            format!(
                "this merchant holds its {limit} addresses on this chain \
                 (addresses.max_per_chain); users who have one still get it"
            ),
        ),
    }
}
