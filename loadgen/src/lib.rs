//! `usdt-loadgen`: a load generator for the gateway's order endpoint,
//! `POST /api/merchant/v2/TraderRechargeorder` (docs/protocol.md §4).
//!
//! All orders are unique, valid and signed before the timed phase starts, so the
//! generator spends its CPU only on sending. Requests go over persistent HTTP/1.1
//! connections (one request loop per connection) or over h2c. Two modes:
//!
//! - **closed loop** (default): every loop sends its next request as soon as the previous
//!   one is answered, for `--requests` orders or until `--duration` ends;
//! - **open loop** (`--rate R`): request `i` is scheduled at `start + i / R`, whichever loop
//!   is free takes it, and its latency counts from the scheduled time, so a slow gateway
//!   cannot hide queueing delay (coordinated omission).

pub mod orders;
pub mod report;
pub mod transport;
pub mod verify;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use bytes::Bytes;
use clap::{ArgGroup, Parser};
use hdrhistogram::Histogram;
use http_body_util::BodyExt;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::orders::OrderFactory;
use crate::report::{Percentiles, Report};
use crate::transport::{Sender, Target};
use crate::verify::Acked;

/// Orders pre-signed in the closed loop when `--requests` is not given.
pub const DEFAULT_REQUESTS: u64 = 200_000;
/// Open-loop duration in seconds when `--duration` is not given.
pub const DEFAULT_OPEN_DURATION_S: f64 = 10.0;
/// The most orders one run pre-signs.
pub const MAX_ORDERS: u64 = 50_000_000;
/// Resolution of tokio's timer.
const TIMER_TICK: Duration = Duration::from_millis(1);
/// Highest latency the histograms track exactly, in microseconds (one hour).
const MAX_TRACKED_US: u64 = 3_600_000_000;

/// Command-line options.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "usdt-loadgen",
    version,
    about = "Load generator for the usdt-gateway order endpoint: pre-signed unique orders, closed or open loop, latency percentiles."
)]
#[command(group(ArgGroup::new("secret_source").required(true).args(["secret", "secret_env"])))]
pub struct Options {
    /// Gateway base URL (plain http only).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub target: String,
    /// Merchant appid.
    #[arg(long, default_value = "demo")]
    pub appid: String,
    /// Merchant secret (visible in `ps`; prefer --secret-env).
    #[arg(long)]
    pub secret: Option<String>,
    /// Read the merchant secret from this environment variable.
    #[arg(long, value_name = "VAR")]
    pub secret_env: Option<String>,
    /// Concurrent request loops: HTTP/1.1 keep-alive connections, or h2 streams in flight.
    #[arg(long, short = 'c', default_value_t = 64)]
    pub connections: usize,
    /// Use h2c (HTTP/2 with prior knowledge) instead of HTTP/1.1.
    #[arg(long)]
    pub http2: bool,
    /// With --http2: TCP connections the streams are spread over [default: min(4, connections)].
    #[arg(long, requires = "http2")]
    pub h2_connections: Option<usize>,
    /// Closed loop: orders to send (all pre-signed) [default: 200000].
    #[arg(long, short = 'n')]
    pub requests: Option<u64>,
    /// Seconds to run. Closed loop: stop early at this time. Open loop: schedule rate ×
    /// duration requests [default: 10 with --rate].
    #[arg(long, short = 'd')]
    pub duration: Option<f64>,
    /// Open loop: requests per second, latency measured from each scheduled send time.
    #[arg(long, short = 'r', conflicts_with = "requests")]
    pub rate: Option<f64>,
    /// Requests sent before the measured phase, not counted.
    #[arg(long, default_value_t = 2000)]
    pub warmup: u64,
    /// Distinct users (each with its own address); order n belongs to user n % users.
    #[arg(long, default_value_t = 10_000)]
    pub users: u32,
    /// Run id inside every orderid, username and address [default: random].
    #[arg(long)]
    pub run_id: Option<String>,
    /// Also send `"chain": "ERC20"` (not signed; must agree with the address).
    #[arg(long)]
    pub with_chain: bool,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 30.0)]
    pub timeout: f64,
    /// Open loop: a request is late when sent more than this many ms after its schedule.
    #[arg(long, default_value_t = 2.0)]
    pub late_after_ms: f64,
    /// Tokio worker threads [default: available CPUs].
    #[arg(long)]
    pub threads: Option<usize>,
    /// Print the report as a single JSON line.
    #[arg(long)]
    pub json: bool,
    /// Exit 0 even if some requests failed.
    #[arg(long)]
    pub allow_errors: bool,
    /// Write every acknowledged order (warmup included) to this file, one `orderid` TAB
    /// `ordersn` line each, for a later `--verify` (e.g. after killing the gateway).
    #[arg(long, value_name = "FILE")]
    pub acked: Option<PathBuf>,
    /// Send no orders: query every order listed in this `--acked` file and report the
    /// ones the gateway lost; exits non-zero unless all are found.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["acked", "rate", "requests", "duration", "http2"])]
    pub verify: Option<PathBuf>,
}

