//! The SSRF guard: the range table, host names, order-time URL checks, and refusals at
//! delivery time (IP literals and the resolver).

#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]
// test code: a failed expectation is a failed test
// An integration test is one scenario against a real process or node, or one table of
// cases, read top to bottom: exempt from clippy::too_many_lines (see clippy.toml).
#![allow(clippy::too_many_lines)]

mod support;

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::dns::{Name, Resolve};
use support::TestReceiver;
use usdt_callback_http::{
    CallbackHttp, GuardedResolver, Lookup, LookupFuture, Outcome, RefusedTarget, ResolveError,
    TargetErrorKind, TransportConfig, check_target_url, forbidden_host, forbidden_range,
    is_forbidden_ip,
};

fn config(allow_private_targets: bool) -> TransportConfig {
    TransportConfig {
        timeout: Duration::from_secs(3),
        allow_private_targets,
        ..TransportConfig::default()
    }
}

/// A DNS that answers from a table.
#[derive(Default)]
struct FakeDns {
    table: Mutex<HashMap<String, Vec<IpAddr>>>,
    lookups: AtomicUsize,
}

impl FakeDns {
    fn with(entries: &[(&str, &[IpAddr])]) -> Arc<Self> {
        let dns = Self::default();
        for (name, ips) in entries {
            dns.set(name, ips);
        }
        Arc::new(dns)
    }
    fn set(&self, name: &str, ips: &[IpAddr]) {
        self.table
            .lock()
            .unwrap()
            .insert(name.to_owned(), ips.to_vec());
    }
}

impl Lookup for FakeDns {
    fn lookup(&self, host: String) -> LookupFuture {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        let found = self.table.lock().unwrap().get(&host).cloned();
        Box::pin(async move {
            found.ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such name"))
        })
    }
}

fn v4(s: &str) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from_str(s).unwrap())
}
fn v6(s: &str) -> IpAddr {
    IpAddr::V6(Ipv6Addr::from_str(s).unwrap())
}

// ---------------------------------------------------------------------------------------
// The range table

/// First and last address of a range, its neighbours just below and above (when they are
/// public), and its CIDR.
type RangeCase = (
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    &'static str,
);

