//! The result of a run: counts, errors, throughput and latency percentiles.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use hdrhistogram::Histogram;
use serde::Serialize;

/// Latency percentiles in microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Percentiles {
    /// Number of recorded values.
    pub count: u64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Largest value.
    pub max: u64,
    /// Arithmetic mean.
    pub mean: f64,
}

impl Percentiles {
    /// Reads the percentiles of a microsecond histogram.
    pub fn of(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return Self::default();
        }
        Self {
            count: h.len(),
            p50: h.value_at_quantile(0.50),
            p90: h.value_at_quantile(0.90),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
            mean: h.mean(),
        }
    }
}

/// Everything a run measured. Printed as a table by [`fmt::Display`], or as one JSON
/// line with `--json`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The run id in every orderid, username and address of this run.
    pub run_id: String,
    /// `"closed"` (as fast as possible) or `"open"` (fixed rate).
    pub mode: &'static str,
    /// The base URL requests went to.
    pub target: String,
    /// `"http1"` or `"h2c"`.
    pub protocol: &'static str,
    /// Concurrent request loops (HTTP/1.1 connections, or h2 streams in flight).
    pub connections: usize,
    /// TCP connections carrying the h2 streams (h2c only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub h2_connections: Option<usize>,
    /// Target rate in requests per second (open loop only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// Warmup requests sent before the measured phase.
    pub warmup_sent: u64,
    /// Warmup requests that failed (they also make the run fail).
    pub warmup_failed: u64,
    /// Requests sent in the measured phase.
    pub sent: u64,
    /// Answered with HTTP 200 and `"status": 1`.
    pub ok: u64,
    /// `sent - ok`.
    pub failed: u64,
    /// Failures by kind: `HTTP <status> <code>`, `timeout`, `transport: …`, `connect: …`.
    /// Warmup failures are listed with a `warmup ` prefix.
    pub errors: BTreeMap<String, u64>,
    /// Pre-signed orders left unsent because `--duration` ended first (closed loop).
    pub unsent: u64,
    /// The closed loop ran out of pre-signed orders before `--duration` ended.
    pub exhausted: bool,
    /// Wall time of the measured phase in seconds.
    pub elapsed_s: f64,
    /// Successful orders per second.
    pub throughput_ok_per_s: f64,
    /// Latency of every request answered with an HTTP response, in microseconds. In the
    /// open loop it counts from the request's scheduled send time, or from its actual
    /// send if that came earlier (coordinated omission corrected).
    pub latency_us: Percentiles,
    /// Open loop: time from the actual send to the response, in microseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_us: Option<Percentiles>,
    /// Open loop: requests sent more than `late_after_ms` after their scheduled time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub late: Option<u64>,
    /// Open loop: the lateness threshold in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub late_after_ms: Option<f64>,
    /// Open loop: the largest delay between scheduled and actual send, in microseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_send_lag_us: Option<u64>,
    /// Connections re-opened after the gateway closed them or a request failed.
    pub reconnects: u64,
}

impl Report {
    /// Whether any request, warmup included, failed.
    pub fn has_failures(&self) -> bool {
        self.failed > 0 || self.warmup_failed > 0
    }

    /// The report as one line of JSON.
    pub fn to_json_line(&self) -> anyhow::Result<String> {
        Ok(serde_json::to_string(self)?)
    }
}

fn ms(us: u64) -> String {
    // Microseconds shown as milliseconds with 3 decimals.
    let whole = us / 1000;
    let frac = us % 1000;
    format!("{whole}.{frac:03}")
}

fn latency_row(out: &mut String, name: &str, p: &Percentiles) -> fmt::Result {
    writeln!(
        out,
        "  {name:<10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10.3}",
        ms(p.p50),
        ms(p.p90),
        ms(p.p99),
        ms(p.p999),
        ms(p.max),
        p.mean / 1000.0
    )
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        let proto = match self.h2_connections {
            Some(k) => format!("h2c, {} streams over {k} connections", self.connections),
            None => format!("http/1.1, {} connections", self.connections),
        };
        let mode = match self.rate {
            Some(r) => format!("open loop at {r} req/s"),
            None => "closed loop".to_owned(),
        };
        writeln!(out, "usdt-loadgen run {} -> {}", self.run_id, self.target)?;
        writeln!(out, "  mode        {mode}, {proto}")?;
        writeln!(
            out,
            "  warmup      {} sent, {} failed",
            self.warmup_sent, self.warmup_failed
        )?;
        writeln!(out, "  sent        {}", self.sent)?;
        writeln!(out, "  ok          {}", self.ok)?;
        writeln!(out, "  failed      {}", self.failed)?;
        if self.unsent > 0 {
            writeln!(out, "  unsent      {} (duration ended)", self.unsent)?;
        }
        if self.exhausted {
            writeln!(
                out,
                "  note        ran out of pre-signed orders before --duration ended; raise --requests"
            )?;
        }
        writeln!(out, "  elapsed     {:.3} s", self.elapsed_s)?;
        writeln!(out, "  throughput  {:.1} ok/s", self.throughput_ok_per_s)?;
        writeln!(out, "  reconnects  {}", self.reconnects)?;
        if let (Some(late), Some(after)) = (self.late, self.late_after_ms) {
            writeln!(
                out,
                "  late        {late} sent more than {after} ms after schedule (max lag {} ms)",
                ms(self.max_send_lag_us.unwrap_or_default())
            )?;
        }
        writeln!(
            out,
            "\n  latency ms        p50        p90        p99      p99.9        max       mean"
        )?;
        let name = if self.service_us.is_some() {
            "scheduled"
        } else {
            "response"
        };
        latency_row(&mut out, name, &self.latency_us)?;
        if let Some(service) = &self.service_us {
            latency_row(&mut out, "service", service)?;
        }
        if !self.errors.is_empty() {
            writeln!(out, "\n  errors")?;
            for (kind, count) in &self.errors {
                writeln!(out, "  {count:>10}  {kind}")?;
            }
        }
        f.write_str(&out)
    }
}
