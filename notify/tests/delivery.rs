//! One attempt against a real receiver: what counts as delivered, what fails, what is
//! recorded.

#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)] // test code: a failed expectation is a failed test

mod support;

use std::time::{Duration, SystemTime};

use support::{Reply, TestReceiver};
use usdt_callback_http::{CallbackHttp, Outcome, TransportConfig, TransportError};

const BODY: &str = r#"{"orderid":"demo-20250905-k3x9q0","localusermark":"uid123","amount":"1000000","t":"1757000000","sign":"0123456789abcdef0123456789abcdef"}"#;

fn config(timeout: Duration) -> TransportConfig {
    TransportConfig {
        timeout,
        allow_private_targets: true,
        ..TransportConfig::default()
    }
}

fn http() -> CallbackHttp {
    CallbackHttp::new(config(Duration::from_secs(3))).unwrap()
}

#[tokio::test]
async fn delivered_on_200_success_and_the_request_is_as_specified() {
    let rx = TestReceiver::start().await;
    let http = http();
    let attempt = http
        .deliver("m1", &rx.url("/usdt_notify?x=1"), BODY.to_owned())
        .await;

    assert_eq!(attempt.outcome, Outcome::Delivered, "{attempt:?}");
    assert_eq!(attempt.status, Some(200));
    assert_eq!(attempt.body_prefix, "success");
    assert_eq!(attempt.error, None);
    assert_eq!(attempt.retry_after, None);
    assert_eq!(attempt.http_version, Some("HTTP/1.1"));
    assert_eq!(attempt.remote_addr, Some(rx.addr));
    assert!(attempt.latency > Duration::ZERO);
    assert!(attempt.latency < Duration::from_secs(3));

    let requests = rx.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/usdt_notify");
    assert_eq!(request.body, BODY.as_bytes());
    assert_eq!(request.headers["content-type"], "application/json");
    assert_eq!(
        request.headers["content-length"],
        BODY.len().to_string().as_str()
    );
    assert!(
        request.headers["user-agent"]
            .to_str()
            .unwrap()
            .starts_with("usdt-gateway-callback/"),
    );
    assert!(request.headers.get("referer").is_none());
}

#[tokio::test]
async fn n_failures_then_success() {
    let rx = TestReceiver::start().await;
    rx.script([
        Reply::new(500, "oops"),
        Reply::new(502, ""),
        Reply::new(200, "fail"),
    ]);
    let http = http();
    let mut outcomes = Vec::new();
    loop {
        let attempt = http.deliver("m1", &rx.url("/n"), BODY.to_owned()).await;
        outcomes.push((attempt.outcome, attempt.status));
        if attempt.outcome != Outcome::Failed || outcomes.len() > 10 {
            break;
        }
    }
    assert_eq!(
        outcomes,
        [
            (Outcome::Failed, Some(500)),
            (Outcome::Failed, Some(502)),
            (Outcome::Failed, Some(200)),
            (Outcome::Delivered, Some(200)),
        ]
    );
    assert_eq!(rx.count(), 4);
    assert!(rx.requests().iter().all(|r| r.body == BODY.as_bytes()));
}

#[tokio::test]
async fn success_with_surrounding_ascii_whitespace_is_delivered() {
    let rx = TestReceiver::start().await;
    let http = http();
    for body in [
        "  success\n",
        "\t\r\nsuccess \r\n",
        "success\x0c",
        "\nsuccess",
    ] {
        rx.script([Reply::new(200, body)]);
        let attempt = http.deliver("m1", &rx.url("/ws"), BODY.to_owned()).await;
        assert_eq!(attempt.outcome, Outcome::Delivered, "{body:?}: {attempt:?}");
        assert_eq!(attempt.body_prefix, body);
    }
}

#[tokio::test]
async fn other_bodies_with_200_fail() {
    let rx = TestReceiver::start().await;
    let http = http();
    for body in [
        "SUCCESS",
        "ok",
        "Success",
        "success!",
        "succes",
        "",
        "\"success\"",
        "success success",
        "\u{a0}success", // non-breaking space is not ASCII whitespace
        "\x0bsuccess",   // nor is vertical tab, for `trim_ascii`
        "success\0",
        "{\"status\":\"success\"}",
    ] {
        rx.script([Reply::new(200, body)]);
        let attempt = http.deliver("m1", &rx.url("/b"), BODY.to_owned()).await;
        assert_eq!(attempt.outcome, Outcome::Failed, "{body:?}");
        assert_eq!(attempt.status, Some(200));
        assert_eq!(attempt.body_prefix, body);
        assert!(
            attempt.error.as_deref().unwrap().contains("not `success`"),
            "{attempt:?}"
        );
    }
}

