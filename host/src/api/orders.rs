//! `POST /api/merchant/v2/TraderRechargeorder` and `…/TraderRechargeorderQuery`.
//!
//! The component judges every field and signature; this module adds what needs the
//! database (idempotency, duplicates, address bindings) and the clock.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use super::body::JsonText;
use super::error::{AppError, GatewayCode};
use super::openapi::{OrderFailures, OrderRequest, QueryFailures, QueryRequest};
use super::{ORDER_PATH, QUERY_PATH, trace};
use crate::store::DeliveryState;
use usdt_gateway_core::Refusal;

/// The success message the seed fixes.
const ACCEPTED: &str = "订单已受理";

/// `{"status":1,"data":…}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Success<T> {
    /// Always `1`.
    #[schema(minimum = 1, maximum = 1)]
    status: u8,
    /// The answer.
    data: T,
}

impl<T> Success<T> {
    /// `{"status":1,"data":data}`.
    pub(super) fn new(data: T) -> Json<Self> {
        Json(Self { status: 1, data })
    }
}

/// The data of an accepted order.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"msg": "订单已受理", "ordersn": "cz-7ac8c6f2-abcd-4c55-b4f1-2b5c7e871036", "orderid": "myplat-1662299838", "chain": "TRC20", "address": "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", "amount": 1000000, "required_confirmations": 1}))]
pub struct Accepted {
    /// `订单已受理` ("order accepted").
    #[schema(value_type = String)]
    msg: &'static str,
    /// The gateway's order number: `cz-` and a UUID v4.
    #[schema(pattern = "^cz-[0-9a-f-]{36}$")]
    ordersn: String,
    /// The merchant's order id.
    orderid: String,
    /// The chain: `TRC20`, `ERC20` or `OMNI`.
    chain: String,
    /// The deposit address, as sent.
    address: String,
    /// The ordered amount in scaled units (1/10000 USDT).
    amount: i64,
    /// Confirmations a deposit of this amount needs.
    required_confirmations: i64,
}

/// Create an order: the component parses, finds the merchant, checks the sign and says
/// how many confirmations the deposit needs, in one call; the writer stores it (or finds
/// the identical earlier one) and answers after the commit.
#[utoipa::path(
    post,
    path = ORDER_PATH,
    tag = "orders",
    summary = "Create a deposit order",
    description = "Signed with `sign = md5(appid|username|localusermark|address|orderid|amount|secret)` (lowercase hex; `amount` as decimal text, `address` exactly as sent). The order and its address binding are committed before `status: 1` is sent. An identical retry (same signed fields) returns the original `ordersn`; the same `orderid` with other signed fields is 409 `DUPLICATE_ORDER`; an address belongs to one `(appid, username)`. `status: 1` means the order was created, not that funds arrived.",
    request_body(content = OrderRequest, content_type = "application/json"),
    responses((status = 200, description = "The order was created (or an identical one already was).", body = Success<Accepted>), OrderFailures),
)]
pub async fn create(
    State(state): State<AppState>,
    JsonText(body): JsonText,
) -> Result<Json<Success<Accepted>>, AppError> {
    let accepted = state
        .merchants
        .accept_order(&body)?
        .map_err(AppError::Rejected)?;
    trace::record_order(&accepted.order.fields.appid, &accepted.order.fields.orderid);
    let stored = state.intake.place_order(accepted).await?.map_err(refusal)?;
    trace::record_ordersn(stored.ordersn.as_str());
    Ok(Success::new(Accepted {
        msg: ACCEPTED,
        ordersn: stored.ordersn.into_string(),
        orderid: stored.orderid.into_string(),
        chain: stored.chain.into_string(),
        address: stored.address,
        amount: stored.amount.0,
        required_confirmations: i64::from(stored.required_confirmations),
    }))
}

/// A refused order's failure envelope.
fn refusal(refusal: Refusal) -> AppError {
    match refusal {
        Refusal::ForbiddenNotifyTarget(why) => {
            AppError::gateway(GatewayCode::ForbiddenNotifyTarget, why)
        }
        Refusal::AddressNotAllocated => AppError::gateway(
            GatewayCode::AddressNotAllocated,
            "this merchant takes orders on addresses allocated to the user only \
             (POST /api/merchant/v2/TraderRechargeAddress)",
        ),
        Refusal::DuplicateOrder => AppError::gateway(
            GatewayCode::DuplicateOrder,
            "this orderid was already placed with other fields",
        ),
        Refusal::AddressBoundToOtherUser => AppError::gateway(
            GatewayCode::AddressBoundToOtherUser,
            "this address is bound to another user",
        ),
        Refusal::Overloaded => AppError::gateway(
            GatewayCode::Overloaded,
            "the gateway is overloaded; nothing was recorded, retry later",
        ),
        Refusal::AmountOutOfRange => {
            AppError::gateway(GatewayCode::Internal, "amount out of range")
        }
    }
}

