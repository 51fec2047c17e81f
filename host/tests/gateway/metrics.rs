//! `GET /metrics`: after a scripted run — orders, a rejection, dev-chain deposits (one
//! matched, one left unmatched), a callback that fails once then succeeds, and a
//! merchant with no callback URL — every counter and gauge of the run is at its exact
//! value (the watch lists and the address allocations too), read back with an
//! independent parser of the Prometheus text format (`prometheus-parse`). Also: no label carries an order id or an address, the alert
//! rules of `docs/operations.md` name only metrics the gateway exports, `metrics.listen`
//! serves the metrics alone on their own address, and logs written to a pipe carry no
//! ANSI colour.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use prometheus_parse::{Sample, Scrape, Value};
use serde_json::{Value as Json, json};
use tower::ServiceExt;
use usdt_gateway::api::ORDER_PATH;

use crate::TestApp;
use crate::support::{
    APPID, APPID2, Process, SECRET, SECRET2, TestEnv, TestReceiver, fresh_address, fresh_orderid,
    order_body, query_body,
};

/// One confirmation, retries 300 ms apart, the admin API on.
const RUN: &str = "[notify]\nretry_delays = [\"300ms\", \"300ms\"]\ntimeout = \"2s\"\n\
                   allow_private_targets = true\n\
                   [confirmations]\ndefault = 1\n\
                   [admin]\ntoken = \"74cf1167b3d5a11858e867f0a7c9ba51d2a352b332230acebe3c56e7d7cbbbff\"\n";

/// The test mnemonic's TRON account key (`tests/vectors/derivation.json`).
const TRC20_XPUB: &str = "xpub6D1AabNHCupeiLM65ZR9UStMhJ1vCpyV4XbZdyhMZBiJXALQtmn9p42VTQckoHVn8WNqS7dqnJokZHAHcHGoaQgmv8D45oNUKx6DZMNZBCd";

/// The alert rules shipped with the operations guide.
const ALERTS: &str = include_str!("../../../docs/alerts.yml");

/// `GET /metrics` through the router: the status, the content type and the text.
async fn scrape_text(app: &TestApp) -> (StatusCode, String, String) {
    let request = Request::get("/metrics").body(Body::empty()).unwrap();
    let response = app
        .router
        .clone()
        .oneshot(request)
        .await
        .expect("infallible");
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        content_type,
        String::from_utf8(bytes.to_vec()).unwrap(),
    )
}

/// Parse a scrape with the independent parser.
fn parse(text: &str) -> Scrape {
    Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("the Prometheus text format")
}

/// The sample of `metric` whose labels are exactly `labels`.
fn sample<'a>(scrape: &'a Scrape, metric: &str, labels: &[(&str, &str)]) -> Option<&'a Sample> {
    scrape.samples.iter().find(|s| {
        s.metric == metric
            && s.labels.len() == labels.len()
            && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v))
    })
}

/// The value of a counter, gauge or untyped sample (absent: 0, as Prometheus reads an
/// unseen label set).
fn value(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    match sample(scrape, metric, labels).map(|s| &s.value) {
        None => 0.0,
        Some(Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v)) => *v,
        Some(other) => panic!("{metric} is not a single value: {other:?}"),
    }
}