#[tokio::test]
async fn statuses_other_than_200_fail_even_with_a_success_body() {
    let rx = TestReceiver::start().await;
    let http = http();
    for status in [
        201, 202, 203, 226, 400, 401, 403, 404, 409, 429, 500, 502, 503,
    ] {
        rx.script([Reply::new(status, "success")]);
        let attempt = http.deliver("m1", &rx.url("/s"), BODY.to_owned()).await;
        assert_eq!(attempt.outcome, Outcome::Failed, "{status}");
        assert_eq!(attempt.status, Some(status));
        assert_eq!(attempt.body_prefix, "success");
        assert_eq!(
            attempt.error.as_deref(),
            Some(format!("HTTP {status}").as_str())
        );
    }
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let rx = TestReceiver::start().await;
    let target = TestReceiver::start().await;
    let http = http();
    for status in [301, 302, 303, 307, 308] {
        rx.script([Reply::redirect(status, &target.url("/elsewhere"))]);
        let attempt = http.deliver("m1", &rx.url("/r"), BODY.to_owned()).await;
        assert_eq!(attempt.outcome, Outcome::Failed, "{status}");
        assert_eq!(attempt.status, Some(status));
        let error = attempt.error.unwrap();
        assert!(error.contains("not followed"), "{error}");
        assert!(error.contains("/elsewhere"), "{error}");
    }
    assert_eq!(rx.count(), 5);
    assert_eq!(target.count(), 0, "the redirect target must get no request");
}

#[tokio::test]
async fn the_timeout_is_honoured() {
    let rx = TestReceiver::start().await;
    rx.set_default(Reply::success().delayed(Duration::from_secs(5)));
    let http = CallbackHttp::new(config(Duration::from_millis(400))).unwrap();
    let attempt = http.deliver("m1", &rx.url("/slow"), BODY.to_owned()).await;
    assert_eq!(attempt.outcome, Outcome::Failed);
    assert_eq!(attempt.status, None);
    assert!(attempt.latency >= Duration::from_millis(400), "{attempt:?}");
    assert!(attempt.latency < Duration::from_millis(1500), "{attempt:?}");
    assert!(attempt.error.unwrap().contains("no answer within 400ms"));
    assert_eq!(rx.count(), 1, "the request was sent");
}

#[tokio::test]
async fn the_timeout_covers_a_slow_body() {
    let rx = TestReceiver::start().await;
    rx.set_default(Reply::success().stalling(3, Duration::from_secs(5)));
    let http = CallbackHttp::new(config(Duration::from_millis(500))).unwrap();
    let attempt = http.deliver("m1", &rx.url("/stall"), BODY.to_owned()).await;
    assert_eq!(attempt.outcome, Outcome::Failed, "{attempt:?}");
    assert_eq!(attempt.status, Some(200), "the head arrived");
    assert_eq!(attempt.body_prefix, "suc", "what arrived is kept");
    assert!(attempt.latency >= Duration::from_millis(500), "{attempt:?}");
    assert!(attempt.latency < Duration::from_millis(1500), "{attempt:?}");
    assert!(
        attempt
            .error
            .unwrap()
            .contains("body did not complete within 500ms")
    );
}

#[tokio::test]
async fn body_prefix_keeps_the_first_kib() {
    let rx = TestReceiver::start().await;
    let http = http();

    rx.script([Reply::new(500, "x".repeat(5000))]);
    let attempt = http.deliver("m1", &rx.url("/big"), BODY.to_owned()).await;
    assert_eq!(attempt.outcome, Outcome::Failed);
    assert_eq!(attempt.body_prefix, "x".repeat(1024));

    // Cut inside a two-byte character: lossy, so it ends with U+FFFD.
    rx.script([Reply::new(500, format!("a{}", "é".repeat(600)))]);
    let attempt = http.deliver("m1", &rx.url("/utf8"), BODY.to_owned()).await;
    assert_eq!(attempt.body_prefix, format!("a{}\u{fffd}", "é".repeat(511)));

    rx.script([Reply::new(200, vec![0xff, b's', 0xfe])]);
    let attempt = http.deliver("m1", &rx.url("/bin"), BODY.to_owned()).await;
    assert_eq!(attempt.outcome, Outcome::Failed);
    assert_eq!(attempt.body_prefix, "\u{fffd}s\u{fffd}");
}

