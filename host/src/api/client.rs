//! Who sent a request: the connection's peer, or — when that peer is one of the
//! configured reverse proxies (`http.trusted_proxies`) — the client the proxies named in
//! `X-Forwarded-For`. Per-client limits key on [`ClientIp::key`], which treats an IPv6
//! /64 (what one subscriber usually holds) as one client.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;

use super::AppState;

/// The request's client address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClientIp(pub IpAddr);

impl ClientIp {
    /// The key a connection from `peer` counts under in per-client limits, or `None`
    /// when `peer` is a trusted proxy (its connections carry many clients).
    pub fn connection_key(peer: IpAddr, trusted: &[IpNet]) -> Option<IpAddr> {
        let peer = canonical(peer);
        (!is_trusted(peer, trusted)).then(|| Self(peer).key())
    }

    /// The client as given by the connection's `peer` and the request's headers:
    /// `X-Forwarded-For` is read right to left, past every trusted proxy, and only when
    /// the peer itself is trusted.
    pub fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> Self {
        let peer = canonical(peer);
        if !is_trusted(peer, trusted) {
            return Self(peer);
        }
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        let mut client = peer;
        for hop in forwarded.iter().rev() {
            let Ok(ip) = hop.parse::<IpAddr>().map(canonical) else {
                // A hop nobody trusted wrote: stop at the last address a proxy vouched for.
                break;
            };
            client = ip;
            if !is_trusted(ip, trusted) {
                break;
            }
        }
        Self(client)
    }

    /// The key per-client limits count under: the IPv4 address, or the /64 network of
    /// an IPv6 address.
    pub fn key(self) -> IpAddr {
        match self.0 {
            IpAddr::V4(v4) => IpAddr::V4(v4),
            IpAddr::V6(v6) => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(bits))
            }
        }
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`, from a dual-stack socket) as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

fn is_trusted(ip: IpAddr, trusted: &[IpNet]) -> bool {
    trusted.iter().any(|net| net.contains(&ip))
}

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // The server puts the peer in every request; a router driven without it (a test's
        // `oneshot`) is one client at 0.0.0.0.
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
        Ok(Self::resolve(peer, &parts.headers, &state.trusted_proxies))
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client_whatever_the_header_says() {
        let c = ClientIp::resolve(ip("203.0.113.7"), &headers(&["198.51.100.1"]), &[]);
        assert_eq!(c.0, ip("203.0.113.7"));
    }

    #[test]
    fn behind_trusted_proxies_the_right_most_untrusted_hop_is_the_client() {
        let trusted: Vec<IpNet> = vec![
            "10.0.0.0/8".parse().unwrap(),
            "127.0.0.1/32".parse().unwrap(),
        ];
        // A client that forged a first hop: the proxy appended the real one.
        let h = headers(&["1.2.3.4, 198.51.100.9", "10.1.2.3"]);
        assert_eq!(
            ClientIp::resolve(ip("127.0.0.1"), &h, &trusted).0,
            ip("198.51.100.9")
        );
        // No header from a trusted peer: the peer.
        assert_eq!(
            ClientIp::resolve(ip("10.0.0.5"), &HeaderMap::new(), &trusted).0,
            ip("10.0.0.5")
        );
        // Garbage before the proxy's hop: the last address a proxy vouched for.
        let h = headers(&["not-an-ip, 10.9.9.9"]);
        assert_eq!(
            ClientIp::resolve(ip("127.0.0.1"), &h, &trusted).0,
            ip("10.9.9.9")
        );
        // An untrusted peer's header is ignored.
        let h = headers(&["198.51.100.9"]);
        assert_eq!(
            ClientIp::resolve(ip("192.0.2.1"), &h, &trusted).0,
            ip("192.0.2.1")
        );
    }

    #[test]
    fn a_trusted_proxys_connections_count_against_nobody() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        assert_eq!(ClientIp::connection_key(ip("10.1.2.3"), &trusted), None);
        assert_eq!(
            ClientIp::connection_key(ip("::ffff:192.0.2.1"), &trusted),
            Some(ip("192.0.2.1"))
        );
        assert_eq!(
            ClientIp::connection_key(ip("2001:db8:1:2::7"), &trusted),
            Some(ip("2001:db8:1:2::"))
        );
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64_and_mapped_ipv4_is_ipv4() {
        let a = ClientIp::resolve(ip("2001:db8:1:2:aaaa::1"), &HeaderMap::new(), &[]);
        let b = ClientIp::resolve(ip("2001:db8:1:2:bbbb::9"), &HeaderMap::new(), &[]);
        assert_eq!(a.key(), b.key());
        assert_eq!(a.key(), ip("2001:db8:1:2::"));
        let mapped = ClientIp::resolve(ip("::ffff:192.0.2.1"), &HeaderMap::new(), &[]);
        assert_eq!(mapped.0, ip("192.0.2.1"));
    }
}
