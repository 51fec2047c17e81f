//! Callback deliveries per second: N confirmed orders in the outbox, a local receiver
//! answering `success`, the real dispatcher (component-built bodies, pooled HTTP,
//! every attempt persisted). `cargo bench -p usdt-gateway --bench delivery`
//! (`DELIVERIES=20000`, `DATABASE_URL=postgres://…` for PostgreSQL).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::Arc;
use std::time::{Duration, Instant};
use usdt_gateway_core::units::{Amount, UnixMillis};

use sqlx::Connection;
use tokio::sync::{Notify, watch};
use usdt_callback_http::{CallbackHttp, TransportConfig};
use usdt_gateway::config::{Database, Merchant, Secret};
use usdt_gateway::delivery::{DeliveryConfig, Dispatcher};
use usdt_gateway::merchants::MerchantDirectory;
use usdt_gateway::rules::{ConfirmationPolicy, ConfirmationRule, Rules, RulesLimits};
use usdt_gateway::store::{NewOrder, Store};

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("DELIVERIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let dir = tempfile::tempdir().unwrap();
    let database = match std::env::var("DATABASE_URL") {
        Ok(url) => Database::Postgres(Secret::new(url)),
        Err(_) => Database::Sqlite(dir.path().join("bench.db")),
    };
    let store = Store::open(&database).await.unwrap();
    let url = start_receiver().await;
    let mut conn = Conn::open(&database).await;
    fill_outbox(&store, &mut conn, n).await;

    let dispatcher = dispatcher(&store, url);
    let (stop, stopped) = watch::channel(false);
    let started = Instant::now();
    let task = tokio::spawn(dispatcher.run(Arc::new(Notify::new()), stopped));
    wait_until_nothing_pending(&mut conn).await;
    let elapsed = started.elapsed();
    stop.send(true).unwrap();
    task.await.unwrap();
    let delivered = conn
        .count("SELECT COUNT(*) FROM callback_attempts WHERE outcome = 'delivered'")
        .await;
    assert_eq!(delivered as usize, n, "every delivery recorded once");
    println!(
        "{n} callbacks delivered and recorded on {} in {:.2} s: {:.0} deliveries/s",
        database.describe(),
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64()
    );
}

/// The receiver: answers `success` at once. Its `notify_url`.
async fn start_receiver() -> String {
    let app = axum::Router::new().route("/notify", axum::routing::post(|| async { "success" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/notify", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// `n` confirmed orders with a pending delivery each.
async fn fill_outbox(store: &Store, conn: &mut Conn, n: usize) {
    let run = uuid::Uuid::new_v4().simple().to_string();
    let orders: Vec<NewOrder> = (0..n)
        .map(|i| NewOrder {
            ordersn: format!("cz-bench-{run}-{i}").into(),
            appid: "bench".into(),
            orderid: format!("b-{run}-{i}").into(),
            username: format!("u{i}"),
            localusermark: format!("m{i}"),
            address: format!("0x{:040x}", i + 1),
            canonical_address: format!("0x{:040x}", i + 1),
            chain: "ERC20".into(),
            amount: Amount(1_000_000),
            notify_url: None,
            required_confirmations: 1,
            created_at: UnixMillis(0),
            expires_at: UnixMillis(i64::MAX),
        })
        .collect();
    for chunk in orders.chunks(500) {
        store.create_orders(chunk).await.unwrap();
    }
    let sql = format!(
        "INSERT INTO callbacks (ordersn, appid, notify_url, amount, state, attempts, next_attempt_at, \
         created_at, updated_at) SELECT ordersn, appid, NULL, amount, 'pending', 0, 0, 0, 0 FROM orders \
         WHERE ordersn LIKE 'cz-bench-{run}-%'"
    );
    conn.execute(&sql).await;
}

/// The real dispatcher: the built-in component, one merchant whose callbacks go to `url`,
/// pooled HTTP.
fn dispatcher(store: &Store, url: String) -> Dispatcher {
    let rules = Rules::builtin(RulesLimits::default()).unwrap();
    let policy = ConfirmationPolicy {
        base: ConfirmationRule {
            default_required: 1,
            large_amount: 100_000_000,
            large_required: 3,
        },
        overrides: Vec::new(),
    };
    let merchants = Arc::new(MerchantDirectory::new(
        Arc::clone(&rules),
        policy,
        vec![bench_merchant(url)],
    ));
    let http = CallbackHttp::new(TransportConfig {
        allow_private_targets: true,
        max_in_flight_per_merchant: 64,
        ..TransportConfig::default()
    })
    .unwrap();
    Dispatcher::new(
        store.clone(),
        rules,
        http,
        merchants,
        DeliveryConfig {
            retry_delays: vec![Duration::from_secs(15)],
            timeout: Duration::from_secs(6),
            max_in_flight_per_merchant: 64,
            max_in_flight: 256,
        },
        usdt_gateway::metrics::CallbackMetrics::default(),
    )
}

/// The bench's merchant, its callbacks to `url`.
fn bench_merchant(url: String) -> Merchant {
    Merchant {
        appid: "bench".into(),
        secret: Secret::new("bench-secret-0123456789abcdef0123456789"),
        next_secret: None,
        notify_url: Some(url),
        checkout_page: false,
        xpubs: Default::default(),
        allocated_addresses_only: false,
        address_limits: usdt_gateway_core::address::AddressLimits {
            max_per_chain: 1,
            rate: 1,
            burst: 1,
        },
    }
}

/// Poll until no delivery is pending.
async fn wait_until_nothing_pending(conn: &mut Conn) {
    loop {
        let left = conn
            .count("SELECT COUNT(*) FROM callbacks WHERE state = 'pending'")
            .await;
        if left == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A direct connection to the bench's database, typed by its driver.
enum Conn {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl Conn {
    async fn open(database: &Database) -> Self {
        match database {
            Database::Sqlite(path) => {
                let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path);
                Self::Sqlite(
                    sqlx::SqliteConnection::connect_with(&options)
                        .await
                        .unwrap(),
                )
            }
            Database::Postgres(url) => {
                Self::Postgres(sqlx::PgConnection::connect(url.expose()).await.unwrap())
            }
        }
    }

    async fn execute(&mut self, sql: &str) {
        match self {
            Self::Sqlite(c) => drop(sqlx::query(sql).execute(c).await.unwrap()),
            Self::Postgres(c) => drop(sqlx::query(sql).execute(c).await.unwrap()),
        }
    }

    async fn count(&mut self, sql: &str) -> i64 {
        match self {
            Self::Sqlite(c) => sqlx::query_scalar(sql).fetch_one(c).await.unwrap(),
            Self::Postgres(c) => sqlx::query_scalar(sql).fetch_one(c).await.unwrap(),
        }
    }
}
