//! The network policy for callback targets: which URLs, host names and addresses the
//! gateway may contact (SSRF guard).
//!
//! The form of a `notify_url` (at most 1024 characters, http(s), no credentials, …) is
//! the protocol's rule and the component's to judge (`validate-notify-url`, and
//! `parse-order` for an order's URL); the gateway checks every URL there before it
//! reaches this crate. What is left here is about the network: the schemes this
//! transport speaks, the port, and which hosts and addresses may be contacted.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{Ipv4Net, Ipv6Net};
use reqwest::Url;

/// Why an address may not be contacted: the forbidden range it falls in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ForbiddenRange {
    /// The range, e.g. `loopback (127.0.0.0/8)`.
    pub range: &'static str,
    /// For an IPv6 form that embeds an IPv4 address (IPv4-mapped, NAT64, 6to4): that form;
    /// `range` is then the embedded IPv4 address's range.
    pub via: Option<&'static str>,
}

impl fmt::Display for ForbiddenRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.via {
            Some(via) => write!(f, "{} via {}", self.range, via),
            None => f.write_str(self.range),
        }
    }
}

/// IPv4 ranges that std (stable) has no method for. `is_unspecified`, `is_loopback`,
/// `is_private`, `is_link_local`, `is_broadcast`, `is_documentation` and `is_multicast`
/// cover the rest.
const V4_TABLE: &[(Ipv4Net, &str)] = &[
    (
        Ipv4Net::new_assert(Ipv4Addr::new(0, 0, 0, 0), 8),
        "\"this network\" (0.0.0.0/8)",
    ),
    (
        Ipv4Net::new_assert(Ipv4Addr::new(100, 64, 0, 0), 10),
        "shared address space / CGNAT (100.64.0.0/10)",
    ),
    (
        Ipv4Net::new_assert(Ipv4Addr::new(192, 0, 0, 0), 24),
        "IETF protocol assignments (192.0.0.0/24)",
    ),
    (
        Ipv4Net::new_assert(Ipv4Addr::new(192, 88, 99, 0), 24),
        "6to4 relay anycast (192.88.99.0/24)",
    ),
    (
        Ipv4Net::new_assert(Ipv4Addr::new(198, 18, 0, 0), 15),
        "benchmarking (198.18.0.0/15)",
    ),
    (
        Ipv4Net::new_assert(Ipv4Addr::new(240, 0, 0, 0), 4),
        "reserved (240.0.0.0/4)",
    ),
];

/// IPv6 ranges forbidden outright that std (stable) has no method for. `is_unspecified`,
/// `is_loopback`, `is_multicast`, `is_unique_local` and `is_unicast_link_local` cover the
/// rest; IPv4-mapped, NAT64 and 6to4 forms are judged by the IPv4 address they embed.
const V6_TABLE: &[(Ipv6Net, &str)] = &[
    (
        Ipv6Net::new_assert(Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 0), 96),
        "IPv4-compatible IPv6, deprecated (::/96)",
    ),
    (
        Ipv6Net::new_assert(Ipv6Addr::new(0x64, 0xff9b, 1, 0, 0, 0, 0, 0), 48),
        "local-use NAT64 (64:ff9b:1::/48)",
    ),
    (
        Ipv6Net::new_assert(Ipv6Addr::new(0x100, 0, 0, 0, 0, 0, 0, 0), 64),
        "discard-only (100::/64)",
    ),
    (
        Ipv6Net::new_assert(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32),
        "documentation (2001:db8::/32)",
    ),
    (
        Ipv6Net::new_assert(Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0), 23),
        "IETF protocol assignments incl. Teredo and benchmarking (2001::/23)",
    ),
    (
        Ipv6Net::new_assert(Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0), 20),
        "documentation (3fff::/20)",
    ),
    (
        Ipv6Net::new_assert(Ipv6Addr::new(0x5f00, 0, 0, 0, 0, 0, 0, 0), 16),
        "SRv6 SIDs (5f00::/16)",
    ),
    (
        Ipv6Net::new_assert(Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0), 10),
        "site-local, deprecated (fec0::/10)",
    ),
];

const NAT64_WKP: Ipv6Net = Ipv6Net::new_assert(Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0), 96);
const SIX_TO_FOUR: Ipv6Net = Ipv6Net::new_assert(Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0), 16);
const GLOBAL_UNICAST: Ipv6Net = Ipv6Net::new_assert(Ipv6Addr::new(0x2000, 0, 0, 0, 0, 0, 0, 0), 3);

