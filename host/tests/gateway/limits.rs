//! The `[http]` limits and load shedding, on the real binary: half-open connections are
//! closed by the header timeout, SIGTERM drains for a bounded time, a full order queue
//! answers 503 `OVERLOADED` and loses nothing, and the connection cap holds.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::Value;
use sqlx::Connection;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use usdt_gateway::api::{ORDER_PATH, QUERY_PATH};
use usdt_gateway::config::Database;

use crate::support::{
    APPID, Process, SECRET, TestEnv, connect_as, fresh_address, fresh_orderid, order_body,
    query_body,
};

/// Half-open connections each test holds: each sent part of a request line.
const HALF_OPEN: usize = 2_000;

/// Start the binary on `env`'s configuration.
fn start(env: &TestEnv) -> Process {
    Process::start(
        env.dir.path(),
        &["serve", "--config", env.config_path.to_str().unwrap()],
    )
}

/// Put top-level `lines` at the head of `env`'s configuration file (tables come later).
fn prepend_config(env: &TestEnv, lines: &str) {
    let text = std::fs::read_to_string(&env.config_path).unwrap();
    std::fs::write(&env.config_path, format!("{lines}\n{text}")).unwrap();
}

/// `n` connections that each sent half a request line and then nothing, from as many
/// client addresses as it takes to stay within the per-client connection limit.
async fn half_open(addr: SocketAddr, n: usize) -> Vec<TcpStream> {
    let mut streams = Vec::with_capacity(n);
    for i in 0..n {
        let mut stream = connect_as(addr, u32::try_from(i).unwrap()).await;
        stream.write_all(b"POST /api/merch").await.unwrap();
        streams.push(stream);
    }
    streams
}

/// When `stream` was closed by the other side (read gives 0 or an error).
async fn closed_at(mut stream: TcpStream) -> Instant {
    let mut buf = [0u8; 512];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return Instant::now(),
            Ok(_) => {}
        }
    }
}

/// When each of `streams` was closed; panics if some are still open after `limit`.
async fn wait_all_closed(streams: Vec<TcpStream>, limit: Duration) -> Vec<Instant> {
    let mut waiting = tokio::task::JoinSet::new();
    for stream in streams {
        waiting.spawn(closed_at(stream));
    }
    let mut closed = Vec::new();
    let all = tokio::time::timeout(limit, async {
        while let Some(at) = waiting.join_next().await {
            closed.push(at.unwrap());
        }
    })
    .await;
    assert!(
        all.is_ok(),
        "{} connections still open after {limit:?}",
        waiting.len()
    );
    closed
}

/// Send a `GET /healthz` on `stream` (HTTP/1.1 keep-alive).
async fn send_healthz(stream: &mut TcpStream) {
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n")
        .await
        .unwrap();
}

/// Read one HTTP/1.1 response with a `Content-Length` body; its text.
async fn read_response(stream: &mut TcpStream) -> String {
    let mut bytes = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed before a full response: {bytes:?}");
        bytes.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&bytes).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap())
                })
                .unwrap_or(0);
            if body.len() >= length {
                return text;
            }
        }
    }
}

/// One new order; its orderid, the HTTP status, the `Retry-After` header and the body.
async fn place_order(
    client: &reqwest::Client,
    url: &str,
) -> reqwest::Result<(String, u16, Option<String>, Value)> {
    let orderid = fresh_orderid();
    let body = order_body(APPID, SECRET, &orderid, &fresh_address(), &orderid, 1_000);
    let response = client.post(url).json(&body).send().await?;
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    Ok((orderid, status, retry_after, response.json().await?))
}

