//! `usdt-loadgen`: load generator for the usdt-gateway order endpoint. See the library
//! documentation and `usdt-loadgen --help`.

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use usdt_loadgen::{Options, run};

fn main() -> ExitCode {
    let opts = Options::parse();
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

fn run_main(opts: &Options) -> anyhow::Result<usdt_loadgen::report::Report> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    if let Some(threads) = opts.threads {
        builder.worker_threads(threads.max(1));
    }
    let runtime = builder.build().context("starting the tokio runtime")?;
    runtime.block_on(run(opts))
}
