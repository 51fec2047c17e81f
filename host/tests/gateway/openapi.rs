//! `GET /openapi.json`: an OpenAPI 3.1 document that lists exactly the routes the router
//! serves (the router's own route table, read from its `Debug` form, is the oracle), each
//! documented method answering and every other one refused; the error codes and their
//! HTTP statuses are those of `docs/protocol.md` §10; the example signs are right (MD5
//! computed here). The Python step of `scripts/test` (`tests/contract/test.sh`) validates
//! the same document with `openapi-spec-validator` and runs schemathesis against it.

use std::collections::{BTreeMap, BTreeSet};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::Value;
use usdt_gateway::api::{ORDER_PATH, QUERY_PATH};

use crate::TestApp;
use crate::support::{TestEnv, md5_sign};

/// The admin token of these tests.
const ADMIN: &str = "fee8899a5a3b75ba172a44c5fbb7da6cc3b929556ac77d9bbf99ab7921ad7b16";

/// The HTML pages, left out of the document on purpose (for browsers, not a contract
/// for programs; the browser suite and `pages.rs` test them).
const PAGES: &[&str] = &[
    "/",
    "/docs/protocol.md",
    "/assets/style.css",
    "/assets/checkout.js",
    "/pay/{ordersn}",
    "/pay/{ordersn}/status",
    "/admin/",
    "/admin/login",
    "/admin/logout",
    "/admin/logout/everywhere",
    "/admin/orders",
    "/admin/orders/{ordersn}",
    "/admin/unmatched",
    "/admin/unmatched/assign",
    "/admin/deliveries",
    "/admin/deliveries/{ordersn}/resend",
    "/admin/watchers",
    "/admin/merchants",
];

async fn start(dev: bool) -> TestApp {
    let admin = format!("[admin]\ntoken = \"{ADMIN}\"\n");
    let env = TestEnv::build(&admin, dev, "https://merchant.example/notify").await;
    TestApp::start_on(env).await
}

async fn document(app: &TestApp) -> Value {
    let (status, doc) = app
        .send(Request::get("/openapi.json").body(Body::empty()).unwrap())
        .await;
    assert_eq!(status, StatusCode::OK);
    doc
}

/// Every path the router routes, from its route table (`Debug` prints
/// `RouteId(n): "/path"` for each).
fn router_paths(app: &TestApp) -> BTreeSet<String> {
    let debug = format!("{:?}", app.router);
    let mut paths = BTreeSet::new();
    let mut rest = debug.as_str();
    while let Some(at) = rest.find("RouteId(") {
        rest = &rest[at + "RouteId(".len()..];
        let Some(after) = rest.find("): \"") else {
            continue;
        };
        if !rest[..after].chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let start = after + "): \"".len();
        let end = rest[start..].find('"').unwrap() + start;
        let path = &rest[start..end];
        // axum's own catch-all behind `fallback` (the 404 `NOT_FOUND` answer).
        if !path.contains("__private__axum_fallback") {
            paths.insert(path.to_owned());
        }
        rest = &rest[end..];
    }
    assert!(
        !paths.is_empty(),
        "no route found in the router's Debug form"
    );
    paths
}

/// The document's operations: path → methods (upper case).
fn operations(doc: &Value) -> BTreeMap<String, BTreeSet<String>> {
    doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(path, item)| {
            let methods = item
                .as_object()
                .unwrap()
                .keys()
                .filter(|k| ["get", "post", "put", "delete", "patch"].contains(&k.as_str()))
                .map(|k| k.to_uppercase())
                .collect();
            (path.clone(), methods)
        })
        .collect()
}

/// `path` with its `{parameters}` filled in.
fn concrete(path: &str) -> String {
    path.replace("{chain}", "TRC20")
        .replace("{ordersn}", "cz-00000000-0000-4000-8000-000000000000")
}

