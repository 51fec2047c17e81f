//! Unique, valid, pre-signed order bodies.
//!
//! Everything here is computed independently of the gateway's code: the sign is the
//! protocol's `md5(appid|username|localusermark|address|orderid|amount|secret)`, lowercase
//! hex, over the UTF-8 bytes (docs/protocol.md §3).

use anyhow::{Context, bail};
use bytes::Bytes;
use md5::{Digest, Md5};
use serde::Serialize;

/// The longest run id accepted, so that every orderid stays within the protocol's 64
/// characters (`lg-` + run id + `-` + up to 20 digits).
pub const MAX_RUN_ID_LEN: usize = 24;

/// Smallest amount sent; order `n` asks for `BASE_AMOUNT + n % 1000` scaled units.
pub const BASE_AMOUNT: u64 = 1_000_000;

/// The order sign: lowercase hex MD5 of
/// `appid|username|localusermark|address|orderid|amount|secret` (UTF-8, `amount` as decimal
/// integer text).
pub fn sign_order(
    appid: &str,
    username: &str,
    localusermark: &str,
    address: &str,
    orderid: &str,
    amount: u64,
    secret: &str,
) -> String {
    let amount = amount.to_string();
    let mut md5 = Md5::new();
    for (i, part) in [
        appid,
        username,
        localusermark,
        address,
        orderid,
        &amount,
        secret,
    ]
    .into_iter()
    .enumerate()
    {
        if i > 0 {
            md5.update(b"|");
        }
        md5.update(part.as_bytes());
    }
    hex::encode(md5.finalize())
}

/// The order query sign: lowercase hex MD5 of `appid|orderid|secret` (UTF-8).
pub fn sign_query(appid: &str, orderid: &str, secret: &str) -> String {
    hex::encode(Md5::digest(
        format!("{appid}|{orderid}|{secret}").as_bytes(),
    ))
}

/// A run id derived from the clock and the process id: 12 lowercase hex digits, different
/// for every run, so re-runs against the same database never reuse an orderid, username or
/// address.
pub fn random_run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let digest = Md5::digest(format!("{nanos}|{}", std::process::id()).as_bytes());
    let mut id = hex::encode(digest);
    id.truncate(12);
    id
}

/// Checks a run id given on the command line: 1..=24 of `[A-Za-z0-9_]`.
pub fn validate_run_id(run_id: &str) -> anyhow::Result<()> {
    if run_id.is_empty()
        || run_id.len() > MAX_RUN_ID_LEN
        || !run_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        bail!("run id must be 1..={MAX_RUN_ID_LEN} characters of [A-Za-z0-9_], got {run_id:?}");
    }
    Ok(())
}

/// One order request, every field as sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Order {
    /// The merchant's appid.
    pub appid: String,
    /// `lg-{run_id}-u{user}`.
    pub username: String,
    /// `m{n}`.
    pub localusermark: String,
    /// The user's own ERC20 address, `0x` + 40 lowercase hex digits.
    pub address: String,
    /// `lg-{run_id}-{n}`, unique per run.
    pub orderid: String,
    /// `BASE_AMOUNT + n % 1000` scaled units.
    pub amount: u64,
    /// `"ERC20"` when asked for with `--with-chain`, otherwise absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chain: Option<&'static str>,
    /// The order sign over the fields above (chain is not signed).
    pub sign: String,
}

/// Makes the orders of one run: order `n` belongs to user `n % users`, and every user has
/// its own address (the gateway binds an address to one `(appid, username)` forever).
#[derive(Debug, Clone)]
pub struct OrderFactory {
    appid: String,
    secret: String,
    run_id: String,
    users: u32,
    with_chain: bool,
    /// The first 32 hex digits of every address of this run, derived from the run id.
    address_prefix: String,
}

