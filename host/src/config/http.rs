//! `[http]`: connection limits, timeouts, the public pages' rate and the shutdown drain.

use std::time::Duration;

use serde::Deserialize;

use super::ConfigError;

/// `[http]`: what one connection may hold, how many may be open, how long shutdown waits.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Time a connection has to send a complete request head, from when it opens (and,
    /// on HTTP/1.1, from the end of the previous response).
    #[serde(with = "humantime_serde")]
    pub header_read_timeout: Duration,
    /// A connection with no request in flight for this long is closed.
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Duration,
    /// Most connections open at once. At the cap a connection that has waited only on its
    /// client for `reclaim_after` is closed to make room; when none has, new ones wait in
    /// the listen backlog.
    pub max_connections: usize,
    /// Once half of `max_connections` are open, most connections one client address (an
    /// IPv6 /64) may hold; beyond it a new one is closed at once. Trusted proxies are
    /// exempt. 0: no limit.
    pub max_connections_per_client: usize,
    /// Time a ready response has to be written whole; a client that does not read it
    /// (HTTP/2 window at zero, full TCP window, slow reader) loses its connection.
    #[serde(with = "humantime_serde")]
    pub write_timeout: Duration,
    /// At the connection cap, a connection idle, silent or stalled on its client for this
    /// long may be closed to make room for a new one.
    #[serde(with = "humantime_serde")]
    pub reclaim_after: Duration,
    /// Requests per second one client may make to the public pages (checkout page, its
    /// status, the front door, assets), with `public_burst` at once; beyond: 429.
    pub public_rate: u32,
    /// The burst of `public_rate`.
    pub public_burst: u32,
    /// Public page requests handled at once, all clients together; beyond: 503.
    pub public_max_in_flight: usize,
    /// On shutdown, longest wait for in-flight requests before their connections close.
    #[serde(with = "humantime_serde")]
    pub drain_timeout: Duration,
    /// Reverse proxies whose `X-Forwarded-For` names the client (networks, e.g.
    /// `127.0.0.1/32`); empty: the peer address is the client, the header is ignored.
    #[serde(default)]
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

/// Largest `http.max_connections`.
const MAX_CONNECTIONS: usize = 1 << 20;

impl HttpConfig {
    /// Timeouts above zero (but the drain), the connection cap in range, the public
    /// pages' limits above zero.
    pub(super) fn check(&self) -> Result<(), ConfigError> {
        for (key, timeout) in [
            ("http.header_read_timeout", self.header_read_timeout),
            ("http.idle_timeout", self.idle_timeout),
            ("http.write_timeout", self.write_timeout),
        ] {
            if timeout.is_zero() {
                return Err(ConfigError::key(key, "must be above zero"));
            }
        }
        if !(1..=MAX_CONNECTIONS).contains(&self.max_connections) {
            return Err(ConfigError::key(
                "http.max_connections",
                format_args!("must be 1..={MAX_CONNECTIONS}"),
            ));
        }
        if self.public_rate == 0 || self.public_burst == 0 {
            return Err(ConfigError::key(
                "http.public_rate",
                "public_rate and public_burst must be above zero",
            ));
        }
        if self.public_max_in_flight == 0 {
            return Err(ConfigError::key(
                "http.public_max_in_flight",
                "must be above zero",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::test_support::{defaults, load};

    #[test]
    fn http_limits_and_the_write_queue_have_safe_defaults_and_are_checked() {
        let config = defaults();
        assert_eq!(config.http.header_read_timeout, Duration::from_secs(10));
        assert_eq!(config.http.idle_timeout, Duration::from_secs(60));
        assert_eq!(config.http.max_connections, 1024);
        assert_eq!(config.http.drain_timeout, Duration::from_secs(10));
        assert_eq!(config.orders.write_queue, 8192);

        for (toml, key) in [
            (
                "[http]\nheader_read_timeout = \"0s\"\n",
                "http.header_read_timeout",
            ),
            ("[http]\nidle_timeout = \"0s\"\n", "http.idle_timeout"),
            ("[http]\nmax_connections = 0\n", "http.max_connections"),
            ("[http]\nmax_connections = -1\n", "http.max_connections"),
            ("[http]\ndrain_timeout = \"soon\"\n", "http.drain_timeout"),
            ("[http]\nlimit = 1\n", "limit"),
            ("[orders]\nwrite_queue = 0\n", "orders.write_queue"),
            ("[orders]\nwrite_queue = 99999999\n", "orders.write_queue"),
        ] {
            let err = load(&format!(
                "{toml}[[merchants]]\nappid = \"m\"\nsecret = \"s\"\n"
            ))
            .unwrap_err()
            .to_string();
            assert!(err.contains(key), "{toml}: {err}");
        }
        let config = load(
            "[http]\ndrain_timeout = \"0s\"\nmax_connections = 3\n\
             [orders]\nwrite_queue = 1\n[[merchants]]\nappid = \"m\"\nsecret = \"s\"\n",
        )
        .unwrap();
        assert!(config.http.drain_timeout.is_zero(), "no drain is allowed");
        assert_eq!(config.http.max_connections, 3);
        assert_eq!(config.orders.write_queue, 1);
    }
}