impl Options {
    /// The merchant secret from `--secret` or the variable named by `--secret-env`.
    pub fn resolve_secret(&self) -> anyhow::Result<String> {
        match (&self.secret, &self.secret_env) {
            (Some(s), _) => Ok(s.clone()),
            (None, Some(var)) => std::env::var(var)
                .with_context(|| format!("reading the secret from environment variable {var}")),
            (None, None) => bail!("give the merchant secret with --secret or --secret-env"),
        }
    }
}

/// How the measured phase sends.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    /// As fast as possible; stop at the deadline if there is one.
    Closed { deadline: Option<Duration> },
    /// Request `i` scheduled at `start + i × interval`.
    Open { rate: f64 },
}

/// The settings checked and resolved from [`Options`].
#[derive(Debug, Clone)]
struct Plan {
    secret: String,
    run_id: String,
    mode: Mode,
    /// Orders in the measured phase.
    total: u64,
    h2_connections: Option<usize>,
    timeout: Duration,
    late_after: Duration,
}

fn seconds(name: &str, s: f64) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(s)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| anyhow!("{name} must be a positive number of seconds, got {s}"))
}

impl Plan {
    fn new(opts: &Options) -> anyhow::Result<Self> {
        let secret = opts.resolve_secret()?;
        let run_id = match &opts.run_id {
            Some(id) => id.clone(),
            None => orders::random_run_id(),
        };
        if opts.connections == 0 {
            bail!("--connections must be at least 1");
        }
        let h2_connections = if opts.http2 {
            let k = opts.h2_connections.unwrap_or(4).min(opts.connections);
            if k == 0 {
                bail!("--h2-connections must be at least 1");
            }
            Some(k)
        } else {
            None
        };
        let (mode, total) = match opts.rate {
            Some(rate) => {
                if !(rate.is_finite() && rate > 0.0) {
                    bail!("--rate must be a positive number, got {rate}");
                }
                let duration = opts.duration.unwrap_or(DEFAULT_OPEN_DURATION_S);
                seconds("--duration", duration)?;
                let total = (rate * duration).ceil();
                if total > MAX_ORDERS as f64 {
                    bail!("--rate × --duration asks for more than {MAX_ORDERS} orders");
                }
                // Checked just above: positive and at most MAX_ORDERS.
                (Mode::Open { rate }, total as u64)
            }
            None => {
                let deadline = opts
                    .duration
                    .map(|d| seconds("--duration", d))
                    .transpose()?;
                let total = opts.requests.unwrap_or(DEFAULT_REQUESTS);
                if total == 0 || total > MAX_ORDERS {
                    bail!("--requests must be in 1..={MAX_ORDERS}");
                }
                (Mode::Closed { deadline }, total)
            }
        };
        if opts.warmup > MAX_ORDERS {
            bail!("--warmup must be at most {MAX_ORDERS}");
        }
        let late_after = Duration::try_from_secs_f64(opts.late_after_ms / 1000.0)
            .map_err(|_| anyhow!("--late-after-ms must be a non-negative number"))?;
        Ok(Self {
            secret,
            run_id,
            mode,
            total,
            h2_connections,
            timeout: seconds("--timeout", opts.timeout)?,
            late_after,
        })
    }
}

