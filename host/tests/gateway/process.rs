//! The real binary: the no-configuration first run, HTTP/1.1 keep-alive and HTTP/2 on one
//! port, `kill -9` right after acknowledgements, graceful shutdown on SIGTERM, SIGHUP
//! from the first moments of start-up.

use std::time::Duration;

use serde_json::Value;
use usdt_gateway::api::{ORDER_PATH, QUERY_PATH};

use crate::support::{
    APPID, Process, SECRET, TestEnv, fresh_address, fresh_orderid, order_body, query_body,
};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

async fn post(
    client: &reqwest::Client,
    url: String,
    body: &Value,
) -> reqwest::Result<(u16, Value)> {
    let response = client.post(url).json(body).send().await?;
    let status = response.status().as_u16();
    Ok((status, response.json().await?))
}

#[tokio::test]
async fn with_no_configuration_it_runs_with_a_printed_demo_merchant() {
    if crate::support::postgres_server().is_some() {
        return; // the no-config run is SQLite by definition; the SQLite pass covers it
    }
    let cwd = tempfile::tempdir().unwrap();
    let process = Process::start(cwd.path(), &["serve", "--listen", "127.0.0.1:0"]);
    let line = process
        .banner
        .iter()
        .find(|l| l.starts_with("dev mode: demo merchant"))
        .expect("the demo merchant is printed");
    let appid = line
        .split("appid=")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_owned();
    let secret = line
        .split("secret=")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_owned();
    let (appid, secret) = (appid.as_str(), secret.as_str());
    assert_eq!(appid, "demo");
    assert!(secret.len() >= 32);
    assert!(
        cwd.path().join("data/gateway.db").exists(),
        "SQLite under ./data"
    );

    let orderid = fresh_orderid();
    let (status, body) = post(
        &client(),
        process.url(ORDER_PATH),
        &order_body(
            appid,
            secret,
            "first-user",
            &fresh_address(),
            &orderid,
            1_000_000,
        ),
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], 1);
    drop(process);

    // The secret is kept: a restart accepts the same merchant.
    let again = Process::start(cwd.path(), &["serve", "--listen", "127.0.0.1:0"]);
    assert!(again.banner.iter().any(|l| l.contains(secret)));
    let (status, q) = post(
        &client(),
        again.url(QUERY_PATH),
        &query_body(appid, secret, &orderid),
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{q}");
}

