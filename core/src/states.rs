//! The states the gateway keeps, each an enum with one text mapping (derived once, by
//! `strum`): the word stored in the database, shown in JSON and on the pages. A text no
//! variant spells is an [`UnknownState`], never a panic.
//!
//! Expiry is not a stored state: it is derived from the clock ([`crate::order`]).

use std::str::FromStr;

use serde::Serialize;
use strum::{Display, EnumString, IntoStaticStr, VariantArray};

/// A text that names no variant of the state it was read as.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} `{text}`")]
pub struct UnknownState {
    /// Which state (`order state`, `deposit state` …).
    pub kind: &'static str,
    /// The text found.
    pub text: String,
}

/// What every state enum offers beside its derives: its kind's name, its text, and a
/// parse whose error names the kind.
pub trait StateText: Copy + Into<&'static str> + FromStr + VariantArray + 'static {
    /// The state's name in errors (`order state` …).
    const KIND: &'static str;

    /// The stored word.
    fn as_str(self) -> &'static str {
        self.into()
    }

    /// Parse a stored word.
    fn parse_text(text: &str) -> Result<Self, UnknownState> {
        text.parse().map_err(|_| UnknownState {
            kind: Self::KIND,
            text: text.to_owned(),
        })
    }
}

/// Declares a state enum with the derives of its one text mapping (snake_case words).
macro_rules! state {
    ($(#[$meta:meta])* $name:ident, $kind:literal { $($(#[$vmeta:meta])* $variant:ident,)+ }) => {
        $(#[$meta])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, Display, EnumString, IntoStaticStr,
            VariantArray, Serialize,
        )]
        #[strum(serialize_all = "snake_case")]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl StateText for $name {
            const KIND: &'static str = $kind;
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [Self] = <Self as VariantArray>::VARIANTS;

            /// The stored word.
            pub fn as_str(self) -> &'static str {
                self.into()
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some(Self::ALL.iter().map(|v| v.as_str())))
                    .into()
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}
    };
}

state! {
    /// Where an order stands, as stored (`orders.status`). What a viewer is shown is
    /// [`crate::order::OrderStatus`], which adds `expired`.
    OrderState, "order state" {
        /// Waiting for a deposit.
        Pending,
        /// A deposit matched it and waits for its confirmations.
        Confirming,
        /// The deposit is confirmed: the order is paid.
        Confirmed,
    }
}

state! {
    /// What a viewer is shown of an order: its stored state, with a pending order past
    /// its expiry shown as `expired` ([`crate::order::OrderProgress::derive`]).
    OrderStatus, "order status" {
        /// Waiting for a deposit, before its expiry.
        Pending,
        /// A deposit matched it and waits for its confirmations.
        Confirming,
        /// The deposit is confirmed: the order is paid.
        Confirmed,
        /// Past its expiry with no deposit matched.
        Expired,
    }
}

state! {
    /// Where a deposit stands (`deposits.state`).
    DepositState, "deposit state" {
        /// Waiting for its confirmations.
        Confirming,
        /// Confirmed: credited.
        Confirmed,
        /// Its block left the chain (a reorg).
        Orphaned,
    }
}

state! {
    /// Where a callback delivery of the outbox stands (`callbacks.state`).
    DeliveryState, "delivery state" {
        /// Waiting for its next attempt.
        Pending,
        /// The merchant acknowledged it.
        Delivered,
        /// Given up: no attempt is left, or the callback may never be sent.
        Failed,
        /// Nothing was sent: neither the order nor its merchant has a callback URL. It
        /// waits for the operator (configure the merchant's `notify_url`, then resend).
        NotConfigured,
    }
}

state! {
    /// How one callback attempt went (`callback_attempts.outcome`).
    AttemptOutcome, "attempt outcome" {
        /// The merchant answered `success`.
        Delivered,
        /// Anything else: retried on the schedule while attempts are left.
        Failed,
        /// It may never be sent (the network policy, the component refused its fields).
        Refused,
        /// Not sent: there is no callback URL to send it to.
        NotConfigured,
    }
}

#[cfg(test)]
mod tests {
    use std::fmt;

    use super::*;

    /// Every variant's text parses back to it, and the texts are distinct.
    fn round_trip<T: StateText + PartialEq + fmt::Debug>(all: &[T]) {
        for v in all {
            assert_eq!(T::parse_text(v.as_str()), Ok(*v));
        }
        let mut texts: Vec<&str> = all.iter().map(|v| v.as_str()).collect();
        texts.sort_unstable();
        texts.dedup();
        assert_eq!(texts.len(), all.len(), "distinct texts");
    }

    #[test]
    fn every_variant_round_trips_through_its_text() {
        round_trip(OrderState::ALL);
        round_trip(OrderStatus::ALL);
        round_trip(DepositState::ALL);
        round_trip(DeliveryState::ALL);
        round_trip(AttemptOutcome::ALL);
    }

    fn texts<T: StateText>(all: &[T]) -> Vec<&'static str> {
        all.iter().map(|v| v.as_str()).collect()
    }

    #[test]
    fn the_texts_are_the_stored_words() {
        assert_eq!(
            texts(OrderState::ALL),
            ["pending", "confirming", "confirmed"]
        );
        assert_eq!(
            texts(OrderStatus::ALL),
            ["pending", "confirming", "confirmed", "expired"]
        );
        assert_eq!(
            texts(DepositState::ALL),
            ["confirming", "confirmed", "orphaned"]
        );
        assert_eq!(
            texts(DeliveryState::ALL),
            ["pending", "delivered", "failed", "not_configured"]
        );
        assert_eq!(
            texts(AttemptOutcome::ALL),
            ["delivered", "failed", "refused", "not_configured"]
        );
        assert_eq!(DeliveryState::NotConfigured.to_string(), "not_configured");
    }

    #[test]
    fn an_unknown_text_is_an_error() {
        for text in ["", "Pending", "PENDING", "expired", " pending", "pending\0"] {
            assert_eq!(
                OrderState::parse_text(text),
                Err(UnknownState {
                    kind: "order state",
                    text: text.to_owned()
                })
            );
        }
        assert!(DepositState::parse_text("pending").is_err());
        assert!(DeliveryState::parse_text("confirming").is_err());
        assert!(AttemptOutcome::parse_text("pending").is_err());
    }

    #[test]
    fn json_shows_the_stored_text() {
        assert_eq!(
            serde_json::to_value(DeliveryState::NotConfigured).ok(),
            Some(serde_json::json!("not_configured"))
        );
        assert_eq!(
            serde_json::to_value(AttemptOutcome::Refused).ok(),
            Some(serde_json::json!("refused"))
        );
    }
}