/// One timed phase: the bodies to send and how.
struct Phase {
    bodies: Vec<Bytes>,
    /// Keep the `ordersn` of every acknowledged order (`--acked`).
    record_acks: bool,
    next: AtomicUsize,
    start: Instant,
    /// Open loop: nanoseconds between scheduled sends.
    interval_ns: Option<f64>,
    /// Closed loop: no request starts after this.
    deadline: Option<Instant>,
    timeout: Duration,
    late_after: Duration,
    target: Target,
}

/// What one request loop saw.
struct LoopStats {
    sent: u64,
    ok: u64,
    errors: BTreeMap<String, u64>,
    /// From the scheduled time (open loop) or from the send (closed loop).
    latency: Histogram<u64>,
    /// From the actual send (open loop only).
    service: Histogram<u64>,
    late: u64,
    max_lag_us: u64,
    reconnects: u64,
    /// With `--acked`: the body index and `ordersn` of each acknowledged order.
    acked: Vec<(usize, String)>,
}

fn histogram() -> anyhow::Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, MAX_TRACKED_US, 3)
        .map_err(|e| anyhow!("creating a latency histogram: {e:?}"))
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

impl LoopStats {
    fn new() -> anyhow::Result<Self> {
        Ok(Self {
            sent: 0,
            ok: 0,
            errors: BTreeMap::new(),
            latency: histogram()?,
            service: histogram()?,
            late: 0,
            max_lag_us: 0,
            reconnects: 0,
            acked: Vec::new(),
        })
    }

    fn error(&mut self, kind: String) {
        *self.errors.entry(kind).or_default() += 1;
    }

    fn merge(&mut self, other: LoopStats) -> anyhow::Result<()> {
        self.sent += other.sent;
        self.ok += other.ok;
        for (k, v) in &other.errors {
            *self.errors.entry(k.clone()).or_default() += v;
        }
        self.latency
            .add(&other.latency)
            .map_err(|e| anyhow!("merging histograms: {e:?}"))?;
        self.service
            .add(&other.service)
            .map_err(|e| anyhow!("merging histograms: {e:?}"))?;
        self.late += other.late;
        self.max_lag_us = self.max_lag_us.max(other.max_lag_us);
        self.reconnects += other.reconnects;
        self.acked.extend(other.acked);
        Ok(())
    }
}

/// The `data.ordersn` of an answer (empty if absent, which `--verify` reports).
fn acknowledged_ordersn(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.get("data")
                .and_then(|d| d.get("ordersn"))
                .and_then(|o| o.as_str().map(str::to_owned))
        })
        .unwrap_or_default()
}

/// How one answered request is counted.
fn classify(status: u16, body: &[u8]) -> Result<(), String> {
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let code = json
        .as_ref()
        .and_then(|v| v.get("data"))
        .and_then(|d| d.get("code"))
        .and_then(|c| c.as_str());
    let ok_status = json
        .as_ref()
        .and_then(|v| v.get("status"))
        .and_then(serde_json::Value::as_i64)
        == Some(1);
    match (status, ok_status, code) {
        (200, true, _) => Ok(()),
        (s, _, Some(code)) => Err(format!("HTTP {s} {code}")),
        (200, _, None) if json.is_some() => Err("HTTP 200 status != 1".to_owned()),
        (s, _, None) if json.is_some() => Err(format!("HTTP {s} (no code)")),
        (s, _, None) => Err(format!("HTTP {s} (not JSON)")),
    }
}

