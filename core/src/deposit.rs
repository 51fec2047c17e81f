//! Deposits: a transfer to a watched address, as the query API and the operator see it,
//! and the operator's assignment of an unmatched one to an order.

use serde::Serialize;

use crate::ids::{ChainName, OrderSn};
use crate::states::DepositState;
use crate::units::{Amount, Height};

/// A deposit as the query API and the operator see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DepositRecord {
    /// The chain.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub chain: ChainName,
    /// The transaction id.
    pub txid: String,
    /// The log index.
    pub log_index: i64,
    /// The canonical address.
    pub address: String,
    /// Scaled units.
    #[cfg_attr(feature = "openapi", schema(value_type = i64))]
    pub amount: Amount,
    /// The block.
    #[cfg_attr(feature = "openapi", schema(value_type = u64))]
    pub block_number: Height,
    /// Where it stands.
    pub state: DepositState,
    /// The matched order, if any.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub ordersn: Option<OrderSn>,
    /// Confirmations needed.
    pub required_confirmations: i64,
}

/// Which deposit: one transfer log of one transaction on one chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DepositKey {
    /// The chain's name (`TRC20` …).
    pub chain: ChainName,
    /// The transaction id.
    pub txid: String,
    /// The transfer's log index in the transaction.
    pub log_index: i64,
}

/// What became of an operator's assignment of an unmatched deposit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum AssignOutcome {
    /// The deposit is the order's now; the order waits for its confirmations again.
    Assigned,
    /// No unmatched, live deposit with that key.
    NoDeposit,
    /// No pending order with that `ordersn` on the deposit's chain and address.
    NoOrder,
}

impl AssignOutcome {
    /// Its name in the audit log: `assigned`, `no_deposit`, `no_order`.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}
