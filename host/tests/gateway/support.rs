//! Shared test machinery: a configuration on a fresh database (SQLite in a temporary
//! folder, or a new PostgreSQL database when `USDT_TEST_POSTGRES_URL` is set),
//! signing done independently of the component (plain MD5, as a merchant would), and a
//! real `usdt-gateway` process for crash and shutdown tests.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use md5::{Digest, Md5};
use serde_json::{Value, json};
use tempfile::TempDir;
use usdt_gateway::config::Config;

/// The merchants every test configuration has.
pub const APPID: &str = "shop1";
/// `APPID`'s secret.
pub const SECRET: &str = "shop1-secret-0123456789abcdef0123456789";
/// A second merchant.
pub const APPID2: &str = "shop2";
/// `APPID2`'s secret.
pub const SECRET2: &str = "shop2-secret-abcdef0123456789abcdef0123";

/// Lowercase hex MD5 of `parts` joined by `|` — the protocol's signature, computed
/// without the component.
pub fn md5_sign(parts: &[&str]) -> String {
    format!("{:x}", Md5::digest(parts.join("|").as_bytes()))
}

/// A unique, valid, all-lowercase ERC20 address.
pub fn fresh_address() -> String {
    format!("0x{}", &uuid::Uuid::new_v4().simple().to_string()[..32]) + "00000000"
}

/// A unique order id.
pub fn fresh_orderid() -> String {
    format!("t-{}", uuid::Uuid::new_v4().simple())
}

/// An order body signed with `secret`.
pub fn order_body(
    appid: &str,
    secret: &str,
    username: &str,
    address: &str,
    orderid: &str,
    amount: u64,
) -> Value {
    let localusermark = format!("mark-{orderid}");
    let amount_text = amount.to_string();
    let sign = md5_sign(&[
        appid,
        username,
        &localusermark,
        address,
        orderid,
        &amount_text,
        secret,
    ]);
    json!({
        "appid": appid, "username": username, "localusermark": localusermark,
        "address": address, "orderid": orderid, "amount": amount, "sign": sign,
    })
}

/// A query body signed with `secret`.
pub fn query_body(appid: &str, secret: &str, orderid: &str) -> Value {
    json!({"appid": appid, "orderid": orderid, "sign": md5_sign(&[appid, orderid, secret])})
}

/// A configuration file's text for a fresh database: two merchants; dev mode only when
/// asked for.
pub struct TestEnv {
    /// The temporary folder (data_dir and the configuration file).
    pub dir: TempDir,
    /// The configuration file.
    pub config_path: PathBuf,
}

impl TestEnv {
    /// A new folder and configuration; with `USDT_TEST_POSTGRES_URL` set, a new
    /// PostgreSQL database on that server.
    pub async fn new() -> Self {
        Self::with_extra("").await
    }

    /// Like [`TestEnv::new`] with extra TOML tables appended.
    pub async fn with_extra(top: &str) -> Self {
        Self::build(top, false, "https://merchant.example/notify").await
    }

    /// Dev mode with fast dev chains and fast retries, callbacks of `APPID` going to
    /// `notify_url`; `extra` holds more tables.
    pub async fn dev(notify_url: &str, extra: &str) -> Self {
        Self::build(extra, true, notify_url).await
    }

    /// A configuration with `top` (extra tables) appended, dev mode on or off, and
    /// `APPID`'s callbacks going to `notify_url`.
    pub async fn build(top: &str, dev: bool, notify_url: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let database = match postgres_server() {
            Some(server) => format!(
                "database_url = \"{}\"\n",
                fresh_postgres_database(&server).await
            ),
            None => String::new(),
        };
        // Dev mode is asked for explicitly; otherwise the file is production-shaped:
        // merchants and no [dev] table at all.
        let dev_table = if dev {
            "[dev]\nenabled = true\npoll_interval = \"50ms\"\n"
        } else {
            ""
        };
        let text = format!(
            "listen = \"127.0.0.1:0\"\ndata_dir = \"{data}\"\n{database}\
             [log]\nlevel = \"warn\"\n{dev_table}\
             [[merchants]]\nappid = \"{APPID}\"\nsecret = \"{SECRET}\"\nnotify_url = \"{notify_url}\"\n\
             [[merchants]]\nappid = \"{APPID2}\"\nsecret = \"{SECRET2}\"\n{top}\n",
            data = dir.path().join("data").display(),
        );
        let config_path = dir.path().join("gateway.toml");
        std::fs::write(&config_path, text).expect("write config");
        Self { dir, config_path }
    }

    /// The loaded configuration.
    pub fn config(&self) -> Config {
        Config::load_with_env(
            Some(&self.config_path),
            figment::providers::Env::prefixed("USDT_GATEWAY_TEST_UNUSED_"),
        )
        .expect("test configuration")
    }
}

/// The PostgreSQL server of the PostgreSQL pass, when it runs.
pub fn postgres_server() -> Option<String> {
    std::env::var("USDT_TEST_POSTGRES_URL")
        .ok()
        .filter(|s| !s.is_empty())
}

