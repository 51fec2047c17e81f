//! The payer's checkout page `GET /pay/{ordersn}`, for merchants with
//! `checkout_page = true`: the chain, the address as text and as a QR code (an SVG
//! made here), the exact amount, the time left, and the live state, which the page's
//! script polls from `GET /pay/{ordersn}/status` (the page itself is complete without
//! JavaScript). Chinese or English by `Accept-Language`.

use askama::Template;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use qrcode::QrCode;
use qrcode::render::svg;
use serde::Serialize;

use super::{CSP_PUBLIC, Lang, MessagePage, PageError, Pages, render, usdt, utc};
use crate::api::AppState;
use usdt_gateway_core::OrderView;

/// The page's words in one language.
struct Text {
    title: &'static str,
    intro: &'static str,
    chain: &'static str,
    amount: &'static str,
    address: &'static str,
    copy: &'static str,
    copied: &'static str,
    order: &'static str,
    time_left: &'static str,
    expires: &'static str,
    received: &'static str,
    waiting: &'static str,
    /// `{k}` and `{n}` are replaced by the confirmations counted and needed.
    seen: &'static str,
    confirmed: &'static str,
    expired: &'static str,
    noscript: &'static str,
    qr: &'static str,
    not_found: &'static str,
}

const EN: Text = Text {
    title: "Pay with USDT",
    intro: "Send exactly this amount to this address. This page follows the payment by itself.",
    chain: "Network",
    amount: "Amount",
    address: "Address",
    copy: "Copy",
    copied: "Copied",
    order: "Order",
    time_left: "Time left",
    expires: "Expires",
    received: "Received",
    waiting: "Waiting for your transfer",
    seen: "Transfer seen: {k} of {n} confirmations",
    confirmed: "Payment confirmed",
    expired: "This order has expired",
    noscript: "Reload this page to see the latest state.",
    qr: "QR code of the address",
    not_found: "No such payment page.",
};

const ZH: Text = Text {
    title: "USDT 支付",
    intro: "请向以下地址转账准确的金额，本页面会自动更新支付状态。",
    chain: "网络",
    amount: "金额",
    address: "地址",
    copy: "复制",
    copied: "已复制",
    order: "订单",
    time_left: "剩余时间",
    expires: "过期时间",
    received: "已收到",
    waiting: "等待转账",
    seen: "已获得链上转账，确认中：{k} / {n} 个确认区块",
    confirmed: "支付已确认",
    expired: "订单已过期",
    noscript: "请刷新页面查看最新状态。",
    qr: "地址二维码",
    not_found: "没有这个支付页面。",
};

impl Lang {
    fn checkout_text(self) -> &'static Text {
        match self {
            Self::En => &EN,
            Self::Zh => &ZH,
        }
    }
}

/// The live part of an order, as the page's script reads it.
#[derive(Debug, Serialize)]
pub(super) struct Status {
    /// `pending`, `confirming`, `confirmed` or `expired`.
    state: &'static str,
    /// Confirmations counted (by the component, from the watcher's head; at least the
    /// number needed once confirmed).
    confirmations: u64,
    /// Confirmations needed.
    required_confirmations: u64,
    /// USDT received, as text.
    received: String,
    /// Seconds until a pending order expires (0 when past).
    expires_in: u64,
}

#[derive(Template)]
#[template(path = "checkout.html")]
struct CheckoutPage<'a> {
    lang: &'static str,
    title: &'static str,
    t: &'static Text,
    ordersn: &'a str,
    orderid: &'a str,
    chain: &'a str,
    address: &'a str,
    amount: String,
    qr_svg: String,
    status: Status,
    state_text: String,
    time_left: String,
    expires_at: String,
}

/// The order behind a checkout page, if it exists and its merchant opted in.
async fn checkout_order(app: &AppState, ordersn: &str) -> Result<Option<OrderView>, PageError> {
    let Some(view) = app.core.order_status_by_ordersn(&ordersn.into()).await? else {
        return Ok(None);
    };
    let opted_in = app
        .merchants
        .snapshot()
        .get(view.record.order.appid.as_str())
        .is_some_and(|m| m.checkout_page);
    Ok(opted_in.then_some(view))
}

