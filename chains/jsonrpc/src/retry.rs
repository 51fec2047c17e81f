//! When to ask again: the backoff between retries of one endpoint, the `Retry-After` an
//! endpoint asks for, and a suspension it announces in its error text.

use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, RETRY_AFTER};

/// Retries of one endpoint after a rate limit or overload, with exponential backoff and
/// jitter.
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    /// Retries of one endpoint before the next one.
    pub max_retries: u32,
    /// The first delay's ceiling.
    pub initial: Duration,
    /// The largest delay, and the longest `Retry-After` waited out (a longer one fails
    /// over at once).
    pub max: Duration,
}

impl Backoff {
    /// Exponential backoff with jitter: uniform in `[d/2, d]`, `d = min(max, initial·2^attempt)`.
    pub fn delay(&self, attempt: u32) -> Duration {
        let full = self
            .initial
            .saturating_mul(1u32 << attempt.min(20))
            .min(self.max);
        let half = full / 2;
        let spread = u64::try_from((full - half).as_nanos()).unwrap_or(u64::MAX);
        half + Duration::from_nanos(fastrand::u64(0..=spread))
    }
}

/// The wait an answer's `Retry-After` header asks for, from now (`usdt_retry_after`).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    usdt_retry_after::parse(value, SystemTime::now())
}

/// A suspension announced in a provider's error text: TronGrid answers a key over its
/// rate with `The key exceeds the frequency limit(15), and the query server is suspended
/// for 30s` (developers.tron.network/reference/rate-limits).
pub(crate) fn suspension(text: &str) -> Option<Duration> {
    let lower = text.to_ascii_lowercase();
    let at = lower.find("suspended for ")?;
    let rest = lower.get(at + "suspended for ".len()..)?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let unit = rest.get(digits.len()..)?;
    let n: u64 = digits.parse().ok()?;
    if unit.starts_with('s') {
        Some(Duration::from_secs(n))
    } else if unit.starts_with("min") || unit.starts_with('m') {
        Some(Duration::from_secs(n.saturating_mul(60)))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_forms() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));
        let later = SystemTime::now() + Duration::from_secs(120);
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_str(&httpdate::fmt_http_date(later)).unwrap(),
        );
        let got = retry_after(&headers).unwrap();
        assert!(
            got > Duration::from_secs(100) && got <= Duration::from_secs(120),
            "{got:?}"
        );
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&headers), Some(Duration::ZERO));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn announced_suspensions() {
        assert_eq!(
            suspension(
                r#"{"Error":"The key exceeds the frequency limit(15), and the query server is suspended for 30s"}"#
            ),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            suspension("suspended for 2min"),
            Some(Duration::from_secs(120))
        );
        assert_eq!(suspension("suspended for a while"), None);
        assert_eq!(suspension("HTTP 403 Forbidden"), None);
    }

    #[test]
    fn backoff_grows_with_jitter() {
        let b = Backoff {
            max_retries: 5,
            initial: Duration::from_millis(100),
            max: Duration::from_secs(1),
        };
        for _ in 0..100 {
            let d0 = b.delay(0);
            assert!(d0 >= Duration::from_millis(50) && d0 <= Duration::from_millis(100));
            let d3 = b.delay(3);
            assert!(d3 >= Duration::from_millis(400) && d3 <= Duration::from_millis(800));
            let d30 = b.delay(30);
            assert!(d30 >= Duration::from_millis(500) && d30 <= Duration::from_secs(1));
        }
    }
}
