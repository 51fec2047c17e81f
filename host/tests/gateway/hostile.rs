//! The gateway against hostile and stalled clients, on the real binary (issue 22,
//! points 1 and 2): every way a client can stall a connection — an HTTP/2 window held at
//! zero, an HTTP/1.1 response never read, a slow reader, an upload that never ends —
//! ends with the connection closed within its limits; at the connection cap, idle and
//! stalled connections give their slots to new ones; one client address holds at most
//! its share of connections; the public pages are rate-limited per client; and with
//! the public side saturated by all of it, signed orders still answer.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use usdt_gateway::api::ORDER_PATH;

use crate::support::{
    APPID, Process, SECRET, TestEnv, connect_as, fresh_address, fresh_orderid, order_body,
};

/// Start the binary on `env`'s configuration.
fn start(env: &TestEnv) -> Process {
    Process::start(
        env.dir.path(),
        &["serve", "--config", env.config_path.to_str().unwrap()],
    )
}

/// A configuration with `top` keys before the tables and `http` keys in `[http]`.
async fn env_with(top: &str, http: &str) -> TestEnv {
    let env = TestEnv::with_extra(&format!("[http]\n{http}\n")).await;
    let text = std::fs::read_to_string(&env.config_path).unwrap();
    std::fs::write(&env.config_path, format!("{top}\n{text}")).unwrap();
    env
}

// ---- raw clients ------------------------------------------------------------------

/// An HPACK string literal (no Huffman coding): its length, then its bytes.
fn hpack_string(text: &str) -> Vec<u8> {
    let mut out = vec![u8::try_from(text.len()).unwrap()];
    out.extend_from_slice(text.as_bytes());
    out
}

/// One HTTP/2 frame.
fn h2_frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).unwrap().to_be_bytes();
    let mut out = vec![len[1], len[2], len[3], kind, flags];
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// What the attacker sent, about 100 bytes: the HTTP/2 preface, SETTINGS with
/// `SETTINGS_INITIAL_WINDOW_SIZE = 0` (so no response body can ever be sent) and a
/// request for `path` on stream 1 — `GET` ending the stream, or a `POST` of JSON whose
/// body is still to come.
fn h2_stalled_request(method_post: bool, path: &str) -> Vec<u8> {
    let mut out = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    out.extend(h2_frame(0x4, 0, 0, &[0x00, 0x04, 0, 0, 0, 0]));
    // :method GET (static 2) or POST (3), :scheme http (6), then literal :path (name 4)
    // and :authority (name 1), and for a POST content-type (name 31: 0x0f 0x10).
    let mut block = vec![if method_post { 0x83 } else { 0x82 }, 0x86, 0x04];
    block.extend(hpack_string(path));
    block.push(0x01);
    block.extend(hpack_string("gateway"));
    if method_post {
        block.extend([0x0f, 0x10]);
        block.extend(hpack_string("application/json"));
    }
    // END_HEADERS, and END_STREAM for a GET.
    let flags = if method_post { 0x4 } else { 0x5 };
    out.extend(h2_frame(0x1, flags, 1, &block));
    out
}

/// How long after `since` the server closed `stream` (read gives 0 or an error); `None`
/// if it is still open after `limit`. Whatever the server sends meanwhile is read.
async fn closed_after(stream: &mut TcpStream, since: Instant, limit: Duration) -> Option<Duration> {
    let mut buf = [0u8; 16 * 1024];
    let deadline = since + limit;
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(since.elapsed()),
            Ok(Ok(_)) => {}
        }
    }
}

/// An HTTP/1.1 request for `path` that keeps the connection open.
fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: gateway\r\n\r\n").into_bytes()
}

/// Read one HTTP/1.1 response with a `Content-Length` body; its status, or `None` when
/// the server closed the connection first.
async fn read_status(stream: &mut TcpStream) -> Option<u16> {
    let mut bytes = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        bytes.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&bytes);
        let Some((head, body)) = text.split_once("\r\n\r\n") else {
            continue;
        };
        let length: usize = head
            .lines()
            .find_map(|l| {
                let l = l.to_ascii_lowercase();
                l.strip_prefix("content-length:")
                    .map(|v| v.trim().parse().unwrap())
            })
            .unwrap_or(0);
        if body.len() >= length {
            return head.split(' ').nth(1).and_then(|s| s.parse().ok());
        }
    }
}

/// A signed order on a new connection (HTTP/1.1, the gateway's client pool off), from
/// 127.0.0.1: its HTTP status and how long it took.
async fn order_on_a_new_connection(addr: SocketAddr) -> (u16, Duration) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    order(&client, addr).await
}