/// The query endpoint's status and body for `orderid`.
async fn query(client: &reqwest::Client, process: &Process, orderid: &str) -> (u16, Value) {
    let response = client
        .post(process.url(QUERY_PATH))
        .json(&query_body(APPID, SECRET, orderid))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn half_open_connections_are_closed_within_the_header_timeout() {
    let header_timeout = Duration::from_secs(2);
    let env =
        TestEnv::with_extra("[http]\nheader_read_timeout = \"2s\"\nmax_connections = 4096\n").await;
    let process = start(&env);
    let opened = Instant::now();
    let streams = half_open(process.addr, HALF_OPEN).await;
    let open_time = opened.elapsed();
    let closing = tokio::spawn(wait_all_closed(streams, Duration::from_secs(40)));

    // Orders keep succeeding alongside them.
    let client = reqwest::Client::new();
    let url = process.url(ORDER_PATH);
    let mut placed = 0;
    while !closing.is_finished() {
        let (_, status, _, body) = place_order(&client, &url).await.unwrap();
        assert_eq!(status, 200, "{body}");
        placed += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let closed = closing.await.unwrap();
    let first = closed.iter().min().unwrap().duration_since(opened);
    let last = closed.iter().max().unwrap().duration_since(opened);
    eprintln!(
        "figure: {HALF_OPEN} half-open connections opened in {open_time:?}, \
         closed between {first:?} and {last:?} after the first opened \
         (header_read_timeout {header_timeout:?}); {placed} orders placed meanwhile"
    );
    assert!(
        first >= header_timeout / 2,
        "closed by the header timeout, not refused: the first after {first:?}"
    );
    assert!(
        last <= open_time + header_timeout + Duration::from_secs(15),
        "all closed within the header timeout (+ margin): the last after {last:?}"
    );
    assert!(placed >= 3, "orders were placed while they were open");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_exits_within_the_drain_time_and_keeps_every_acknowledged_order() {
    let drain = Duration::from_secs(3);
    let env = TestEnv::with_extra(
        "[http]\nheader_read_timeout = \"60s\"\nidle_timeout = \"60s\"\n\
         drain_timeout = \"3s\"\nmax_connections = 4096\n",
    )
    .await;
    prepend_config(&env, "request_timeout = \"60s\"");
    let mut process = start(&env);
    let _half_open = half_open(process.addr, HALF_OPEN).await;
    let mut idle = Vec::new();
    for _ in 0..20 {
        let mut stream = TcpStream::connect(process.addr).await.unwrap();
        send_healthz(&mut stream).await;
        assert!(read_response(&mut stream).await.starts_with("HTTP/1.1 200"));
        idle.push(stream);
    }
    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let (_, status, _, _) = place_order(&h2, &process.url(ORDER_PATH)).await.unwrap();
    assert_eq!(status, 200, "an idle HTTP/2 connection stays in the pool");
    // A request in flight that never finishes: its body never comes.
    let mut stuck = TcpStream::connect(process.addr).await.unwrap();
    stuck
        .write_all(
            format!(
                "POST {ORDER_PATH} HTTP/1.1\r\nHost: gateway\r\n\
                 Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"appid\""
            )
            .as_bytes(),
        )
        .await
        .unwrap();

    // Senders placing orders until the gateway goes, reporting every acknowledgement.
    let (acked_tx, mut acked_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut senders = Vec::new();
    for _ in 0..4 {
        let (acked, url) = (acked_tx.clone(), process.url(ORDER_PATH));
        senders.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            while let Ok((orderid, 200, _, body)) = place_order(&client, &url).await {
                let ordersn = body["data"]["ordersn"].as_str().unwrap().to_owned();
                let _ = acked.send((orderid, ordersn));
            }
        }));
    }
    drop(acked_tx);
    let mut acked = Vec::new();
    while acked.len() < 40 {
        acked.push(acked_rx.recv().await.unwrap());
    }
    let signalled = Instant::now();
    process.signal("TERM");
    let status = process.wait(drain + Duration::from_secs(15));
    let exit_time = signalled.elapsed();
    while let Some(ack) = acked_rx.recv().await {
        acked.push(ack);
    }
    for sender in senders {
        sender.await.unwrap();
    }
    eprintln!(
        "figure: SIGTERM with {HALF_OPEN} half-open, 20 idle HTTP/1.1, 1 idle HTTP/2 and 1 \
         stuck request: exited after {exit_time:?} (drain_timeout {drain:?}); {} orders \
         acknowledged",
        acked.len()
    );
    assert!(status.success(), "clean exit: {status}");
    assert!(
        exit_time >= drain - Duration::from_millis(200),
        "the request in flight was given the drain time: {exit_time:?}"
    );

    let restarted = start(&env);
    let client = reqwest::Client::new();
    for (orderid, ordersn) in &acked {
        let (status, body) = query(&client, &restarted, orderid).await;
        assert_eq!(status, 200, "acknowledged order {orderid} lost: {body}");
        assert_eq!(body["data"]["ordersn"], ordersn.as_str());
    }
}

/// The database's write lock, held from the test: SQLite `BEGIN IMMEDIATE`, PostgreSQL
/// `LOCK TABLE orders IN EXCLUSIVE MODE`, each in an open transaction.
enum WriteLock {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl WriteLock {
    async fn hold(database: &Database) -> Self {
        match database {
            Database::Sqlite(path) => {
                let mut conn =
                    sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
                        .await
                        .unwrap();
                sqlx::raw_sql("BEGIN IMMEDIATE")
                    .execute(&mut conn)
                    .await
                    .unwrap();
                Self::Sqlite(conn)
            }
            Database::Postgres(url) => {
                let mut conn = sqlx::PgConnection::connect(url.expose()).await.unwrap();
                sqlx::raw_sql("BEGIN; LOCK TABLE orders IN EXCLUSIVE MODE")
                    .execute(&mut conn)
                    .await
                    .unwrap();
                Self::Postgres(conn)
            }
        }
    }

    async fn release(self) {
        match self {
            Self::Sqlite(mut conn) => {
                sqlx::raw_sql("ROLLBACK").execute(&mut conn).await.unwrap();
            }
            Self::Postgres(mut conn) => {
                sqlx::raw_sql("ROLLBACK").execute(&mut conn).await.unwrap();
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_order_queue_answers_503_overloaded_and_loses_nothing() {
    const ORDERS: usize = 40;
    let env = TestEnv::with_extra("[orders]\nwrite_queue = 1\n").await;
    let process = start(&env);
    let client = reqwest::Client::new();
    let url = process.url(ORDER_PATH);
    let lock = WriteLock::hold(&env.config().database()).await;

    let mut orders = tokio::task::JoinSet::new();
    for _ in 0..ORDERS {
        let (client, url) = (client.clone(), url.clone());
        orders.spawn(async move { place_order(&client, &url).await.unwrap() });
    }
    // The refusals come at once; the orders the writer took wait for the lock.
    let mut answered = Vec::new();
    while let Ok(Some(done)) =
        tokio::time::timeout(Duration::from_millis(1_500), orders.join_next()).await
    {
        answered.push(done.unwrap());
    }
    lock.release().await;
    while let Some(done) = orders.join_next().await {
        answered.push(done.unwrap());
    }

    let (overloaded, accepted): (Vec<_>, Vec<_>) = answered
        .into_iter()
        .partition(|(_, status, _, _)| *status == 503);
    eprintln!(
        "figure: {ORDERS} concurrent orders on a locked database, write_queue = 1: \
         {} answered 503 OVERLOADED, {} accepted",
        overloaded.len(),
        accepted.len()
    );
    assert!(!overloaded.is_empty(), "a full queue sheds load");
    assert!(!accepted.is_empty(), "the queued orders are committed");
    for (orderid, _, retry_after, body) in &overloaded {
        assert_eq!(crate::error_code(body), "OVERLOADED", "{body}");
        assert!(retry_after.is_some(), "Retry-After on {body}");
        let (status, q) = query(&client, &process, orderid).await;
        assert_eq!(status, 404, "a refused order is not recorded: {q}");
    }
    for (orderid, status, _, body) in &accepted {
        assert_eq!(*status, 200, "{body}");
        let (status, q) = query(&client, &process, orderid).await;
        assert_eq!(status, 200, "an acknowledged order is stored: {q}");
        assert_eq!(q["data"]["ordersn"], body["data"]["ordersn"]);
    }
    let (_, status, _, body) = place_order(&client, &url).await.unwrap();
    assert_eq!(
        status, 200,
        "serving again once the database is free: {body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_connection_cap_holds_back_one_more_until_one_closes() {
    let env = TestEnv::with_extra(
        "[http]\nmax_connections = 4\nheader_read_timeout = \"30s\"\nidle_timeout = \"30s\"\n\
         reclaim_after = \"60s\"\n",
    )
    .await;
    let process = start(&env);
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut stream = TcpStream::connect(process.addr).await.unwrap();
        send_healthz(&mut stream).await;
        assert!(read_response(&mut stream).await.starts_with("HTTP/1.1 200"));
        held.push(stream);
    }

    let mut fifth = TcpStream::connect(process.addr).await.unwrap();
    send_healthz(&mut fifth).await;
    let early = tokio::time::timeout(Duration::from_millis(1_500), read_response(&mut fifth)).await;
    assert!(early.is_err(), "served beyond the cap: {early:?}");

    drop(held.pop());
    let served = tokio::time::timeout(Duration::from_secs(15), read_response(&mut fifth))
        .await
        .expect("served once a connection closed");
    assert!(served.starts_with("HTTP/1.1 200"), "{served}");

    for stream in &mut held {
        send_healthz(stream).await;
        assert!(read_response(stream).await.starts_with("HTTP/1.1 200"));
    }
    drop(held);
    let (_, status, _, body) = place_order(&reqwest::Client::new(), &process.url(ORDER_PATH))
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn silent_connections_and_idle_http2_are_closed_by_the_timeouts() {
    let env =
        TestEnv::with_extra("[http]\nheader_read_timeout = \"1s\"\nidle_timeout = \"60s\"\n").await;
    let process = start(&env);
    // Nothing sent; half the HTTP/2 preface; an HTTP/2 handshake with no request.
    let silent = TcpStream::connect(process.addr).await.unwrap();
    let mut half_preface = TcpStream::connect(process.addr).await.unwrap();
    half_preface.write_all(b"PRI * HTTP/2.0\r\n").await.unwrap();
    let mut h2 = TcpStream::connect(process.addr).await.unwrap();
    h2.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0")
        .await
        .unwrap();
    let opened = Instant::now();
    let closed = wait_all_closed(vec![silent, half_preface, h2], Duration::from_secs(20)).await;
    let first = closed.iter().min().unwrap().duration_since(opened);
    let last = closed.iter().max().unwrap().duration_since(opened);
    eprintln!(
        "figure: silent, half-preface and request-less HTTP/2 connections closed \
         between {first:?} and {last:?} (header_read_timeout 1s)"
    );
    assert!(
        first >= Duration::from_millis(500),
        "by the timeout: {first:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_idle_keep_alive_connection_is_closed_by_the_idle_timeout() {
    let env =
        TestEnv::with_extra("[http]\nheader_read_timeout = \"60s\"\nidle_timeout = \"1s\"\n").await;
    let process = start(&env);
    let mut stream = TcpStream::connect(process.addr).await.unwrap();
    send_healthz(&mut stream).await;
    assert!(read_response(&mut stream).await.starts_with("HTTP/1.1 200"));
    let idle_from = Instant::now();
    let closed = wait_all_closed(vec![stream], Duration::from_secs(20)).await;
    let after = closed[0].duration_since(idle_from);
    eprintln!("figure: idle keep-alive connection closed after {after:?} (idle_timeout 1s)");
    assert!(
        after >= Duration::from_millis(500),
        "by the idle timeout: {after:?}"
    );
}
