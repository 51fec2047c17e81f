//! `usdt-loadgen`: load generator for the usdt-gateway order endpoint. See the library
//! documentation and `usdt-loadgen --help`.

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use usdt_loadgen::{Options, run, verify};

fn main() -> ExitCode {
    let opts = Options::parse();
    if let Some(path) = &opts.verify {
        return verify_main(&opts, path);
    }
    match run_main(&opts) {
        Ok(report) => {
            if opts.json {
                match report.to_json_line() {
                    Ok(line) => println!("{line}"),
                    Err(e) => {
                        eprintln!("usdt-loadgen: error: {e:#}");
                        return ExitCode::from(2);
                    }
                }
            } else {
                print!("{report}");
            }
            if report.has_failures() && !opts.allow_errors {
                eprintln!(
                    "usdt-loadgen: {} requests failed ({} in warmup)",
                    report.failed + report.warmup_failed,
                    report.warmup_failed
                );
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("usdt-loadgen: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn runtime(opts: &Options) -> anyhow::Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    if let Some(threads) = opts.threads {
        builder.worker_threads(threads.max(1));
    }
    builder.build().context("starting the tokio runtime")
}

fn run_main(opts: &Options) -> anyhow::Result<usdt_loadgen::report::Report> {
    runtime(opts)?.block_on(run(opts))
}

/// `--verify FILE`: exit 0 only if every acknowledged order is found intact.
fn verify_main(opts: &Options, path: &std::path::Path) -> ExitCode {
    let report = (|| {
        let secret = opts.resolve_secret()?;
        let acked = verify::read_acked(path)?;
        runtime(opts)?.block_on(verify::verify(
            &opts.target,
            &opts.appid,
            &secret,
            opts.connections,
            acked,
        ))
    })();
    match report {
        Ok(report) => {
            if opts.json {
                println!("{}", serde_json::to_string(&report).unwrap_or_default());
            } else {
                print!("{report}");
            }
            if report.all_found() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("usdt-loadgen: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