enum Outcome {
    Answered { status: u16, body: Bytes },
    Failed(String),
}

async fn exchange(sender: &mut Sender, target: &Target, body: Bytes) -> Outcome {
    let req = match target.request(body) {
        Ok(r) => r,
        Err(e) => return Outcome::Failed(format!("request: {e}")),
    };
    let resp = match sender.send(req).await {
        Ok(r) => r,
        Err(e) => return Outcome::Failed(format!("transport: {e}")),
    };
    let status = resp.status().as_u16();
    match resp.into_body().collect().await {
        Ok(b) => Outcome::Answered {
            status,
            body: b.to_bytes(),
        },
        Err(e) => Outcome::Failed(format!("transport: {e}")),
    }
}

/// One request loop: takes the next order, sends it, waits for the answer, repeats.
async fn request_loop(
    mut sender: Option<Sender>,
    phase: Arc<Phase>,
) -> anyhow::Result<(Option<Sender>, LoopStats)> {
    let mut stats = LoopStats::new()?;
    loop {
        let i = phase.next.fetch_add(1, Ordering::Relaxed);
        let Some(body) = phase.bodies.get(i) else {
            break;
        };
        let scheduled = wait_for_schedule(&phase, i).await;
        if let Some(deadline) = phase.deadline
            && Instant::now() >= deadline
        {
            break;
        }
        let Some(mut conn) = ready_connection(sender.take(), &phase, &mut stats).await else {
            continue;
        };

        let sent_at = Instant::now();
        if let Some(at) = scheduled {
            record_send_lag(&mut stats, &phase, sent_at.saturating_duration_since(at));
        }
        stats.sent += 1;
        let outcome = tokio::time::timeout(
            phase.timeout,
            exchange(&mut conn, &phase.target, body.clone()),
        )
        .await;
        let done = Instant::now();
        match outcome {
            Ok(Outcome::Answered { status, body }) => {
                let from = scheduled.map_or(sent_at, |at| at.min(sent_at));
                stats.latency.saturating_record(micros(done - from).max(1));
                if scheduled.is_some() {
                    stats
                        .service
                        .saturating_record(micros(done - sent_at).max(1));
                }
                record_answer(&mut stats, &phase, i, status, &body);
                sender = Some(conn);
            }
            // The connection is in an unknown state: drop it, the next request reconnects.
            Ok(Outcome::Failed(kind)) => stats.error(kind),
            Err(_) => stats.error("timeout".to_owned()),
        }
    }
    Ok((sender, stats))
}

/// In the open loop, sleep until request `i`'s scheduled time and return it; in the
/// closed loop, `None` at once.
async fn wait_for_schedule(phase: &Phase, i: usize) -> Option<Instant> {
    let ns = phase.interval_ns?;
    // Exact for any realistic run (below 2^53 ns, about 104 days).
    let at = phase.start + Duration::from_nanos((i as f64 * ns) as u64);
    // Tokio's timer rounds a deadline up to its next 1 ms tick. Waking one tick early
    // keeps that rounding out of the measured latency: a request sent early counts from
    // its actual send (below), a late one from `at`.
    let wake = at.checked_sub(TIMER_TICK).unwrap_or(at);
    tokio::time::sleep_until(wake).await;
    Some(at)
}

/// The loop's connection, ready to send: reopened when the server closed an idle one
/// (a reconnect, not a failure). `None` when it cannot be opened: that request counts
/// as sent and failed.
async fn ready_connection(
    sender: Option<Sender>,
    phase: &Phase,
    stats: &mut LoopStats,
) -> Option<Sender> {
    let mut sender = sender;
    if let Some(s) = sender.as_mut()
        && s.ready().await.is_err()
    {
        sender = None;
    }
    if sender.is_some() {
        return sender;
    }
    match phase.target.connect().await {
        Ok(s) => {
            stats.reconnects += 1;
            Some(s)
        }
        Err(e) => {
            stats.sent += 1;
            let root = e.root_cause().to_string();
            stats.error(format!("connect: {root}"));
            None
        }
    }
}

