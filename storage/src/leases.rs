//! Leases on callback deliveries: a claim takes due deliveries for one attempt each — no
//! more than the claimer has free slots for — and holds them under a token until the
//! attempt is recorded; renewals keep the leases of attempts still under way.
//!
//! Lease times are the database's clock, never a replica's: every expiry is set and
//! compared by the same clock, so a replica whose clock runs ahead cannot take a live
//! lease. (`next_attempt_at`, the retry schedule, stays on the replicas' clocks: skew
//! there moves a retry, it cannot send one twice.)

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use super::{Backend, DueCallback, Store, StoreError, on_pool, on_tx};
use usdt_gateway_core::clock::millis;

/// Tokens renewed per statement, at most.
const RENEW_CHUNK: usize = 500;

/// What one claim may take: the claimer's free attempt slots.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClaimSlots {
    /// Deliveries claimed at most, all merchants together.
    pub total: i64,
    /// Attempts one merchant may have in flight.
    pub per_merchant: i64,
    /// Attempts the claimer already has in flight, by merchant (absent: none).
    pub busy: BTreeMap<String, i64>,
    /// Due deliveries looked at, oldest first (bounds the work of one claim).
    pub scan: i64,
}

impl Backend {
    /// SQL for the database's clock in Unix milliseconds, read when the statement runs.
    pub(super) fn clock_millis(self) -> &'static str {
        match self {
            Self::Postgres => "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT",
            Self::Sqlite => "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)",
        }
    }
}

/// Numbered parameters (`$1`, `$2` …; SQLite reads them as numbered too) for SQL built
/// from lists.
struct Params(usize);

impl Params {
    fn next(&mut self) -> String {
        self.0 += 1;
        format!("${}", self.0)
    }
}

impl Store {
    /// Claim deliveries due at `now` (this replica's clock, for the retry schedule) that
    /// no live lease holds, within `slots`: at most `slots.total`, and per merchant no
    /// more than `per_merchant` minus its busy slots, oldest first. Their leases go to
    /// `token` for `lease`, on the database's clock. On PostgreSQL rows another
    /// replica's claim has locked are skipped, and a row claimed meanwhile is checked
    /// again before it is taken; SQLite has one writer at a time.
    pub async fn claim_callbacks(
        &self,
        token: &str,
        now: i64,
        lease: Duration,
        slots: &ClaimSlots,
    ) -> Result<Vec<DueCallback>, StoreError> {
        if slots.total <= 0 {
            return Ok(Vec::new());
        }
        let (sql, busy) = self.claim_sql(slots);
        let mut tx = self.begin_write().await?;
        on_tx!(&mut tx, db => {
            let mut query = sqlx::query(&sql)
                .bind(token)
                .bind(millis(lease))
                .bind(now)
                .bind(slots.scan)
                .bind(slots.per_merchant)
                .bind(slots.total);
            for (appid, n) in &busy {
                query = query.bind(*appid).bind(*n);
            }
            query.execute(db).await?;
        });
        let claimed = on_tx!(&mut tx, db => sqlx::query_as(
            "SELECT c.ordersn, c.appid, o.orderid, o.localusermark, c.notify_url, c.amount, \
             c.attempts, c.lease_owner AS lease, \
             (SELECT COALESCE(MAX(a.attempt), 0) + 1 FROM callback_attempts a \
              WHERE a.ordersn = c.ordersn) AS next_number \
             FROM callbacks c JOIN orders o ON o.ordersn = c.ordersn \
             WHERE c.lease_owner = $1 ORDER BY c.next_attempt_at, c.ordersn",
        )
        .bind(token)
        .fetch_all(db)
        .await?);
        tx.commit().await?;
        Ok(claimed)
    }

    /// The claim statement and the busy merchants it binds after its six fixed
    /// parameters (token, lease, now, scan, per merchant, total).
    fn claim_sql<'a>(&self, slots: &'a ClaimSlots) -> (String, Vec<(&'a str, i64)>) {
        let clock = self.backend().clock_millis();
        let lock = match self.backend() {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let busy: Vec<(&str, i64)> = slots
            .busy
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(appid, n)| (appid.as_str(), *n))
            .collect();
        let mut params = Params(6);
        let mut full = Vec::new();
        let mut taken = String::new();
        for (_, n) in &busy {
            let (appid, count) = (params.next(), params.next());
            taken.push_str(&format!(" WHEN {appid} THEN {count}"));
            if *n >= slots.per_merchant {
                full.push(appid);
            }
        }
        let free = if taken.is_empty() {
            "$5".to_owned()
        } else {
            format!("$5 - CASE c.appid{taken} ELSE 0 END")
        };
        let skip_full = if full.is_empty() {
            String::new()
        } else {
            format!("AND appid NOT IN ({})", full.join(", "))
        };
        let unleased = format!("(lease_until IS NULL OR lease_until < {clock})");
        let sql = format!(
            "WITH candidates AS ( \
               SELECT ordersn, appid, next_attempt_at FROM callbacks \
               WHERE state = 'pending' AND next_attempt_at <= $3 AND {unleased} {skip_full} \
               ORDER BY next_attempt_at, ordersn LIMIT $4 {lock}), \
             ranked AS ( \
               SELECT c.ordersn, c.next_attempt_at, {free} AS free, \
               ROW_NUMBER() OVER (PARTITION BY c.appid ORDER BY c.next_attempt_at, c.ordersn) AS place \
               FROM candidates c) \
             UPDATE callbacks SET lease_owner = $1, lease_until = {clock} + $2 \
             WHERE ordersn IN (SELECT ordersn FROM ranked WHERE place <= free \
               ORDER BY next_attempt_at, ordersn LIMIT $6) \
             AND state = 'pending' AND {unleased}"
        );
        (sql, busy)
    }

    /// Extend the leases still held under `tokens` to `lease` from now (database clock);
    /// an expired lease is not revived. Returns the tokens that still hold a delivery.
    pub async fn renew_leases(
        &self,
        tokens: &[&str],
        lease: Duration,
    ) -> Result<HashSet<String>, StoreError> {
        let clock = self.backend().clock_millis();
        let mut held = HashSet::new();
        for chunk in tokens.chunks(RENEW_CHUNK) {
            let mut params = Params(1);
            let list: Vec<String> = chunk.iter().map(|_| params.next()).collect();
            let sql = format!(
                "UPDATE callbacks SET lease_until = {clock} + $1 \
                 WHERE lease_owner IN ({}) AND state = 'pending' AND lease_until >= {clock} \
                 RETURNING lease_owner",
                list.join(", ")
            );
            let tokens: Vec<String> = on_pool!(&self.pool, db => {
                let mut query = sqlx::query_scalar(&sql).bind(millis(lease));
                for token in chunk {
                    query = query.bind(*token);
                }
                query.fetch_all(db).await?
            });
            held.extend(tokens);
        }
        Ok(held)
    }
}
