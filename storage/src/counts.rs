//! Counts for the metrics: deposits and callback deliveries by state, unmatched
//! deposits, and the connection pool's usage.

use std::collections::HashMap;

use super::{DeliveryState, DepositState, Pool, Store, StoreError, Text, on_pool};

/// What the database holds, counted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoreCounts {
    /// Deposits by state (a state with none is absent).
    pub deposits: HashMap<DepositState, i64>,
    /// Deposits no order took, not orphaned.
    pub unmatched_deposits: i64,
    /// Callback deliveries by state (a state with none is absent).
    pub deliveries: HashMap<DeliveryState, i64>,
}

/// The connection pool now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolUsage {
    /// Connections open.
    pub size: usize,
    /// Of those, idle.
    pub idle: usize,
    /// The most the pool opens.
    pub max: usize,
}

impl Store {
    /// Deposits and deliveries by state, and unmatched deposits.
    pub async fn counts(&self) -> Result<StoreCounts, StoreError> {
        let deposits: Vec<(Text<DepositState>, i64)> = on_pool!(&self.pool, db => sqlx::query_as(
            "SELECT state, COUNT(*) FROM deposits GROUP BY state",
        )
        .fetch_all(db)
        .await?);
        let deliveries: Vec<(Text<DeliveryState>, i64)> = on_pool!(&self.pool, db => sqlx::query_as(
            "SELECT state, COUNT(*) FROM callbacks GROUP BY state",
        )
        .fetch_all(db)
        .await?);
        let unmatched_deposits: i64 = on_pool!(&self.pool, db => sqlx::query_scalar(
            "SELECT COUNT(*) FROM deposits WHERE ordersn IS NULL AND state <> 'orphaned'",
        )
        .fetch_one(db)
        .await?);
        Ok(StoreCounts {
            deposits: deposits.into_iter().map(|(s, n)| (s.0, n)).collect(),
            unmatched_deposits,
            deliveries: deliveries.into_iter().map(|(s, n)| (s.0, n)).collect(),
        })
    }

    /// The pool's connections now.
    pub fn pool_usage(&self) -> PoolUsage {
        let (size, idle, max) = match &self.pool {
            Pool::Sqlite(pool) => (
                pool.size(),
                pool.num_idle(),
                pool.options().get_max_connections(),
            ),
            Pool::Postgres(pool) => (
                pool.size(),
                pool.num_idle(),
                pool.options().get_max_connections(),
            ),
        };
        let wide = |n: u32| usize::try_from(n).unwrap_or(usize::MAX);
        PoolUsage {
            size: wide(size),
            idle,
            max: wide(max),
        }
    }
}
