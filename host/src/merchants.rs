//! The merchant directory: who may place orders, with which secrets, and where their
//! callbacks go. It is replaced whole while the gateway runs (SIGHUP or
//! `POST /admin/merchants/reload`): a request or a callback attempt in flight keeps the
//! snapshot it started with, the next one sees the new list.
//!
//! A merchant may carry a `next_secret` during a rotation: orders and queries signed
//! with either secret pass (the component checks both), callbacks are signed with the
//! current one.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::config::Merchant;
use crate::rules::{ErrorCode, OrderRequest, Rejection, Rules, RulesFault};

/// Merchants by appid, as one immutable snapshot.
pub type MerchantTable = HashMap<String, Merchant>;

/// The current merchants, shared by the API and the dispatcher, and the component's
/// keyring kept in step with them.
#[derive(Debug)]
pub struct MerchantDirectory {
    current: RwLock<Arc<MerchantTable>>,
    rules: Arc<Rules>,
}

impl MerchantDirectory {
    /// A directory of `merchants`, loaded into `rules`' keyring.
    pub fn new(rules: Arc<Rules>, merchants: Vec<Merchant>) -> Self {
        let directory = Self {
            current: RwLock::new(Arc::new(MerchantTable::new())),
            rules,
        };
        directory.replace(merchants);
        directory
    }

    /// The merchants now: a snapshot that a reload does not change.
    pub fn snapshot(&self) -> Arc<MerchantTable> {
        match self.current.read() {
            Ok(table) => Arc::clone(&table),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// One merchant, as it is now.
    pub fn get(&self, appid: &str) -> Option<Merchant> {
        self.snapshot().get(appid).cloned()
    }

    /// Replace every merchant at once (keyring first, so no order is judged against a
    /// table the keyring does not have yet).
    pub fn replace(&self, merchants: Vec<Merchant>) {
        self.rules.set_merchants(
            merchants
                .iter()
                .map(|m| (m.appid.clone(), m.secret.expose().to_owned()))
                .collect(),
        );
        let table: MerchantTable = merchants
            .into_iter()
            .map(|m| (m.appid.clone(), m))
            .collect();
        match self.current.write() {
            Ok(mut current) => *current = Arc::new(table),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(table),
        }
    }

    /// Check an order body: the component's keyring (current secrets) in one call; an
    /// order refused only for its sign is checked once more against its merchant's
    /// `next_secret`, by the component as well.
    pub fn check_order(
        &self,
        body: &str,
    ) -> Result<Result<OrderRequest, Vec<Rejection>>, RulesFault> {
        let rejections = match self.rules.check_order(body)? {
            Ok(order) => return Ok(Ok(order)),
            Err(rejections) => rejections,
        };
        let only_sign =
            matches!(rejections.as_slice(), [r] if matches!(r.code, ErrorCode::SignMismatch));
        // A bad sign costs one more component call only while some merchant rotates.
        let rotating = self.snapshot().values().any(|m| m.next_secret.is_some());
        if !only_sign || !rotating {
            return Ok(Err(rejections));
        }
        let Ok(order) = self.rules.parse_order(body)? else {
            return Ok(Err(rejections));
        };
        let Some(next) = self.get(&order.fields.appid).and_then(|m| m.next_secret) else {
            return Ok(Err(rejections));
        };
        Ok(match self.rules.verify_order(&order, next.expose())? {
            Ok(()) => Ok(order),
            Err(_) => Err(rejections),
        })
    }

    /// Check a query's sign against the merchant's current secret, then its
    /// `next_secret`. `None`: no such merchant.
    pub fn verify_query_sign(
        &self,
        appid: &str,
        orderid: &str,
        sign: &str,
    ) -> Result<Option<Result<(), Rejection>>, RulesFault> {
        let table = self.snapshot();
        let Some(merchant) = table.get(appid) else {
            return Ok(None);
        };
        let first = self
            .rules
            .verify_query_sign(appid, orderid, merchant.secret.expose(), sign)?;
        let Some(next) = merchant.next_secret.as_ref().filter(|_| first.is_err()) else {
            return Ok(Some(first));
        };
        let second = self
            .rules
            .verify_query_sign(appid, orderid, next.expose(), sign)?;
        Ok(Some(if second.is_ok() { second } else { first }))
    }
}
