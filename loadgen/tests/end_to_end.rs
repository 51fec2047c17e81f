//! The load generator against a throwaway local responder that plays the gateway's order
//! endpoint: it checks method, path, media type and sign (its own MD5 code), refuses a
//! repeated orderid and an address used by two usernames, like the gateway would.

#![allow(clippy::unwrap_used)] // a failed expectation is a failed test

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use md5::{Digest, Md5};
use tokio::net::TcpListener;
use usdt_loadgen::{Options, run};

#[derive(Clone, Copy, Default)]
struct Behaviour {
    http2: bool,
    /// Close the connection after every response (HTTP/1.1).
    no_keep_alive: bool,
    /// Wait this long before answering.
    delay: Option<Duration>,
}

#[derive(Default)]
struct State {
    orderids: HashSet<String>,
    address_user: HashMap<String, String>,
    accepted: u64,
}

struct Gateway {
    appid: String,
    secret: String,
    behaviour: Behaviour,
    state: Mutex<State>,
}

fn answer(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp
}

fn reject(status: StatusCode, code: &str) -> Response<Full<Bytes>> {
    answer(
        status,
        format!(r#"{{"status":0,"data":{{"code":"{code}","msg":"rejected"}}}}"#),
    )
}

impl Gateway {
    async fn handle(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        if req.method() != hyper::Method::POST
            || req.uri().path() != "/api/merchant/v2/TraderRechargeorder"
        {
            return reject(StatusCode::NOT_FOUND, "NOT_FOUND");
        }
        if req.headers().get("content-type").map(|v| v.as_bytes()) != Some(b"application/json") {
            return reject(StatusCode::UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE");
        }
        let body = req.into_body().collect().await.unwrap().to_bytes();
        if let Some(d) = self.behaviour.delay {
            tokio::time::sleep(d).await;
        }
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body) else {
            return reject(StatusCode::BAD_REQUEST, "INVALID_JSON");
        };
        let s = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_owned();
        let Some(amount) = v.get("amount").and_then(|a| a.as_u64()) else {
            return reject(StatusCode::BAD_REQUEST, "INVALID_AMOUNT");
        };
        if s("appid") != self.appid {
            return reject(StatusCode::UNAUTHORIZED, "UNKNOWN_APPID");
        }
        let plain = format!(
            "{}|{}|{}|{}|{}|{}|{}",
            s("appid"),
            s("username"),
            s("localusermark"),
            s("address"),
            s("orderid"),
            amount,
            self.secret
        );
        let expected: String = Md5::digest(plain.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        if s("sign") != expected {
            return reject(StatusCode::UNAUTHORIZED, "SIGN_MISMATCH");
        }
        let mut st = self.state.lock().unwrap();
        if !st.orderids.insert(s("orderid")) {
            return reject(StatusCode::CONFLICT, "DUPLICATE_ORDER");
        }
        let bound = st
            .address_user
            .entry(s("address"))
            .or_insert_with(|| s("username"));
        if *bound != s("username") {
            return reject(StatusCode::CONFLICT, "ADDRESS_BOUND_TO_OTHER_USER");
        }
        st.accepted += 1;
        answer(
            StatusCode::OK,
            r#"{"status":1,"data":{"msg":"订单已受理","ordersn":"cz-x"}}"#.to_owned(),
        )
    }
}

async fn start(secret: &str, behaviour: Behaviour) -> (SocketAddr, Arc<Gateway>) {
    let gw = Arc::new(Gateway {
        appid: "demo".to_owned(),
        secret: secret.to_owned(),
        behaviour,
        state: Mutex::default(),
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = Arc::clone(&gw);
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let gw = Arc::clone(&server);
            tokio::spawn(async move {
                let svc = service_fn(move |req| {
                    let gw = Arc::clone(&gw);
                    async move { Ok::<_, Infallible>(gw.handle(req).await) }
                });
                let io = TokioIo::new(stream);
                if behaviour.http2 {
                    let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                        .serve_connection(io, svc)
                        .await;
                } else {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .keep_alive(!behaviour.no_keep_alive)
                        .serve_connection(io, svc)
                        .await;
                }
            });
        }
    });
    (addr, gw)
}

fn options(addr: SocketAddr, args: &[&str]) -> Options {
    let target = format!("http://{addr}");
    let mut v = vec!["usdt-loadgen", "--target", &target, "--secret", "s3cr3t"];
    v.extend_from_slice(args);
    Options::try_parse_from(v).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_loop_http1() {
    let (addr, gw) = start("s3cr3t", Behaviour::default()).await;
    let opts = options(
        addr,
        &[
            "--requests",
            "3000",
            "--warmup",
            "200",
            "--connections",
            "8",
            "--users",
            "50",
        ],
    );
    let report = run(&opts).await.unwrap();
    println!("{report}");
    assert_eq!(report.mode, "closed");
    assert_eq!(report.protocol, "http1");
    assert_eq!(report.warmup_sent, 200);
    assert_eq!(report.warmup_failed, 0);
    assert_eq!(report.sent, 3000);
    assert_eq!(report.ok, 3000, "{:?}", report.errors);
    assert_eq!(report.failed, 0);
    assert!(report.errors.is_empty());
    assert!(!report.has_failures());
    assert_eq!(report.unsent, 0);
    assert_eq!(report.latency_us.count, 3000);
    assert!(report.latency_us.p50 > 0 && report.latency_us.p50 <= report.latency_us.max);
    assert!(report.throughput_ok_per_s > 0.0);
    assert!(report.service_us.is_none() && report.late.is_none());
    assert_eq!(report.reconnects, 0);
    let st = gw.state.lock().unwrap();
    assert_eq!(st.accepted, 3200);
    assert_eq!(st.address_user.len(), 50);
    let v: serde_json::Value = serde_json::from_str(&report.to_json_line().unwrap()).unwrap();
    assert_eq!(v["ok"], 3000);
    assert!(v["latency_us"]["p999"].is_u64());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_loop_http1() {
    let (addr, gw) = start("s3cr3t", Behaviour::default()).await;
    let opts = options(
        addr,
        &[
            "--rate",
            "2000",
            "--duration",
            "1",
            "--warmup",
            "100",
            "--connections",
            "16",
        ],
    );
    let report = run(&opts).await.unwrap();
    println!("{report}");
    assert_eq!(report.mode, "open");
    assert_eq!(report.rate, Some(2000.0));
    assert_eq!(report.sent, 2000);
    assert_eq!(report.ok, 2000, "{:?}", report.errors);
    // The schedule spans one second.
    assert!(report.elapsed_s >= 0.99, "{}", report.elapsed_s);
    assert!(report.elapsed_s < 3.0, "{}", report.elapsed_s);
    assert!(report.late.is_some() && report.max_send_lag_us.is_some());
    let service = report.service_us.unwrap();
    assert_eq!(service.count, 2000);
    // Latency from the schedule is never shorter than the service time.
    assert!(report.latency_us.max >= service.max);
    assert_eq!(gw.state.lock().unwrap().accepted, 2100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_loop_counts_late_sends() {
    // 2 loops, 10 ms per answer: at most 200 req/s, far below the 1000 asked for.
    let behaviour = Behaviour {
        delay: Some(Duration::from_millis(10)),
        ..Behaviour::default()
    };
    let (addr, _gw) = start("s3cr3t", behaviour).await;
    let opts = options(
        addr,
        &[
            "--rate",
            "1000",
            "--duration",
            "0.2",
            "--warmup",
            "0",
            "--connections",
            "2",
        ],
    );
    let report = run(&opts).await.unwrap();
    println!("{report}");
    assert_eq!(report.ok, 200);
    assert!(report.late.unwrap() > 100, "{:?}", report.late);
    // Corrected latency includes the queueing: the last request was scheduled at 0.2 s but
    // could only be sent after about 100 × 10 ms.
    assert!(report.latency_us.max > 500_000, "{:?}", report.latency_us);
    assert!(report.service_us.unwrap().max < report.latency_us.max);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_loop_h2c() {
    let behaviour = Behaviour {
        http2: true,
        ..Behaviour::default()
    };
    let (addr, gw) = start("s3cr3t", behaviour).await;
    let opts = options(
        addr,
        &[
            "--http2",
            "--h2-connections",
            "2",
            "--connections",
            "16",
            "--requests",
            "2000",
            "--warmup",
            "100",
            "--with-chain",
        ],
    );
    let report = run(&opts).await.unwrap();
    println!("{report}");
    assert_eq!(report.protocol, "h2c");
    assert_eq!(report.h2_connections, Some(2));
    assert_eq!(report.ok, 2000, "{:?}", report.errors);
    assert_eq!(gw.state.lock().unwrap().accepted, 2100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnects_when_the_server_closes() {
    let behaviour = Behaviour {
        no_keep_alive: true,
        ..Behaviour::default()
    };
    let (addr, _gw) = start("s3cr3t", behaviour).await;
    let opts = options(
        addr,
        &["--requests", "300", "--warmup", "0", "--connections", "4"],
    );
    let report = run(&opts).await.unwrap();
    println!("{report}");
    assert_eq!(report.ok, 300, "{:?}", report.errors);
    assert!(report.reconnects >= 290, "{}", report.reconnects);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_loop_stops_at_duration() {
    let behaviour = Behaviour {
        delay: Some(Duration::from_millis(5)),
        ..Behaviour::default()
    };
    let (addr, _gw) = start("s3cr3t", behaviour).await;
    let opts = options(
        addr,
        &[
            "--requests",
            "20000",
            "--duration",
            "0.3",
            "--warmup",
            "0",
            "--connections",
            "4",
        ],
    );
    let report = run(&opts).await.unwrap();
    println!("{report}");
    assert!(report.sent > 0 && report.sent < 20000);
    assert_eq!(report.ok, report.sent);
    assert_eq!(report.unsent, 20000 - report.sent);
    assert!(!report.exhausted);
    assert!(report.elapsed_s < 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_grouped() {
    let (addr, _gw) = start("another secret", Behaviour::default()).await;
    let opts = options(
        addr,
        &["--requests", "100", "--warmup", "10", "--connections", "4"],
    );
    let report = run(&opts).await.unwrap();
    println!("{report}");
    assert_eq!(report.ok, 0);
    assert_eq!(report.failed, 100);
    assert_eq!(report.warmup_failed, 10);
    assert!(report.has_failures());
    assert_eq!(report.errors.get("HTTP 401 SIGN_MISMATCH"), Some(&100));
    assert_eq!(
        report.errors.get("warmup HTTP 401 SIGN_MISMATCH"),
        Some(&10)
    );
    assert_eq!(report.latency_us.count, 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_target_is_an_error() {
    // Bind then drop to get a port nothing listens on.
    let addr = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let opts = options(addr, &["--requests", "10", "--warmup", "0"]);
    let err = run(&opts).await.unwrap_err();
    assert!(format!("{err:#}").contains("cannot reach"), "{err:#}");
}

/// Runs the binary off the async threads, so the responder keeps serving.
async fn run_binary(args: Vec<String>) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_usdt-loadgen"))
            .args(args)
            .env("LG_TEST_SECRET", "s3cr3t")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

/// The binary's exit status and `--json` output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_exit_status() {
    let (addr, _gw) = start("s3cr3t", Behaviour::default()).await;
    let target = format!("http://{addr}");
    let args = |extra: &[&str]| {
        let mut v: Vec<String> = [
            "--target",
            target.as_str(),
            "--requests",
            "200",
            "--warmup",
            "10",
            "--connections",
            "4",
            "--json",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };

    let out = run_binary(args(&["--secret-env", "LG_TEST_SECRET"])).await;
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["ok"], 200);

    let out = run_binary(args(&["--secret", "wrong"])).await;
    assert_eq!(out.status.code(), Some(1), "{out:?}");

    let out = run_binary(args(&["--secret", "wrong", "--allow-errors"])).await;
    assert!(out.status.success(), "{out:?}");

    // Without a secret: a usage error from clap.
    let out = run_binary(args(&[])).await;
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

/// The generator's own ceiling on this machine, sharing the CPUs with the responder:
/// `cargo test --release -p usdt-loadgen --test end_to_end -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "a measurement, not a check"]
async fn generator_ceiling() {
    for http2 in [false, true] {
        let behaviour = Behaviour {
            http2,
            ..Behaviour::default()
        };
        let (addr, _gw) = start("s3cr3t", behaviour).await;
        let mut args = vec!["--requests", "100000", "--connections", "64"];
        if http2 {
            args.push("--http2");
        }
        let report = run(&options(addr, &args)).await.unwrap();
        println!("{report}");
        assert_eq!(report.ok, 100_000);
    }
}
