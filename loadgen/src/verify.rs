//! After a crash: is every acknowledged order still there?
//!
//! A run with `--acked FILE` writes one line per order the gateway acknowledged
//! (`orderid` TAB `ordersn`). `--verify FILE` asks the query endpoint for each of them,
//! over the same keep-alive connections the load uses, and counts what it finds: an
//! acknowledged order that the query does not return, or returns with another `ordersn`,
//! was lost.

use std::fmt;
use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::BodyExt;
use serde::Serialize;
use tokio::task::JoinSet;

use crate::orders::sign_query;
use crate::transport::{QUERY_PATH, Sender, Target};

/// One acknowledged order: its orderid and the `ordersn` the gateway answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acked {
    /// The merchant's orderid.
    pub orderid: String,
    /// The gateway's order number from the acknowledgement.
    pub ordersn: String,
}

/// Writes acknowledged orders, one `orderid` TAB `ordersn` line each.
pub fn write_acked(path: &Path, acked: &[Acked]) -> anyhow::Result<()> {
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut out = std::io::BufWriter::new(file);
    for a in acked {
        writeln!(out, "{}\t{}", a.orderid, a.ordersn)?;
    }
    out.flush()
        .with_context(|| format!("writing {}", path.display()))
}

/// Reads a file written by [`write_acked`].
pub fn read_acked(path: &Path) -> anyhow::Result<Vec<Acked>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut acked = Vec::new();
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line?;
        let Some((orderid, ordersn)) = line.split_once('\t') else {
            bail!("{}:{}: expected orderid TAB ordersn", path.display(), n + 1);
        };
        acked.push(Acked {
            orderid: orderid.to_owned(),
            ordersn: ordersn.to_owned(),
        });
    }
    Ok(acked)
}

/// What the queries found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Acknowledged orders checked.
    pub acknowledged: u64,
    /// Found with the acknowledged `ordersn`.
    pub found: u64,
    /// Not found (`ORDER_NOT_FOUND`): lost.
    pub lost: u64,
    /// Found with another `ordersn`.
    pub mismatched: u64,
    /// Queries that got no usable answer (transport errors, other statuses).
    pub errors: u64,
    /// Up to ten examples of what went wrong.
    pub examples: Vec<String>,
}

impl VerifyReport {
    /// Whether every acknowledged order was found intact.
    pub fn all_found(&self) -> bool {
        self.found == self.acknowledged
    }

    fn note(&mut self, example: String) {
        if self.examples.len() < 10 {
            self.examples.push(example);
        }
    }

    fn merge(&mut self, other: VerifyReport) {
        self.acknowledged += other.acknowledged;
        self.found += other.found;
        self.lost += other.lost;
        self.mismatched += other.mismatched;
        self.errors += other.errors;
        for e in other.examples {
            self.note(e);
        }
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "acknowledged {}  found {}  lost {}  mismatched {}  errors {}",
            self.acknowledged, self.found, self.lost, self.mismatched, self.errors
        )?;
        for e in &self.examples {
            writeln!(f, "  {e}")?;
        }
        Ok(())
    }
}

/// Queries every order of `acked` at `target` (base URL) over `connections` connections.
pub async fn verify(
    target: &str,
    appid: &str,
    secret: &str,
    connections: usize,
    acked: Vec<Acked>,
) -> anyhow::Result<VerifyReport> {
    let target = Target::endpoint(target, false, QUERY_PATH)?;
    let acked = Arc::new(acked);
    let next = Arc::new(AtomicUsize::new(0));
    let mut set = JoinSet::new();
    for _ in 0..connections.max(1) {
        let (target, acked, next) = (target.clone(), Arc::clone(&acked), Arc::clone(&next));
        let (appid, secret) = (appid.to_owned(), secret.to_owned());
        set.spawn(async move {
            let mut report = VerifyReport::default();
            let mut sender: Option<Sender> = None;
            while let Some(a) = acked.get(next.fetch_add(1, Ordering::Relaxed)) {
                report.acknowledged += 1;
                let body = serde_json::json!({
                    "appid": appid,
                    "orderid": a.orderid,
                    "sign": sign_query(&appid, &a.orderid, &secret),
                });
                match query(&target, &mut sender, body.to_string()).await {
                    Ok((200, found)) if found == a.ordersn => report.found += 1,
                    Ok((200, found)) => {
                        report.mismatched += 1;
                        report.note(format!(
                            "{}: ordersn {found}, acknowledged {}",
                            a.orderid, a.ordersn
                        ));
                    }
                    Ok((404, _)) => {
                        report.lost += 1;
                        report.note(format!(
                            "{}: acknowledged as {}, not found",
                            a.orderid, a.ordersn
                        ));
                    }
                    Ok((status, _)) => {
                        report.errors += 1;
                        report.note(format!("{}: HTTP {status}", a.orderid));
                    }
                    Err(e) => {
                        sender = None;
                        report.errors += 1;
                        report.note(format!("{}: {e:#}", a.orderid));
                    }
                }
            }
            report
        });
    }
    let mut total = VerifyReport::default();
    while let Some(report) = set.join_next().await {
        total.merge(report.context("a verify loop panicked")?);
    }
    Ok(total)
}

/// One query: the HTTP status and the `data.ordersn` of the answer (empty when absent).
async fn query(
    target: &Target,
    sender: &mut Option<Sender>,
    body: String,
) -> anyhow::Result<(u16, String)> {
    if let Some(s) = sender.as_mut()
        && s.ready().await.is_err()
    {
        *sender = None;
    }
    let conn = match sender {
        Some(conn) => conn,
        None => sender.insert(target.connect().await?),
    };
    let response = conn.send(target.request(Bytes::from(body))?).await?;
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await?.to_bytes();
    Ok((status, crate::acknowledged_ordersn(&bytes)))
}