/// How late a scheduled request went out: the largest lag, and the count of late ones.
fn record_send_lag(stats: &mut LoopStats, phase: &Phase, lag: Duration) {
    stats.max_lag_us = stats.max_lag_us.max(micros(lag));
    if lag > phase.late_after {
        stats.late += 1;
    }
}

/// An answer to request `i`: an acknowledgement (its `ordersn` kept with `--acked`) or
/// a failure by kind.
fn record_answer(stats: &mut LoopStats, phase: &Phase, i: usize, status: u16, body: &[u8]) {
    match classify(status, body) {
        Ok(()) => {
            stats.ok += 1;
            if phase.record_acks {
                stats.acked.push((i, acknowledged_ordersn(body)));
            }
        }
        Err(kind) => stats.error(kind),
    }
}

/// Runs one phase on all loops; gives the connections back for the next phase.
async fn run_phase(
    senders: Vec<Option<Sender>>,
    phase: Arc<Phase>,
) -> anyhow::Result<(Vec<Option<Sender>>, LoopStats, Duration)> {
    let mut set = JoinSet::new();
    for (idx, sender) in senders.into_iter().enumerate() {
        let phase = Arc::clone(&phase);
        set.spawn(async move { (idx, request_loop(sender, phase).await) });
    }
    let mut back: Vec<(usize, Option<Sender>)> = Vec::new();
    let mut total = LoopStats::new()?;
    while let Some(joined) = set.join_next().await {
        let (idx, result) = joined.context("a request loop panicked")?;
        let (sender, stats) = result?;
        total.merge(stats)?;
        back.push((idx, sender));
    }
    let elapsed = phase.start.elapsed();
    back.sort_by_key(|(idx, _)| *idx);
    Ok((back.into_iter().map(|(_, s)| s).collect(), total, elapsed))
}

/// Opens the connections every loop starts with (loops share h2 connections).
async fn open_connections(
    target: &Target,
    loops: usize,
    h2_connections: Option<usize>,
) -> anyhow::Result<Vec<Option<Sender>>> {
    let physical = h2_connections.unwrap_or(loops);
    let mut set = JoinSet::new();
    for _ in 0..physical {
        let target = target.clone();
        set.spawn(async move { target.connect().await });
    }
    let mut conns = Vec::with_capacity(physical);
    while let Some(joined) = set.join_next().await {
        conns.push(joined.context("a connect task panicked")??);
    }
    if h2_connections.is_some() {
        Ok((0..loops)
            .map(|i| conns.get(i % conns.len().max(1)).and_then(Sender::share))
            .collect())
    } else {
        Ok(conns.into_iter().map(Some).collect())
    }
}

/// Runs the whole load test described by `opts`: pre-sign, connect, warm up, measure.
/// Progress goes to stderr; the result comes back as a [`Report`].
pub async fn run(opts: &Options) -> anyhow::Result<Report> {
    let plan = Plan::new(opts)?;
    let target = Target::parse(&opts.target, opts.http2)?;
    let factory = OrderFactory::new(
        &opts.appid,
        &plan.secret,
        &plan.run_id,
        opts.users,
        opts.with_chain,
    )?;

    eprintln!(
        "usdt-loadgen: run {}: pre-signing {} warmup + {} orders",
        plan.run_id, opts.warmup, plan.total
    );
    let warmup_bodies = factory.presign(0..opts.warmup)?;
    let bodies = factory.presign(opts.warmup..opts.warmup + plan.total)?;

    let senders = open_connections(&target, opts.connections, plan.h2_connections)
        .await
        .with_context(|| format!("cannot reach {}", opts.target))?;
    let (senders, warmup) = warm_up(opts, &plan, &target, senders, warmup_bodies).await?;

    eprintln!("usdt-loadgen: measuring");
    let phase = new_phase(opts, &plan, &target, bodies, plan.mode);
    let (_, stats, elapsed) = run_phase(senders, Arc::clone(&phase)).await?;
    if let Some(path) = &opts.acked {
        write_acked(path, opts.warmup, &factory, &warmup, &stats)?;
    }
    // Every order taken is counted as sent, even if its connection could not be opened.
    let unsent = u64::try_from(phase.bodies.len())
        .unwrap_or(u64::MAX)
        .saturating_sub(stats.sent);
    let measured = Measured {
        warmup,
        stats,
        elapsed,
        unsent,
    };
    Ok(report(opts, &plan, &target, measured))
}

