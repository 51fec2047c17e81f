//! What the operator lists and searches: orders, deposits, deliveries, chain cursors.

use super::{Core, CoreError};
use crate::chain::CursorRecord;
use crate::delivery::{AttemptView, CallbackRecord};
use crate::deposit::DepositRecord;
use crate::ids::OrderSn;
use crate::order::{OrderProgress, OrderRecord};
use crate::ports::Storage;
use crate::states::{DeliveryState, OrderStatus};

/// An order search: the operator's text and status filter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrderSearch {
    /// Equal to the orderid, ordersn, address or username (empty: any).
    pub text: String,
    /// The status every viewer is shown (`None`: any).
    pub status: Option<OrderStatus>,
    /// At most this many, newest first.
    pub limit: u32,
}

/// One order found, with the status every viewer is shown of it now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderListing {
    /// The stored order.
    pub record: OrderRecord,
    /// Its status, derived once ([`OrderProgress::derive`]).
    pub status: OrderStatus,
}

impl<S: Storage> Core<S> {
    /// Orders matching `search`, newest first. The status of each is derived here, and
    /// a filtered search keeps only the orders whose derived status is the one asked
    /// for: the storage's filter narrows the rows, the derivation decides.
    pub async fn search_orders(
        &self,
        search: &OrderSearch,
    ) -> Result<Vec<OrderListing>, CoreError> {
        let now = self.clock.now();
        let records = self
            .storage
            .search_orders(&search.text, search.status, now, search.limit)
            .await?;
        Ok(records
            .into_iter()
            .map(|record| OrderListing {
                // A list shows no confirmations: the status needs no count.
                status: OrderProgress::derive(&record, None, now).status,
                record,
            })
            .filter(|found| search.status.is_none_or(|wanted| found.status == wanted))
            .collect())
    }

    /// Every deposit ever credited to the order, orphaned ones too, oldest first.
    pub async fn order_deposits(&self, ordersn: &OrderSn) -> Result<Vec<DepositRecord>, CoreError> {
        Ok(self.storage.order_deposits(ordersn).await?)
    }

    /// Deposits no order took, newest first.
    pub async fn unmatched_deposits(&self, limit: u32) -> Result<Vec<DepositRecord>, CoreError> {
        Ok(self.storage.unmatched_deposits(limit).await?)
    }

    /// Deliveries in `state` (any when `None`), oldest first.
    pub async fn deliveries(
        &self,
        state: Option<DeliveryState>,
        limit: u32,
    ) -> Result<Vec<CallbackRecord>, CoreError> {
        Ok(self.storage.deliveries(state, limit).await?)
    }

    /// The order's delivery and its attempts.
    pub async fn delivery(
        &self,
        ordersn: &OrderSn,
    ) -> Result<Option<(CallbackRecord, Vec<AttemptView>)>, CoreError> {
        Ok(self.storage.delivery(ordersn).await?)
    }

    /// Every chain watcher's cursor.
    pub async fn chain_cursors(&self) -> Result<Vec<CursorRecord>, CoreError> {
        Ok(self.storage.chain_cursors().await?)
    }
}