/// An order as the query endpoint shows it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"ordersn": "cz-7ac8c6f2-abcd-4c55-b4f1-2b5c7e871036", "orderid": "myplat-1662299838", "state": "confirmed", "chain": "TRC20", "address": "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", "amount": 1000000, "received_amount": 1000000, "txid": "0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060", "block_height": 1042, "confirmations": 1, "required_confirmations": 1, "callback": "delivered", "created_at": 1757030400, "expires_at": 1757116800}))]
pub struct OrderView {
    /// The gateway's order number.
    ordersn: String,
    /// The merchant's order id.
    orderid: String,
    /// `pending`, `confirming`, `confirmed` or `expired`.
    #[schema(value_type = String)]
    state: &'static str,
    /// The chain.
    chain: String,
    /// The deposit address, as sent.
    address: String,
    /// The ordered amount (scaled units).
    amount: i64,
    /// The amount received (scaled units; may differ from `amount`).
    received_amount: i64,
    /// The deposit's transaction, once one is matched.
    txid: Option<String>,
    /// The deposit's block, once one is matched.
    block_height: Option<u64>,
    /// The deposit's confirmations so far (at least `required_confirmations` once the
    /// order is confirmed).
    confirmations: u64,
    /// Confirmations the order's amount needs.
    required_confirmations: u64,
    /// `none` until a deposit is confirmed, then `pending`, `delivered`, `failed` or
    /// `not_configured` (no callback URL: nothing sent).
    #[schema(value_type = String)]
    callback: &'static str,
    /// When the order was created (Unix seconds).
    created_at: i64,
    /// When a pending order expires (Unix seconds).
    expires_at: i64,
}

/// Query an order: the body parsed and `md5(appid|orderid|secret)` checked by the
/// component in one call.
#[utoipa::path(
    post,
    path = QUERY_PATH,
    tag = "orders",
    summary = "Query an order",
    description = "Signed with `sign = md5(appid|orderid|secret)` (lowercase hex). Answers the order's state (`pending`, `confirming`, `confirmed`, `expired`), ordered and received amounts, chain, address, txid, block height, confirmations and the callback's state. Another merchant's order is not found.",
    request_body(content = QueryRequest, content_type = "application/json"),
    responses((status = 200, description = "The order.", body = Success<OrderView>), QueryFailures),
)]
pub async fn query(
    State(state): State<AppState>,
    JsonText(body): JsonText,
) -> Result<Json<Success<OrderView>>, AppError> {
    let query = state
        .merchants
        .check_query(&body)?
        .map_err(AppError::Rejected)?;
    trace::record_order(&query.appid, &query.orderid);
    let order = state
        .core
        .order_status(&query.appid.into(), &query.orderid.into())
        .await?
        .ok_or_else(|| {
            AppError::gateway(GatewayCode::OrderNotFound, "no such order for this appid")
        })?;
    trace::record_ordersn(order.record.order.ordersn.as_str());
    Ok(Success::new(OrderView::from(order)))
}

impl From<usdt_gateway_core::OrderView> for OrderView {
    fn from(view: usdt_gateway_core::OrderView) -> Self {
        let usdt_gateway_core::OrderView {
            record,
            deposit,
            progress,
            delivery,
        } = view;
        let order = record.order;
        Self {
            ordersn: order.ordersn.into_string(),
            orderid: order.orderid.into_string(),
            state: progress.status.as_str(),
            chain: order.chain.into_string(),
            address: order.address,
            amount: order.amount.0,
            received_amount: record.received_amount.0,
            txid: deposit.as_ref().map(|d| d.txid.clone()),
            block_height: deposit.as_ref().map(|d| d.block_number.0),
            confirmations: progress.confirmations.count,
            required_confirmations: progress.confirmations.required,
            callback: delivery.map_or("none", DeliveryState::as_str),
            created_at: order.created_at.seconds(),
            expires_at: order.expires_at.seconds(),
        }
    }
}
