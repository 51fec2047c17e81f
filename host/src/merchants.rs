//! The merchant directory: who may place orders, with which secrets, and where their
//! callbacks go. It is replaced whole while the gateway runs (SIGHUP or
//! `POST /admin/merchants/reload`): a request or a callback attempt in flight keeps the
//! snapshot it started with, the next one sees the new list.
//!
//! A merchant may carry a `next_secret` during a rotation: orders and queries signed
//! with either secret pass (the component checks both), callbacks are signed with the
//! current one.
//!
//! It also keeps each merchant's address-allocation bucket (`addresses.rate` and
//! `burst`), in this process's memory: a reload that changes a merchant's limits starts
//! its bucket afresh, one that removes the merchant drops it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use governor::clock::Clock;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use crate::config::Merchant;
use crate::rules::{
    AcceptedOrder, AddressRequest, ConfirmationPolicy, OrderQuery, Rejection, Rules, RulesFault,
};
use usdt_gateway_core::address::AddressLimits;
use usdt_gateway_core::ports::AccountKeys;

/// Merchants by appid, as one immutable snapshot.
pub type MerchantTable = HashMap<String, Merchant>;

/// The current merchants, shared by the API and the dispatcher, and the component's
/// keyring (merchants and confirmation policy) kept in step with them.
#[derive(Debug)]
pub struct MerchantDirectory {
    current: RwLock<Arc<MerchantTable>>,
    rules: Arc<Rules>,
    policy: ConfirmationPolicy,
    /// Each merchant's allocation bucket, with the limits it was made for.
    buckets: Mutex<HashMap<String, (AddressLimits, Arc<DefaultDirectRateLimiter>)>>,
}

impl MerchantDirectory {
    /// A directory of `merchants`, loaded with `policy` into `rules`' keyring.
    pub fn new(rules: Arc<Rules>, policy: ConfirmationPolicy, merchants: Vec<Merchant>) -> Self {
        let directory = Self {
            current: RwLock::new(Arc::new(MerchantTable::new())),
            rules,
            policy,
            buckets: Mutex::new(HashMap::new()),
        };
        directory.replace(merchants);
        directory
    }

    /// The rules whose keyring this directory feeds.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// The merchants now: a snapshot that a reload does not change.
    pub fn snapshot(&self) -> Arc<MerchantTable> {
        match self.current.read() {
            Ok(table) => Arc::clone(&table),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Replace every merchant at once (keyring first, so no order is judged against a
    /// table the keyring does not have yet).
    pub fn replace(&self, merchants: Vec<Merchant>) {
        self.rules.set_keyring(
            merchants
                .iter()
                .map(|m| crate::rules::Merchant {
                    appid: m.appid.clone(),
                    secret: m.secret.expose().to_owned(),
                    next_secret: m.next_secret.as_ref().map(|s| s.expose().to_owned()),
                })
                .collect(),
            self.policy.clone(),
        );
        let table: MerchantTable = merchants
            .into_iter()
            .map(|m| (m.appid.clone(), m))
            .collect();
        self.lock_buckets().retain(|appid, (limits, _)| {
            table
                .get(appid)
                .is_some_and(|m| m.address_limits == *limits)
        });
        match self.current.write() {
            Ok(mut current) => *current = Arc::new(table),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(table),
        }
    }

    /// Take one new address allocation from `appid`'s bucket (`limits.rate` per second,
    /// up to `limits.burst` at once); `Err` with the time until the next one may go
    /// when the bucket is empty. Per process.
    pub fn take_allocation(&self, appid: &str, limits: AddressLimits) -> Result<(), Duration> {
        let bucket = {
            let mut buckets = self.lock_buckets();
            let entry = buckets
                .entry(appid.to_owned())
                .or_insert_with(|| (limits, Arc::new(bucket(limits))));
            if entry.0 != limits {
                *entry = (limits, Arc::new(bucket(limits)));
            }
            Arc::clone(&entry.1)
        };
        bucket
            .check()
            .map_err(|until| until.wait_time_from(bucket.clock().now()))
    }

    fn lock_buckets(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, (AddressLimits, Arc<DefaultDirectRateLimiter>)>>
    {
        self.buckets.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Accept an order body in one component call: parse, find the merchant, check the
    /// sign (current secret, then `next_secret`), and the confirmations it needs.
    pub fn accept_order(
        &self,
        body: &str,
    ) -> Result<Result<AcceptedOrder, Vec<Rejection>>, RulesFault> {
        self.rules.accept_order(body)
    }

    /// Check an order query in one component call: parse, find the merchant, check the
    /// sign (current secret, then `next_secret`).
    pub fn check_query(
        &self,
        body: &str,
    ) -> Result<Result<OrderQuery, Vec<Rejection>>, RulesFault> {
        self.rules.check_query(body)
    }

    /// Check an address request in one component call: parse, find the merchant, check
    /// the sign `md5(appid|username|chain|secret)` (current secret, then `next_secret`).
    pub fn check_address_request(
        &self,
        body: &str,
    ) -> Result<Result<AddressRequest, Vec<Rejection>>, RulesFault> {
        self.rules.check_address_request(body)
    }
}

/// A bucket of `limits.burst` allocations refilled at `limits.rate` per second (both at
/// least 1, checked with the configuration).
fn bucket(limits: AddressLimits) -> DefaultDirectRateLimiter {
    let one = std::num::NonZeroU32::MIN;
    let rate = std::num::NonZeroU32::new(limits.rate).unwrap_or(one);
    let burst = std::num::NonZeroU32::new(limits.burst).unwrap_or(one);
    RateLimiter::direct(Quota::per_second(rate).allow_burst(burst))
}

impl AccountKeys for MerchantDirectory {
    fn account_key(&self, appid: &str, chain: &str) -> Option<(String, AddressLimits)> {
        let merchants = self.snapshot();
        let merchant = merchants.get(appid)?;
        Some((merchant.xpubs.get(chain)?.clone(), merchant.address_limits))
    }

    fn take_allocation(&self, appid: &str, limits: AddressLimits) -> Result<(), Duration> {
        MerchantDirectory::take_allocation(self, appid, limits)
    }
}