#[tokio::test]
async fn max_body_bytes_kept_is_configurable() {
    let rx = TestReceiver::start().await;
    rx.script([Reply::new(503, "0123456789abcdefXYZ")]);
    let http = CallbackHttp::new(TransportConfig {
        max_body_bytes_kept: 16,
        ..config(Duration::from_secs(3))
    })
    .unwrap();
    let attempt = http.deliver("m1", &rx.url("/k"), BODY.to_owned()).await;
    assert_eq!(attempt.body_prefix, "0123456789abcdef");
}

#[tokio::test]
async fn a_huge_body_is_not_read_to_the_end() {
    let rx = TestReceiver::start().await;
    let mut huge = b"success".to_vec();
    huge.resize(32 << 20, b' ');
    rx.script([Reply::new(200, huge)]);
    let http = http();
    let attempt = http.deliver("m1", &rx.url("/huge"), BODY.to_owned()).await;
    assert_eq!(attempt.outcome, Outcome::Failed, "{attempt:?}");
    assert_eq!(attempt.body_prefix.len(), 1024);
    assert!(attempt.body_prefix.starts_with("success"));
    let error = attempt.error.unwrap();
    assert!(error.contains("over 65536 bytes"), "{error}");
}

#[tokio::test]
async fn retry_after_is_parsed_as_given() {
    let rx = TestReceiver::start().await;
    let http = http();

    rx.script([Reply::new(503, "busy").header("Retry-After", "120")]);
    let attempt = http.deliver("m1", &rx.url("/ra"), BODY.to_owned()).await;
    assert_eq!(attempt.outcome, Outcome::Failed);
    assert_eq!(attempt.retry_after, Some(Duration::from_secs(120)));

    let in_90s = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(90));
    rx.script([Reply::new(429, "slow down").header("Retry-After", &in_90s)]);
    let attempt = http.deliver("m1", &rx.url("/ra"), BODY.to_owned()).await;
    let after = attempt.retry_after.unwrap();
    assert!(
        after >= Duration::from_secs(88) && after <= Duration::from_secs(90),
        "{after:?}"
    );

    rx.script([Reply::new(503, "").header("Retry-After", "soon")]);
    let attempt = http.deliver("m1", &rx.url("/ra"), BODY.to_owned()).await;
    assert_eq!(attempt.retry_after, None);

    // Reported even on success; the gateway ignores it there.
    rx.script([Reply::success().header("Retry-After", "7")]);
    let attempt = http.deliver("m1", &rx.url("/ra"), BODY.to_owned()).await;
    assert_eq!(attempt.outcome, Outcome::Delivered);
    assert_eq!(attempt.retry_after, Some(Duration::from_secs(7)));
}

#[tokio::test]
async fn connection_refused_fails() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let attempt = http()
        .deliver("m1", &format!("http://127.0.0.1:{port}/"), BODY.to_owned())
        .await;
    assert_eq!(attempt.outcome, Outcome::Failed);
    assert_eq!(attempt.status, None);
    let error = attempt.error.unwrap();
    assert!(
        !error.contains(&port.to_string()),
        "no URL in errors: {error}"
    );
}

#[tokio::test]
async fn keep_alive_connections_are_reused() {
    let rx = TestReceiver::start().await;
    let http = http();
    for _ in 0..3 {
        let attempt = http.deliver("m1", &rx.url("/ka"), BODY.to_owned()).await;
        assert_eq!(attempt.outcome, Outcome::Delivered);
    }
    let peers: Vec<_> = rx.requests().iter().map(|r| r.conn.peer).collect();
    assert_eq!(peers.len(), 3);
    assert!(peers.iter().all(|p| *p == peers[0]), "{peers:?}");
}

#[tokio::test]
async fn invalid_configuration_is_rejected() {
    for bad in [
        TransportConfig {
            timeout: Duration::ZERO,
            ..TransportConfig::default()
        },
        TransportConfig {
            max_in_flight_per_merchant: 0,
            ..TransportConfig::default()
        },
        TransportConfig {
            max_in_flight_total: 0,
            ..TransportConfig::default()
        },
    ] {
        assert!(matches!(
            CallbackHttp::new(bad),
            Err(TransportError::Config(_))
        ));
    }
    let defaults = TransportConfig::default();
    assert_eq!(defaults.timeout, Duration::from_secs(6));
    assert!(!defaults.allow_private_targets);
    assert_eq!(defaults.max_in_flight_per_merchant, 16);
    assert_eq!(defaults.max_in_flight_total, 256);
    assert_eq!(defaults.max_body_bytes_kept, 1024);
}
