//! Who may use the admin API and the console: the admin token (reloadable: a new one
//! applies at the next request and ends every console session), the console's sessions,
//! and a budget of failed authentications per client shared by both doors.
//!
//! The budget is a leaky bucket per client key ([`super::client::ClientIp::key`]): at
//! most [`FAILURE_BURST`] failures at once, one more every [`FAILURE_REFILL`] (10 per
//! 15 minutes). Every attempt is charged before the token is compared and refunded when
//! it was right, so a client past its budget is refused without its token being looked
//! at, and concurrent guesses cannot overdraw it. A success refunds its own charge and
//! touches no other client. The table holds at most [`MAX_CLIENTS`] keys: clients whose
//! bucket has drained are dropped first, then the eighth nearest to draining (a client
//! locked out is the farthest from it, so rotating addresses cannot free it).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use subtle::ConstantTimeEq;

use super::audit;
use super::session::{Session, Sessions};
use crate::config::Secret;
pub use crate::config::secrets::{
    MAX_TOKEN_CHARS, MIN_TOKEN_BITS, MIN_TOKEN_CHARS, check_token_strength, estimated_bits,
};

/// Failed authentications a client may make in a row.
pub const FAILURE_BURST: u32 = 10;

/// How often a client's budget regains one failure.
pub const FAILURE_REFILL: Duration = Duration::from_secs(90);

/// Clients the failure table remembers at most.
pub const MAX_CLIENTS: usize = 10_000;

/// The answer to one authentication attempt.
#[derive(Debug)]
pub enum Verdict<T> {
    /// No admin token is configured: the admin API and the console are off.
    Off,
    /// The client is past its budget of failures; the token was not compared.
    Limited {
        /// Try again after this long.
        wait: Duration,
        /// Whether this is the first refusal since the client ran out (the one to
        /// audit: a line per refusal would let a client write the log at its rate).
        first: bool,
    },
    /// The token is wrong (charged to the client's budget).
    Wrong,
    /// The token is right.
    Granted(T),
}

/// The admin token, the console's sessions and the failure budgets.
#[derive(Debug)]
pub struct AdminAccess {
    token: RwLock<Option<Secret>>,
    failures: FailureLimiter,
    sessions: Sessions,
}

/// What replacing the admin token did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenChange {
    /// Whether the token differs from the one in use before.
    pub changed: bool,
    /// Console sessions ended because it changed.
    pub sessions_ended: usize,
}

impl AdminAccess {
    /// Access with `token` (`None`: the admin API and the console are off).
    pub fn new(token: Option<Secret>) -> Self {
        Self {
            token: RwLock::new(token),
            failures: FailureLimiter::default(),
            sessions: Sessions::default(),
        }
    }

    fn token(&self) -> std::sync::RwLockReadGuard<'_, Option<Secret>> {
        self.token.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether an admin token is configured.
    pub fn is_on(&self) -> bool {
        self.token().is_some()
    }

    /// The id of the token in use, for the audit log (empty when off).
    pub fn who(&self) -> String {
        self.token()
            .as_ref()
            .map_or_else(String::new, |t| audit::credential_id(t.expose()))
    }

    /// Check `given` for the client `client` (its [`super::client::ClientIp::key`]); on
    /// success the token's id for the audit log.
    pub fn authenticate(&self, client: IpAddr, given: &str) -> Verdict<String> {
        self.attempt(client, given, |_| audit::credential_id(given))
    }

    /// The console's login: `given` checked like [`AdminAccess::authenticate`], and a
    /// session started while the token cannot change (a token replaced at the same
    /// moment ends it with the others).
    pub(crate) fn login(&self, client: IpAddr, given: &str) -> Verdict<Session> {
        self.attempt(client, given, |sessions| sessions.start())
    }