#[tokio::test]
async fn http1_keep_alive_and_h2c_share_the_port() {
    let env = TestEnv::new().await;
    let process = Process::start(
        env.dir.path(),
        &["serve", "--config", env.config_path.to_str().unwrap()],
    );
    let h1 = reqwest::Client::builder().http1_only().build().unwrap();
    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    for (client, version) in [
        (h1, reqwest::Version::HTTP_11),
        (h2, reqwest::Version::HTTP_2),
    ] {
        for _ in 0..3 {
            let body = order_body(
                APPID,
                SECRET,
                &format!("u-{version:?}"),
                &fresh_address(),
                &fresh_orderid(),
                7,
            );
            let response = client
                .post(process.url(ORDER_PATH))
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(response.version(), version);
            assert_eq!(response.status(), 200);
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["status"], 1);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_right_after_acknowledgements_loses_nothing() {
    let env = TestEnv::new().await;
    let config = env.config_path.to_str().unwrap().to_owned();
    let process = Process::start(env.dir.path(), &["serve", "--config", &config]);
    let url = process.url(ORDER_PATH);
    let client = client();
    let (acked_tx, mut acked_rx) = tokio::sync::mpsc::unbounded_channel();
    // 8 senders, each placing orders as fast as it can, reporting every `status: 1`.
    let mut senders = Vec::new();
    for s in 0..8 {
        let (client, url, acked) = (client.clone(), url.clone(), acked_tx.clone());
        senders.push(tokio::spawn(async move {
            for n in 0.. {
                let orderid = format!("k9-{s}-{n}-{}", uuid::Uuid::new_v4().simple());
                let body = order_body(
                    APPID,
                    SECRET,
                    &format!("k9-user-{s}-{n}"),
                    &fresh_address(),
                    &orderid,
                    10_000 + n,
                );
                match post(&client, url.clone(), &body).await {
                    Ok((200, reply)) if reply["status"] == 1 => {
                        let ordersn = reply["data"]["ordersn"].as_str().unwrap().to_owned();
                        if acked.send((orderid, ordersn)).is_err() {
                            return;
                        }
                    }
                    _ => return, // the process is gone
                }
            }
        }));
    }
    drop(acked_tx);
    // Kill the moment the 300th acknowledgement arrives, with requests in flight.
    let mut acked = Vec::new();
    while let Some(ack) = acked_rx.recv().await {
        acked.push(ack);
        if acked.len() == 300 {
            process.signal("KILL");
            break;
        }
    }
    // Acknowledgements already on the wire count too.
    while let Some(ack) = acked_rx.recv().await {
        acked.push(ack);
    }
    for s in senders {
        let _ = s.await;
    }
    drop(process);
    assert!(acked.len() >= 300);

    let restarted = Process::start(env.dir.path(), &["serve", "--config", &config]);
    let client = reqwest::Client::new();
    for (orderid, ordersn) in &acked {
        let (status, q) = post(
            &client,
            restarted.url(QUERY_PATH),
            &query_body(APPID, SECRET, orderid),
        )
        .await
        .unwrap();
        assert_eq!(
            status, 200,
            "acknowledged order {orderid} lost after kill -9: {q}"
        );
        assert_eq!(q["data"]["ordersn"], ordersn.as_str());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_drains_in_flight_requests() {
    let env = TestEnv::new().await;
    let mut process = Process::start(
        env.dir.path(),
        &["serve", "--config", env.config_path.to_str().unwrap()],
    );
    let client = client();
    let mut in_flight = Vec::new();
    for n in 0..64u64 {
        let (client, url) = (client.clone(), process.url(ORDER_PATH));
        let orderid = fresh_orderid();
        let body = order_body(
            APPID,
            SECRET,
            &format!("term-{n}"),
            &fresh_address(),
            &orderid,
            1 + n,
        );
        in_flight.push(tokio::spawn(async move {
            (orderid, post(&client, url, &body).await)
        }));
    }
    tokio::time::sleep(Duration::from_millis(5)).await;
    process.signal("TERM");
    let mut answered = Vec::new();
    for task in in_flight {
        let (orderid, result) = task.await.unwrap();
        match result {
            // A request the server had accepted is answered in full…
            Ok((status, body)) => {
                assert_eq!(status, 200, "{body}");
                answered.push(orderid);
            }
            // …one that arrived after it stopped accepting is refused at connect.
            Err(e) => assert!(e.is_connect() || e.is_request(), "{e}"),
        }
    }
    let status = process.wait(Duration::from_secs(20));
    assert!(status.success(), "clean exit: {status}");

    let restarted = Process::start(
        env.dir.path(),
        &["serve", "--config", env.config_path.to_str().unwrap()],
    );
    for orderid in &answered {
        let (status, _) = post(
            &client,
            restarted.url(QUERY_PATH),
            &query_body(APPID, SECRET, orderid),
        )
        .await
        .unwrap();
        assert_eq!(status, 200, "{orderid}");
    }
}

/// Whether process `pid` catches SIGHUP (`SigCgt` of `/proc/<pid>/status`, where signal
/// n is bit n-1); `None` once it is gone.
fn catches_sighup(pid: u32) -> Option<bool> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let mask = status
        .lines()
        .find_map(|l| l.strip_prefix("SigCgt:"))?
        .trim();
    let bits = u64::from_str_radix(mask, 16).ok()?;
    Some(bits & 1 != 0)
}

fn hangup(pid: u32) {
    let status = std::process::Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -HUP");
}

/// Issue 22: a SIGHUP in the first second of start-up killed the process (the handler
/// was installed after the listener). Now `serve` catches it before loading anything:
/// the disposition is in place before the gateway listens, SIGHUPs sent all through
/// start-up leave it alive, and they end in a reload once it is up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_during_start_up_is_a_reload_not_a_death() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Instant;

    let env = TestEnv::new().await;
    let log_path = env.dir.path().join("gateway.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_usdt-gateway"))
        .args(["serve", "--config", env.config_path.to_str().unwrap()])
        .current_dir(env.dir.path())
        .env_remove("RUST_LOG")
        .env("USDT_GATEWAY_LOG__LEVEL", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::from(std::fs::File::create(&log_path).unwrap()))
        .spawn()
        .unwrap();
    let pid = child.id();
    let listening = Arc::new(AtomicBool::new(false));
    let (addr_tx, addr_rx) = std::sync::mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    let seen = Arc::clone(&listening);
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(addr) = line.strip_prefix("usdt-gateway listening on ") {
                seen.store(true, Ordering::SeqCst);
                let _ = addr_tx.send(addr.trim().to_owned());
            }
        }
    });

    // The disposition is installed before the gateway listens.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let was_listening = listening.load(Ordering::SeqCst);
        match catches_sighup(pid) {
            Some(true) => {
                assert!(
                    !was_listening,
                    "SIGHUP was caught only once the gateway listened"
                );
                break;
            }
            Some(false) => assert!(
                !was_listening,
                "listening, and SIGHUP still has its default (fatal) action"
            ),
            None => panic!("the process is gone"),
        }
        assert!(Instant::now() < deadline, "no SIGHUP disposition");
        std::thread::sleep(Duration::from_micros(200));
    }
    // SIGHUPs all through start-up, and a few once up.
    let mut during_start = 0;
    let mut after = 0;
    while after < 5 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "SIGHUP number {} killed the process",
            during_start + after + 1
        );
        hangup(pid);
        if listening.load(Ordering::SeqCst) {
            after += 1;
        } else {
            during_start += 1;
        }
        assert!(Instant::now() < deadline, "the gateway never listened");
        std::thread::sleep(Duration::from_millis(5));
    }
    let addr = addr_rx.recv_timeout(Duration::from_secs(5)).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        child.try_wait().unwrap().is_none(),
        "alive after the SIGHUPs"
    );
    let health = client()
        .get(format!("{addr}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    println!("{during_start} SIGHUPs during start-up, {after} after");

    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(Instant::now() < deadline, "no exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(exit.success(), "{exit}");
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("configuration reloaded"), "{log}");
    assert!(!log.contains("reload refused"), "{log}");
}
