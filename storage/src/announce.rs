//! Telling every dispatcher that a delivery fell due now. On PostgreSQL a resend is
//! announced on the channel [`OUTBOX_CHANNEL`] (`NOTIFY`, delivered at commit to every
//! listening connection: each replica's dispatcher, woken whoever resent — the admin
//! API of another replica or the command line). SQLite has one process writing and no
//! channel: a dispatcher there sees the delivery at its next look at the outbox (at
//! least once a second).

use std::sync::Arc;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::{Notify, watch};

use super::{Pool, Store, StoreError};

/// The PostgreSQL channel a due delivery is announced on.
pub const OUTBOX_CHANNEL: &str = "usdt_gateway_outbox";

/// How long to wait before listening again after the connection failed.
const RELISTEN_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

impl Store {
    /// Announce that a delivery is due now (PostgreSQL; nothing on SQLite).
    pub(crate) async fn announce_due_delivery(&self) -> Result<(), StoreError> {
        if let Pool::Postgres(pool) = &self.pool {
            sqlx::query("SELECT pg_notify($1, '')")
                .bind(OUTBOX_CHANNEL)
                .execute(pool)
                .await?;
        }
        Ok(())
    }

    /// Wake `wake` at each announcement until `stopped` turns true (PostgreSQL; returns
    /// at once on SQLite). A lost connection is listened on again after a second: an
    /// announcement missed meanwhile is a delivery seen at the next look instead.
    pub async fn forward_announcements(
        &self,
        wake: Arc<Notify>,
        mut stopped: watch::Receiver<bool>,
    ) {
        let Pool::Postgres(pool) = &self.pool else {
            return;
        };
        while !*stopped.borrow() {
            tokio::select! {
                error = listen(pool, &wake) => {
                    tracing::warn!(error = %error, "outbox announcements: listening again shortly");
                    tokio::time::sleep(RELISTEN_AFTER).await;
                }
                _ = stopped.changed() => return,
            }
        }
    }
}

/// Wake `wake` at each announcement until the connection fails; the failure.
async fn listen(pool: &PgPool, wake: &Notify) -> sqlx::Error {
    let mut listener = match PgListener::connect_with(pool).await {
        Ok(listener) => listener,
        Err(e) => return e,
    };
    if let Err(e) = listener.listen(OUTBOX_CHANNEL).await {
        return e;
    }
    loop {
        match listener.recv().await {
            Ok(_) => wake.notify_one(),
            Err(e) => return e,
        }
    }
}