/// A signed order through `client`: its status and how long it took.
async fn order(client: &reqwest::Client, addr: SocketAddr) -> (u16, Duration) {
    let orderid = fresh_orderid();
    let body = order_body(APPID, SECRET, "user", &fresh_address(), &orderid, 1_000);
    let started = Instant::now();
    let status = client
        .post(format!("http://{addr}{ORDER_PATH}"))
        .json(&body)
        .send()
        .await
        .map_or(0, |r| r.status().as_u16());
    (status, started.elapsed())
}

/// HTTP/2 connections, `per_client` from each of `clients` client addresses (client
/// numbers from `first`), each holding one response behind a zero window.
async fn zero_window_connections(
    addr: SocketAddr,
    first: u32,
    clients: u32,
    per_client: u32,
) -> Vec<TcpStream> {
    let request = h2_stalled_request(false, "/healthz");
    let mut streams = Vec::new();
    for client in first..first + clients {
        for _ in 0..per_client {
            let mut stream = connect_as(addr, client).await;
            stream.write_all(&request).await.unwrap();
            streams.push(stream);
        }
    }
    streams
}

/// Payers' browsers: `per_client` keep-alive connections from each of `clients` client
/// addresses (client numbers from `first`), each asking for the front door every
/// `every` and reconnecting when the gateway closes it, until the set is dropped.
fn pollers(
    addr: SocketAddr,
    first: u32,
    clients: u32,
    per_client: u32,
    every: Duration,
) -> JoinSet<()> {
    let mut set = JoinSet::new();
    for client in (first..first + clients).flat_map(|c| std::iter::repeat_n(c, per_client as usize))
    {
        set.spawn(async move {
            loop {
                let mut stream = connect_as(addr, client).await;
                loop {
                    if stream.write_all(&get("/")).await.is_err() {
                        break;
                    }
                    if read_status(&mut stream).await.is_none() {
                        break;
                    }
                    tokio::time::sleep(every).await;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
    }
    set
}

// ---- each way to stall --------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn http2_responses_held_behind_a_zero_window_close_their_connections() {
    // Every other timer far away: only the write timeout can close these.
    let env = env_with(
        "request_timeout = \"60s\"",
        "write_timeout = \"1s\"\nheader_read_timeout = \"60s\"\nidle_timeout = \"60s\"",
    )
    .await;
    let process = start(&env);
    let sent = Instant::now();
    let streams = zero_window_connections(process.addr, 0, 64, 1).await;
    let mut closing = JoinSet::new();
    for mut stream in streams {
        closing
            .spawn(async move { closed_after(&mut stream, sent, Duration::from_secs(20)).await });
    }
    let mut still_open = 0;
    while let Some(closed) = closing.join_next().await {
        match closed.unwrap() {
            Some(after) => assert!(
                after >= Duration::from_millis(900),
                "closed early: {after:?}"
            ),
            None => still_open += 1,
        }
    }
    assert_eq!(still_open, 0, "connections left open by a zero window");
    // The gateway is fine.
    assert_eq!(order_on_a_new_connection(process.addr).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn http1_responses_nobody_reads_close_the_connection() {
    let env = env_with(
        "request_timeout = \"60s\"",
        "write_timeout = \"1s\"\nheader_read_timeout = \"60s\"\nidle_timeout = \"60s\"",
    )
    .await;
    let process = start(&env);
    // 300 pipelined requests for the OpenAPI document (tens of MB in all): far more than
    // the sockets' buffers hold, so the gateway waits on the client.
    let mut pipeline = Vec::new();
    for _ in 0..300 {
        pipeline.extend(get("/openapi.json"));
    }

    // Never read: after the write timeout the connection is gone, and what the kernel
    // buffered is all there is.
    let mut unread = TcpStream::connect(process.addr).await.unwrap();
    unread.write_all(&pipeline).await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let drained = Instant::now();
    let closed = closed_after(&mut unread, drained, Duration::from_secs(5)).await;
    assert!(closed.is_some(), "an unread connection stayed open");

    // A slow reader (about 10 KB/s) is cut off at the write timeout too: once it reads
    // at full speed, it finds the connection closed after a small part of what it asked.
    let document = reqwest::get(process.url("/openapi.json")).await.unwrap();
    let asked = 300 * document.bytes().await.unwrap().len();
    let mut slow = TcpStream::connect(process.addr).await.unwrap();
    slow.write_all(&pipeline).await.unwrap();
    let mut received = 0usize;
    let mut buf = [0u8; 1000];
    let slow_until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < slow_until {
        received += slow.read(&mut buf).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match tokio::time::timeout(Duration::from_secs(10), slow.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => break,
            Ok(Ok(n)) => received += n,
            Err(_) => {
                panic!("the slow reader's connection stayed open ({received} of {asked} bytes)")
            }
        }
    }
    assert!(
        received < asked / 2,
        "the slow reader got {received} of {asked} bytes"
    );
    assert_eq!(order_on_a_new_connection(process.addr).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn uploads_that_never_end_close_their_connection() {
    let env = env_with(
        "request_timeout = \"1s\"",
        "write_timeout = \"1s\"\nheader_read_timeout = \"60s\"\nidle_timeout = \"60s\"",
    )
    .await;
    let process = start(&env);
    let trickle = |mut stream: TcpStream, chunk: fn() -> Vec<u8>| async move {
        let started = Instant::now();
        let (mut read, mut write) = stream.split();
        let writing = async {
            loop {
                if write.write_all(&chunk()).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        };
        let mut buf = [0u8; 4096];
        let reading = async {
            loop {
                match read.read(&mut buf).await {
                    Ok(0) | Err(_) => return started.elapsed(),
                    Ok(_) => {}
                }
            }
        };
        tokio::select! {
            () = writing => started.elapsed(),
            closed = reading => closed,
            () = tokio::time::sleep(Duration::from_secs(20)) => Duration::MAX,
        }
    };

    // HTTP/1.1: a body of a million bytes announced, one byte every 100 ms.
    let mut h1 = TcpStream::connect(process.addr).await.unwrap();
    h1.write_all(
        format!(
            "POST {ORDER_PATH} HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n\
             Content-Length: 1000000\r\n\r\n{{"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let h1_closed = trickle(h1, || b" ".to_vec()).await;
    assert!(
        h1_closed < Duration::from_secs(8),
        "HTTP/1.1 upload kept its connection: {h1_closed:?}"
    );

    // HTTP/2: a POST whose DATA frames come one byte every 100 ms and never end.
    let mut h2 = TcpStream::connect(process.addr).await.unwrap();
    h2.write_all(&h2_stalled_request(true, ORDER_PATH))
        .await
        .unwrap();
    let h2_closed = trickle(h2, || h2_frame(0x0, 0, 1, b" ")).await;
    assert!(
        h2_closed < Duration::from_secs(8),
        "HTTP/2 upload kept its connection: {h2_closed:?}"
    );
    assert_eq!(order_on_a_new_connection(process.addr).await.0, 200);
}

// ---- capacity -----------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn at_the_cap_idle_and_stalled_connections_give_their_slots_to_new_ones() {
    let env = env_with(
        "request_timeout = \"60s\"",
        "max_connections = 16\nreclaim_after = \"500ms\"\nwrite_timeout = \"60s\"\n\
         header_read_timeout = \"60s\"\nidle_timeout = \"60s\"",
    )
    .await;
    let process = start(&env);
    // Every slot taken: 8 payers' keep-alive connections (idle between polls) and 8
    // responses held behind a zero window.
    let _pollers = pollers(process.addr, 0, 8, 1, Duration::from_secs(30));
    let _stalled = zero_window_connections(process.addr, 100, 8, 1).await;
    tokio::time::sleep(Duration::from_secs(1)).await;

    for _ in 0..20 {
        let (status, took) = order_on_a_new_connection(process.addr).await;
        assert_eq!(status, 200);
        assert!(
            took < Duration::from_secs(5),
            "an order waited {took:?} for a slot"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_client_holds_at_most_its_connections_and_others_are_not_affected() {
    // 8 slots, 2 per client once 4 are open; 127.0.1.4 is a trusted proxy (its
    // connections carry many clients).
    let env = env_with(
        "",
        "max_connections = 8\nmax_connections_per_client = 2\nreclaim_after = \"60s\"\n\
         trusted_proxies = [\"127.0.1.4/32\"]",
    )
    .await;
    let process = start(&env);
    let open = |client: u32| async move {
        let mut stream = connect_as(process.addr, client).await;
        let _ = stream.write_all(&get("/healthz")).await;
        let status = read_status(&mut stream).await;
        (stream, status)
    };
    // Below half the slots a client may hold more than its share.
    let mut held = Vec::new();
    for _ in 0..4 {
        let (stream, status) = open(0).await;
        assert_eq!(status, Some(200));
        held.push(stream);
    }
    // Half are open: the client is over its share, its next connection is closed.
    assert_eq!(open(0).await.1, None, "a client over its share was served");
    // Another client is served, and the trusted proxy beyond any client's share.
    let (_other, status) = open(1).await;
    assert_eq!(status, Some(200));
    let mut proxied = Vec::new();
    for _ in 0..3 {
        let (stream, status) = open(2).await;
        assert_eq!(status, Some(200), "a trusted proxy was limited");
        proxied.push(stream);
    }
    // Its connections closed, the client is served again.
    drop(held);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(open(0).await.1, Some(200));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn public_pages_are_rate_limited_per_client_and_signed_orders_are_not() {
    let env = env_with("", "public_rate = 1\npublic_burst = 5").await;
    let process = start(&env);
    let from = |last: u8| {
        reqwest::Client::builder()
            .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 1, last)))
            .build()
            .unwrap()
    };
    let payer = from(10);
    let status_url = process.url("/pay/cz-unknown/status");
    let mut limited = None;
    for _ in 0..10 {
        let response = payer.get(&status_url).send().await.unwrap();
        if response.status() == 429 {
            limited = Some(response);
            break;
        }
        assert_eq!(response.status(), 404);
    }
    let limited = limited.expect("ten requests at once stayed within a burst of five");
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry_after), "Retry-After {retry_after}");
    let body: serde_json::Value = limited.json().await.unwrap();
    assert_eq!(body["data"]["code"], "RATE_LIMITED");

    // Another payer is not limited by the first one.
    let other = from(11).get(&status_url).send().await.unwrap();
    assert_eq!(other.status(), 404);
    // The limited address still places signed orders.
    for _ in 0..20 {
        assert_eq!(order(&payer, process.addr).await.0, 200);
    }
}

// ---- the whole attack ----------------------------------------------------------------

/// The two reproductions at once, at the default limits: 1,024 HTTP/2
/// connections holding responses behind a zero window and 1,024 payers' keep-alive
/// connections polling, from 256 addresses — and a merchant still places signed orders,
/// each on a new connection and on its keep-alive connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn signed_orders_answer_while_the_public_side_is_saturated() {
    let env = TestEnv::new().await;
    let process = start(&env);
    let attack = Attack::start(process.addr).await;
    let keep_alive = reqwest::Client::new();
    for _ in 0..50 {
        let (status, took) = order_on_a_new_connection(process.addr).await;
        assert_eq!(status, 200);
        assert!(
            took < Duration::from_secs(5),
            "a new connection waited {took:?}"
        );
        let (status, took) = order(&keep_alive, process.addr).await;
        assert_eq!(status, 200);
        assert!(
            took < Duration::from_secs(5),
            "a keep-alive order took {took:?}"
        );
    }
    drop(attack);
}

/// Both attacks, running until dropped.
struct Attack {
    _stalled: Vec<TcpStream>,
    _pollers: JoinSet<()>,
}

impl Attack {
    async fn start(addr: SocketAddr) -> Self {
        // 8 connections per address, within the per-client limit.
        let stalled = zero_window_connections(addr, 10_000, 128, 8).await;
        let pollers = pollers(addr, 20_000, 128, 8, Duration::from_secs(8));
        tokio::time::sleep(Duration::from_secs(2)).await;
        Self {
            _stalled: stalled,
            _pollers: pollers,
        }
    }
}

/// The figures of the closing note: signed-order latency on a new connection and on a
/// keep-alive connection, with the gateway idle and with the public side saturated.
/// `cargo test -p usdt-gateway --test gateway -- --ignored --nocapture hostile_figures`
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "figures; run by hand"]
async fn hostile_figures() {
    let env = TestEnv::new().await;
    let process = start(&env);
    let measure = |label: &'static str| async move {
        let keep_alive = reqwest::Client::new();
        let (mut fresh, mut kept) = (Vec::new(), Vec::new());
        for _ in 0..300 {
            let (status, took) = order_on_a_new_connection(process.addr).await;
            assert_eq!(status, 200);
            fresh.push(took);
            let (status, took) = order(&keep_alive, process.addr).await;
            assert_eq!(status, 200);
            kept.push(took);
        }
        for (what, mut v) in [("new connection", fresh), ("keep-alive", kept)] {
            v.sort();
            let at = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
            println!(
                "{label:<28} {what:<15} p50 {:>8.2} ms  p99 {:>8.2} ms  max {:>8.2} ms",
                at(0.5).as_secs_f64() * 1e3,
                at(0.99).as_secs_f64() * 1e3,
                at(1.0).as_secs_f64() * 1e3
            );
        }
    };
    measure("idle").await;
    let attack = Attack::start(process.addr).await;
    measure("public side saturated").await;
    drop(attack);
}