/// A phase over `bodies`, starting now: its schedule (`mode`) and the plan's limits.
fn new_phase(
    opts: &Options,
    plan: &Plan,
    target: &Target,
    bodies: Vec<Bytes>,
    mode: Mode,
) -> Arc<Phase> {
    let start = Instant::now();
    let (interval_ns, deadline) = match mode {
        Mode::Closed { deadline } => (None, deadline.map(|d| start + d)),
        Mode::Open { rate } => (Some(1e9 / rate), None),
    };
    Arc::new(Phase {
        bodies,
        record_acks: opts.acked.is_some(),
        next: AtomicUsize::new(0),
        start,
        interval_ns,
        deadline,
        timeout: plan.timeout,
        late_after: plan.late_after,
        target: target.clone(),
    })
}

/// The warmup: `bodies` sent in a closed loop, unmeasured; the connections come back
/// for the measured phase.
async fn warm_up(
    opts: &Options,
    plan: &Plan,
    target: &Target,
    senders: Vec<Option<Sender>>,
    bodies: Vec<Bytes>,
) -> anyhow::Result<(Vec<Option<Sender>>, LoopStats)> {
    if bodies.is_empty() {
        return Ok((senders, LoopStats::new()?));
    }
    eprintln!("usdt-loadgen: warmup, {} requests", opts.warmup);
    let phase = new_phase(opts, plan, target, bodies, Mode::Closed { deadline: None });
    let (senders, stats, _) = run_phase(senders, phase).await?;
    Ok((senders, stats))
}

/// `--acked`: every acknowledged order of the warmup and the measured phase, with its
/// `orderid` and `ordersn`, written to `path`.
fn write_acked(
    path: &std::path::Path,
    warmup_count: u64,
    factory: &OrderFactory,
    warmup: &LoopStats,
    stats: &LoopStats,
) -> anyhow::Result<()> {
    let acked = warmup
        .acked
        .iter()
        .map(|(i, ordersn)| (*i as u64, ordersn))
        .chain(
            stats
                .acked
                .iter()
                .map(|(i, ordersn)| (warmup_count + *i as u64, ordersn)),
        )
        .map(|(n, ordersn)| Acked {
            orderid: factory.orderid(n),
            ordersn: ordersn.clone(),
        })
        .collect::<Vec<_>>();
    verify::write_acked(path, &acked)?;
    eprintln!(
        "usdt-loadgen: {} acknowledged orders written to {}",
        acked.len(),
        path.display()
    );
    Ok(())
}

/// What a run measured: the warmup's and the measured phase's counts, the phase's
/// duration, and the orders it never sent.
struct Measured {
    warmup: LoopStats,
    stats: LoopStats,
    elapsed: Duration,
    unsent: u64,
}

