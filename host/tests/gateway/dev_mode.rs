//! Dev mode is explicit: a production-shaped configuration (merchants, no `[dev]`) has no
//! dev chain and no `/dev/…` route, and keeps the SSRF guard on; dev mode says so at
//! start and refuses a public address without the operator's opt-in.

use axum::http::StatusCode;
use serde_json::json;
use usdt_gateway::api::QUERY_PATH;

use crate::cli::{run, stdout};
use crate::support::{
    APPID, Process, SECRET, TestEnv, fresh_address, fresh_orderid, order_body, query_body,
};
use crate::{TestApp, error_code};

/// Every dev route, with a body each would accept in dev mode.
fn dev_requests() -> Vec<(String, serde_json::Value)> {
    let mut requests = Vec::new();
    for chain in ["TRC20", "ERC20", "OMNI"] {
        requests.push((
            format!("/dev/chains/{chain}/transfers"),
            json!({"to": fresh_address(), "amount": "100"}),
        ));
        requests.push((format!("/dev/chains/{chain}/mine"), json!({"blocks": 1})));
        requests.push((format!("/dev/chains/{chain}/reorg"), json!({"depth": 1})));
    }
    requests
}

#[tokio::test]
async fn a_production_shaped_configuration_serves_no_dev_route() {
    let app = TestApp::start().await;
    assert!(!app.gateway.state().dev_mode);
    assert!(
        app.gateway.state().dev_chains.is_empty(),
        "no dev chain runs"
    );
    for (path, body) in dev_requests() {
        let (status, reply) = app.post(&path, &body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {reply}");
        assert_eq!(error_code(&reply), "NOT_FOUND", "{path}");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_production_shaped_configuration_refuses_private_callback_targets() {
    let app = TestApp::start().await;
    for target in [
        "http://127.0.0.1:9/notify",
        "http://10.0.0.7/notify",
        "http://[::1]/notify",
    ] {
        let orderid = fresh_orderid();
        let mut body = order_body(APPID, SECRET, "u", &fresh_address(), &orderid, 10_000);
        body["notify_url"] = target.into();
        let (status, reply) = app.order(&body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{target}: {reply}");
        assert_eq!(error_code(&reply), "FORBIDDEN_NOTIFY_TARGET");
        let (status, reply) = app.query(&query_body(APPID, SECRET, &orderid)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "nothing stored: {reply}");
    }
    app.stop().await;
}

#[tokio::test]
async fn the_real_binary_with_a_production_file_has_no_dev_mode() {
    let env = TestEnv::new().await;
    let config = env.config_path.to_str().unwrap();
    let process = Process::start(env.dir.path(), &["serve", "--config", config]);
    assert!(
        !process.banner.iter().any(|l| l.contains("dev mode")),
        "{:?}",
        process.banner
    );
    let client = reqwest::Client::new();
    for (path, body) in dev_requests() {
        let response = client
            .post(process.url(&path))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{path}");
    }
    let response = client
        .post(process.url(QUERY_PATH))
        .json(&query_body(APPID, SECRET, &fresh_orderid()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404, "the API itself runs");

    let check = run(&["config", "check", "--config", config], None);
    assert!(check.status.success());
    let text = stdout(&check);
    assert!(text.contains("dev mode: off"), "{text}");
    assert!(
        text.contains("callbacks to private addresses: refused"),
        "{text}"
    );
}

#[test]
fn the_zero_configuration_run_is_dev_mode_and_says_why() {
    let cwd = tempfile::tempdir().unwrap();
    let check = std::process::Command::new(env!("CARGO_BIN_EXE_usdt-gateway"))
        .args(["config", "check"])
        .current_dir(cwd.path())
        .env_remove("USDT_GATEWAY_DATABASE_URL")
        .output()
        .unwrap();
    assert!(check.status.success());
    let text = stdout(&check);
    assert!(
        text.contains("dev mode: on (zero-configuration run"),
        "{text}"
    );
}

#[tokio::test]
async fn dev_mode_warns_at_start_and_refuses_a_public_address_without_the_opt_in() {
    if crate::support::postgres_server().is_some() {
        return; // no database is reached: the SQLite pass covers it
    }
    let env = TestEnv::dev("http://127.0.0.1:9/notify", "").await;
    let config = env.config_path.to_str().unwrap();
    let process = Process::start(env.dir.path(), &["serve", "--config", config]);
    assert!(
        process
            .banner
            .iter()
            .any(|l| l.starts_with("WARNING: dev mode is on (dev.enabled = true)")),
        "{:?}",
        process.banner
    );
    drop(process);

    for listen in ["0.0.0.0:0", "[::]:0"] {
        let refused = run(&["serve", "--config", config, "--listen", listen], None);
        assert_eq!(refused.status.code(), Some(2), "{listen}");
        let err = String::from_utf8_lossy(&refused.stderr);
        assert!(err.contains("dev.allow_public_listen"), "{err}");
    }

    let opted_in = env.dir.path().join("opt-in.toml");
    let text = std::fs::read_to_string(&env.config_path).unwrap().replace(
        "[dev]\nenabled = true\n",
        "[dev]\nenabled = true\nallow_public_listen = true\n",
    );
    std::fs::write(&opted_in, text).unwrap();
    let process = Process::start(
        env.dir.path(),
        &[
            "serve",
            "--config",
            opted_in.to_str().unwrap(),
            "--listen",
            "0.0.0.0:0",
        ],
    );
    assert!(
        process
            .banner
            .iter()
            .any(|l| l.starts_with("WARNING: dev mode is on"))
    );
}

/// Found by the contract test: a reorg of a million blocks rewrote each one and outlasted
/// the request deadline (503). A reorg is now at most `MAX_REORG` deep, refused at once
/// beyond that, and the deepest allowed one answers well within the deadline.
#[tokio::test]
async fn a_reorg_deeper_than_the_limit_is_refused_at_once() {
    use usdt_gateway::chain::dev::MAX_REORG;
    let app = TestApp::start_on(TestEnv::dev("http://127.0.0.1:9/notify", "").await).await;
    let (status, reply) = app
        .post(
            "/dev/chains/TRC20/mine",
            &json!({"blocks": MAX_REORG + 500}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    for depth in [MAX_REORG + 1, 1_446_036] {
        let started = std::time::Instant::now();
        let (status, reply) = app
            .post("/dev/chains/TRC20/reorg", &json!({"depth": depth}))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{reply}");
        assert_eq!(error_code(&reply), "INVALID_FIELD");
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }
    let started = std::time::Instant::now();
    let (status, reply) = app
        .post("/dev/chains/TRC20/reorg", &json!({"depth": MAX_REORG}))
        .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    app.stop().await;
}
