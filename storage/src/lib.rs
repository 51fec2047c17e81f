//! `usdt-gateway-storage`, the gateway's durable storage: the embedded SQLite database (default) or PostgreSQL, each through
//! its own typed `sqlx` driver. Orders and address bindings are unique in the database,
//! so two writers (two replicas on PostgreSQL) can never both accept conflicting orders.
//!
//! A statement whose SQL is the same on both databases is written once and run through
//! [`on_pool!`] or [`on_tx!`], which compile it for each driver; rows are read by column
//! name into `FromRow` structs; states are the core's enums, read through [`Text`].
//!
//! The only crate that speaks SQL. It implements the core's storage port
//! ([`usdt_gateway_core::ports::Storage`], in [`port`]).
//!
//! Schema changes are migrations in `storage/migrations/{sqlite,postgres}`, applied at
//! start.

mod allocations;
mod announce;
mod callbacks;
mod consistency;
mod console;
mod counts;
mod deposits;
mod dev_ledger;
mod leases;
mod orders;
mod port;
mod retirement;
mod states;

use std::str::FromStr;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, Postgres, Sqlite, SqlitePool};

pub use allocations::{AllocateError, Allocation, KnownAllocation};
pub use announce::OUTBOX_CHANNEL;
pub use callbacks::{AttemptRecord, DueCallback};
pub use consistency::Violation;
pub use counts::{PoolUsage, StoreCounts};
pub use deposits::{NewDeposit, OpenDeposit, REORG_DEPTH, Scan};
pub use dev_ledger::{LedgerAppend, LedgerTransfer};
pub use leases::ClaimSlots;
pub use orders::OrderConnection;
pub use retirement::{RetireRequest, Retired, RetirementRecord};
pub use states::Text;
pub use usdt_gateway_core::address::{AllocationRequest, Derived};
pub use usdt_gateway_core::chain::CursorRecord;
pub use usdt_gateway_core::delivery::{AttemptView, CallbackRecord, ResendOutcome};
pub use usdt_gateway_core::deposit::{AssignOutcome, DepositRecord};
pub use usdt_gateway_core::order::{CreateOutcome, NewOrder, OrderRecord};
pub use usdt_gateway_core::states::{
    AttemptOutcome, DeliveryState, DepositState, OrderState, StateText, UnknownState,
};