#[tokio::test]
async fn the_document_is_openapi_3_1_and_lists_exactly_the_routes_served() {
    for dev in [false, true] {
        let app = start(dev).await;
        let doc = document(&app).await;
        assert_eq!(doc["openapi"], "3.1.0");
        assert_eq!(doc["info"]["title"], "usdt-gateway");
        assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
        let documented = operations(&doc);
        let served = router_paths(&app);
        let documented_paths: BTreeSet<String> = documented.keys().cloned().collect();
        let pages: BTreeSet<String> = PAGES.iter().map(|p| (*p).to_owned()).collect();
        let undocumented: BTreeSet<&String> = served.difference(&documented_paths).collect();
        assert_eq!(
            undocumented,
            pages.iter().collect(),
            "every route but the pages is documented"
        );
        assert!(
            documented_paths.is_subset(&served),
            "documented but not served: {:?}",
            documented_paths.difference(&served).collect::<Vec<_>>()
        );
        let dev_paths = documented_paths
            .iter()
            .filter(|p| p.starts_with("/dev/"))
            .count();
        assert_eq!(
            dev_paths,
            if dev { 3 } else { 0 },
            "dev routes iff dev mode"
        );
        for path in [
            ORDER_PATH,
            QUERY_PATH,
            "/healthz",
            "/readyz",
            "/openapi.json",
        ] {
            assert!(documented_paths.contains(path), "{path} documented");
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn each_documented_method_answers_and_every_other_method_is_405() {
    let app = start(true).await;
    let doc = document(&app).await;
    for (path, methods) in operations(&doc) {
        for method in ["GET", "POST", "PUT", "DELETE", "PATCH"] {
            let request = Request::builder()
                .method(Method::from_bytes(method.as_bytes()).unwrap())
                .uri(concrete(&path))
                .header("authorization", format!("Bearer {ADMIN}"))
                .header("content-type", "application/json")
                .body(Body::from("{}"))
                .unwrap();
            let (status, body) = app.send(request).await;
            if methods.contains(method) {
                assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
                assert_ne!(
                    body["data"]["msg"], "no such endpoint",
                    "{method} {path} reached the fallback"
                );
                let answers = doc["paths"][&path][method.to_lowercase()]["responses"]
                    .as_object()
                    .unwrap();
                assert!(
                    answers.contains_key(status.as_str()),
                    "{method} {path}: {status} is not documented: {body}"
                );
            } else {
                assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            }
        }
    }
    app.stop().await;
}

/// `(code, HTTP status)` of every row of `docs/protocol.md` §10 with a status.
fn protocol_codes() -> BTreeSet<(String, u16)> {
    let text = include_str!("../../../docs/protocol.md");
    let section = text
        .split("## 10. Error codes")
        .nth(1)
        .unwrap()
        .split("\n## ")
        .next()
        .unwrap();
    section
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let code = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            let status = cells.get(2)?.parse::<u16>().ok()?;
            Some((code.to_owned(), status))
        })
        .collect()
}

/// `(code, HTTP status)` of every failure example of the document.
fn documented_codes(doc: &Value) -> BTreeSet<(String, u16)> {
    let mut found = BTreeSet::new();
    for item in doc["paths"].as_object().unwrap().values() {
        for operation in item.as_object().unwrap().values() {
            let Some(responses) = operation["responses"].as_object() else {
                continue;
            };
            for (status, response) in responses {
                let examples = &response["content"]["application/json"]["examples"];
                for example in examples.as_object().into_iter().flat_map(|e| e.values()) {
                    let value = &example["value"];
                    if value["status"] == 0 {
                        let code = value["data"]["code"].as_str().unwrap().to_owned();
                        found.insert((code, status.parse().unwrap()));
                    }
                }
            }
        }
    }
    found
}

#[tokio::test]
async fn every_error_code_of_the_protocol_is_documented_with_its_status() {
    let app = start(true).await;
    let doc = document(&app).await;
    let protocol = protocol_codes();
    assert!(protocol.len() >= 25, "parsed §10: {protocol:?}");
    let documented = documented_codes(&doc);
    // INTERNAL_ERROR is never a client's mistake: no operation lists it as an answer;
    // RATE_LIMITED answers only the public HTML pages, which the document leaves out.
    let expected: BTreeSet<_> = protocol
        .iter()
        .filter(|(code, _)| code != "INTERNAL_ERROR" && code != "RATE_LIMITED")
        .cloned()
        .collect();
    assert_eq!(documented, expected);
    // `data.code`'s schema lists every code an answer can carry.
    let listed: BTreeSet<String> = doc["components"]["schemas"]["WireCode"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    let protocol_names: BTreeSet<String> = protocol.into_iter().map(|(c, _)| c).collect();
    assert_eq!(listed, protocol_names);
    app.stop().await;
}

/// A schema's example (`example`, or the first of `examples`).
fn schema_example(schema: &Value) -> &Value {
    match schema.get("example") {
        Some(example) => example,
        None => &schema["examples"][0],
    }
}

#[tokio::test]
async fn the_example_requests_are_signed_as_the_descriptions_say() {
    let app = start(false).await;
    let doc = document(&app).await;
    let schemas = &doc["components"]["schemas"];
    let order = schema_example(&schemas["OrderRequest"]);
    let field = |name: &str| order[name].as_str().unwrap().to_owned();
    let amount = order["amount"].as_u64().unwrap().to_string();
    let sign = md5_sign(&[
        &field("appid"),
        &field("username"),
        &field("localusermark"),
        &field("address"),
        &field("orderid"),
        &amount,
        "yourSecret",
    ]);
    assert_eq!(order["sign"], sign.as_str());
    let query = schema_example(&schemas["QueryRequest"]);
    let sign = md5_sign(&[
        query["appid"].as_str().unwrap(),
        query["orderid"].as_str().unwrap(),
        "yourSecret",
    ]);
    assert_eq!(query["sign"], sign.as_str());
    // The sign rules are stated where a client reads them.
    let create = &doc["paths"][ORDER_PATH]["post"]["description"];
    assert!(
        create
            .as_str()
            .unwrap()
            .contains("md5(appid|username|localusermark|address|orderid|amount|secret)")
    );
    let lookup = &doc["paths"][QUERY_PATH]["post"]["description"];
    assert!(
        lookup
            .as_str()
            .unwrap()
            .contains("md5(appid|orderid|secret)")
    );
    app.stop().await;
}