/// Wait until the query of `orderid` (signed by `appid`) satisfies `done`.
async fn wait_view(
    app: &TestApp,
    appid: &str,
    secret: &str,
    orderid: &str,
    done: impl Fn(&Json) -> bool,
) -> Json {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, reply) = app.query(&query_body(appid, secret, orderid)).await;
        assert_eq!(status, StatusCode::OK, "{reply}");
        if done(&reply["data"]) {
            return reply["data"].clone();
        }
        assert!(Instant::now() < deadline, "waiting: {reply}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Wait until the operator's list shows one unmatched deposit, confirmed.
async fn wait_unmatched_confirmed(app: &TestApp) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let list = app.admin_get("/admin/deposits/unmatched").await;
        let deposits = list["deposits"].as_array().unwrap();
        if deposits.len() == 1 && deposits[0]["state"] == "confirmed" {
            return;
        }
        assert!(Instant::now() < deadline, "unmatched deposit: {list}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_scripted_run_every_counter_is_at_its_value() {
    let receiver = TestReceiver::start(1, Duration::ZERO).await;
    // `APPID2` has an account key on TRC20 (the test mnemonic's) and allocates one address.
    let keys = format!("xpubs = {{ TRC20 = \"{TRC20_XPUB}\" }}\n{RUN}");
    let app = TestApp::start_on(TestEnv::dev(&receiver.url, &keys).await).await;
    let (paid, kept, silent) = (fresh_address(), fresh_address(), fresh_address());
    let (paid_id, kept_id, silent_id) = (fresh_orderid(), fresh_orderid(), fresh_orderid());
    let sign = crate::support::md5_sign(&[APPID2, "payer", "TRC20", SECRET2]);
    let (status, reply) = app
        .post(
            usdt_gateway::api::ADDRESS_PATH,
            &json!({"appid": APPID2, "username": "payer", "chain": "TRC20", "sign": sign}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    let allocated = reply["data"]["address"].as_str().unwrap().to_owned();

    // Three orders (the third of a merchant with no callback URL) and one rejection.
    for (appid, secret, address, orderid) in [
        (APPID, SECRET, &paid, &paid_id),
        (APPID, SECRET, &kept, &kept_id),
        (APPID2, SECRET2, &silent, &silent_id),
    ] {
        let (status, reply) = app
            .order(&order_body(
                appid, secret, "payer", address, orderid, 20_000,
            ))
            .await;
        assert_eq!(status, StatusCode::OK, "{reply}");
    }
    let mut forged = order_body(
        APPID,
        SECRET,
        "payer",
        &fresh_address(),
        &fresh_orderid(),
        1,
    );
    forged["sign"] = json!("0".repeat(32));
    let (status, _) = app.order(&forged).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Deposits: `paid` is paid (its callback fails once, then is delivered), `silent`
    // is paid (no URL: not configured), and `paid` gets a second transfer no order takes.
    app.dev("ERC20", "transfers", json!({"to": paid, "amount": "2"}))
        .await;
    let view = wait_view(&app, APPID, SECRET, &paid_id, |v| {
        v["callback"] == "delivered"
    })
    .await;
    assert_eq!(view["state"], "confirmed");
    app.dev("ERC20", "transfers", json!({"to": silent, "amount": "2"}))
        .await;
    let view = wait_view(&app, APPID2, SECRET2, &silent_id, |v| {
        v["callback"] != "none" && v["callback"] != "pending"
    })
    .await;
    assert_eq!(view["callback"], "not_configured", "{view}");
    let last = app
        .dev("ERC20", "transfers", json!({"to": paid, "amount": "1"}))
        .await;
    wait_unmatched_confirmed(&app).await;
    assert_eq!(receiver.received().len(), 2, "one failure, one success");

    let (status, content_type, text) = scrape_text(&app).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
    for secret_or_id in [
        &paid, &kept, &silent, &allocated, &paid_id, &kept_id, &silent_id,
    ] {
        assert!(
            !text.contains(secret_or_id.as_str()),
            "{secret_or_id} in a label"
        );
    }
    assert!(!text.contains("cz-"), "no ordersn in a label");
    let m = parse(&text);
    let order_route = [("route", ORDER_PATH), ("method", "POST")];
    let with = |extra: (&'static str, &'static str)| {
        let mut labels = order_route.to_vec();
        labels.push(extra);
        labels
    };

    // Orders and requests.
    assert_eq!(
        value(
            &m,
            "usdt_gateway_orders_created_total",
            &[("chain", "ERC20")]
        ),
        3.0
    );
    assert_eq!(
        value(
            &m,
            "usdt_gateway_http_requests_total",
            &with(("status", "200"))
        ),
        3.0
    );
    assert_eq!(
        value(
            &m,
            "usdt_gateway_http_requests_total",
            &with(("status", "401"))
        ),
        1.0
    );
    assert_eq!(
        value(
            &m,
            "usdt_gateway_http_request_duration_seconds_count",
            &with(("status", "200"))
        ),
        3.0
    );
    assert_eq!(
        value(
            &m,
            "usdt_gateway_rejections_total",
            &[("route", ORDER_PATH), ("code", "SIGN_MISMATCH")]
        ),
        1.0
    );
    let rejections: f64 = m
        .samples
        .iter()
        .filter(|s| s.metric == "usdt_gateway_rejections_total")
        .filter(|s| s.labels.get("route") == Some(ORDER_PATH))
        .map(|s| match s.value {
            Value::Counter(v) => v,
            _ => panic!("a counter"),
        })
        .sum();
    assert_eq!(rejections, 1.0, "the one forged order, nothing else");

    // The writer: three orders committed.
    assert_eq!(value(&m, "usdt_gateway_writer_batch_size_sum", &[]), 3.0);
    // Each order was answered before the next was sent: three batches of one.
    assert_eq!(value(&m, "usdt_gateway_writer_batch_size_count", &[]), 3.0);
    assert_eq!(
        value(&m, "usdt_gateway_writer_commit_duration_seconds_count", &[]),
        3.0
    );
    assert_eq!(value(&m, "usdt_gateway_writer_queue_depth", &[]), 0.0);
    assert_eq!(value(&m, "usdt_gateway_writer_queue_capacity", &[]), 8192.0);

    // Callbacks: one failed attempt, one delivered, one with no URL.
    let attempts = |appid: &str, outcome: &str| {
        value(
            &m,
            "usdt_gateway_callback_attempts_total",
            &[("appid", appid), ("outcome", outcome)],
        )
    };
    assert_eq!(attempts(APPID, "failed"), 1.0);
    assert_eq!(attempts(APPID, "delivered"), 1.0);
    assert_eq!(attempts(APPID2, "not_configured"), 1.0);
    assert_eq!(
        value(
            &m,
            "usdt_gateway_callback_attempt_duration_seconds_count",
            &[("outcome", "failed")]
        ),
        1.0
    );
    let deliveries =
        |state: &str| value(&m, "usdt_gateway_callback_deliveries", &[("state", state)]);
    assert_eq!(deliveries("delivered"), 1.0);
    assert_eq!(deliveries("not_configured"), 1.0);
    assert_eq!(deliveries("pending"), 0.0);
    assert_eq!(deliveries("failed"), 0.0);
    assert!(
        sample(
            &m,
            "usdt_gateway_callback_deliveries",
            &[("state", "failed")]
        )
        .is_some()
    );

    // Deposits: three confirmed, one of them unmatched.
    let deposits = |state: &str| value(&m, "usdt_gateway_deposits", &[("state", state)]);
    assert_eq!(deposits("confirmed"), 3.0);
    assert_eq!(deposits("confirming"), 0.0);
    assert_eq!(deposits("orphaned"), 0.0);
    assert_eq!(value(&m, "usdt_gateway_deposits_unmatched", &[]), 1.0);

    // The ERC20 watcher: at the head, which is the last transfer's block.
    let erc20 = [("chain", "ERC20")];
    let block = last["block"].as_f64().unwrap();
    assert_eq!(value(&m, "usdt_gateway_chain_head_block", &erc20), block);
    assert_eq!(value(&m, "usdt_gateway_chain_cursor_block", &erc20), block);
    assert_eq!(value(&m, "usdt_gateway_chain_lag_blocks", &erc20), 0.0);
    assert!(value(&m, "usdt_gateway_chain_lag_seconds", &erc20) < 10.0);
    assert_eq!(
        value(&m, "usdt_gateway_chain_rounds_failed_total", &erc20),
        0.0
    );

    // The watch lists (the three order addresses, the allocated one) and the allocations
    // against each merchant's total (the documented default).
    assert_eq!(
        value(&m, "usdt_gateway_chain_watched_addresses", &erc20),
        3.0
    );
    assert_eq!(
        value(
            &m,
            "usdt_gateway_chain_watched_addresses",
            &[("chain", "TRC20")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &m,
            "usdt_gateway_address_allocations",
            &[("appid", APPID2), ("chain", "TRC20")]
        ),
        1.0
    );
    assert!(
        sample(
            &m,
            "usdt_gateway_address_allocations",
            &[("appid", APPID), ("chain", "TRC20")]
        )
        .is_none()
    );
    for appid in [APPID, APPID2] {
        assert_eq!(
            value(
                &m,
                "usdt_gateway_address_allocations_max",
                &[("appid", appid)]
            ),
            100_000.0
        );
    }

    // The component: called, never faulted, instances pooled.
    assert!(value(&m, "usdt_gateway_component_calls_total", &[]) >= 4.0);
    for kind in ["trap", "deadline", "memory", "other"] {
        assert_eq!(
            value(&m, "usdt_gateway_component_faults_total", &[("kind", kind)]),
            0.0
        );
        assert!(sample(&m, "usdt_gateway_component_faults_total", &[("kind", kind)]).is_some());
    }
    assert!(sample(&m, "usdt_gateway_component_reruns_in_guard_total", &[]).is_some());
    assert!(value(&m, "usdt_gateway_component_instances_idle", &[]) >= 1.0);

    // The database pool.
    let max = value(&m, "usdt_gateway_db_pool_max_connections", &[]);
    let open = value(&m, "usdt_gateway_db_pool_connections", &[("state", "idle")])
        + value(
            &m,
            "usdt_gateway_db_pool_connections",
            &[("state", "in_use")],
        );
    assert!(max >= 1.0 && (1.0..=max).contains(&open), "{open} of {max}");

    // The alert rules name only metrics this scrape has.
    let exported: Vec<String> = m
        .samples
        .iter()
        .map(|s| match s.value {
            Value::Histogram(_) => format!("{}_bucket", s.metric),
            _ => s.metric.clone(),
        })
        .collect();
    for name in alert_metric_names() {
        assert!(
            exported.contains(&name),
            "{name} is in an alert rule but not exported"
        );
    }
    app.stop().await;
}

/// Every `usdt_gateway_…` name the alert rules use.
fn alert_metric_names() -> Vec<String> {
    let rules: serde_yaml_ng::Value = serde_yaml_ng::from_str(ALERTS).expect("YAML");
    let mut names = Vec::new();
    for group in rules["groups"].as_sequence().expect("groups") {
        for rule in group["rules"].as_sequence().expect("rules") {
            let expr = rule["expr"].as_str().expect("an expr");
            names.extend(
                expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .filter(|w| w.starts_with("usdt_gateway_"))
                    .map(str::to_owned),
            );
        }
    }
    names.sort();
    names.dedup();
    names
}

#[test]
fn the_alert_rules_are_prometheus_rules() {
    let rules: serde_yaml_ng::Value = serde_yaml_ng::from_str(ALERTS).expect("YAML");
    let groups = rules["groups"].as_sequence().expect("groups");
    let mut alerts = Vec::new();
    for group in groups {
        assert!(group["name"].as_str().is_some(), "a group name");
        for rule in group["rules"].as_sequence().expect("rules") {
            let alert = rule["alert"].as_str().expect("an alert name");
            assert!(rule["expr"].as_str().is_some(), "{alert}: expr");
            assert!(
                rule["annotations"]["summary"].as_str().is_some(),
                "{alert}: summary"
            );
            assert!(
                rule["labels"]["severity"].as_str().is_some(),
                "{alert}: severity"
            );
            alerts.push(alert.to_owned());
        }
    }
    for needed in [
        "WatcherLagging",
        "CallbackFailureRate",
        "ComponentFaults",
        "WriterOverloaded",
    ] {
        assert!(alerts.iter().any(|a| a == needed), "{needed} in {alerts:?}");
    }
    assert!(alert_metric_names().len() >= 4);
    // With Prometheus's own checker at hand, it must pass too.
    if let Ok(output) = Command::new("promtool")
        .args([
            "check",
            "rules",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/alerts.yml"),
        ])
        .output()
    {
        assert!(
            output.status.success(),
            "promtool: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_listen_serves_the_metrics_alone_on_their_address() {
    let env = TestEnv::with_extra("[metrics]\nlisten = \"127.0.0.1:0\"\n").await;
    let config = env.config_path.to_str().unwrap();
    let process = Process::start(env.dir.path(), &["serve", "--config", config]);
    let line = process
        .banner
        .iter()
        .find_map(|l| l.strip_prefix("usdt-gateway metrics on "))
        .expect("the metrics address is printed")
        .to_owned();
    let answer = reqwest::get(&line).await.unwrap();
    assert_eq!(answer.status(), 200);
    let m = parse(&answer.text().await.unwrap());
    assert!(sample(&m, "usdt_gateway_writer_queue_capacity", &[]).is_some());
    // Not on the main port, and nothing else on the metrics port.
    assert_eq!(
        reqwest::get(process.url("/metrics"))
            .await
            .unwrap()
            .status(),
        404
    );
    let other = line.replace("/metrics", "/healthz");
    assert_eq!(reqwest::get(&other).await.unwrap().status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_production_gateway_keeps_the_metrics_off_its_main_port_unless_asked() {
    // Merchants and no [dev]: the metrics (appids, volumes) are not on the public port.
    let app = TestApp::start_on(TestEnv::new().await).await;
    let (status, _, text) = scrape_text(&app).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{text}");
    assert!(!text.contains(APPID), "{text}");
    app.stop().await;
    // The explicit opt-in.
    let app =
        TestApp::start_on(TestEnv::with_extra("[metrics]\non_main_port = true\n").await).await;
    let (status, _, text) = scrape_text(&app).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(
        parse(&text)
            .samples
            .iter()
            .any(|s| s.metric.starts_with("usdt_gateway_"))
    );
    app.stop().await;
}

#[test]
fn logs_to_a_pipe_carry_no_colour() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_usdt-gateway"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .current_dir(dir.path())
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut seen = String::new();
    let mut buffer = [0u8; 4096];
    while !seen.contains("listening on") {
        let n = stdout.read(&mut buffer).unwrap();
        assert!(n > 0, "exited before listening: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buffer[..n]));
    }
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap();
    let mut logs = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .unwrap();
    child.wait().unwrap();
    assert!(logs.contains("usdt-gateway started"), "{logs}");
    assert!(
        !logs.contains('\u{1b}'),
        "ANSI escape in piped logs: {logs:?}"
    );
}
