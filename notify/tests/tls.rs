//! HTTPS against a local CA generated at test time: TLS 1.3 and 1.2, HTTP/2 via ALPN,
//! certificate checks.

#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)] // test code: a failed expectation is a failed test

mod support;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::ProtocolVersion;
use rustls::version::{TLS12, TLS13};
use support::{TestPki, TestReceiver};
use usdt_callback_http::{
    CallbackHttp, Lookup, LookupFuture, Outcome, TransportConfig, TransportError,
};

fn config() -> TransportConfig {
    // The receivers listen on 127.0.0.1.
    TransportConfig {
        timeout: Duration::from_secs(3),
        allow_private_targets: true,
        ..TransportConfig::default()
    }
}

fn trusting(pki: &TestPki) -> CallbackHttp {
    CallbackHttp::with_root_certificates(config(), &[pki.ca_pem.clone().into_bytes()]).unwrap()
}

#[tokio::test]
async fn tls13_with_h2_offered_uses_http2() {
    let pki = TestPki::generate();
    let rx = TestReceiver::start_tls(pki.server_config(&[&TLS13], &["h2", "http/1.1"])).await;
    let http = trusting(&pki);
    let attempt = http
        .deliver(
            "m1",
            &rx.https_url("localhost", "/usdt_notify"),
            "{}".into(),
        )
        .await;
    assert_eq!(attempt.outcome, Outcome::Delivered, "{attempt:?}");
    assert_eq!(attempt.http_version, Some("HTTP/2"));

    let request = &rx.requests()[0];
    assert_eq!(request.version, axum::http::Version::HTTP_2);
    assert_eq!(request.conn.tls_version, Some(ProtocolVersion::TLSv1_3));
    assert_eq!(request.conn.alpn.as_deref(), Some("h2"));
    assert_eq!(request.headers["content-type"], "application/json");
    assert_eq!(request.body, "{}");
}

#[tokio::test]
async fn a_tls12_only_receiver_works() {
    let pki = TestPki::generate();
    let rx = TestReceiver::start_tls(pki.server_config(&[&TLS12], &["h2", "http/1.1"])).await;
    let attempt = trusting(&pki)
        .deliver("m1", &rx.https_url("localhost", "/n"), "{}".into())
        .await;
    assert_eq!(attempt.outcome, Outcome::Delivered, "{attempt:?}");
    assert_eq!(attempt.http_version, Some("HTTP/2"));
    let request = &rx.requests()[0];
    assert_eq!(request.conn.tls_version, Some(ProtocolVersion::TLSv1_2));
    assert_eq!(request.conn.alpn.as_deref(), Some("h2"));
}

#[tokio::test]
async fn http11_when_the_receiver_does_not_offer_h2() {
    let pki = TestPki::generate();
    let rx = TestReceiver::start_tls(pki.server_config(&[&TLS13, &TLS12], &["http/1.1"])).await;
    let attempt = trusting(&pki)
        .deliver("m1", &rx.https_url("localhost", "/n"), "{}".into())
        .await;
    assert_eq!(attempt.outcome, Outcome::Delivered, "{attempt:?}");
    assert_eq!(attempt.http_version, Some("HTTP/1.1"));
    assert_eq!(rx.requests()[0].version, axum::http::Version::HTTP_11);
    assert_eq!(rx.requests()[0].conn.alpn.as_deref(), Some("http/1.1"));
}

#[tokio::test]
async fn an_ip_address_certificate_works() {
    let pki = TestPki::generate();
    let rx = TestReceiver::start_tls(pki.server_config(&[&TLS13], &["h2"])).await;
    let attempt = trusting(&pki)
        .deliver("m1", &rx.https_url("127.0.0.1", "/n"), "{}".into())
        .await;
    assert_eq!(attempt.outcome, Outcome::Delivered, "{attempt:?}");
}

#[tokio::test]
async fn the_h2_connection_is_reused() {
    let pki = TestPki::generate();
    let rx = TestReceiver::start_tls(pki.server_config(&[&TLS13], &["h2"])).await;
    let http = trusting(&pki);
    for _ in 0..3 {
        let attempt = http
            .deliver("m1", &rx.https_url("localhost", "/n"), "{}".into())
            .await;
        assert_eq!(attempt.outcome, Outcome::Delivered);
    }
    let peers: Vec<_> = rx.requests().iter().map(|r| r.conn.peer).collect();
    assert!(peers.iter().all(|p| *p == peers[0]), "{peers:?}");
}

#[tokio::test]
async fn an_untrusted_certificate_fails_and_nothing_is_sent() {
    let pki = TestPki::generate();
    let rx = TestReceiver::start_tls(pki.server_config(&[&TLS13, &TLS12], &["h2"])).await;
    // Only the built-in roots: the local CA is unknown.
    let http = CallbackHttp::new(config()).unwrap();
    let attempt = http
        .deliver("m1", &rx.https_url("localhost", "/n"), "{}".into())
        .await;
    assert_eq!(attempt.outcome, Outcome::Failed);
    assert_eq!(attempt.status, None);
    let error = attempt.error.unwrap();
    assert!(error.to_lowercase().contains("certificate"), "{error}");
    assert_eq!(rx.count(), 0);

    // A different CA does not help either.
    let other = TestPki::generate();
    let attempt = trusting(&other)
        .deliver("m1", &rx.https_url("localhost", "/n"), "{}".into())
        .await;
    assert_eq!(attempt.outcome, Outcome::Failed);
    assert_eq!(rx.count(), 0);
}

/// Resolves every name to 127.0.0.1.
struct AllLoopback;

impl Lookup for AllLoopback {
    fn lookup(&self, _host: String) -> LookupFuture {
        Box::pin(async { Ok(vec![IpAddr::from([127, 0, 0, 1])]) })
    }
}

#[tokio::test]
async fn a_certificate_for_another_name_fails() {
    let pki = TestPki::generate();
    let rx = TestReceiver::start_tls(pki.server_config(&[&TLS13], &["h2"])).await;
    let http = CallbackHttp::builder(config())
        .root_certificates(&[pki.ca_pem.clone().into_bytes()])
        .lookup(Arc::new(AllLoopback))
        .build()
        .unwrap();
    let attempt = http
        .deliver("m1", &rx.https_url("shop.example.com", "/n"), "{}".into())
        .await;
    assert_eq!(attempt.outcome, Outcome::Failed, "{attempt:?}");
    assert!(
        attempt
            .error
            .unwrap()
            .to_lowercase()
            .contains("certificate")
    );
    assert_eq!(rx.count(), 0);
}

#[tokio::test]
async fn plain_http_to_a_tls_port_fails() {
    let pki = TestPki::generate();
    let rx = TestReceiver::start_tls(pki.server_config(&[&TLS13], &["h2"])).await;
    let attempt = trusting(&pki)
        .deliver("m1", &rx.url("/n"), "{}".into())
        .await;
    assert_eq!(attempt.outcome, Outcome::Failed);
    assert_eq!(rx.count(), 0);
}

#[test]
fn bad_root_certificates_are_rejected() {
    for pem in [b"garbage".to_vec(), Vec::new()] {
        assert!(matches!(
            CallbackHttp::with_root_certificates(config(), &[pem]),
            Err(TransportError::Certificate(_))
        ));
    }
}
