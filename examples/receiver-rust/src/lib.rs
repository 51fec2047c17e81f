//! A merchant's callback receiver for the USDT Recharge API V2 — the merchant checklist as
//! runnable code.
//!
//! The gateway POSTs `{"orderid","localusermark","amount","t","sign"}` (all strings) to
//! the order's `notify_url`. [`app`] serves `POST /usdt_notify` and, for every body:
//!
//! 1. verifies it through the protocol component (`callbacks.verify-callback`: fields,
//!    `md5(orderid|localusermark|amount|t|secret)`, `|now - t| <=` the protocol's window,
//!    300 s, which the component states in `protocol.facts`), running in the embeddable
//!    sandboxed runtime ([`usdt_recharge_runtime::Rules`]);
//! 2. marks the order paid **once** and credits the user in the same SQLite transaction
//!    (`INSERT OR IGNORE` on the order id: a repeated callback changes nothing);
//! 3. answers `200 success` only **after** the transaction is committed — for a new
//!    payment and for a repeat of an already-paid order, so the gateway stops retrying;
//! 4. answers `400 fail: <CODE>` for a body that fails verification (`SIGN_MISMATCH`,
//!    `TIMESTAMP_OUT_OF_WINDOW`, `INVALID_JSON`, …), and `500 fail: …` when it could not
//!    decide (storage down): both make the gateway retry later.
//!
//! A real merchant would also check that `orderid` is one of its own open orders and decide
//! what to do when `amount` differs from the ordered amount (the callback carries the
//! amount actually received, which is what is credited here).

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use usdt_recharge_runtime::{Callback, Rules, RulesLimits};

/// Largest callback body accepted (a real one is about 150 bytes).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The path the gateway posts to.
pub const NOTIFY_PATH: &str = "/usdt_notify";

/// The merchant secret. Its `Debug` output is redacted.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Wrap a secret; an empty one is refused.
    pub fn new(secret: impl Into<String>) -> anyhow::Result<Self> {
        let secret = secret.into();
        anyhow::ensure!(!secret.is_empty(), "the merchant secret is empty");
        Ok(Self(secret))
    }

    fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// A paid order as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaidOrder {
    /// The merchant's order id.
    pub orderid: String,
    /// The merchant's user reference from the order.
    pub localusermark: String,
    /// The amount received, in scaled units (1 USDT = 10,000).
    pub amount: i64,
}

/// Whether a verified callback paid the order now or found it paid already.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credit {
    /// This callback paid the order and credited the user.
    Paid,
    /// The order was already paid; nothing changed.
    AlreadyPaid,
}

/// Paid orders and user balances in SQLite.
#[derive(Clone, Debug)]
pub struct Ledger {
    pool: SqlitePool,
}

impl Ledger {
    /// Open (creating if needed) the database at `path`; `:memory:` keeps it in memory.
    pub async fn open(path: &str) -> anyhow::Result<Self> {
        let pool = if path == ":memory:" {
            // One connection that never closes: each SQLite connection has its own
            // in-memory database.
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(SqliteConnectOptions::from_str("sqlite::memory:")?)
                .await?
        } else {
            let options = SqliteConnectOptions::new()
                .filename(Path::new(path))
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(5));
            SqlitePoolOptions::new()
                .max_connections(4)
                .connect_with(options)
                .await?
        };
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS paid_orders (
                 orderid TEXT PRIMARY KEY NOT NULL,
                 localusermark TEXT NOT NULL,
                 amount INTEGER NOT NULL,
                 t INTEGER NOT NULL,
                 sign TEXT NOT NULL,
                 paid_at INTEGER NOT NULL
             )",
        )
        .execute(&pool)
        .await?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS balances (
                 localusermark TEXT PRIMARY KEY NOT NULL,
                 amount INTEGER NOT NULL
             )",
        )
        .execute(&pool)
        .await?;
        Ok(Self { pool })
    }

    /// Mark the order paid and credit the user, once: in one transaction, committed before
    /// this returns. A second call for the same `orderid` changes nothing.
    pub async fn credit_once(&self, callback: &Callback, now: u64) -> Result<Credit, sqlx::Error> {
        let fields = &callback.fields;
        let amount = i64::try_from(fields.amount).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
        let t = i64::try_from(fields.t).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
        let now = i64::try_from(now).unwrap_or(i64::MAX);

        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT OR IGNORE INTO paid_orders (orderid, localusermark, amount, t, sign, paid_at)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&fields.orderid)
        .bind(&fields.localusermark)
        .bind(amount)
        .bind(t)
        .bind(&callback.sign)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            tx.rollback().await?;
            return Ok(Credit::AlreadyPaid);
        }
        // The business logic runs here, inside the same transaction: credit the user.
        sqlx::query(
            "INSERT INTO balances (localusermark, amount) VALUES (?, ?)
             ON CONFLICT (localusermark) DO UPDATE SET amount = amount + excluded.amount",
        )
        .bind(&fields.localusermark)
        .bind(amount)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Credit::Paid)
    }

    /// Every paid order, by order id.
    pub async fn paid_orders(&self) -> Result<Vec<PaidOrder>, sqlx::Error> {
        let rows =
            sqlx::query("SELECT orderid, localusermark, amount FROM paid_orders ORDER BY orderid")
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|row| {
                Ok(PaidOrder {
                    orderid: row.try_get(0)?,
                    localusermark: row.try_get(1)?,
                    amount: row.try_get(2)?,
                })
            })
            .collect()
    }

    /// The credited balance of a user (0 if never credited).
    pub async fn balance(&self, localusermark: &str) -> Result<i64, sqlx::Error> {
        let amount: Option<i64> =
            sqlx::query_scalar("SELECT amount FROM balances WHERE localusermark = ?")
                .bind(localusermark)
                .fetch_optional(&self.pool)
                .await?;
        Ok(amount.unwrap_or(0))
    }

    /// Close the database.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Everything the handler needs.
