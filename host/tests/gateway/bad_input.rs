//! Every rejection of the API, walked as one table: HTTP status, stable code, the
//! failure envelope. Afterwards the order accepted before all of it is still there.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};
use usdt_gateway::api::{ORDER_PATH, QUERY_PATH};

use crate::support::{
    APPID, SECRET, fresh_address, fresh_orderid, md5_sign, order_body, query_body,
};
use crate::{TestApp, error_code, json_request};

/// One row: what is sent, and the status and code expected.
struct Case {
    name: &'static str,
    request: Request<Body>,
    status: StatusCode,
    code: &'static str,
}

fn raw(
    method: Method,
    path: &str,
    content_type: Option<&str>,
    body: impl Into<Body>,
) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(path);
    if let Some(ct) = content_type {
        builder = builder.header(header::CONTENT_TYPE, ct);
    }
    builder.body(body.into()).unwrap()
}

fn with(mut body: Value, key: &str, value: Value) -> String {
    body[key] = value;
    body.to_string()
}

fn without(mut body: Value, key: &str) -> String {
    body.as_object_mut().unwrap().remove(key);
    body.to_string()
}

#[tokio::test]
async fn every_rejection_has_its_status_and_code() {
    let app = TestApp::start().await;
    let kept_orderid = fresh_orderid();
    let kept_address = fresh_address();
    let kept = order_body(
        APPID,
        SECRET,
        "keeper",
        &kept_address,
        &kept_orderid,
        1_000_000,
    );
    let (status, accepted) = app.order(&kept).await;
    assert_eq!(status, StatusCode::OK);

    let good = || {
        order_body(
            APPID,
            SECRET,
            "walker",
            &fresh_address(),
            &fresh_orderid(),
            1_000_000,
        )
    };
    let huge = format!("{{\"appid\":\"{}\"}}", "a".repeat(64 * 1024));
    let float_amount = {
        // Re-signed so only the amount's form is wrong.
        let mut b = good();
        b["amount"] = json!(1_000_000.0);
        b
    };
    let mut other_secret = good();
    other_secret["sign"] = md5_sign(&["x"]).into();
    let mut unknown_appid = good();
    unknown_appid["appid"] = "stranger".into();
    let mut wrong_chain = good();
    wrong_chain["chain"] = "TRC20".into();
    let mut bad_chain = good();
    bad_chain["chain"] = "BEP20".into();
    let mut bad_url = good();
    bad_url["notify_url"] = "ftp://merchant.example/cb".into();
    let mut loopback_url = good();
    loopback_url["notify_url"] = "http://127.0.0.1:8080/cb".into();
    let mut metadata_url = good();
    metadata_url["notify_url"] = "http://169.254.169.254/latest/meta-data".into();
    let mut loopback_url = good();
    loopback_url["notify_url"] = "http://127.0.0.1:8080/cb".into();
    let mut metadata_url = good();
    metadata_url["notify_url"] = "http://169.254.169.254/latest/meta-data".into();

    let cases = vec![
        Case {
            name: "GET on the order endpoint",
            request: raw(Method::GET, ORDER_PATH, None, ""),
            status: StatusCode::METHOD_NOT_ALLOWED,
            code: "METHOD_NOT_ALLOWED",
        },
        Case {
            name: "PUT on the query endpoint",
            request: raw(Method::PUT, QUERY_PATH, Some("application/json"), "{}"),
            status: StatusCode::METHOD_NOT_ALLOWED,
            code: "METHOD_NOT_ALLOWED",
        },
        Case {
            name: "unknown path",
            request: json_request("/api/merchant/v1/TraderRechargeorder", "{}"),
            status: StatusCode::NOT_FOUND,
            code: "NOT_FOUND",
        },
        Case {
            name: "form encoding",
            request: raw(
                Method::POST,
                ORDER_PATH,
                Some("application/x-www-form-urlencoded"),
                "appid=a",
            ),
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code: "UNSUPPORTED_MEDIA_TYPE",
        },
        Case {
            name: "no content type",
            request: raw(Method::POST, ORDER_PATH, None, good().to_string()),
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code: "UNSUPPORTED_MEDIA_TYPE",
        },
        Case {
            name: "latin1 charset",
            request: raw(
                Method::POST,
                ORDER_PATH,
                Some("application/json; charset=iso-8859-1"),
                good().to_string(),
            ),
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code: "UNSUPPORTED_MEDIA_TYPE",
        },
        Case {
            name: "body over 64 KiB",
            request: json_request(ORDER_PATH, huge.clone()),
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "PAYLOAD_TOO_LARGE",
        },
        Case {
            name: "query over 64 KiB",
            request: json_request(QUERY_PATH, huge),
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "PAYLOAD_TOO_LARGE",
        },
        Case {
            name: "not JSON",
            request: json_request(ORDER_PATH, "{\"appid\":"),
            status: StatusCode::BAD_REQUEST,
            code: "INVALID_JSON",
        },
        Case {
            name: "a JSON array",
            request: json_request(ORDER_PATH, "[1,2]"),
            status: StatusCode::BAD_REQUEST,
            code: "INVALID_JSON",
        },
        Case {
            name: "empty body",
            request: json_request(ORDER_PATH, ""),
            status: StatusCode::BAD_REQUEST,
            code: "INVALID_JSON",
        },
        Case {
            name: "not UTF-8",
            request: json_request(ORDER_PATH, vec![b'{', 0xff, b'}']),
            status: StatusCode::BAD_REQUEST,
            code: "INVALID_JSON",
        },
        Case {
            name: "missing sign",
            request: json_request(ORDER_PATH, without(good(), "sign")),
            status: StatusCode::BAD_REQUEST,
            code: "MISSING_FIELD",
        },
        Case {
            name: "null username",
            request: json_request(ORDER_PATH, with(good(), "username", Value::Null)),
            status: StatusCode::BAD_REQUEST,
            code: "MISSING_FIELD",
        },
        Case {
            name: "username with a pipe",
            request: json_request(ORDER_PATH, with(good(), "username", "a|b".into())),
            status: StatusCode::BAD_REQUEST,
            code: "INVALID_FIELD",
        },
        Case {
            name: "float amount",
            request: json_request(ORDER_PATH, float_amount.to_string()),
            status: StatusCode::BAD_REQUEST,
            code: "INVALID_AMOUNT",
        },
        Case {
            name: "string amount",
            request: json_request(ORDER_PATH, with(good(), "amount", "1000000".into())),
            status: StatusCode::BAD_REQUEST,
            code: "INVALID_AMOUNT",
        },
        Case {
            name: "amount above 2^53-1",
            request: json_request(
                ORDER_PATH,
                with(good(), "amount", json!(9_007_199_254_740_992u64)),
            ),
            status: StatusCode::BAD_REQUEST,
            code: "INVALID_AMOUNT",
        },
        Case {
            name: "bad address",
            request: json_request(ORDER_PATH, with(good(), "address", "0x1234".into())),
            status: StatusCode::BAD_REQUEST,
            code: "INVALID_ADDRESS",
        },
        Case {
            name: "chain disagrees with the address",
            request: json_request(ORDER_PATH, wrong_chain.to_string()),
            status: StatusCode::BAD_REQUEST,
            code: "CHAIN_MISMATCH",
        },
        Case {
            name: "unsupported chain",
            request: json_request(ORDER_PATH, bad_chain.to_string()),
            status: StatusCode::BAD_REQUEST,
            code: "UNSUPPORTED_CHAIN",
        },
        Case {
            name: "bad notify_url",
            request: json_request(ORDER_PATH, bad_url.to_string()),
            status: StatusCode::BAD_REQUEST,
            code: "INVALID_NOTIFY_URL",
        },
        Case {
            name: "notify_url on loopback",
            request: json_request(ORDER_PATH, loopback_url.to_string()),
            status: StatusCode::BAD_REQUEST,
            code: "FORBIDDEN_NOTIFY_TARGET",
        },
        Case {
            name: "notify_url on cloud metadata",
            request: json_request(ORDER_PATH, metadata_url.to_string()),
            status: StatusCode::BAD_REQUEST,
            code: "FORBIDDEN_NOTIFY_TARGET",
        },
        Case {
            name: "uppercase sign",
            request: json_request(ORDER_PATH, {
                let g = good();
                let s = g["sign"].as_str().unwrap().to_uppercase();
                with(g, "sign", s.into())
            }),
            status: StatusCode::UNAUTHORIZED,
            code: "INVALID_SIGN",
        },
        Case {
            name: "sign with another secret",
            request: json_request(ORDER_PATH, other_secret.to_string()),
            status: StatusCode::UNAUTHORIZED,
            code: "SIGN_MISMATCH",
        },
        Case {
            name: "unknown appid",
            request: json_request(ORDER_PATH, unknown_appid.to_string()),
            status: StatusCode::FORBIDDEN,
            code: "UNKNOWN_APPID",
        },
        Case {
            name: "duplicate orderid, other amount",
            request: json_request(
                ORDER_PATH,
                order_body(
                    APPID,
                    SECRET,
                    "keeper",
                    &kept_address,
                    &kept_orderid,
                    2_000_000,
                )
                .to_string(),
            ),
            status: StatusCode::CONFLICT,
            code: "DUPLICATE_ORDER",
        },
        Case {
            name: "address of another user",
            request: json_request(
                ORDER_PATH,
                order_body(
                    APPID,
                    SECRET,
                    "intruder",
                    &kept_address,
                    &fresh_orderid(),
                    1,
                )
                .to_string(),
            ),
            status: StatusCode::CONFLICT,
            code: "ADDRESS_BOUND_TO_OTHER_USER",
        },
        Case {
            name: "query: not JSON",
            request: json_request(QUERY_PATH, "nope"),
            status: StatusCode::BAD_REQUEST,
            code: "INVALID_JSON",
        },
        Case {
            name: "query: repeated field",
            request: json_request(
                QUERY_PATH,
                "{\"appid\":\"a\",\"appid\":\"b\",\"orderid\":\"o\",\"sign\":\"s\"}",
            ),
            status: StatusCode::BAD_REQUEST,
            code: "INVALID_JSON",
        },
        Case {
            name: "query: missing orderid",
            request: json_request(
                QUERY_PATH,
                json!({"appid": APPID, "sign": "0".repeat(32)}).to_string(),
            ),
            status: StatusCode::BAD_REQUEST,
            code: "MISSING_FIELD",
        },
        Case {
            name: "query: numeric orderid",
            request: json_request(
                QUERY_PATH,
                json!({"appid": APPID, "orderid": 5, "sign": "0".repeat(32)}).to_string(),
            ),
            status: StatusCode::BAD_REQUEST,
            code: "INVALID_FIELD",
        },
        Case {
            name: "query: short sign",
            request: json_request(
                QUERY_PATH,
                json!({"appid": APPID, "orderid": "o", "sign": "abc"}).to_string(),
            ),
            status: StatusCode::UNAUTHORIZED,
            code: "INVALID_SIGN",
        },
        Case {
            name: "query: unknown order",
            request: json_request(
                QUERY_PATH,
                query_body(APPID, SECRET, "never-placed").to_string(),
            ),
            status: StatusCode::NOT_FOUND,
            code: "ORDER_NOT_FOUND",
        },
        Case {
            name: "query: form encoding",
            request: raw(Method::POST, QUERY_PATH, Some("text/plain"), "x"),
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code: "UNSUPPORTED_MEDIA_TYPE",
        },
    ];

    let mut failures = Vec::new();
    for case in cases {
        let is_405 = case.status == StatusCode::METHOD_NOT_ALLOWED;
        let response = tower::ServiceExt::oneshot(app.router.clone(), case.request)
            .await
            .unwrap();
        let status = response.status();
        let allow = response.headers().get(header::ALLOW).cloned();
        let bytes = http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap()
            .to_bytes();
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let code = body["data"]["code"].as_str().unwrap_or("(no code)");
        if status != case.status || code != case.code || body["status"] != 0 {
            failures.push(format!(
                "{}: got {status} {code}, want {} {} — {body}",
                case.name, case.status, case.code
            ));
        }
        if is_405 && allow.as_ref().and_then(|v| v.to_str().ok()) != Some("POST") {
            failures.push(format!("{}: no `Allow: POST`", case.name));
        }
        assert!(
            status.as_u16() < 500,
            "{}: a client's mistake answered {status}",
            case.name
        );
    }
    assert!(failures.is_empty(), "mismatches:\n{}", failures.join("\n"));

    // Nothing accepted was lost or changed by any of it.
    let (status, q) = app.query(&query_body(APPID, SECRET, &kept_orderid)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(q["data"]["ordersn"], accepted["data"]["ordersn"]);
    assert_eq!(q["data"]["amount"], 1_000_000);
}

#[tokio::test]
async fn every_field_rejection_is_listed() {
    let app = TestApp::start().await;
    let (status, body) = app
        .order(
            &json!({"appid": APPID, "username": "", "address": "nope", "amount": 0, "sign": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let codes: Vec<&str> = body["data"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    assert_eq!(error_code(&body), codes[0]);
    for expected in [
        "INVALID_FIELD",
        "MISSING_FIELD",
        "INVALID_ADDRESS",
        "INVALID_AMOUNT",
        "INVALID_SIGN",
    ] {
        assert!(codes.contains(&expected), "{expected} in {codes:?}");
    }
}

#[tokio::test]
async fn health_and_readiness() {
    let app = TestApp::start().await;
    for path in ["/healthz", "/readyz"] {
        let (status, body) = app
            .send(Request::get(path).body(Body::empty()).unwrap())
            .await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert_eq!(body["status"], "ok");
    }
}
