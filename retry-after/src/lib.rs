//! The `Retry-After` header (RFC 9110, section 10.2.3): how long a server asks a client
//! to wait, given as delay-seconds (`120`) or as an HTTP date. The one parser of the
//! workspace: the callback deliveries (`usdt-callback-http`) and the chain clients'
//! JSON-RPC transport (`usdt-jsonrpc`) both read the header with it. The HTTP-date forms
//! are parsed by the `httpdate` crate.

use std::time::{Duration, SystemTime};

/// The wait a `Retry-After` value asks for, relative to `now`: delay-seconds (`120`) or
/// an HTTP date (`Fri, 31 Dec 1999 23:59:59 GMT`, and the two obsolete date forms).
/// Surrounding spaces and tabs are ignored; a date in the past is no wait; an absurdly
/// long digit string saturates. Anything else (a sign, a fraction, a unit, a bad date)
/// gives `None`.
pub fn parse(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim_matches([' ', '\t']);
    if is_delay_seconds(value) {
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// `delay-seconds = 1*DIGIT`: digits only, no sign.
fn is_delay_seconds(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    /// 1999-12-31T23:59:59Z, the date of RFC 9110's `Retry-After` example.
    const RFC_9110_RETRY_DATE: u64 = 946_684_799;
    /// 1994-11-06T08:49:37Z, the date of RFC 9110's HTTP-date examples (section 5.6.7).
    const RFC_9110_HTTP_DATE: u64 = 784_111_777;

    #[test]
    fn rfc_9110_retry_after_examples() {
        let now = at(RFC_9110_RETRY_DATE - 3_600);
        assert_eq!(
            parse("Fri, 31 Dec 1999 23:59:59 GMT", now),
            Some(Duration::from_secs(3_600))
        );
        assert_eq!(parse("120", now), Some(Duration::from_secs(120)));
    }

    #[test]
    fn rfc_9110_http_date_forms() {
        let now = at(RFC_9110_HTTP_DATE - 90);
        for form in [
            "Sun, 06 Nov 1994 08:49:37 GMT",  // IMF-fixdate
            "Sunday, 06-Nov-94 08:49:37 GMT", // obsolete RFC 850 format
            "Sun Nov  6 08:49:37 1994",       // ANSI C's asctime() format
        ] {
            assert_eq!(parse(form, now), Some(Duration::from_secs(90)), "{form}");
        }
    }

    #[test]
    fn a_past_date_is_no_wait() {
        assert_eq!(
            parse("Sun, 06 Nov 1994 08:49:37 GMT", at(RFC_9110_HTTP_DATE + 5)),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn delay_seconds() {
        let now = at(0);
        assert_eq!(parse(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(parse("\t7\t", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse("99999999999999999999999", now),
            Some(Duration::from_secs(u64::MAX))
        );
    }

    #[test]
    fn anything_else_is_none() {
        let now = at(0);
        for bad in [
            "",
            " ",
            "-5",
            "1.5",
            "+3",
            "soon",
            "12 s",
            "Wed, 32 Oct 2015 07:28:00 GMT",
        ] {
            assert_eq!(parse(bad, now), None, "{bad:?}");
        }
    }
}
