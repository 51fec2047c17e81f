//! The states the store keeps as text: each enum has one mapping to its stored text
//! ([`as_str`](OrderState::as_str) and [`FromStr`]), used when binding, when reading a
//! row, and in the JSON the API shows. A stored text no variant spells is a decode error,
//! never a panic.

use std::fmt;
use std::str::FromStr;

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Database, Decode, Encode, Type};

/// A stored text that names no variant of the state it was read as.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} `{text}`")]
pub struct UnknownState {
    /// Which state (`order state`, `deposit state` …).
    pub kind: &'static str,
    /// The text found.
    pub text: String,
}

/// An enum stored as one of a fixed set of lowercase words: the variants and their
/// words, once. It binds and decodes as text on every backend, serializes as its word and
/// is documented (OpenAPI) as the enum of its words.
macro_rules! stored_text {
    (
        $(#[$meta:meta])*
        $name:ident, $kind:literal {
            $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &[Self] = &[$(Self::$variant),+];

            /// The stored text.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }
        }

        impl FromStr for $name {
            type Err = UnknownState;

            fn from_str(text: &str) -> Result<Self, UnknownState> {
                match text {
                    $($text => Ok(Self::$variant),)+
                    _ => Err(UnknownState { kind: $kind, text: text.to_owned() }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some(Self::ALL.iter().map(|v| v.as_str())))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<DB: Database> Type<DB> for $name
        where
            str: Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <str as Type<DB>>::type_info()
            }

            fn compatible(ty: &DB::TypeInfo) -> bool {
                <str as Type<DB>>::compatible(ty)
            }
        }

        impl<'q, DB: Database> Encode<'q, DB> for $name
        where
            &'q str: Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut <DB as Database>::ArgumentBuffer<'q>,
            ) -> Result<IsNull, BoxDynError> {
                <&str as Encode<'q, DB>>::encode_by_ref(&self.as_str(), buf)
            }
        }

        impl<'r, DB: Database> Decode<'r, DB> for $name
        where
            &'r str: Decode<'r, DB>,
        {
            fn decode(value: <DB as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
                Ok(<&'r str as Decode<'r, DB>>::decode(value)?.parse()?)
            }
        }
    };
}

stored_text! {
    /// Where an order stands (`orders.status`). Expiry is not stored: a pending order
    /// past its `expires_at` is shown as expired.
    OrderState, "order state" {
        /// Waiting for a deposit.
        Pending = "pending",
        /// A deposit matched it and waits for its confirmations.
        Confirming = "confirming",
        /// The deposit is confirmed: the order is paid.
        Confirmed = "confirmed",
    }
}

stored_text! {
    /// Where a deposit stands (`deposits.state`).
    DepositState, "deposit state" {
        /// Waiting for its confirmations.
        Confirming = "confirming",
        /// Confirmed: credited.
        Confirmed = "confirmed",
        /// Its block left the chain (a reorg).
        Orphaned = "orphaned",
    }
}

stored_text! {
    /// Where a callback delivery of the outbox stands (`callbacks.state`).
    DeliveryState, "delivery state" {
        /// Waiting for its next attempt.
        Pending = "pending",
        /// The merchant acknowledged it.
        Delivered = "delivered",
        /// Given up: no attempt is left, or the callback may never be sent.
        Failed = "failed",
        /// Nothing was sent: neither the order nor its merchant has a callback URL. It
        /// waits for the operator (configure the merchant's `notify_url`, then resend).
        NotConfigured = "not_configured",
    }
}

stored_text! {
    /// How one callback attempt went (`callback_attempts.outcome`).
    AttemptOutcome, "attempt outcome" {
        /// The merchant answered `success`.
        Delivered = "delivered",
        /// Anything else: retried on the schedule while attempts are left.
        Failed = "failed",
        /// It may never be sent (the network policy, the component refused its fields).
        Refused = "refused",
        /// Not sent: there is no callback URL to send it to.
        NotConfigured = "not_configured",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every variant's text parses back to it, and the texts are distinct.
    fn round_trip<T>(all: &[T])
    where
        T: Copy + PartialEq + fmt::Debug + fmt::Display + FromStr<Err = UnknownState>,
    {
        for v in all {
            assert_eq!(v.to_string().parse::<T>(), Ok(*v));
        }
        let mut texts: Vec<String> = all.iter().map(T::to_string).collect();
        texts.sort();
        texts.dedup();
        assert_eq!(texts.len(), all.len(), "distinct texts");
    }

    #[test]
    fn every_variant_round_trips_through_its_text() {
        round_trip(OrderState::ALL);
        round_trip(DepositState::ALL);
        round_trip(DeliveryState::ALL);
        round_trip(AttemptOutcome::ALL);
    }

    #[test]
    fn the_texts_are_the_stored_words() {
        let texts = |all: &[&'static str]| all.to_vec();
        assert_eq!(
            OrderState::ALL
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>(),
            texts(&["pending", "confirming", "confirmed"])
        );
        assert_eq!(
            DepositState::ALL
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>(),
            texts(&["confirming", "confirmed", "orphaned"])
        );
        assert_eq!(
            DeliveryState::ALL
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>(),
            texts(&["pending", "delivered", "failed", "not_configured"])
        );
        assert_eq!(
            AttemptOutcome::ALL
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>(),
            texts(&["delivered", "failed", "refused", "not_configured"])
        );
    }

    #[test]
    fn an_unknown_text_is_an_error() {
        for text in ["", "Pending", "PENDING", "expired", " pending", "pending\0"] {
            assert_eq!(
                text.parse::<OrderState>(),
                Err(UnknownState {
                    kind: "order state",
                    text: text.to_owned()
                })
            );
        }
        assert!("pending".parse::<DepositState>().is_err());
        assert!("confirming".parse::<DeliveryState>().is_err());
        assert!("pending".parse::<AttemptOutcome>().is_err());
    }

    #[test]
    fn json_shows_the_stored_text() {
        assert_eq!(
            serde_json::to_value(DeliveryState::Delivered).ok(),
            Some(serde_json::json!("delivered"))
        );
        assert_eq!(
            serde_json::to_value(AttemptOutcome::Refused).ok(),
            Some(serde_json::json!("refused"))
        );
    }
}

#[cfg(test)]
mod sqlite_tests {
    use sqlx::sqlite::SqlitePoolOptions;

    use super::*;

    #[tokio::test]
    async fn every_variant_binds_and_decodes_on_sqlite() {
        let pool = SqlitePoolOptions::new()
            .connect("sqlite::memory:")
            .await
            .expect("an in-memory database");
        for state in OrderState::ALL {
            let back: OrderState = sqlx::query_scalar("SELECT $1")
                .bind(state)
                .fetch_one(&pool)
                .await
                .expect("round trip");
            assert_eq!(back, *state);
        }
        for outcome in AttemptOutcome::ALL {
            let text: String = sqlx::query_scalar("SELECT $1")
                .bind(outcome)
                .fetch_one(&pool)
                .await
                .expect("bound as text");
            assert_eq!(text, outcome.as_str());
        }
    }

    #[tokio::test]
    async fn an_unknown_stored_text_is_a_decode_error() {
        let pool = SqlitePoolOptions::new()
            .connect("sqlite::memory:")
            .await
            .expect("an in-memory database");
        let read = sqlx::query_scalar::<_, DeliveryState>("SELECT 'lost'")
            .fetch_one(&pool)
            .await;
        assert!(
            matches!(&read, Err(sqlx::Error::ColumnDecode { source, .. })
                if source.to_string() == "unknown delivery state `lost`"),
            "{read:?}"
        );
    }
}
