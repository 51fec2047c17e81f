//! `POST /api/merchant/v2/TraderRechargeorder` and `…/TraderRechargeorderQuery`.
//!
//! The component judges every field and signature; this module adds what needs the
//! database (idempotency, duplicates, address bindings) and the clock.

use std::time::SystemTime;

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use super::AppState;
use super::body::JsonText;
use super::error::{AppError, GatewayCode};
use crate::clock::{millis, unix_millis};
use crate::rules::OrderRequest;
use crate::store::{
    CreateOutcome, DeliveryState, DepositRecord, NewOrder, OrderRecord, OrderState,
};

/// The success message the seed fixes.
const ACCEPTED: &str = "订单已受理";

/// `{"status":1,"data":…}`.
#[derive(Debug, Serialize)]
pub struct Success<T> {
    status: u8,
    data: T,
}

impl<T> Success<T> {
    /// `{"status":1,"data":data}`.
    pub(super) fn new(data: T) -> Json<Self> {
        Json(Self { status: 1, data })
    }
}

/// The data of an accepted order.
#[derive(Debug, Serialize)]
pub struct Accepted {
    msg: &'static str,
    ordersn: String,
    orderid: String,
    chain: String,
    address: String,
    amount: i64,
    required_confirmations: i64,
}

/// Create an order: the component parses, finds the merchant, checks the sign and says
/// how many confirmations the deposit needs, in one call; the writer stores it (or finds
/// the identical earlier one) and answers after the commit.
pub async fn create(
    State(state): State<AppState>,
    JsonText(body): JsonText,
) -> Result<Json<Success<Accepted>>, AppError> {
    let accepted = state
        .merchants
        .accept_order(&body)?
        .map_err(AppError::Rejected)?;
    let (order, required) = (accepted.order, accepted.required_confirmations);
    // The component judged the URL's form; whether it may be contacted is the network's.
    if let Some(url) = &order.notify_url {
        usdt_callback_http::check_target_url(url, state.allow_private_targets)
            .map_err(|e| AppError::gateway(GatewayCode::ForbiddenNotifyTarget, e.to_string()))?;
    }
    check_allocated(&state, &order).await?;
    let amount = i64::try_from(order.fields.amount)
        .map_err(|_| AppError::gateway(GatewayCode::Internal, "amount out of range"))?;
    let now = unix_millis(SystemTime::now());
    let ttl = millis(state.order_ttl);
    let new = NewOrder {
        ordersn: format!("cz-{}", uuid::Uuid::new_v4()),
        appid: order.fields.appid,
        orderid: order.fields.orderid,
        username: order.fields.username,
        localusermark: order.fields.localusermark,
        address: order.fields.address,
        canonical_address: order.canonical_address,
        chain: order.chain.as_str().to_owned(),
        amount,
        notify_url: order.notify_url,
        required_confirmations: i64::from(required),
        created_at: now,
        expires_at: now.saturating_add(ttl),
    };
    match state.writer.submit(new).await? {
        CreateOutcome::Created(stored) | CreateOutcome::Existing(stored) => {
            Ok(Success::new(Accepted {
                msg: ACCEPTED,
                ordersn: stored.ordersn,
                orderid: stored.orderid,
                chain: stored.chain,
                address: stored.address,
                amount: stored.amount,
                required_confirmations: stored.required_confirmations,
            }))
        }
        CreateOutcome::Duplicate => Err(AppError::gateway(
            GatewayCode::DuplicateOrder,
            "this orderid was already placed with other fields",
        )),
        CreateOutcome::AddressBound => Err(AppError::gateway(
            GatewayCode::AddressBoundToOtherUser,
            "this address is bound to another user",
        )),
    }
}