impl OrderFactory {
    /// A factory for `users` distinct users (at least one) of merchant `appid`.
    pub fn new(
        appid: &str,
        secret: &str,
        run_id: &str,
        users: u32,
        with_chain: bool,
    ) -> anyhow::Result<Self> {
        validate_run_id(run_id)?;
        if users == 0 {
            bail!("--users must be at least 1");
        }
        let address_prefix = hex::encode(Md5::digest(format!("lg-address|{run_id}").as_bytes()));
        Ok(Self {
            appid: appid.to_owned(),
            secret: secret.to_owned(),
            run_id: run_id.to_owned(),
            users,
            with_chain,
            address_prefix,
        })
    }

    /// The run id the names and addresses are derived from.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The username of user `user`.
    pub fn username(&self, user: u32) -> String {
        format!("lg-{}-u{user}", self.run_id)
    }

    /// The address of user `user`: `0x` + 32 hex digits of the run + the user index as 8
    /// hex digits, so addresses never repeat within a run.
    pub fn address(&self, user: u32) -> String {
        format!("0x{}{user:08x}", self.address_prefix)
    }

    /// The orderid of order number `n` of this run: `lg-{run_id}-{n}`.
    pub fn orderid(&self, n: u64) -> String {
        format!("lg-{}-{n}", self.run_id)
    }

    /// Order number `n` of this run, signed.
    pub fn order(&self, n: u64) -> Order {
        // `users` is a u32, so the remainder always fits.
        let user = u32::try_from(n % u64::from(self.users)).unwrap_or_default();
        let username = self.username(user);
        let address = self.address(user);
        let localusermark = format!("m{n}");
        let orderid = self.orderid(n);
        let amount = BASE_AMOUNT + n % 1000;
        let sign = sign_order(
            &self.appid,
            &username,
            &localusermark,
            &address,
            &orderid,
            amount,
            &self.secret,
        );
        Order {
            appid: self.appid.clone(),
            username,
            localusermark,
            address,
            orderid,
            amount,
            chain: self.with_chain.then_some("ERC20"),
            sign,
        }
    }

    /// The JSON request body of order `n`.
    pub fn body(&self, n: u64) -> anyhow::Result<Bytes> {
        let body = serde_json::to_vec(&self.order(n)).context("serialising an order body")?;
        Ok(Bytes::from(body))
    }

