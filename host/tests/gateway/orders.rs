//! Creating and querying orders: acceptance, idempotency, duplicates, address binding,
//! what the query shows.

use axum::http::StatusCode;

use crate::support::{
    APPID, APPID2, SECRET, SECRET2, fresh_address, fresh_orderid, order_body, query_body,
};
use crate::{TestApp, error_code};

#[tokio::test]
async fn an_order_is_accepted_then_queried() {
    let app = TestApp::start().await;
    let address = fresh_address();
    let orderid = fresh_orderid();
    let (status, body) = app
        .order(&order_body(
            APPID, SECRET, "alice", &address, &orderid, 1_000_000,
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], 1);
    assert_eq!(body["data"]["msg"], "订单已受理");
    let ordersn = body["data"]["ordersn"].as_str().unwrap();
    let uuid = ordersn.strip_prefix("cz-").expect("cz- prefix");
    let parsed = uuid::Uuid::parse_str(uuid).expect("a UUID");
    assert_eq!(parsed.get_version_num(), 4);
    assert_eq!(body["data"]["chain"], "ERC20");
    assert_eq!(body["data"]["amount"], 1_000_000);
    assert_eq!(body["data"]["required_confirmations"], 1);

    let (status, q) = app.query(&query_body(APPID, SECRET, &orderid)).await;
    assert_eq!(status, StatusCode::OK, "{q}");
    let data = &q["data"];
    assert_eq!(data["ordersn"], ordersn);
    assert_eq!(data["orderid"], orderid);
    assert_eq!(data["state"], "pending");
    assert_eq!(data["chain"], "ERC20");
    assert_eq!(data["address"], address);
    assert_eq!(data["amount"], 1_000_000);
    assert_eq!(data["received_amount"], 0);
    assert_eq!(data["confirmations"], 0);
    assert_eq!(data["required_confirmations"], 1);
    assert_eq!(data["callback"], "none");
    assert!(data["txid"].is_null());
    let ttl = data["expires_at"].as_i64().unwrap() - data["created_at"].as_i64().unwrap();
    assert_eq!(ttl, 24 * 3600);
}

#[tokio::test]
async fn large_amounts_need_three_confirmations() {
    let app = TestApp::start().await;
    // 10,000 USDT is the default threshold: at it, 3; just below, 1.
    for (amount, required) in [(100_000_000u64, 3), (99_999_999, 1)] {
        let (status, body) = app
            .order(&order_body(
                APPID,
                SECRET,
                "bob",
                &fresh_address(),
                &fresh_orderid(),
                amount,
            ))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["data"]["required_confirmations"], required, "{amount}");
    }
}

#[tokio::test]
async fn a_retry_returns_the_original_and_a_changed_order_is_a_duplicate() {
    let app = TestApp::start().await;
    let address = fresh_address();
    let orderid = fresh_orderid();
    let body = order_body(APPID, SECRET, "carol", &address, &orderid, 5_000_000);
    let (_, first) = app.order(&body).await;
    let (status, again) = app.order(&body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["data"]["ordersn"], first["data"]["ordersn"]);

    // The same orderid with another amount (validly signed): 409.
    let (status, changed) = app
        .order(&order_body(
            APPID, SECRET, "carol", &address, &orderid, 5_000_001,
        ))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error_code(&changed), "DUPLICATE_ORDER");

    // The same orderid under another merchant is another order.
    let (status, other) = app
        .order(&order_body(
            APPID2,
            SECRET2,
            "carol",
            &fresh_address(),
            &orderid,
            5_000_000,
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{other}");
    assert_ne!(other["data"]["ordersn"], first["data"]["ordersn"]);

    // The retry with a different unsigned notify_url still returns the original.
    let mut with_url = body.clone();
    with_url["notify_url"] = "https://elsewhere.example/cb".into();
    let (status, again) = app.order(&with_url).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["data"]["ordersn"], first["data"]["ordersn"]);
}

#[tokio::test]
async fn an_address_belongs_to_one_user() {
    let app = TestApp::start().await;
    let address = fresh_address();
    let (status, _) = app
        .order(&order_body(
            APPID,
            SECRET,
            "dave",
            &address,
            &fresh_orderid(),
            10_000,
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    // The same user again: fine.
    let (status, _) = app
        .order(&order_body(
            APPID,
            SECRET,
            "dave",
            &address,
            &fresh_orderid(),
            20_000,
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    // Another user of the same merchant, or the same username at another merchant: 409.
    for (appid, secret, user) in [
        (APPID, SECRET, "erin"),
        (APPID, SECRET, "Dave"),
        (APPID2, SECRET2, "dave"),
    ] {
        let (status, body) = app
            .order(&order_body(
                appid,
                secret,
                user,
                &address,
                &fresh_orderid(),
                10_000,
            ))
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{appid} {user}");
        assert_eq!(error_code(&body), "ADDRESS_BOUND_TO_OTHER_USER");
    }
    // The EIP-55 spelling of the same address is the same address.
    let mixed = app
        .gateway
        .state()
        .rules
        .eip55_checksum(&address)
        .unwrap()
        .unwrap();
    let (status, body) = app
        .order(&order_body(
            APPID,
            SECRET,
            "erin",
            &mixed,
            &fresh_orderid(),
            10_000,
        ))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
}

#[tokio::test]
async fn tron_and_omni_orders_are_accepted() {
    let app = TestApp::start().await;
    for (address, chain) in [
        ("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", "TRC20"),
        ("1JS51WwUfvkNsHWNBqwyhQz23ZZKCD3VWb", "OMNI"),
    ] {
        let (status, body) = app
            .order(&order_body(
                APPID,
                SECRET,
                &format!("user-{chain}"),
                address,
                &fresh_orderid(),
                1,
            ))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["data"]["chain"], chain);
    }
}

#[tokio::test]
async fn queries_check_the_sign_and_the_merchant() {
    let app = TestApp::start().await;
    let orderid = fresh_orderid();
    let (status, _) = app
        .order(&order_body(
            APPID,
            SECRET,
            "frank",
            &fresh_address(),
            &orderid,
            1,
        ))
        .await;
    assert_eq!(status, StatusCode::OK);

    let (status, body) = app.query(&query_body(APPID, SECRET2, &orderid)).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::UNAUTHORIZED, "SIGN_MISMATCH")
    );
    // Another merchant cannot see it, even with its own valid sign.
    let (status, body) = app.query(&query_body(APPID2, SECRET2, &orderid)).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::NOT_FOUND, "ORDER_NOT_FOUND")
    );
    let (status, body) = app.query(&query_body("nobody", SECRET, &orderid)).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::FORBIDDEN, "UNKNOWN_APPID")
    );
    let mut upper = query_body(APPID, SECRET, &orderid);
    upper["sign"] = upper["sign"].as_str().unwrap().to_uppercase().into();
    let (status, body) = app.query(&upper).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::UNAUTHORIZED, "INVALID_SIGN")
    );
}