#[derive(Debug)]
pub struct Receiver {
    rules: Arc<Rules>,
    secret: Secret,
    window: u32,
    ledger: Ledger,
}

impl Receiver {
    /// A receiver verifying with `secret` (window: the protocol's, from the component's
    /// `protocol.facts`) and recording in `ledger`. Compiles the protocol component.
    pub fn new(secret: Secret, ledger: Ledger) -> anyhow::Result<Self> {
        let rules = Rules::builtin(RulesLimits::default())?;
        let window = rules.facts()?.callback_window;
        Ok(Self {
            rules,
            secret,
            window,
            ledger,
        })
    }

    /// The accepted distance of `t` from now, in seconds.
    pub fn window(&self) -> u32 {
        self.window
    }

    /// Accept `t` within `window` seconds of now instead of the protocol's window.
    pub fn with_window(mut self, window: u32) -> Self {
        self.window = window;
        self
    }

    /// The ledger.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }
}

/// The router: `POST /usdt_notify` (other methods get 405, other paths 404).
pub fn app(receiver: Arc<Receiver>) -> Router {
    Router::new()
        .route(NOTIFY_PATH, post(usdt_notify))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(receiver)
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn answer(status: StatusCode, text: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text,
    )
        .into_response()
}

async fn usdt_notify(State(receiver): State<Arc<Receiver>>, body: Bytes) -> Response {
    let Ok(body) = std::str::from_utf8(&body) else {
        tracing::warn!("REJECTED INVALID_JSON (not UTF-8)");
        return answer(StatusCode::BAD_REQUEST, "fail: INVALID_JSON".into());
    };
    let now = unix_now();
    let callback =
        match receiver
            .rules
            .verify_callback(body, receiver.secret.expose(), now, receiver.window)
        {
            Ok(Ok(callback)) => callback,
            Ok(Err(rejection)) => {
                let code = rejection.code.as_str();
                tracing::warn!(
                    code,
                    field = rejection.field.as_deref().unwrap_or("-"),
                    "REJECTED {code}"
                );
                return answer(StatusCode::BAD_REQUEST, format!("fail: {code}"));
            }
            Err(fault) => {
                tracing::error!(%fault, "the rules component failed");
                return answer(StatusCode::INTERNAL_SERVER_ERROR, "fail: INTERNAL".into());
            }
        };
    match receiver.ledger.credit_once(&callback, now).await {
        Ok(Credit::Paid) => {
            tracing::info!(
                orderid = callback.fields.orderid,
                amount = callback.fields.amount,
                "PAID {}",
                callback.fields.orderid
            );
            answer(StatusCode::OK, "success".into())
        }
        Ok(Credit::AlreadyPaid) => {
            tracing::info!(
                orderid = callback.fields.orderid,
                "ALREADY_PAID {}",
                callback.fields.orderid
            );
            answer(StatusCode::OK, "success".into())
        }
        Err(e) => {
            tracing::error!(error = %e, orderid = callback.fields.orderid, "storage failed");
            answer(StatusCode::INTERNAL_SERVER_ERROR, "fail: STORAGE".into())
        }
    }
}