/// Create an empty database on `server` and return its URL.
async fn fresh_postgres_database(server: &str) -> String {
    use sqlx::Connection;
    let name = format!("usdt_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(server)
        .await
        .expect("connect to the PostgreSQL test server");
    sqlx::Executor::execute(&mut conn, format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("create a test database");
    let (base, _) = server.rsplit_once('/').expect("a URL with a database name");
    format!("{base}/{name}")
}

/// A running `usdt-gateway serve` process.
pub struct Process {
    /// The child.
    pub child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Lines it printed on standard output before listening.
    pub banner: Vec<String>,
}

impl Process {
    /// Start the binary with `args` in `cwd` and wait until it prints its address.
    pub fn start(cwd: &Path, args: &[&str]) -> Self {
        Self::start_with(cwd, args, &[], Stdio::inherit())
    }

    /// Like [`Process::start`], with environment variables `env` and its standard error
    /// (the log) going to `stderr`.
    pub fn start_with(cwd: &Path, args: &[&str], env: &[(&str, &str)], stderr: Stdio) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_usdt-gateway"))
            .args(args)
            .current_dir(cwd)
            .env_remove("RUST_LOG")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("start usdt-gateway");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let mut banner = Vec::new();
        let addr = loop {
            let line = lines
                .next()
                .expect("usdt-gateway exited before listening")
                .expect("read stdout");
            if let Some(rest) = line.strip_prefix("usdt-gateway listening on http://") {
                break rest.trim().parse().expect("listening address");
            }
            banner.push(line);
        };
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Self {
            child,
            addr,
            banner,
        }
    }

    /// `http://addr` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Send a signal (`KILL`, `TERM`) to the process.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([format!("-{name}"), self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name}");
    }

    /// Wait for the process to exit, at most `limit`.
    pub fn wait(&mut self, limit: Duration) -> std::process::ExitStatus {
        let deadline = std::time::Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the process did not exit in {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One request a [`TestReceiver`] got.
#[derive(Clone, Debug)]
pub struct Received {
    /// When it arrived.
    pub at: std::time::Instant,
    /// Its body.
    pub body: String,
}

/// A merchant's callback endpoint on `127.0.0.1:0`: fails the first `fail_first`
/// requests (HTTP 500), then answers `success`; optionally waits before answering.
pub struct TestReceiver {
    /// `http://127.0.0.1:port/notify`.
    pub url: String,
    received: std::sync::Arc<std::sync::Mutex<Vec<Received>>>,
}

impl TestReceiver {
    /// Start one.
    pub async fn start(fail_first: usize, delay: Duration) -> Self {
        use axum::routing::post;
        let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Received>::new()));
        let log = received.clone();
        let app = axum::Router::new().route(
            "/notify",
            post(move |body: String| {
                let log = log.clone();
                async move {
                    let n = {
                        let mut log = log.lock().unwrap();
                        log.push(Received {
                            at: std::time::Instant::now(),
                            body,
                        });
                        log.len()
                    };
                    tokio::time::sleep(delay).await;
                    if n <= fail_first {
                        (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "not yet")
                    } else {
                        (axum::http::StatusCode::OK, "success\n")
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/notify", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, received }
    }

    /// Every request so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Wait until `n` requests arrived (at most `limit`).
    pub async fn wait_for(&self, n: usize, limit: Duration) -> Vec<Received> {
        let deadline = std::time::Instant::now() + limit;
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "only {} of {n} callbacks in {limit:?}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Check a callback body as a merchant would, with plain MD5: the fields, the sign and
/// `|now - t| <= 300`. Returns the body as JSON.
pub fn verify_callback(body: &str, secret: &str) -> Value {
    let v: Value = serde_json::from_str(body).expect("a JSON callback");
    let field = |k: &str| {
        v[k].as_str()
            .unwrap_or_else(|| panic!("`{k}` is a string: {body}"))
            .to_owned()
    };
    let (orderid, mark, amount, t) = (
        field("orderid"),
        field("localusermark"),
        field("amount"),
        field("t"),
    );
    assert_eq!(
        field("sign"),
        md5_sign(&[&orderid, &mark, &amount, &t, secret]),
        "callback sign: {body}"
    );
    let t: u64 = t.parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(now.abs_diff(t) <= 300, "t within the window: {t} vs {now}");
    v
}

/// Run one SQL statement on `env`'s database from outside the gateway (what a crash, a
/// second writer or an operator would leave behind); the rows it changed.
pub async fn execute_sql(env: &TestEnv, statement: &str) -> u64 {
    use sqlx::Connection;
    use usdt_gateway::config::Database;
    match env.config().database() {
        Database::Sqlite(path) => {
            let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path);
            let mut conn = sqlx::SqliteConnection::connect_with(&options)
                .await
                .expect("connect to the test database");
            sqlx::query(statement)
                .execute(&mut conn)
                .await
                .expect("run the statement")
                .rows_affected()
        }
        Database::Postgres(url) => {
            let mut conn = sqlx::PgConnection::connect(url.expose())
                .await
                .expect("connect to the test database");
            sqlx::query(statement)
                .execute(&mut conn)
                .await
                .expect("run the statement")
                .rows_affected()
        }
    }
}

/// POST `body` as JSON to `url`; the status and the JSON answer.
pub async fn post_json(url: String, body: &Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(url)
        .json(body)
        .send()
        .await
        .expect("the gateway answers");
    (
        response.status().as_u16(),
        response.json().await.expect("a JSON answer"),
    )
}

/// A connection to `addr` (on loopback) from client number `client`: each number its
/// own source address in 127.0.0.0/8 (127.0.1.2, 127.0.1.3, …; never 127.0.0.1), so a
/// test can play many clients against the per-client limits.
pub async fn connect_as(addr: SocketAddr, client: u32) -> tokio::net::TcpStream {
    let host = client % 250 + 2;
    let net = client / 250 % 250 + 1;
    let source = std::net::Ipv4Addr::new(
        127,
        0,
        u8::try_from(net).unwrap(),
        u8::try_from(host).unwrap(),
    );
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((source, 0))).unwrap();
    socket.connect(addr).await.unwrap()
}