    /// The bodies of orders `range.start..range.end`, all signed before any is sent.
    pub fn presign(&self, range: std::ops::Range<u64>) -> anyhow::Result<Vec<Bytes>> {
        let len = usize::try_from(range.end.saturating_sub(range.start))
            .context("too many orders for this machine")?;
        let mut bodies = Vec::new();
        bodies
            .try_reserve_exact(len)
            .context("not enough memory to pre-sign the orders")?;
        for n in range {
            bodies.push(self.body(n)?);
        }
        Ok(bodies)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn sign_matches_the_protocol_worked_example() {
        // docs/protocol.md §3; also `printf %s '…' | md5sum`.
        let sign = sign_order(
            "yourAppId",
            "alice",
            "uid123",
            "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
            "myplat-1662299838",
            1_000_000,
            "yourSecret",
        );
        assert_eq!(sign, "46f46280634e100934ebe318126bf854");
    }

    #[test]
    fn sign_hashes_utf8() {
        let sign = sign_order(
            "cn_merchant",
            "张三",
            "会员八八四八",
            "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
            "cz-20250905-a1b2c3",
            1_000_000,
            "商户密钥",
        );
        assert_eq!(sign, "4194f640f9bd24816997654a239a9984");
    }

    #[test]
    fn query_sign_matches_the_protocol_formula() {
        // docs/protocol.md §3; also `printf %s 'yourAppId|myplat-1662299838|yourSecret' | md5sum`
        assert_eq!(
            sign_query("yourAppId", "myplat-1662299838", "yourSecret"),
            "2d5fe421d35be54d6eb5e2c7dfa77338"
        );
    }

    fn is_orderid_char(c: char) -> bool {
        c.is_ascii_alphanumeric() || c == '_' || c == '-'
    }

    #[test]
    fn orders_are_unique_and_well_formed() {
        let users = 1000;
        let f = OrderFactory::new("demo", "s3cr3t", &random_run_id(), users, false).unwrap();
        let mut orderids = HashSet::new();
        let mut marks = HashSet::new();
        let mut user_address = std::collections::HashMap::new();
        let mut address_user = std::collections::HashMap::new();
        for n in 0..20_000u64 {
            let o = f.order(n);
            assert!(
                orderids.insert(o.orderid.clone()),
                "duplicate {}",
                o.orderid
            );
            assert!(marks.insert(o.localusermark.clone()));
            assert!(o.orderid.len() <= 64 && o.orderid.chars().all(is_orderid_char));
            assert!(!o.username.is_empty() && o.username.chars().count() <= 64);
            assert!(o.username.chars().all(is_orderid_char));
            assert!((BASE_AMOUNT..BASE_AMOUNT + 1000).contains(&o.amount));
            assert_eq!(o.address.len(), 42);
            assert!(o.address.starts_with("0x"));
            assert!(
                o.address[2..]
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            );
            assert_eq!(o.sign.len(), 32);
            assert_eq!(
                o.sign,
                sign_order(
                    &o.appid,
                    &o.username,
                    &o.localusermark,
                    &o.address,
                    &o.orderid,
                    o.amount,
                    "s3cr3t"
                )
            );
            // One address per user, one user per address.
            let a = user_address
                .entry(o.username.clone())
                .or_insert_with(|| o.address.clone());
            assert_eq!(*a, o.address);
            let u = address_user
                .entry(o.address.clone())
                .or_insert_with(|| o.username.clone());
            assert_eq!(*u, o.username);
        }
        assert_eq!(user_address.len(), users as usize);
        assert_eq!(address_user.len(), users as usize);
    }

    #[test]
    fn runs_do_not_collide() {
        let a = OrderFactory::new("demo", "k", "runa", 10, false).unwrap();
        let b = OrderFactory::new("demo", "k", "runb", 10, false).unwrap();
        for n in 0..10 {
            assert_ne!(a.order(n).orderid, b.order(n).orderid);
            assert_ne!(a.order(n).username, b.order(n).username);
            assert_ne!(a.order(n).address, b.order(n).address);
        }
        let id = random_run_id();
        validate_run_id(&id).unwrap();
        assert_eq!(id.len(), 12);
    }

    #[test]
    fn longest_names_fit_the_protocol() {
        let run_id = "r".repeat(MAX_RUN_ID_LEN);
        let f = OrderFactory::new("demo", "k", &run_id, u32::MAX, false).unwrap();
        let o = f.order(u64::MAX);
        assert!(o.orderid.len() <= 64, "{}", o.orderid);
        assert!(f.username(u32::MAX).len() <= 64);
        assert_eq!(f.address(u32::MAX).len(), 42);
        assert!(validate_run_id(&"r".repeat(MAX_RUN_ID_LEN + 1)).is_err());
        assert!(validate_run_id("a-b").is_err());
        assert!(validate_run_id("").is_err());
    }

    #[test]
    fn body_is_the_json_object_of_the_protocol() {
        let f = OrderFactory::new("demo", "k", "run1", 3, true).unwrap();
        let body = f.body(7).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let o = f.order(7);
        assert_eq!(v["appid"], "demo");
        assert_eq!(v["username"], "lg-run1-u1");
        assert_eq!(v["localusermark"], "m7");
        assert_eq!(v["orderid"], "lg-run1-7");
        assert_eq!(v["address"], o.address.as_str());
        assert!(v["amount"].is_u64());
        assert_eq!(v["amount"], 1_000_007);
        assert_eq!(v["chain"], "ERC20");
        assert_eq!(v["sign"], o.sign.as_str());
        let plain = OrderFactory::new("demo", "k", "run1", 3, false).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&plain.body(7).unwrap()).unwrap();
        assert!(v.get("chain").is_none());
        assert_eq!(plain.presign(10..20).unwrap().len(), 10);
    }
}
