//! `usdt-gateway`: serve the API, or help merchants and operators from the command line.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::run()
}
