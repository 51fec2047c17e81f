//! Placing an order: what every front end that takes orders calls once the component
//! has accepted the request (parsed it, found the merchant, checked its `sign`).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::CoreError;
use crate::clock::Clock;
use crate::ids::OrderSn;
use crate::order::{CreateOutcome, NewOrder};
use crate::ports::{OrderPolicies, OrderSink, Storage, SubmitError};
use crate::rules::AcceptedOrder;
use crate::units::{Amount, UnixMillis};

/// Why an accepted order was not placed. Nothing was stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The callback URL may not be contacted (the network policy); why.
    ForbiddenNotifyTarget(String),
    /// The merchant takes orders on allocated addresses only, and this address is not
    /// allocated to this user.
    AddressNotAllocated,
    /// The same `orderid` was placed before with other signed fields.
    DuplicateOrder,
    /// The address is bound to another user.
    AddressBoundToOtherUser,
    /// More orders are waiting than the database keeps up with.
    Overloaded,
    /// The amount does not fit the stored integer (the component's bounds keep every
    /// accepted amount far below it).
    AmountOutOfRange,
}

/// The order intake: places accepted orders, stored through the sink (the group-commit
/// writer), after the operator's policies.
pub struct OrderIntake<S> {
    storage: S,
    sink: Arc<dyn OrderSink>,
    policies: Arc<dyn OrderPolicies>,
    clock: Arc<dyn Clock>,
    ttl: Duration,
}

impl<S> fmt::Debug for OrderIntake<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OrderIntake")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl<S: Storage> OrderIntake<S> {
    /// The intake storing through `sink`, checking `policies`, stamping orders by
    /// `clock` with a life of `ttl`.
    pub fn new(
        storage: S,
        sink: Arc<dyn OrderSink>,
        policies: Arc<dyn OrderPolicies>,
        clock: Arc<dyn Clock>,
        ttl: Duration,
    ) -> Self {
        Self {
            storage,
            sink,
            policies,
            clock,
            ttl,
        }
    }

    /// Place `accepted` (the component's answer, with the confirmations its amount
    /// needs): the stored order — a new one, or the identical one placed before — once
    /// it is committed.
    pub async fn place_order(
        &self,
        accepted: AcceptedOrder,
    ) -> Result<Result<NewOrder, Refusal>, CoreError> {
        let (order, required) = (accepted.order, accepted.required_confirmations);
        if let Some(url) = &order.notify_url
            && let Err(why) = self.policies.check_notify_target(url)
        {
            return Ok(Err(Refusal::ForbiddenNotifyTarget(why)));
        }
        if !self.allowed_address(&order).await? {
            return Ok(Err(Refusal::AddressNotAllocated));
        }
        let now = self.clock.now();
        let Some(new) = self.new_order(order, required, now) else {
            return Ok(Err(Refusal::AmountOutOfRange));
        };
        Ok(match self.sink.submit(new).await {
            Ok(CreateOutcome::Created(stored) | CreateOutcome::Existing(stored)) => Ok(stored),
            Ok(CreateOutcome::Duplicate) => Err(Refusal::DuplicateOrder),
            Ok(CreateOutcome::AddressBound) => Err(Refusal::AddressBoundToOtherUser),
            Err(SubmitError::Overloaded) => Err(Refusal::Overloaded),
            Err(SubmitError::Unavailable(e)) => return Err(e.into()),
        })
    }

    /// Whether the order's address may take it: any address, unless the merchant takes
    /// orders on addresses allocated to the user only.
    async fn allowed_address(&self, order: &crate::rules::OrderRequest) -> Result<bool, CoreError> {
        let fields = &order.fields;
        if !self.policies.allocated_addresses_only(&fields.appid) {
            return Ok(true);
        }
        let owner = self
            .storage
            .allocation_owner(order.chain.as_str(), &order.canonical_address)
            .await?;
        Ok(owner.is_some_and(|(appid, username)| {
            appid.as_str() == fields.appid && username == fields.username
        }))
    }

    /// The order to store: numbered `cz-<uuid v4>`, stamped `now`, expiring after the
    /// intake's TTL.
    fn new_order(
        &self,
        order: crate::rules::OrderRequest,
        required: u32,
        now: UnixMillis,
    ) -> Option<NewOrder> {
        let fields = order.fields;
        let amount = Amount(i64::try_from(fields.amount).ok()?);
        Some(NewOrder {
            ordersn: OrderSn::from(format!("cz-{}", uuid::Uuid::new_v4())),
            appid: fields.appid.into(),
            orderid: fields.orderid.into(),
            username: fields.username,
            localusermark: fields.localusermark,
            address: fields.address,
            canonical_address: order.canonical_address,
            chain: order.chain.as_str().into(),
            amount,
            notify_url: order.notify_url,
            required_confirmations: required,
            created_at: now,
            expires_at: now.plus(self.ttl),
        })
    }
}
