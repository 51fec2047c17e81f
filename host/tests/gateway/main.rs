//! The gateway's integration suite, one binary. Runs on SQLite by default; with
//! `USDT_TEST_POSTGRES_URL=postgres://…` every test gets a fresh PostgreSQL
//! database on that server instead (the PostgreSQL pass of `.ci/run`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
// An integration test is one scenario against a real process or node, or one table of
// cases, read top to bottom: exempt from clippy::too_many_lines (see clippy.toml).
#![allow(clippy::too_many_lines)]

mod addresses;
mod anvil;
mod audit;
mod bad_input;
mod cli;
mod concurrency;
mod delivery;
mod deposits;
mod dev_mode;
mod hostile;
mod leases;
mod limits;
mod metrics;
mod omni;
mod openapi;
mod orders;
mod pages;
mod process;
mod races;
mod sandbox;
mod secrets;
mod support;
mod tron;

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use usdt_gateway::api::{ORDER_PATH, QUERY_PATH};
use usdt_gateway::gateway::Gateway;

use support::TestEnv;

/// A gateway on a fresh database, driven in-process through its router.
pub struct TestApp {
    /// The router, as the server runs it.
    pub router: Router,
    /// The started gateway (store, writer, rules).
    pub gateway: Gateway,
    /// Keeps the folder alive.
    pub env: TestEnv,
}

impl TestApp {
    /// Start on a fresh database.
    pub async fn start() -> Self {
        let env = TestEnv::new().await;
        Self::start_on(env).await
    }

    /// Start on `env`'s configuration.
    pub async fn start_on(env: TestEnv) -> Self {
        let config = env.config();
        let gateway = Gateway::start(&config, None).await.expect("gateway starts");
        let router = usdt_gateway::router::app(gateway.state().clone(), Duration::from_secs(10));
        Self {
            router,
            gateway,
            env,
        }
    }

    /// Stop the gateway (watchers, dispatcher, writer) and give back its environment.
    pub async fn stop(self) -> TestEnv {
        let Self {
            router,
            gateway,
            env,
        } = self;
        drop(router); // it shares the state: the writer drains once every copy is gone
        gateway.stop().await;
        env
    }

    /// Send a request; the answer's status and JSON body.
    pub async fn send(&self, request: Request<Body>) -> (StatusCode, Value) {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        (status, body)
    }

    /// POST JSON `body` to `path`.
    pub async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.send(json_request(path, body.to_string())).await
    }

    /// POST an order.
    pub async fn order(&self, body: &Value) -> (StatusCode, Value) {
        self.post(ORDER_PATH, body).await
    }

    /// POST a query.
    pub async fn query(&self, body: &Value) -> (StatusCode, Value) {
        self.post(QUERY_PATH, body).await
    }
}

/// A POST with `Content-Type: application/json`.
pub fn json_request(path: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(path)
        .header("content-type", "application/json")
        .body(body.into())
        .expect("request")
}

/// `data.code` of a failure body, after checking the envelope.
pub fn error_code(body: &Value) -> &str {
    assert_eq!(body["status"], 0, "a failure envelope: {body}");
    body["data"]["code"].as_str().expect("data.code")
}
