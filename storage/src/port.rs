//! The core's storage port, implemented by [`Store`]: each method one of the store's
//! statements or transactions.

use usdt_gateway_core::address::{
    self, AllocatedAddress, AllocationRequest, Derived, KnownAddress, RetireRequest,
};
use usdt_gateway_core::chain::CursorRecord;
use usdt_gateway_core::consistency::Violation;
use usdt_gateway_core::delivery::ResendOutcome;
use usdt_gateway_core::delivery::{AttemptView, CallbackRecord};
use usdt_gateway_core::deposit::{AssignOutcome, DepositKey, DepositRecord};
use usdt_gateway_core::ids::{AppId, OrderId, OrderSn};
use usdt_gateway_core::order::OrderRecord;
use usdt_gateway_core::ports::{Storage, StorageError, Stored};
use usdt_gateway_core::states::{DeliveryState, OrderStatus};
use usdt_gateway_core::units::{Height, UnixMillis};

use super::{AllocateError, Store, StoreError};

impl From<StoreError> for StorageError {
    fn from(e: StoreError) -> Self {
        Self(Box::new(e))
    }
}

impl Storage for Store {
    async fn find_order(&self, appid: &AppId, orderid: &OrderId) -> Stored<Option<OrderRecord>> {
        Ok(Store::find_order(self, appid.as_str(), orderid.as_str()).await?)
    }

    async fn order(&self, ordersn: &OrderSn) -> Stored<Option<OrderRecord>> {
        Ok(self.order_by_ordersn(ordersn.as_str()).await?)
    }

    async fn order_deposit(&self, ordersn: &OrderSn) -> Stored<Option<DepositRecord>> {
        Ok(Store::order_deposit(self, ordersn.as_str()).await?)
    }

    async fn chain_head(&self, chain: &str) -> Stored<Option<Height>> {
        let cursor = self.chain_cursor(chain).await?;
        Ok(cursor.map(|(head, _)| Height::from_stored(head)))
    }

    async fn delivery_state(&self, ordersn: &OrderSn) -> Stored<Option<DeliveryState>> {
        let delivery = self.callback_record(ordersn.as_str()).await?;
        Ok(delivery.map(|d| d.state))
    }

    async fn resend_delivery(&self, ordersn: &OrderSn, now: UnixMillis) -> Stored<ResendOutcome> {
        Ok(self.resend_callback(ordersn.as_str(), now.0).await?)
    }

    async fn search_orders(
        &self,
        text: &str,
        status: Option<OrderStatus>,
        now: UnixMillis,
        limit: u32,
    ) -> Stored<Vec<OrderRecord>> {
        let status = status.map_or("", OrderStatus::as_str);
        Ok(Store::search_orders(self, text, status, now.0, i64::from(limit)).await?)
    }

    async fn order_deposits(&self, ordersn: &OrderSn) -> Stored<Vec<DepositRecord>> {
        Ok(Store::order_deposits(self, ordersn.as_str()).await?)
    }

    async fn unmatched_deposits(&self, limit: u32) -> Stored<Vec<DepositRecord>> {
        Ok(Store::unmatched_deposits(self, i64::from(limit)).await?)
    }

    async fn deliveries(
        &self,
        state: Option<DeliveryState>,
        limit: u32,
    ) -> Stored<Vec<CallbackRecord>> {
        Ok(self.list_callbacks(state, i64::from(limit)).await?)
    }

    async fn delivery(
        &self,
        ordersn: &OrderSn,
    ) -> Stored<Option<(CallbackRecord, Vec<AttemptView>)>> {
        Ok(self.callback(ordersn.as_str()).await?)
    }

    async fn chain_cursors(&self) -> Stored<Vec<CursorRecord>> {
        Ok(Store::chain_cursors(self).await?)
    }

    async fn user_address(
        &self,
        appid: &str,
        chain: &str,
        username: &str,
        now: UnixMillis,
    ) -> Stored<Option<KnownAddress>> {
        let known = self.user_allocation(appid, chain, username).await?;
        Ok(known.map(|k| KnownAddress {
            as_is: k.answers_as_is(now.0),
            address: k.allocation.into(),
        }))
    }

    async fn allocate_address<E: Send>(
        &self,
        request: AllocationRequest<'_>,
        derive: impl FnMut(u32) -> Result<Option<Derived>, E> + Send,
    ) -> Result<(AllocatedAddress, bool), address::AllocateError<E>> {
        match Store::allocate_address(self, request, derive).await {
            Ok((allocation, to_watch)) => Ok((allocation.into(), to_watch)),
            Err(AllocateError::Store(e)) => Err(address::AllocateError::Storage(e.into())),
            Err(AllocateError::Derive(e)) => Err(address::AllocateError::Derive(e)),
            Err(AllocateError::Exhausted) => Err(address::AllocateError::Exhausted),
            Err(AllocateError::QuotaExceeded(n)) => Err(address::AllocateError::QuotaExceeded(n)),
        }
    }

    async fn allocations(&self) -> Stored<Vec<address::Allocation>> {
        let rows = Store::allocations(self).await?;
        Ok(rows.into_iter().map(allocation).collect())
    }

    async fn retire_idle(&self, r: RetireRequest<'_>) -> Stored<Vec<address::Retired>> {
        let request = super::RetireRequest {
            chain: r.chain,
            appid: r.appid,
            idle_since: r.idle_since,
            now: r.now,
            dry_run: r.dry_run,
        };
        let retired = Store::retire_idle(self, request).await?;
        Ok(retired
            .into_iter()
            .map(|r| address::Retired {
                chain: r.chain.into(),
                address: r.address,
                appid: r.appid,
                username: r.username,
            })
            .collect())
    }

    async fn retirements(&self) -> Stored<Vec<address::RetirementRecord>> {
        let rows = Store::retirements(self).await?;
        Ok(rows
            .into_iter()
            .map(|r| address::RetirementRecord {
                chain: r.chain.into(),
                address: r.address,
                appid: r.appid,
                username: r.username,
                retired_at: r.retired_at,
                idle_for_ms: r.idle_for_ms,
                revived_at: r.revived_at,
                revived_by: r.revived_by,
            })
            .collect())
    }

    async fn check_consistency(&self) -> Stored<Vec<Violation>> {
        let rows = Store::check_consistency(self).await?;
        Ok(rows
            .into_iter()
            .map(|v| Violation {
                check: v.check,
                ordersn: v.ordersn,
                deposit: v.deposit,
            })
            .collect())
    }

    async fn allocation_owner(
        &self,
        chain: &str,
        canonical_address: &str,
    ) -> Stored<Option<(AppId, String)>> {
        let allocation = self.allocation_of(chain, canonical_address).await?;
        Ok(allocation.map(|a| (AppId::from(a.appid), a.username)))
    }

    async fn assign_deposit(
        &self,
        deposit: &DepositKey,
        ordersn: &OrderSn,
        now: UnixMillis,
    ) -> Stored<AssignOutcome> {
        Ok(Store::assign_deposit(
            self,
            &deposit.chain,
            &deposit.txid,
            deposit.log_index,
            ordersn.as_str(),
            now.0,
        )
        .await?)
    }
}

/// A stored allocation as the core lists it.
fn allocation(a: super::Allocation) -> address::Allocation {
    address::Allocation {
        appid: a.appid,
        chain: a.chain.into(),
        derivation_index: a.derivation_index,
        username: a.username,
        address: a.address,
        canonical_address: a.canonical_address,
        created_at: a.created_at,
    }
}