#[test]
fn ipv4_ranges_edges_and_neighbours() {
    let ranges: &[RangeCase] = &[
        (
            "0.0.0.0",
            "0.255.255.255",
            None,
            Some("1.0.0.0"),
            "0.0.0.0/8",
        ),
        (
            "10.0.0.0",
            "10.255.255.255",
            Some("9.255.255.255"),
            Some("11.0.0.0"),
            "10.0.0.0/8",
        ),
        (
            "100.64.0.0",
            "100.127.255.255",
            Some("100.63.255.255"),
            Some("100.128.0.0"),
            "100.64.0.0/10",
        ),
        (
            "127.0.0.0",
            "127.255.255.255",
            Some("126.255.255.255"),
            Some("128.0.0.0"),
            "127.0.0.0/8",
        ),
        (
            "169.254.0.0",
            "169.254.255.255",
            Some("169.253.255.255"),
            Some("169.255.0.0"),
            "169.254.0.0/16",
        ),
        (
            "172.16.0.0",
            "172.31.255.255",
            Some("172.15.255.255"),
            Some("172.32.0.0"),
            "172.16.0.0/12",
        ),
        (
            "192.0.0.0",
            "192.0.0.255",
            Some("191.255.255.255"),
            Some("192.0.1.0"),
            "192.0.0.0/24",
        ),
        (
            "192.0.2.0",
            "192.0.2.255",
            Some("192.0.1.255"),
            Some("192.0.3.0"),
            "192.0.2.0/24",
        ),
        (
            "192.88.99.0",
            "192.88.99.255",
            Some("192.88.98.255"),
            Some("192.88.100.0"),
            "192.88.99.0/24",
        ),
        (
            "192.168.0.0",
            "192.168.255.255",
            Some("192.167.255.255"),
            Some("192.169.0.0"),
            "192.168.0.0/16",
        ),
        (
            "198.18.0.0",
            "198.19.255.255",
            Some("198.17.255.255"),
            Some("198.20.0.0"),
            "198.18.0.0/15",
        ),
        (
            "198.51.100.0",
            "198.51.100.255",
            Some("198.51.99.255"),
            Some("198.51.101.0"),
            "198.51.100.0/24",
        ),
        (
            "203.0.113.0",
            "203.0.113.255",
            Some("203.0.112.255"),
            Some("203.0.114.0"),
            "203.0.113.0/24",
        ),
        (
            "224.0.0.0",
            "239.255.255.255",
            Some("223.255.255.255"),
            None,
            "224.0.0.0/4",
        ),
        ("240.0.0.0", "255.255.255.254", None, None, "240.0.0.0/4"),
    ];
    for (first, last, below, above, cidr) in ranges {
        for inside in [first, last] {
            let range = forbidden_range(v4(inside))
                .unwrap_or_else(|| panic!("{inside} ({cidr}) must be forbidden"));
            assert!(
                range.range.contains(cidr) || range.range.contains("0.0.0.0"),
                "{inside}: {range} should name {cidr}"
            );
            assert_eq!(range.via, None);
        }
        for outside in below.iter().chain(above.iter()) {
            assert_eq!(forbidden_range(v4(outside)), None, "{outside} is public");
        }
    }
    assert!(is_forbidden_ip(v4("255.255.255.255")));
    assert!(
        forbidden_range(v4("255.255.255.255"))
            .unwrap()
            .range
            .contains("broadcast")
    );
    assert!(
        forbidden_range(v4("169.254.169.254"))
            .unwrap()
            .range
            .contains("metadata")
    );
    assert!(
        forbidden_range(v4("100.100.100.200")).is_some(),
        "Alibaba metadata (CGNAT)"
    );
    for public in [
        "1.1.1.1",
        "8.8.8.8",
        "93.184.216.34",
        "100.63.0.1",
        "223.255.255.255",
    ] {
        assert!(!is_forbidden_ip(v4(public)), "{public}");
    }
}