/// The order's live state, as the core derives it for every viewer.
fn order_status(app: &AppState, view: &OrderView) -> Result<Status, PageError> {
    let progress = &view.progress;
    Ok(Status {
        state: progress.status.as_str(),
        confirmations: progress.confirmations.count,
        required_confirmations: progress.confirmations.required,
        received: usdt(app, view.record.received_amount)?,
        expires_in: progress.expires_in.as_secs(),
    })
}

fn state_text(t: &Text, status: &Status) -> String {
    match status.state {
        "confirmed" => t.confirmed.to_owned(),
        "confirming" => t
            .seen
            .replace("{k}", &status.confirmations.to_string())
            .replace("{n}", &status.required_confirmations.to_string()),
        "expired" => t.expired.to_owned(),
        _ => t.waiting.to_owned(),
    }
}

/// `H:MM:SS`.
fn duration_text(secs: u64) -> String {
    format!("{}:{:02}:{:02}", secs / 3600, secs % 3600 / 60, secs % 60)
}

/// The address as an SVG QR code (no XML prolog, for inlining in the page).
fn qr_svg(address: &str) -> String {
    match QrCode::new(address.as_bytes()) {
        Ok(code) => {
            let image = code
                .render::<svg::Color<'_>>()
                .min_dimensions(200, 200)
                .quiet_zone(true)
                .build();
            image
                .find("<svg")
                .and_then(|start| image.get(start..))
                .unwrap_or_default()
                .to_owned()
        }
        // An address too long for a QR code: the page still shows it as text.
        Err(_) => String::new(),
    }
}

fn not_found(t: &'static Text, lang: Lang) -> Response {
    render(
        StatusCode::NOT_FOUND,
        &MessagePage {
            lang: lang.code(),
            title: t.title,
            message: t.not_found,
        },
        CSP_PUBLIC,
    )
}

/// `GET /pay/{ordersn}`.
pub(super) async fn page(
    State(pages): State<Pages>,
    Path(ordersn): Path<String>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let lang = Lang::from_headers(&headers);
    let t = lang.checkout_text();
    let Some(view) = checkout_order(&pages.app, &ordersn).await? else {
        return Ok(not_found(t, lang));
    };
    let status = order_status(&pages.app, &view)?;
    let order = &view.record.order;
    let page = CheckoutPage {
        lang: lang.code(),
        title: t.title,
        t,
        ordersn: order.ordersn.as_str(),
        orderid: order.orderid.as_str(),
        chain: &order.chain,
        address: &order.address,
        amount: usdt(&pages.app, order.amount)?,
        qr_svg: qr_svg(&order.address),
        state_text: state_text(t, &status),
        time_left: duration_text(status.expires_in),
        expires_at: utc(order.expires_at.0),
        status,
    };
    Ok(render(StatusCode::OK, &page, CSP_PUBLIC))
}

/// `GET /pay/{ordersn}/status`: the live state as JSON (404 like the page).
pub(super) async fn status(
    State(pages): State<Pages>,
    Path(ordersn): Path<String>,
) -> Result<Response, PageError> {
    let Some(view) = checkout_order(&pages.app, &ordersn).await? else {
        return Ok((
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({"status": 0, "data": {"code": "NOT_FOUND", "msg": "no such payment page"}})),
        )
            .into_response());
    };
    let status = order_status(&pages.app, &view)?;
    let mut response = Json(status).into_response();
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_qr_code_is_an_inline_svg_of_the_address() {
        let svg = qr_svg("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t");
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.ends_with("</svg>"), "{svg}");
        assert!(!svg.contains("<script"));
    }

    #[test]
    fn seen_text_counts_confirmations_in_both_languages() {
        let status = Status {
            state: "confirming",
            confirmations: 1,
            required_confirmations: 3,
            received: "100".into(),
            expires_in: 0,
        };
        assert_eq!(
            state_text(&EN, &status),
            "Transfer seen: 1 of 3 confirmations"
        );
        assert_eq!(
            state_text(&ZH, &status),
            "已获得链上转账，确认中：1 / 3 个确认区块"
        );
        assert_eq!(duration_text(86_399), "23:59:59");
    }
}
