//! Concurrent duplicates cannot both succeed: within one gateway (one writer) and across
//! two gateways on the same database (two writers, as two replicas), where only the
//! database's unique constraints stand between them.

use std::collections::HashSet;

use axum::http::StatusCode;
use serde_json::Value;

use crate::support::{
    APPID, SECRET, TestEnv, fresh_address, fresh_orderid, order_body, query_body,
};
use crate::{TestApp, error_code};

/// Send `bodies` all at once from separate tasks, alternating between `apps`.
async fn burst(apps: &[&TestApp], bodies: Vec<Value>) -> Vec<(StatusCode, Value)> {
    let mut tasks = tokio::task::JoinSet::new();
    for (i, body) in bodies.into_iter().enumerate() {
        let router = apps[i % apps.len()].router.clone();
        tasks.spawn(async move {
            let request = crate::json_request(usdt_gateway::api::ORDER_PATH, body.to_string());
            let response = tower::ServiceExt::oneshot(router, request).await.unwrap();
            let status = response.status();
            let bytes = http_body_util::BodyExt::collect(response.into_body())
                .await
                .unwrap()
                .to_bytes();
            (status, serde_json::from_slice(&bytes).unwrap())
        });
    }
    tasks.join_all().await
}

/// Same orderid, some identical and some with other amounts; same address, several
/// users. Exactly one version of the order wins and exactly one user gets the address.
async fn check_duplicates(apps: &[&TestApp]) {
    let orderid = fresh_orderid();
    let address = fresh_address();
    let mut bodies = Vec::new();
    for i in 0..48u64 {
        let amount = if i % 2 == 0 { 1_000_000 } else { 1_000_000 + i };
        bodies.push(order_body(
            APPID, SECRET, "racer", &address, &orderid, amount,
        ));
    }
    let results = burst(apps, bodies).await;
    let mut winners = HashSet::new();
    let mut amounts = HashSet::new();
    for (status, body) in &results {
        match *status {
            StatusCode::OK => {
                winners.insert(body["data"]["ordersn"].as_str().unwrap().to_owned());
                amounts.insert(body["data"]["amount"].as_u64().unwrap());
            }
            StatusCode::CONFLICT => assert_eq!(error_code(body), "DUPLICATE_ORDER"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(winners.len(), 1, "one ordersn for the orderid: {winners:?}");
    assert_eq!(amounts.len(), 1, "one amount won: {amounts:?}");
    let (status, q) = apps[0].query(&query_body(APPID, SECRET, &orderid)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(winners.contains(q["data"]["ordersn"].as_str().unwrap()));

    let shared = fresh_address();
    let bodies = (0..48)
        .map(|i| {
            order_body(
                APPID,
                SECRET,
                &format!("user{i}"),
                &shared,
                &fresh_orderid(),
                10_000,
            )
        })
        .collect();
    let results = burst(apps, bodies).await;
    let ok = results.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    assert_eq!(ok, 1, "exactly one user binds the address");
    for (status, body) in results.iter().filter(|(s, _)| *s != StatusCode::OK) {
        assert_eq!(*status, StatusCode::CONFLICT);
        assert_eq!(error_code(body), "ADDRESS_BOUND_TO_OTHER_USER");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_duplicates_in_one_gateway() {
    let app = TestApp::start().await;
    check_duplicates(&[&app]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_duplicates_across_two_gateways_on_one_database() {
    let env = TestEnv::new().await;
    let config_path = env.config_path.clone();
    let first = TestApp::start_on(env).await;
    // A second gateway (its own pool and writer) on the same database.
    let second_env = TestEnv {
        dir: tempfile::tempdir().unwrap(),
        config_path,
    };
    let second = TestApp::start_on(second_env).await;
    check_duplicates(&[&first, &second]).await;
}
