//! Logging: `tracing` to standard error, as text or JSON lines, filtered by `[log]
//! level` (or `RUST_LOG` when set) — except the audit log (target `audit`), kept at
//! `info` whatever the level: an operator's action is never filtered away. Text is coloured only when standard error is a
//! terminal: a file or a pipe gets plain lines.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::{LogConfig, LogFormat};

/// The audit log's directive, added to every filter.
const AUDIT_AT_INFO: &str = "audit=info";

/// Install the global subscriber. Safe to call once per process; later calls are ignored.
pub fn init(config: &LogConfig) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.level))
        .unwrap_or_else(|_| EnvFilter::new("info"))
        .add_directive(AUDIT_AT_INFO.parse().unwrap_or_default());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let _ = match config.format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
