//! The console's sessions: a random id in a cookie (`HttpOnly`, `SameSite=Strict`,
//! `Secure` when the request came over TLS), kept in this process's memory with a
//! random CSRF token that every form of the session carries back.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderValue, header};
use rand::Rng;
use subtle::ConstantTimeEq;

/// The session cookie's name.
pub(crate) const COOKIE: &str = "usdt_admin";

/// How long a session lasts after its login.
const LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// Sessions kept at most; the oldest goes when a login would pass this.
const MAX_SESSIONS: usize = 256;

/// A logged-in operator.
#[derive(Clone, Debug)]
pub(crate) struct Session {
    /// Its id (the cookie's value).
    pub id: String,
    /// The token every form posts back.
    pub csrf: String,
    expires: Instant,
}

impl Session {
    /// Whether `given` is this session's CSRF token (constant time).
    pub fn csrf_matches(&self, given: &str) -> bool {
        !given.is_empty() && bool::from(given.as_bytes().ct_eq(self.csrf.as_bytes()))
    }
}

/// Every live session of this process.
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    by_id: Mutex<HashMap<String, Session>>,
}

fn random_token() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Sessions {
    /// Start a session.
    pub fn start(&self) -> Session {
        let session = Session {
            id: random_token(),
            csrf: random_token(),
            expires: Instant::now() + LIFETIME,
        };
        let mut map = self.by_id.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        map.retain(|_, s| s.expires > now);
        if map.len() >= MAX_SESSIONS
            && let Some(oldest) = map.values().min_by_key(|s| s.expires).map(|s| s.id.clone())
        {
            map.remove(&oldest);
        }
        map.insert(session.id.clone(), session.clone());
        session
    }

    /// The live session whose id the request's cookie carries.
    pub fn find(&self, headers: &HeaderMap) -> Option<Session> {
        let id = cookie(headers, COOKIE)?;
        let map = self.by_id.lock().unwrap_or_else(|p| p.into_inner());
        map.get(id).filter(|s| s.expires > Instant::now()).cloned()
    }

    /// End a session.
    pub fn end(&self, id: &str) {
        let mut map = self.by_id.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(id);
    }

    /// End every session; how many were live.
    pub fn end_all(&self) -> usize {
        let mut map = self.by_id.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let live = map.values().filter(|s| s.expires > now).count();
        map.clear();
        live
    }
}

/// The value of cookie `name` in the request.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (key, value) = pair.trim().split_once('=')?;
            (key == name).then_some(value)
        })
}

/// Whether the request reached the gateway over TLS (through a proxy that says so).
fn over_tls(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// The `Set-Cookie` value that gives the browser `session`, or clears it (`None`).
pub(crate) fn set_cookie(headers: &HeaderMap, session: Option<&Session>) -> HeaderValue {
    let secure = if over_tls(headers) { "; Secure" } else { "" };
    let text = match session {
        Some(s) => format!(
            "{COOKIE}={}; Path=/admin/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
            s.id,
            LIFETIME.as_secs()
        ),
        None => format!("{COOKIE}=; Path=/admin/; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
    };
    // Hex ids and fixed text: always a valid header value.
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_found_by_its_cookie_and_checks_its_csrf_token() {
        let sessions = Sessions::default();
        let session = sessions.start();
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("other=1; {COOKIE}={}", session.id)).unwrap(),
        );
        let found = sessions.find(&headers).unwrap();
        assert!(found.csrf_matches(&session.csrf));
        assert!(!found.csrf_matches(""));
        assert!(!found.csrf_matches(&session.id));
        sessions.end(&session.id);
        assert!(sessions.find(&headers).is_none());
        let first = sessions.start();
        sessions.start();
        assert_eq!(sessions.end_all(), 2);
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("{COOKIE}={}", first.id)).unwrap(),
        );
        assert!(sessions.find(&headers).is_none());
    }

    #[test]
    fn the_cookie_is_http_only_strict_and_secure_over_tls() {
        let session = Sessions::default().start();
        let plain = set_cookie(&HeaderMap::new(), Some(&session));
        let plain = plain.to_str().unwrap();
        assert!(plain.contains("HttpOnly") && plain.contains("SameSite=Strict"));
        assert!(!plain.contains("Secure"));
        let mut tls = HeaderMap::new();
        tls.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        assert!(
            set_cookie(&tls, Some(&session))
                .to_str()
                .unwrap()
                .ends_with("; Secure")
        );
    }
}
