//! Durable storage: the embedded SQLite database (default) or PostgreSQL, through one
//! `sqlx` Any pool. Orders and address bindings are unique in the database, so two
//! writers (two replicas on PostgreSQL) can never both accept conflicting orders.
//!
//! Schema changes are migrations in `host/migrations/{sqlite,postgres}`, applied at start.

mod callbacks;
mod console;
mod deposits;
mod leases;
mod orders;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

use crate::config::Database;

pub use callbacks::{AttemptRecord, AttemptView, CallbackRecord, DueCallback};
pub use console::{AssignOutcome, CursorRecord};
pub use deposits::{DepositRecord, NewDeposit, OpenDeposit, REORG_DEPTH, Scan};
pub use leases::ClaimSlots;
pub use orders::{CreateOutcome, NewOrder, OrderRecord};

/// Which database a [`Store`] talks to; the few statements that differ branch on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// The embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

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
    pool: AnyPool,
    backend: Backend,
}

impl Store {
    /// Connect (creating the SQLite file and its folder when needed) and apply the
    /// migrations.
    pub async fn open(database: &Database) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let (url, backend) = match database {
            Database::Sqlite(path) => {
                if let Some(dir) = path.parent()
                    && !dir.as_os_str().is_empty()
                {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        anyhow::anyhow!("creating the data folder {}: {e}", dir.display())
                    })?;
                }
                (
                    format!("sqlite://{}?mode=rwc", path.display()),
                    Backend::Sqlite,
                )
            }
            Database::Postgres(url) => (url.expose().to_owned(), Backend::Postgres),
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(match backend {
                Backend::Sqlite => 4,
                Backend::Postgres => 16,
            })
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL: readers never block the writer. synchronous=FULL: a
                        // commit is on disk (fsync of the WAL) before it returns, so an
                        // acknowledged order survives a crash and a power cut.
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                             PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; \
                             PRAGMA cache_size = -65536;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        let store = Self { pool, backend };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> anyhow::Result<()> {
        match self.backend {
            Backend::Sqlite => {
                sqlx::migrate!("./migrations/sqlite")
                    .run(&self.pool)
                    .await?
            }
            Backend::Postgres => {
                sqlx::migrate!("./migrations/postgres")
                    .run(&self.pool)
                    .await?
            }
        }
        Ok(())
    }

    /// The connection pool, for the modules that keep their own tables (the dev chain).
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Begin a transaction that writes. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so waiting for another writer goes through the busy
    /// timeout instead of failing when a read would later turn into a write.
    pub(crate) async fn begin_write(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Close every connection, waiting for those in use.
    pub async fn close(&self) {
        self.pool.close().await;
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
