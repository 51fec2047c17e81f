//! `usdt-example-receiver`: serve `POST /usdt_notify` for one merchant.
//!
//! ```sh
//! MERCHANT_SECRET=... usdt-example-receiver --listen 127.0.0.1:8080 --db paid.sqlite3
//! ```
//!
//! Prints `listening on http://ADDR/usdt_notify` on stdout once ready (`--listen
//! 127.0.0.1:0` picks a free port); logs one line per callback on stderr.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Parser;
use usdt_example_receiver::{Ledger, NOTIFY_PATH, Receiver, Secret, app};

/// A merchant's USDT Recharge API V2 callback receiver.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "RECEIVER_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// SQLite file for paid orders and balances (`:memory:` for none).
    #[arg(long, env = "RECEIVER_DB", default_value = "paid.sqlite3")]
    db: String,
    /// Accepted distance of `t` from now, in seconds; default the protocol's (the
    /// component's `callback-window`, 300).
    #[arg(long)]
    window: Option<u32>,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    let Some(secret) = std::env::var("MERCHANT_SECRET")
        .ok()
        .and_then(|s| Secret::new(s).ok())
    else {
        eprintln!("set MERCHANT_SECRET to the merchant secret");
        return ExitCode::from(2);
    };
    match run(args, secret).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args, secret: Secret) -> anyhow::Result<()> {
    let ledger = Ledger::open(&args.db)
        .await
        .with_context(|| format!("opening {}", args.db))?;
    let mut receiver = Receiver::new(secret, ledger.clone())?;
    if let Some(window) = args.window {
        receiver = receiver.with_window(window);
    }
    let receiver = Arc::new(receiver);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let addr = listener.local_addr()?;
    println!("listening on http://{addr}{NOTIFY_PATH}");
    axum::serve(listener, app(receiver))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    ledger.close().await;
    Ok(())
}

/// Resolves on Ctrl-C or, on Unix, SIGTERM: the server then finishes in-flight requests.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}