/// The run's [`Report`].
fn report(opts: &Options, plan: &Plan, target: &Target, measured: Measured) -> Report {
    let Measured {
        warmup,
        stats,
        elapsed,
        unsent,
    } = measured;
    let (open, rate) = match plan.mode {
        Mode::Open { rate } => (true, Some(rate)),
        Mode::Closed { .. } => (false, None),
    };
    let exhausted = match plan.mode {
        Mode::Closed {
            deadline: Some(deadline),
        } => unsent == 0 && elapsed < deadline,
        _ => false,
    };
    let elapsed_s = elapsed.as_secs_f64();
    let mut errors = stats.errors.clone();
    for (k, v) in &warmup.errors {
        *errors.entry(format!("warmup {k}")).or_default() += v;
    }
    Report {
        run_id: plan.run_id.clone(),
        mode: if open { "open" } else { "closed" },
        target: opts.target.clone(),
        protocol: if target.is_http2() { "h2c" } else { "http1" },
        connections: opts.connections,
        h2_connections: plan.h2_connections,
        rate,
        warmup_sent: warmup.sent,
        warmup_failed: warmup.sent - warmup.ok,
        sent: stats.sent,
        ok: stats.ok,
        failed: stats.sent - stats.ok,
        errors,
        unsent,
        exhausted,
        elapsed_s,
        throughput_ok_per_s: if elapsed_s > 0.0 {
            stats.ok as f64 / elapsed_s
        } else {
            0.0
        },
        latency_us: Percentiles::of(&stats.latency),
        service_us: open.then(|| Percentiles::of(&stats.service)),
        late: open.then_some(stats.late),
        late_after_ms: open.then_some(opts.late_after_ms),
        max_send_lag_us: open.then_some(stats.max_lag_us),
        reconnects: stats.reconnects + warmup.reconnects,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_answers() {
        assert_eq!(
            classify(200, br#"{"status":1,"data":{"msg":"ok","ordersn":"cz-x"}}"#),
            Ok(())
        );
        assert_eq!(
            classify(
                409,
                br#"{"status":0,"data":{"code":"DUPLICATE_ORDER","msg":"x"}}"#
            ),
            Err("HTTP 409 DUPLICATE_ORDER".to_owned())
        );
        assert_eq!(
            classify(200, br#"{"status":0,"data":{"code":"SIGN_MISMATCH"}}"#),
            Err("HTTP 200 SIGN_MISMATCH".to_owned())
        );
        assert_eq!(
            classify(200, br#"{"status":0}"#),
            Err("HTTP 200 status != 1".to_owned())
        );
        assert_eq!(
            classify(502, b"bad gateway"),
            Err("HTTP 502 (not JSON)".to_owned())
        );
        assert_eq!(
            classify(503, br#"{"error":"x"}"#),
            Err("HTTP 503 (no code)".to_owned())
        );
        // status 1 with a non-200 HTTP status is still a failure.
        assert_eq!(
            classify(500, br#"{"status":1}"#),
            Err("HTTP 500 (no code)".to_owned())
        );
    }

    #[test]
    fn plans() {
        let p = |args: &[&str]| {
            let mut v = vec!["usdt-loadgen", "--secret", "k"];
            v.extend_from_slice(args);
            Plan::new(&Options::try_parse_from(v).unwrap())
        };
        let plan = p(&[]).unwrap();
        assert_eq!(plan.total, DEFAULT_REQUESTS);
        assert_eq!(plan.mode, Mode::Closed { deadline: None });
        let plan = p(&["--rate", "1000", "--duration", "2.5"]).unwrap();
        assert_eq!(plan.total, 2500);
        assert_eq!(plan.mode, Mode::Open { rate: 1000.0 });
        let plan = p(&["--http2", "--connections", "2"]).unwrap();
        assert_eq!(plan.h2_connections, Some(2));
        assert!(p(&["--rate", "0"]).is_err());
        assert!(p(&["--connections", "0"]).is_err());
        assert!(p(&["--duration=-1"]).is_err());
        assert!(p(&["--duration", "0"]).is_err());
        assert!(
            Options::try_parse_from(["usdt-loadgen"]).is_err(),
            "secret required"
        );
        assert!(
            Options::try_parse_from([
                "usdt-loadgen",
                "--secret",
                "k",
                "--rate",
                "1",
                "--requests",
                "5"
            ])
            .is_err()
        );
    }
}
