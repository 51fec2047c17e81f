//! Logs a real process writes (JSON lines): every admin action is an `audit` line naming
//! the admin token's id (the first 12 hex digits of its SHA-256, computed here with
//! coreutils' `sha256sum`, not by the gateway's code) and what was done; each request
//! has its span (method, route, status, latency, appid, orderid, ordersn); no secret
//! and no token appears anywhere in the log.

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use usdt_gateway::api::ORDER_PATH;

use crate::support::{
    APPID, Process, SECRET, SECRET2, TestEnv, fresh_address, fresh_orderid, order_body, post_json,
};

/// The admin token of this test.
const ADMIN: &str = "5aab119323f7abc18c72a443dd84a6e2e5ba362b5d5bddfce1b7226e440a529f";

/// The first 12 hex digits of SHA-256 of `text`, by `sha256sum`.
fn sha256_prefix(text: &str) -> String {
    use std::io::Write;
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run sha256sum");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap()[..12].to_owned()
}

/// POST `path` with the admin token (or `token`); the status.
async fn admin_post(process: &Process, path: &str, token: &str) -> u16 {
    reqwest::Client::new()
        .post(process.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The JSON lines of the log at `path`.
fn log_lines(path: &std::path::Path) -> (String, Vec<Value>) {
    let text = std::fs::read_to_string(path).unwrap();
    let lines = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .collect();
    (text, lines)
}

#[tokio::test]
async fn admin_actions_are_audited_by_token_id_and_no_secret_reaches_the_log() {
    let env = TestEnv::with_extra(&format!("[admin]\ntoken = \"{ADMIN}\"\n")).await;
    let log_path = env.dir.path().join("gateway.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let config = env.config_path.to_str().unwrap();
    let mut process = Process::start_with(
        env.dir.path(),
        &["serve", "--config", config],
        &[
            ("USDT_GATEWAY_LOG__FORMAT", "json"),
            (
                "USDT_GATEWAY_LOG__LEVEL",
                "info,usdt_gateway::api::trace=debug",
            ),
        ],
        Stdio::from(log),
    );

    // An order (its request span carries appid, orderid and ordersn).
    let orderid = fresh_orderid();
    let body = order_body(APPID, SECRET, "alice", &fresh_address(), &orderid, 10_000);
    let (status, reply) = post_json(process.url(ORDER_PATH), &body).await;
    assert_eq!(status, 200, "{reply}");
    let ordersn = reply["data"]["ordersn"].as_str().unwrap().to_owned();

    // Two admin actions, and one refused for a wrong token.
    assert_eq!(
        admin_post(&process, "/admin/merchants/reload", ADMIN).await,
        200
    );
    let resend = format!("/admin/callbacks/{ordersn}/resend");
    assert_eq!(admin_post(&process, &resend, ADMIN).await, 404);
    assert_eq!(
        admin_post(&process, "/admin/merchants/reload", "wrong-token").await,
        401
    );
    // Ending the console's sessions is an action too.
    assert_eq!(
        admin_post(&process, "/admin/sessions/revoke", ADMIN).await,
        200
    );

    process.signal("TERM");
    process.wait(Duration::from_secs(20));
    let (text, lines) = log_lines(&log_path);

    let who = sha256_prefix(ADMIN);
    let audit: Vec<&Value> = lines.iter().filter(|l| l["target"] == "audit").collect();
    let reload = audit
        .iter()
        .find(|l| l["action"] == "reload_merchants")
        .unwrap_or_else(|| panic!("no audit line for the reload in:\n{text}"));
    assert_eq!(reload["who"], who.as_str(), "{reload}");
    assert_eq!(reload["ok"], true, "{reload}");
    assert_eq!(reload["merchants"], 2, "{reload}");
    let resent = audit
        .iter()
        .find(|l| l["action"] == "resend_callback")
        .unwrap_or_else(|| panic!("no audit line for the resend in:\n{text}"));
    assert_eq!(resent["who"], who.as_str(), "{resent}");
    assert_eq!(resent["ordersn"], ordersn.as_str(), "{resent}");
    assert_eq!(resent["found"], false, "{resent}");
    let revoked = audit
        .iter()
        .find(|l| l["action"] == "revoke_sessions")
        .unwrap_or_else(|| panic!("no audit line for the revocation in:\n{text}"));
    assert_eq!(revoked["who"], who.as_str(), "{revoked}");
    assert_eq!(revoked["sessions"], 0, "{revoked}");
    // The refused request is an audit line naming the client, never the token it sent…
    let refused = audit
        .iter()
        .find(|l| l["action"] == "admin_api_auth")
        .unwrap_or_else(|| panic!("no audit line for the refused token in:\n{text}"));
    assert_eq!(refused["ok"], false, "{refused}");
    assert_eq!(refused["reason"], "wrong_token", "{refused}");
    assert_eq!(refused["client"], "127.0.0.1", "{refused}");
    assert!(
        !text.contains("wrong-token"),
        "the log shows a refused token"
    );
    // …and did nothing: exactly the three actions and the refusal were audited.
    assert_eq!(audit.len(), 4, "{audit:?}");

    // The order's request span: method, route, status, latency and the order's ids.
    let answered = lines
        .iter()
        .find(|l| l["message"] == "request answered" && l["span"]["route"] == ORDER_PATH)
        .unwrap_or_else(|| panic!("no span line for the order in:\n{text}"));
    let span = &answered["span"];
    assert_eq!(span["method"], "POST", "{span}");
    assert_eq!(span["status"], 200, "{span}");
    assert!(span["latency_ms"].is_u64(), "{span}");
    assert_eq!(span["appid"], APPID, "{span}");
    assert_eq!(span["orderid"], orderid.as_str(), "{span}");
    assert_eq!(span["ordersn"], ordersn.as_str(), "{span}");
    // A route with an id is logged by its pattern.
    assert!(
        lines.iter().any(
            |l| l["span"]["route"] == "/admin/callbacks/{ordersn}/resend"
                && l["span"]["status"] == 404
        ),
        "no span line for the resend in:\n{text}"
    );

    for secret in [ADMIN, SECRET, SECRET2] {
        assert!(!text.contains(secret), "the log shows a secret: {secret}");
    }
}
