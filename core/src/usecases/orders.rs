//! Order status: one order as the merchant's query, the payer's page and the operator's
//! console all show it.

use super::{Core, CoreError};
use crate::deposit::DepositRecord;
use crate::ids::{AppId, OrderId, OrderSn};
use crate::order::{DepositPosition, OrderProgress, OrderRecord};
use crate::ports::Storage;
use crate::states::DeliveryState;
use crate::units::Height;

/// One order with what every viewer is shown of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderView {
    /// The stored order.
    pub record: OrderRecord,
    /// Its matched deposit, if any.
    pub deposit: Option<DepositRecord>,
    /// Its status and confirmations, derived once.
    pub progress: OrderProgress,
    /// Where its callback delivery stands (`None`: no delivery yet).
    pub delivery: Option<DeliveryState>,
}

impl<S: Storage> Core<S> {
    /// The order the merchant `appid` placed as `orderid`.
    pub async fn order_status(
        &self,
        appid: &AppId,
        orderid: &OrderId,
    ) -> Result<Option<OrderView>, CoreError> {
        match self.storage.find_order(appid, orderid).await? {
            Some(record) => Ok(Some(self.view(record).await?)),
            None => Ok(None),
        }
    }

    /// The order the gateway numbered `ordersn`.
    pub async fn order_status_by_ordersn(
        &self,
        ordersn: &OrderSn,
    ) -> Result<Option<OrderView>, CoreError> {
        match self.storage.order(ordersn).await? {
            Some(record) => Ok(Some(self.view(record).await?)),
            None => Ok(None),
        }
    }

    async fn view(&self, record: OrderRecord) -> Result<OrderView, CoreError> {
        let ordersn = &record.order.ordersn;
        let deposit = self.storage.order_deposit(ordersn).await?;
        let counted = match &deposit {
            Some(d) => Some(self.count(d).await?),
            None => None,
        };
        let delivery = self.storage.delivery_state(ordersn).await?;
        let progress = OrderProgress::derive(&record, counted, self.clock.now());
        Ok(OrderView {
            record,
            deposit,
            progress,
            delivery,
        })
    }

    /// The deposit's confirmations, counted by the component from the chain's head as
    /// its watcher last stored it.
    async fn count(&self, deposit: &DepositRecord) -> Result<u64, CoreError> {
        let position = DepositPosition {
            block: deposit.block_number,
            head: self.storage.chain_head(&deposit.chain).await?,
        };
        let head = position.head.unwrap_or(Height(0));
        Ok(self.rules.count_confirmations(head.0, position.block.0)?)
    }
}