    fn attempt<T>(
        &self,
        client: IpAddr,
        given: &str,
        grant: impl FnOnce(&Sessions) -> T,
    ) -> Verdict<T> {
        let token = self.token();
        let Some(token) = token.as_ref() else {
            return Verdict::Off;
        };
        // No credential at all guesses nothing: refused without touching the budget, so a
        // probe or a client that forgot its header locks nobody out.
        if given.is_empty() {
            return Verdict::Wrong;
        }
        let now = Instant::now();
        if let Err((wait, first)) = self.failures.charge(client, now) {
            return Verdict::Limited { wait, first };
        }
        if !bool::from(given.as_bytes().ct_eq(token.expose().as_bytes())) {
            return Verdict::Wrong;
        }
        self.failures.refund(client, now);
        Verdict::Granted(grant(&self.sessions))
    }

    /// Put `token` in place of the token in use; when it differs, every console session
    /// ends.
    pub fn replace_token(&self, token: Option<Secret>) -> TokenChange {
        let mut current = self.token.write().unwrap_or_else(|p| p.into_inner());
        if *current == token {
            return TokenChange {
                changed: false,
                sessions_ended: 0,
            };
        }
        *current = token;
        TokenChange {
            changed: true,
            sessions_ended: self.sessions.end_all(),
        }
    }

    /// End every console session ("log out everywhere"); how many there were.
    pub fn end_sessions(&self) -> usize {
        self.sessions.end_all()
    }

    /// The console's sessions.
    pub(crate) fn sessions(&self) -> &Sessions {
        &self.sessions
    }
}

/// One client's bucket.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    /// When all its failures will have drained.
    drained_at: Instant,
    /// Whether it was refused since it last had room.
    refused: bool,
}

/// Failed authentications per client key, bounded in memory.
#[derive(Debug, Default)]
struct FailureLimiter {
    clients: Mutex<HashMap<IpAddr, Bucket>>,
}

impl FailureLimiter {
    /// Charge one attempt to `client`, or refuse it with the time until one is allowed
    /// and whether it is the first refusal since the client had room.
    fn charge(&self, client: IpAddr, now: Instant) -> Result<(), (Duration, bool)> {
        let capacity = FAILURE_REFILL * FAILURE_BURST;
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        let drained_at = clients.get(&client).map_or(now, |b| b.drained_at).max(now);
        let after = drained_at + FAILURE_REFILL;
        let owed = after - now;
        if owed > capacity {
            let first = clients
                .get_mut(&client)
                .is_some_and(|b| !std::mem::replace(&mut b.refused, true));
            return Err((owed - capacity, first));
        }
        if !clients.contains_key(&client) && clients.len() >= MAX_CLIENTS {
            clients.retain(|_, b| b.drained_at > now);
            if clients.len() >= MAX_CLIENTS {
                // Still full: the eighth nearest to draining goes at once, so that a
                // stream of new clients costs one sort per MAX_CLIENTS / 8 of them.
                let mut by_drain: Vec<(Instant, IpAddr)> =
                    clients.iter().map(|(k, b)| (b.drained_at, *k)).collect();
                let cut = MAX_CLIENTS / 8;
                by_drain.select_nth_unstable(cut);
                for (_, key) in by_drain.iter().take(cut + 1) {
                    clients.remove(key);
                }
            }
        }
        clients.insert(
            client,
            Bucket {
                drained_at: after,
                refused: false,
            },
        );
        Ok(())
    }