/// The forbidden range `ip` falls in, or `None` when the gateway may contact it.
///
/// IPv4: unspecified and "this network" 0/8, loopback 127/8, private 10/8, 172.16/12,
/// 192.168/16, CGNAT 100.64/10, link-local 169.254/16 (cloud metadata), IETF 192.0.0/24,
/// documentation 192.0.2/24, 198.51.100/24, 203.0.113/24, 6to4 relay 192.88.99/24,
/// benchmarking 198.18/15, multicast 224/4, reserved 240/4 and broadcast.
///
/// IPv6: only global unicast 2000::/3 is allowed, minus documentation, IETF/Teredo,
/// SRv6; IPv4-mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::a.b.c.d` and 6to4 `2002:AABB:CCDD::`
/// are judged by the IPv4 address they carry; unspecified, loopback, IPv4-compatible,
/// link-local, site-local, unique-local, multicast, discard are forbidden.
pub fn forbidden_range(ip: IpAddr) -> Option<ForbiddenRange> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4).map(|range| ForbiddenRange { range, via: None }),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

/// Shorthand for `forbidden_range(ip).is_some()`.
pub fn is_forbidden_ip(ip: IpAddr) -> bool {
    forbidden_range(ip).is_some()
}

/// A range test from std.
type V4Check = fn(&Ipv4Addr) -> bool;

/// The IPv4 ranges std (stable) has a method for.
const V4_STD: &[(V4Check, &str)] = &[
    (Ipv4Addr::is_unspecified, "unspecified (0.0.0.0)"),
    (Ipv4Addr::is_loopback, "loopback (127.0.0.0/8)"),
    (
        Ipv4Addr::is_private,
        "private (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16)",
    ),
    (
        Ipv4Addr::is_link_local,
        "link-local incl. cloud metadata (169.254.0.0/16)",
    ),
    (Ipv4Addr::is_broadcast, "broadcast (255.255.255.255)"),
    (
        Ipv4Addr::is_documentation,
        "documentation (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24)",
    ),
    (Ipv4Addr::is_multicast, "multicast (224.0.0.0/4)"),
];

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    V4_STD
        .iter()
        .find(|(check, _)| check(&ip))
        .map(|(_, name)| *name)
        .or_else(|| {
            V4_TABLE
                .iter()
                .find(|(net, _)| net.contains(&ip))
                .map(|(_, name)| *name)
        })
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<ForbiddenRange> {
    let direct = |range| Some(ForbiddenRange { range, via: None });
    if let Some(v4) = ip.to_ipv4_mapped() {
        return forbidden_v4(v4).map(|range| ForbiddenRange {
            range,
            via: Some("IPv4-mapped IPv6 (::ffff:0:0/96)"),
        });
    }
    if ip.is_unspecified() {
        return direct("unspecified (::)");
    }
    if ip.is_loopback() {
        return direct("loopback (::1)");
    }
    if ip.is_multicast() {
        return direct("multicast (ff00::/8)");
    }
    if ip.is_unique_local() {
        return direct("unique-local (fc00::/7)");
    }
    if ip.is_unicast_link_local() {
        return direct("link-local (fe80::/10)");
    }
    if NAT64_WKP.contains(&ip) {
        let [.., a, b, c, d] = ip.octets();
        return forbidden_v4(Ipv4Addr::new(a, b, c, d)).map(|range| ForbiddenRange {
            range,
            via: Some("NAT64 (64:ff9b::/96)"),
        });
    }
    if SIX_TO_FOUR.contains(&ip) {
        let [_, _, a, b, c, d, ..] = ip.octets();
        return forbidden_v4(Ipv4Addr::new(a, b, c, d)).map(|range| ForbiddenRange {
            range,
            via: Some("6to4 (2002::/16)"),
        });
    }
    if let Some((_, range)) = V6_TABLE.iter().find(|(net, _)| net.contains(&ip)) {
        return direct(range);
    }
    if !GLOBAL_UNICAST.contains(&ip) {
        return direct("not global unicast (outside 2000::/3)");
    }
    None
}