/// Where the database is: the embedded SQLite file's path, or a PostgreSQL URL (a
/// secret: it may hold a password, so it is never logged here).
#[derive(Clone, Copy)]
pub enum Database<'a> {
    /// The embedded SQLite file.
    Sqlite(&'a std::path::Path),
    /// `postgres://…`.
    Postgres(&'a str),
}

/// Which database a [`Store`] talks to; the few statements that differ branch on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// The embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// The connection pool, typed by its driver.
#[derive(Clone, Debug)]
pub(crate) enum Pool {
    /// The embedded SQLite file.
    Sqlite(SqlitePool),
    /// A PostgreSQL server.
    Postgres(PgPool),
}

/// A transaction, typed by its driver.
#[derive(Debug)]
pub(crate) enum Tx<'c> {
    /// On SQLite.
    Sqlite(sqlx::Transaction<'c, Sqlite>),
    /// On PostgreSQL.
    Postgres(sqlx::Transaction<'c, Postgres>),
}

/// A connection taken from the pool, typed by its driver.
#[derive(Debug)]
pub(crate) enum Connection {
    /// To SQLite.
    Sqlite(PoolConnection<Sqlite>),
    /// To PostgreSQL.
    Postgres(PoolConnection<Postgres>),
}

/// Run `$body` with `$db` bound to the typed pool of `$pool` (a [`Pool`]): the statement
/// is written once and compiled for each driver. The body's value must not depend on
/// the driver (map rows with `query_as`/`query_scalar`, results to plain numbers).
macro_rules! on_pool {
    ($pool:expr, $db:ident => $body:expr) => {
        match $pool {
            $crate::Pool::Sqlite($db) => $body,
            $crate::Pool::Postgres($db) => $body,
        }
    };
}

/// [`on_pool!`] for a transaction: `$db` is the transaction's connection.
macro_rules! on_tx {
    ($tx:expr, $db:ident => $body:expr) => {
        match $tx {
            $crate::Tx::Sqlite(tx) => {
                let $db = &mut **tx;
                $body
            }
            $crate::Tx::Postgres(tx) => {
                let $db = &mut **tx;
                $body
            }
        }
    };
}

pub(crate) use {on_pool, on_tx};

/// A storage failure. Never a client's mistake: the API answers 503 and nothing that
/// was acknowledged is lost.
#[derive(Debug, thiserror::Error)]
#[error("storage: {0}")]
pub struct StoreError(#[from] pub sqlx::Error);

impl StoreError {
    /// A unique constraint refused a row: another writer got there first. Retrying the
    /// transaction sees that writer's row.
    pub fn is_conflict(&self) -> bool {
        matches!(&self.0, sqlx::Error::Database(e) if e.is_unique_violation())
    }

    /// SQLite's lock was busy or a snapshot went stale: retrying can succeed.
    pub fn is_transient(&self) -> bool {
        match &self.0 {
            sqlx::Error::Database(e) => {
                let code = e.code().unwrap_or_default();
                // PostgreSQL: serialization failure, deadlock. SQLite: SQLITE_BUSY (5)
                // and SQLITE_LOCKED (6) with their extended codes.
                code == "40001"
                    || code == "40P01"
                    || (code.len() < 5 // SQLSTATEs have 5 characters, SQLite codes fewer
                        && code.parse::<u32>().is_ok_and(|n| matches!(n & 0xff, 5 | 6)))
            }
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) => true,
            _ => false,
        }
    }
}

/// The gateway's database.
#[derive(Clone, Debug)]
pub struct Store {
    pool: Pool,
}

impl Store {
    /// Connect (creating the SQLite file and its folder when needed) and apply the
    /// migrations.
    pub async fn open<'a>(database: impl Into<Database<'a>>) -> anyhow::Result<Self> {
        let pool = match database.into() {
            Database::Sqlite(path) => Pool::Sqlite(open_sqlite(path).await?),
            Database::Postgres(url) => Pool::Postgres(
                PgPoolOptions::new()
                    .max_connections(16)
                    .min_connections(1)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(PgConnectOptions::from_str(url)?)
                    .await?,
            ),
        };
        match &pool {
            Pool::Sqlite(pool) => sqlx::migrate!("./migrations/sqlite").run(pool).await?,
            Pool::Postgres(pool) => sqlx::migrate!("./migrations/postgres").run(pool).await?,
        }
        Ok(Self { pool })
    }

    /// The connection pool, for the modules that keep their own tables (the dev chain).
    pub(crate) fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Begin a transaction that writes. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so waiting for another writer goes through the busy
    /// timeout instead of failing when a read would later turn into a write.
    pub(crate) async fn begin_write(&self) -> Result<Tx<'static>, sqlx::Error> {
        Ok(match &self.pool {
            Pool::Sqlite(pool) => Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            Pool::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// Take a connection from the pool; it goes back when dropped.
    pub(crate) async fn acquire(&self) -> Result<Connection, sqlx::Error> {
        Ok(match &self.pool {
            Pool::Sqlite(pool) => Connection::Sqlite(pool.acquire().await?),
            Pool::Postgres(pool) => Connection::Postgres(pool.acquire().await?),
        })
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.pool.backend()
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_pool!(&self.pool, db => sqlx::query("SELECT 1").execute(db).await.map(drop))?;
        Ok(())
    }

    /// Close every connection, waiting for those in use.
    pub async fn close(&self) {
        on_pool!(&self.pool, db => db.close().await);
    }
}

/// The SQLite pool on the file at `path`, created with its folder when missing.
async fn open_sqlite(path: &std::path::Path) -> anyhow::Result<SqlitePool> {
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow::anyhow!("creating the data folder {}: {e}", dir.display()))?;
    }
    // WAL: readers never block the writer. synchronous=FULL: a commit is on disk (fsync
    // of the WAL) before it returns, so an acknowledged order survives a crash and a
    // power cut.
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(5))
        .foreign_keys(true)
        .pragma("cache_size", "-65536");
    Ok(SqlitePoolOptions::new()
        .max_connections(4)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await?)
}

impl Pool {
    /// Which database this is.
    pub(crate) fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(_) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }
}

impl Tx<'_> {
    /// Which database this is.
    pub(crate) fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(_) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }

    /// Commit.
    pub(crate) async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Self::Sqlite(tx) => tx.commit().await,
            Self::Postgres(tx) => tx.commit().await,
        }
    }
}

impl Connection {
    /// Begin a transaction that writes on this connection (see [`Store::begin_write`]).
    pub(crate) async fn begin_write(&mut self) -> Result<Tx<'_>, sqlx::Error> {
        use sqlx::Connection as _;
        Ok(match self {
            Self::Sqlite(conn) => Tx::Sqlite(conn.begin_with("BEGIN IMMEDIATE").await?),
            Self::Postgres(conn) => Tx::Postgres(conn.begin().await?),
        })
    }

    /// Drop this connection for good (after an error: it may be broken) instead of
    /// giving it back to the pool.
    pub(crate) fn discard(self) {
        match self {
            Self::Sqlite(conn) => drop(conn.detach()),
            Self::Postgres(conn) => drop(conn.detach()),
        }
    }
}

impl Backend {
    /// `count` placeholders for the parameters `first..first + count`, in the form the
    /// database binds fastest: plain positional `?` on SQLite (bound in order; a
    /// numbered `?N` or `$N` is a *named* parameter there, and naming costs a linear
    /// search per parameter — quadratic in a multi-row insert), `$N` on PostgreSQL.
    /// On SQLite the statement's parameters must all be positional and bound in order.
    fn placeholders(self, first: usize, count: usize) -> String {
        match self {
            Self::Sqlite => vec!["?"; count].join(", "),
            Self::Postgres => (first..first + count)
                .map(|i| format!("${i}"))
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    /// `rows` parenthesised rows of `columns` placeholders, numbered from 1.
    fn rows(self, columns: usize, rows: usize) -> String {
        (0..rows)
            .map(|r| format!("({})", self.placeholders(r * columns + 1, columns)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}