    /// Give back the charge of an attempt that succeeded.
    fn refund(&self, client: IpAddr, now: Instant) {
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(bucket) = clients.get_mut(&client) {
            match bucket.drained_at.checked_sub(FAILURE_REFILL) {
                Some(earlier) if earlier > now => bucket.drained_at = earlier,
                _ => {
                    clients.remove(&client);
                }
            }
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.clients.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use rand::Rng;

    use super::*;

    fn hex(bytes: usize) -> String {
        let mut rng = rand::rng();
        hex::encode((0..bytes).map(|_| rng.random::<u8>()).collect::<Vec<u8>>())
    }

    fn ip(n: u32) -> IpAddr {
        IpAddr::from(n.to_be_bytes())
    }

    #[test]
    fn a_client_gets_its_burst_then_one_more_per_refill() {
        let limiter = FailureLimiter::default();
        let start = Instant::now();
        for _ in 0..FAILURE_BURST {
            limiter.charge(ip(1), start).unwrap();
        }
        assert_eq!(limiter.charge(ip(1), start), Err((FAILURE_REFILL, true)));
        assert_eq!(limiter.charge(ip(1), start), Err((FAILURE_REFILL, false)));
        // Another client is untouched.
        limiter.charge(ip(2), start).unwrap();
        // One refill later, exactly one more.
        let later = start + FAILURE_REFILL;
        limiter.charge(ip(1), later).unwrap();
        assert!(limiter.charge(ip(1), later).is_err());
        // A refund gives back one attempt, for that client only.
        limiter.refund(ip(1), later);
        limiter.charge(ip(1), later).unwrap();
        // Fully drained after the whole window: the whole burst again.
        let drained = later + FAILURE_REFILL * FAILURE_BURST;
        for _ in 0..FAILURE_BURST {
            limiter.charge(ip(1), drained).unwrap();
        }
        assert!(limiter.charge(ip(1), drained).is_err());
    }

    #[test]
    fn the_table_is_bounded_when_addresses_rotate() {
        let limiter = FailureLimiter::default();
        let now = Instant::now();
        let locked = ip(u32::MAX);
        for _ in 0..FAILURE_BURST {
            limiter.charge(locked, now).unwrap();
        }
        for n in 0..(MAX_CLIENTS as u32 * 3) {
            limiter.charge(ip(n), now).unwrap();
            assert!(limiter.len() <= MAX_CLIENTS, "{}", limiter.len());
        }
        // The client locked out stays locked out: the rotation evicted others.
        assert!(limiter.charge(locked, now).is_err());
    }

    /// A request without any credential guesses nothing: however many, it leaves the
    /// client's budget whole (the API contract test sends hundreds).
    #[test]
    fn requests_without_a_credential_use_no_budget() {
        let token = hex(32);
        let access = AdminAccess::new(Some(Secret::new(token.clone())));
        let client = ip(9);
        for _ in 0..1_000 {
            assert!(matches!(access.authenticate(client, ""), Verdict::Wrong));
        }
        assert!(matches!(
            access.authenticate(client, &token),
            Verdict::Granted(_)
        ));
        // A wrong token does use it.
        let limited = (0..100).any(|_| {
            matches!(
                access.authenticate(client, "wrong"),
                Verdict::Limited { .. }
            )
        });
        assert!(limited);
    }

    #[test]
    fn a_new_token_ends_every_session_and_the_old_one_stops_working() {
        let old = hex(32);
        let new = hex(32);
        let access = AdminAccess::new(Some(Secret::new(old.clone())));
        let client = ip(7);
        let Verdict::Granted(session) = access.login(client, &old) else {
            panic!("login refused");
        };
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(
            axum::http::header::COOKIE,
            format!("usdt_admin={}", session.id).parse().unwrap(),
        );
        assert!(access.sessions().find(&headers).is_some());
        let change = access.replace_token(Some(Secret::new(new.clone())));
        assert_eq!(
            change,
            TokenChange {
                changed: true,
                sessions_ended: 1
            }
        );
        assert!(access.sessions().find(&headers).is_none());
        assert!(matches!(access.authenticate(client, &old), Verdict::Wrong));
        assert!(matches!(
            access.authenticate(client, &new),
            Verdict::Granted(_)
        ));
        assert!(!access.replace_token(Some(Secret::new(new))).changed);
        access.replace_token(None);
        assert!(matches!(access.authenticate(client, &old), Verdict::Off));
    }
}