/// Host names refused (unless private targets are allowed), after lower-casing and removing
/// one trailing dot: names without a dot (`localhost`, `metadata`, `instance-data`, and
/// anything a resolver search list could expand to an internal host), and these names and
/// every name under them.
pub const FORBIDDEN_HOST_SUFFIXES: &[&str] = &[
    "localhost",                    // RFC 6761
    "internal",      // ICANN private-use TLD: metadata.google.internal, *.ec2.internal
    "local",         // mDNS
    "home.arpa",     // RFC 8375
    "metadata.goog", // GCP metadata alias
    "metadata.platformequinix.com", // Equinix Metal metadata (a public address)
];

/// Why `host` (a DNS name, not an IP literal) may not be contacted, or `None`.
pub fn forbidden_host(host: &str) -> Option<String> {
    let lower = host.to_ascii_lowercase();
    let name = lower.strip_suffix('.').unwrap_or(&lower);
    if name.is_empty() {
        return Some("empty host name".to_owned());
    }
    if !name.contains('.') {
        return Some(format!(
            "host name {name:?} has no dot (local or search-list name)"
        ));
    }
    FORBIDDEN_HOST_SUFFIXES
        .iter()
        .find(|suffix| {
            name == **suffix
                || name
                    .strip_suffix(**suffix)
                    .is_some_and(|rest| rest.ends_with('.'))
        })
        .map(|suffix| format!("host name {name:?} is under the internal name {suffix:?}"))
}

/// What is wrong with a callback target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TargetErrorKind {
    /// Not a parseable absolute URL.
    InvalidUrl,
    /// Scheme other than `http` or `https` (this transport speaks nothing else).
    Scheme,
    /// Port 0.
    Port,
    /// An IP literal in a forbidden range.
    ForbiddenAddress,
    /// A host name on the forbidden list.
    ForbiddenHost,
}

/// A `notify_url` the gateway refuses to contact.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TargetError {
    kind: TargetErrorKind,
    message: String,
}

impl TargetError {
    fn new(kind: TargetErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// The stable error code: always `FORBIDDEN_NOTIFY_TARGET`.
    pub fn code(&self) -> &'static str {
        "FORBIDDEN_NOTIFY_TARGET"
    }

    /// What is wrong, for programs.
    pub fn kind(&self) -> TargetErrorKind {
        self.kind
    }

    /// What is wrong, in English (not a stable contract).
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// The host's network policy for a `notify_url` (whose form the component has already
/// judged), checked when an order is accepted and again before every attempt:
/// `http`/`https` only, no port 0, and — unless `allow_private_targets` — no IP literal
/// in a [forbidden range](forbidden_range) and no [forbidden host name](forbidden_host).
///
/// Names that resolve to forbidden addresses cannot be caught here (DNS may change); the
/// transport's resolver refuses them at connection time.
pub fn check_target_url(url: &str, allow_private_targets: bool) -> Result<(), TargetError> {
    let parsed = Url::parse(url).map_err(|e| {
        TargetError::new(
            TargetErrorKind::InvalidUrl,
            format!("notify_url is not a valid absolute URL: {e}"),
        )
    })?;
    check_target(&parsed, allow_private_targets)
}

/// [`check_target_url`] on a parsed URL.
pub(crate) fn check_target(url: &Url, allow_private_targets: bool) -> Result<(), TargetError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(TargetError::new(
            TargetErrorKind::Scheme,
            format!("notify_url scheme {:?} is not http or https", url.scheme()),
        ));
    }
    if url.port() == Some(0) {
        return Err(TargetError::new(
            TargetErrorKind::Port,
            "notify_url has port 0",
        ));
    }
    let host = url
        .host()
        .ok_or_else(|| TargetError::new(TargetErrorKind::InvalidUrl, "notify_url has no host"))?;
    if allow_private_targets {
        return Ok(());
    }
    match host {
        url::Host::Ipv4(v4) => check_ip(IpAddr::V4(v4)),
        url::Host::Ipv6(v6) => check_ip(IpAddr::V6(v6)),
        url::Host::Domain(name) => match forbidden_host(name) {
            Some(why) => Err(TargetError::new(TargetErrorKind::ForbiddenHost, why)),
            None => Ok(()),
        },
    }
}

fn check_ip(ip: IpAddr) -> Result<(), TargetError> {
    match forbidden_range(ip) {
        Some(range) => Err(TargetError::new(
            TargetErrorKind::ForbiddenAddress,
            format!("address {ip} is in a forbidden range: {range}"),
        )),
        None => Ok(()),
    }
}