#[test]
fn ipv6_ranges_edges_and_neighbours() {
    let forbidden: &[(&str, &str)] = &[
        ("::", "unspecified"),
        ("::1", "loopback"),
        ("::2", "IPv4-compatible"),
        ("::8.8.8.8", "IPv4-compatible"),
        ("::ffff:ffff", "IPv4-compatible"),
        ("64:ff9b:1::1", "local-use NAT64"),
        ("100::", "discard"),
        ("100::ffff:ffff:ffff:ffff", "discard"),
        ("2001::", "IETF"),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "IETF"), // Teredo
        ("2001:2::1", "IETF"),                            // benchmarking
        ("2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff", "IETF"),
        ("2001:db8::", "documentation"),
        ("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "documentation"),
        ("3fff::", "documentation"),
        ("3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff", "documentation"),
        ("5f00::1", "SRv6"),
        ("fc00::", "unique-local"),
        ("fd00:ec2::254", "unique-local"), // AWS metadata over IPv6
        ("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "unique-local"),
        ("fe80::", "link-local"),
        ("fe80::1%0", "link-local"),
        ("febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "link-local"),
        ("fec0::1", "site-local"),
        ("feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "site-local"),
        ("ff00::", "multicast"),
        ("ff02::1", "multicast"),
        ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "multicast"),
        (
            "1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "not global unicast",
        ),
        ("4000::1", "not global unicast"),
        ("fb00::1", "not global unicast"),
    ];
    for (text, name) in forbidden {
        let text = text.split('%').next().unwrap();
        let range = forbidden_range(v6(text)).unwrap_or_else(|| panic!("{text} must be forbidden"));
        assert!(
            range.range.contains(name),
            "{text}: {range} should say {name}"
        );
    }
    for public in [
        "2001:200::1",                            // just above 2001::/23
        "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", // below 2001:db8::/32
        "2001:db9::1",                            // above it
        "2001:4860:4860::8888",                   // Google DNS
        "2606:4700:4700::1111",                   // Cloudflare
        "2a00:1450:4001::1",
        "2000::1",
        "3ffe:ffff::1", // just below 3fff::/20
        "3fff:1000::1", // just above it
        "3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    ] {
        assert_eq!(forbidden_range(v6(public)), None, "{public} is public");
    }
}

#[test]
fn ipv6_forms_embedding_ipv4_are_judged_by_the_ipv4_address() {
    for (text, via, v4_range) in [
        ("::ffff:127.0.0.1", "IPv4-mapped", "loopback"),
        ("::ffff:10.1.2.3", "IPv4-mapped", "private"),
        ("::ffff:169.254.169.254", "IPv4-mapped", "link-local"),
        ("::ffff:100.64.0.1", "IPv4-mapped", "CGNAT"),
        ("::ffff:0.0.0.0", "IPv4-mapped", "unspecified"),
        ("::ffff:255.255.255.255", "IPv4-mapped", "broadcast"),
        ("::ffff:203.0.113.9", "IPv4-mapped", "documentation"),
        ("64:ff9b::127.0.0.1", "NAT64", "loopback"),
        ("64:ff9b::192.168.1.1", "NAT64", "private"),
        ("2002:7f00:1::", "6to4", "loopback"),
        ("2002:c0a8:101::1", "6to4", "private"),
        ("2002:a9fe:a9fe::", "6to4", "link-local"),
    ] {
        let range = forbidden_range(v6(text)).unwrap_or_else(|| panic!("{text} must be forbidden"));
        assert!(range.via.unwrap().contains(via), "{text}: {range}");
        assert!(range.range.contains(v4_range), "{text}: {range}");
    }
    for public in [
        "::ffff:8.8.8.8",
        "::ffff:1.1.1.1",
        "64:ff9b::8.8.8.8",
        "2002:808:808::1",
    ] {
        assert_eq!(forbidden_range(v6(public)), None, "{public}");
    }
}

#[test]
fn forbidden_host_names() {
    for name in [
        "localhost",
        "LOCALHOST",
        "localhost.",
        "api.localhost",
        "metadata.google.internal",
        "METADATA.GOOGLE.INTERNAL.",
        "ip-10-0-0-1.ec2.internal",
        "metadata",
        "instance-data",
        "intranet",
        "metadata.goog",
        "x.metadata.goog",
        "metadata.platformequinix.com",
        "printer.local",
        "router.home.arpa",
        "",
        ".",
    ] {
        assert!(forbidden_host(name).is_some(), "{name:?} must be forbidden");
    }
    for name in [
        "example.com",
        "merchant.example.com.",
        "notlocalhost.com",
        "localhost.example.com",
        "internal.example.com",
        "metadata.google.com",
        "mylocal.net",
        "shop.test",
    ] {
        assert_eq!(forbidden_host(name), None, "{name:?} is allowed");
    }
}

// ---------------------------------------------------------------------------------------
// Order-time check

#[test]
fn check_target_url_refuses_plainly_bad_targets() {
    // The URL's form (length, credentials) is the protocol's rule, judged by the
    // component before a URL reaches this crate; here only what concerns the network.
    let cases: &[(&str, TargetErrorKind, bool)] = &[
        // (url, kind, refused even with allow_private_targets)
        ("ftp://example.com/notify", TargetErrorKind::Scheme, true),
        ("file:///etc/passwd", TargetErrorKind::Scheme, true),
        ("javascript:alert(1)", TargetErrorKind::Scheme, true),
        ("gopher://127.0.0.1:6379/_", TargetErrorKind::Scheme, true),
        ("https://example.com:0/", TargetErrorKind::Port, true),
        ("not a url", TargetErrorKind::InvalidUrl, true),
        ("/relative/path", TargetErrorKind::InvalidUrl, true),
        ("http://", TargetErrorKind::InvalidUrl, true),
        (
            "http://127.0.0.1/notify",
            TargetErrorKind::ForbiddenAddress,
            false,
        ),
        (
            "http://127.1/notify",
            TargetErrorKind::ForbiddenAddress,
            false,
        ),
        (
            "http://2130706433/notify",
            TargetErrorKind::ForbiddenAddress,
            false,
        ),
        (
            "http://0x7f000001/notify",
            TargetErrorKind::ForbiddenAddress,
            false,
        ),
        (
            "http://0177.0.0.1/notify",
            TargetErrorKind::ForbiddenAddress,
            false,
        ),
        (
            "http://0.0.0.0:8080/",
            TargetErrorKind::ForbiddenAddress,
            false,
        ),
        ("http://10.0.0.5/", TargetErrorKind::ForbiddenAddress, false),
        (
            "http://169.254.169.254/latest/meta-data/",
            TargetErrorKind::ForbiddenAddress,
            false,
        ),
        ("http://[::1]/", TargetErrorKind::ForbiddenAddress, false),
        (
            "http://[::ffff:127.0.0.1]/",
            TargetErrorKind::ForbiddenAddress,
            false,
        ),
        (
            "http://[::ffff:7f00:1]/",
            TargetErrorKind::ForbiddenAddress,
            false,
        ),
        (
            "http://[fe80::1]/",
            TargetErrorKind::ForbiddenAddress,
            false,
        ),
        (
            "http://[fd00:ec2::254]/",
            TargetErrorKind::ForbiddenAddress,
            false,
        ),
        (
            "http://localhost:8080/",
            TargetErrorKind::ForbiddenHost,
            false,
        ),
        (
            "http://metadata.google.internal/computeMetadata/v1/",
            TargetErrorKind::ForbiddenHost,
            false,
        ),
        ("http://metadata/", TargetErrorKind::ForbiddenHost, false),
    ];
    for (url, kind, always) in cases {
        let err = check_target_url(url, false).expect_err(url);
        assert_eq!(err.kind(), *kind, "{url}: {err}");
        assert_eq!(err.code(), "FORBIDDEN_NOTIFY_TARGET");
        assert!(!err.message().is_empty());
        assert_eq!(err.to_string(), err.message());
        assert_eq!(
            check_target_url(url, true).is_err(),
            *always,
            "{url} with allow"
        );
    }
    let exactly_1024 = format!("https://example.com/{}", "a".repeat(1004));
    assert_eq!(exactly_1024.len(), 1024);
    for ok in [
        "https://example.com/usdt_notify",
        "http://example.com:8080/n?a=1&b=2",
        "HTTPS://Shop.Example.COM/notify",
        "https://93.184.216.34/notify",
        "https://[2606:4700:4700::1111]/notify",
        exactly_1024.as_str(),
    ] {
        assert_eq!(check_target_url(ok, false), Ok(()), "{ok}");
    }
}

// ---------------------------------------------------------------------------------------
// Delivery-time refusals

#[tokio::test]
async fn loopback_literals_are_refused_and_the_receiver_gets_nothing() {
    let rx = TestReceiver::start().await;
    let port = rx.addr.port();
    let http = CallbackHttp::new(config(false)).unwrap();
    for url in [
        format!("http://127.0.0.1:{port}/usdt_notify"),
        format!("http://127.1:{port}/"),
        format!("http://2130706433:{port}/"),
        format!("http://0x7f.0.0.1:{port}/"),
        format!("http://[::ffff:127.0.0.1]:{port}/"),
        format!("http://0.0.0.0:{port}/"),
        format!("http://[::1]:{port}/"),
    ] {
        let attempt = http.deliver("m1", &url, "{}".into()).await;
        assert_eq!(attempt.outcome, Outcome::Refused, "{url}");
        assert_eq!(attempt.status, None);
        assert_eq!(attempt.latency, Duration::ZERO);
        assert!(attempt.error.unwrap().contains("forbidden range"), "{url}");
    }
    assert_eq!(rx.count(), 0);
}

#[tokio::test]
async fn localhost_is_refused() {
    let rx = TestReceiver::start().await;
    let http = CallbackHttp::new(config(false)).unwrap();
    let url = format!("http://localhost:{}/usdt_notify", rx.addr.port());
    let attempt = http.deliver("m1", &url, "{}".into()).await;
    assert_eq!(attempt.outcome, Outcome::Refused);
    assert_eq!(rx.count(), 0);
}

#[tokio::test]
async fn a_name_that_resolves_to_loopback_is_refused_by_the_resolver() {
    let rx = TestReceiver::start().await;
    let dns = FakeDns::with(&[
        ("callback.shop.test", &[v4("127.0.0.1")]),
        (
            "dual.shop.test",
            &[v6("::1"), v4("127.0.0.1"), v4("10.0.0.7")],
        ),
    ]);
    let http = CallbackHttp::builder(config(false))
        .lookup(dns.clone())
        .build()
        .unwrap();
    for host in ["callback.shop.test", "dual.shop.test"] {
        let url = format!("http://{host}:{}/usdt_notify", rx.addr.port());
        assert_eq!(
            check_target_url(&url, false),
            Ok(()),
            "the name passes the order check"
        );
        let attempt = http.deliver("m1", &url, "{}".into()).await;
        assert_eq!(attempt.outcome, Outcome::Refused, "{attempt:?}");
        let error = attempt.error.unwrap();
        assert!(error.contains("every address is forbidden"), "{error}");
        assert!(error.contains("127.0.0.1 is loopback"), "{error}");
    }
    assert_eq!(
        dns.lookups.load(Ordering::SeqCst),
        2,
        "the resolver was asked"
    );
    assert_eq!(rx.count(), 0);
}

#[tokio::test]
async fn the_same_name_is_delivered_when_private_targets_are_allowed() {
    let rx = TestReceiver::start().await;
    let dns = FakeDns::with(&[("callback.shop.test", &[v4("127.0.0.1")])]);
    let http = CallbackHttp::builder(config(true))
        .lookup(dns)
        .build()
        .unwrap();
    let url = format!("http://callback.shop.test:{}/usdt_notify", rx.addr.port());
    let attempt = http.deliver("m1", &url, "{}".into()).await;
    assert_eq!(attempt.outcome, Outcome::Delivered, "{attempt:?}");
    assert_eq!(rx.count(), 1);
    assert_eq!(
        rx.requests()[0].headers["host"],
        format!("callback.shop.test:{}", rx.addr.port())
    );
}

#[tokio::test]
async fn allow_private_targets_delivers_to_loopback() {
    let rx = TestReceiver::start().await;
    let http = CallbackHttp::new(config(true)).unwrap();
    for url in [
        rx.url("/usdt_notify"),
        format!("http://localhost:{}/usdt_notify", rx.addr.port()),
    ] {
        let attempt = http.deliver("m1", &url, "{}".into()).await;
        assert_eq!(attempt.outcome, Outcome::Delivered, "{url}: {attempt:?}");
    }
    assert_eq!(rx.count(), 2);
}

#[tokio::test]
async fn plainly_bad_urls_are_refused_at_delivery() {
    let http = CallbackHttp::new(config(true)).unwrap();
    // Credentials in the URL are the protocol's rule (the component's
    // `validate-notify-url`, applied to every order and every configured URL), not the
    // network's: they are not checked again here.
    for url in ["ftp://example.com/x", "nonsense", "http://example.com:0/"] {
        let attempt = http.deliver("m1", url, "{}".into()).await;
        assert_eq!(attempt.outcome, Outcome::Refused, "{url}");
    }
    let http = CallbackHttp::new(config(false)).unwrap();
    for url in [
        "http://169.254.169.254/latest/meta-data/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://[fd00:ec2::254]/",
    ] {
        let attempt = http.deliver("m1", url, "{}".into()).await;
        assert_eq!(attempt.outcome, Outcome::Refused, "{url}");
    }
}

#[tokio::test]
async fn the_system_resolver_path_refuses_localhost() {
    let guard = GuardedResolver::system(false);
    // Through reqwest's trait, as the connector calls it.
    let err = match guard.resolve(Name::from_str("localhost").unwrap()).await {
        Ok(_) => panic!("localhost must be refused"),
        Err(e) => e,
    };
    assert!(err.downcast_ref::<RefusedTarget>().is_some(), "{err}");

    let open = GuardedResolver::system(true);
    let ips: Vec<_> = match open.resolve(Name::from_str("localhost").unwrap()).await {
        Ok(addrs) => addrs.map(|sa| sa.ip()).collect(),
        Err(e) => panic!("{e}"),
    };
    assert!(ips.iter().all(|ip| ip.is_loopback()), "{ips:?}");
    assert!(!ips.is_empty());
}

#[tokio::test]
async fn the_resolver_keeps_only_permitted_addresses() {
    let dns = FakeDns::with(&[
        (
            "mixed.shop.test",
            &[
                v4("10.0.0.1"),
                v4("93.184.216.34"),
                v6("::1"),
                v6("::ffff:192.168.0.1"),
                v6("2606:2800:220:1::1"),
                v4("169.254.169.254"),
            ],
        ),
        ("empty.shop.test", &[]),
    ]);
    let guard = GuardedResolver::new(false, dns.clone());
    assert_eq!(
        guard.resolve_host("mixed.shop.test").await.unwrap(),
        [v4("93.184.216.34"), v6("2606:2800:220:1::1")]
    );
    let addrs: Vec<_> = match guard
        .resolve(Name::from_str("mixed.shop.test").unwrap())
        .await
    {
        Ok(addrs) => addrs.collect(),
        Err(e) => panic!("{e}"),
    };
    assert_eq!(addrs.len(), 2);
    assert!(addrs.iter().all(|sa| sa.port() == 0));

    // An empty answer or a failed lookup is a lookup error (retry later), not a refusal.
    assert!(matches!(
        guard.resolve_host("empty.shop.test").await,
        Err(ResolveError::Lookup(_))
    ));
    assert!(matches!(
        guard.resolve_host("nxdomain.shop.test").await,
        Err(ResolveError::Lookup(_))
    ));
    // A forbidden name is refused without asking DNS.
    let before = dns.lookups.load(Ordering::SeqCst);
    assert!(matches!(
        guard.resolve_host("metadata.google.internal").await,
        Err(ResolveError::Refused(_))
    ));
    assert_eq!(dns.lookups.load(Ordering::SeqCst), before);
}

#[tokio::test]
async fn every_resolution_is_checked_so_rebinding_gains_nothing() {
    let dns = FakeDns::with(&[("rebind.shop.test", &[v4("93.184.216.34")])]);
    let guard = GuardedResolver::new(false, dns.clone());
    assert!(guard.resolve_host("rebind.shop.test").await.is_ok());
    dns.set("rebind.shop.test", &[v4("127.0.0.1")]);
    assert!(matches!(
        guard.resolve_host("rebind.shop.test").await,
        Err(ResolveError::Refused(_))
    ));

    // End to end: a name that was fine at order time now points at the receiver on
    // loopback; the attempt is refused and nothing reaches it.
    let rx = TestReceiver::start().await;
    let http = CallbackHttp::builder(config(false))
        .lookup(dns)
        .build()
        .unwrap();
    let url = format!("http://rebind.shop.test:{}/usdt_notify", rx.addr.port());
    let attempt = http.deliver("m1", &url, "{}".into()).await;
    assert_eq!(attempt.outcome, Outcome::Refused);
    assert_eq!(rx.count(), 0);
}

#[tokio::test]
async fn a_failed_lookup_is_a_retryable_failure() {
    let dns = FakeDns::with(&[]);
    let http = CallbackHttp::builder(config(false))
        .lookup(dns)
        .build()
        .unwrap();
    let attempt = http
        .deliver("m1", "http://gone.shop.test/usdt_notify", "{}".into())
        .await;
    assert_eq!(attempt.outcome, Outcome::Failed, "{attempt:?}");
    assert!(attempt.error.unwrap().contains("no such name"));
}