/// For a merchant with `allocated_addresses_only`: the order's address must have been
/// allocated to the order's user by `TraderRechargeAddress` (allocations are never
/// removed, so reading before the write is enough).
async fn check_allocated(state: &AppState, order: &OrderRequest) -> Result<(), AppError> {
    let fields = &order.fields;
    let only_allocated = state
        .merchants
        .get(&fields.appid)
        .is_some_and(|m| m.allocated_addresses_only);
    if !only_allocated {
        return Ok(());
    }
    let allocation = state
        .store
        .allocation_of(order.chain.as_str(), &order.canonical_address)
        .await?;
    match allocation {
        Some(a) if a.appid == fields.appid && a.username == fields.username => Ok(()),
        _ => Err(AppError::gateway(
            GatewayCode::AddressNotAllocated,
            "this merchant takes orders on addresses allocated to the user only \
             (POST /api/merchant/v2/TraderRechargeAddress)",
        )),
    }
}

/// An order as the query endpoint shows it.
#[derive(Debug, Serialize)]
pub struct OrderView {
    ordersn: String,
    orderid: String,
    /// `pending`, `confirming`, `confirmed` or `expired`.
    state: &'static str,
    chain: String,
    address: String,
    amount: i64,
    received_amount: i64,
    txid: Option<String>,
    block_height: Option<i64>,
    confirmations: i64,
    required_confirmations: i64,
    /// `none` until a deposit is confirmed, then `pending`, `delivered`, `failed` or
    /// `not_configured` (no callback URL: nothing sent).
    callback: &'static str,
    created_at: i64,
    expires_at: i64,
}

/// Query an order: the body parsed and `md5(appid|orderid|secret)` checked by the
/// component in one call.
pub async fn query(
    State(state): State<AppState>,
    JsonText(body): JsonText,
) -> Result<Json<Success<OrderView>>, AppError> {
    let query = state
        .merchants
        .check_query(&body)?
        .map_err(AppError::Rejected)?;
    let record = state
        .store
        .find_order(&query.appid, &query.orderid)
        .await?
        .ok_or_else(|| {
            AppError::gateway(GatewayCode::OrderNotFound, "no such order for this appid")
        })?;
    let deposit = state.store.order_deposit(&record.order.ordersn).await?;
    let confirmations = match &deposit {
        Some(d) => {
            let head = state
                .store
                .chain_cursor(&d.chain)
                .await?
                .map_or(0, |(head, _)| head);
            let count = state.rules.count_confirmations(
                u64::try_from(head).unwrap_or(0),
                u64::try_from(d.block_number).unwrap_or(u64::MAX),
            )?;
            i64::try_from(count).unwrap_or(i64::MAX)
        }
        None => 0,
    };
    let callback = state
        .store
        .callback_record(&record.order.ordersn)
        .await?
        .map(|c| c.state);
    Ok(Success::new(view(
        record,
        deposit,
        confirmations,
        callback,
        SystemTime::now(),
    )))
}

fn view(
    record: OrderRecord,
    deposit: Option<DepositRecord>,
    confirmations: i64,
    callback: Option<DeliveryState>,
    now: SystemTime,
) -> OrderView {
    let OrderRecord {
        order,
        status,
        received_amount,
    } = record;
    let state = match status {
        OrderState::Confirmed | OrderState::Confirming => status.as_str(),
        OrderState::Pending if unix_millis(now) >= order.expires_at => "expired",
        OrderState::Pending => status.as_str(),
    };
    OrderView {
        ordersn: order.ordersn,
        orderid: order.orderid,
        state,
        chain: order.chain,
        address: order.address,
        amount: order.amount,
        received_amount,
        txid: deposit.as_ref().map(|d| d.txid.clone()),
        block_height: deposit.as_ref().map(|d| d.block_number),
        confirmations: if state == "confirmed" {
            confirmations.max(order.required_confirmations)
        } else {
            confirmations
        },
        required_confirmations: order.required_confirmations,
        callback: callback.map_or("none", DeliveryState::as_str),
        created_at: order.created_at / 1000,
        expires_at: order.expires_at / 1000,
    }
}
