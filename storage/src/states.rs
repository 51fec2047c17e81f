//! The core's states as stored: each is bound as its word ([`StateText::as_str`]) and
//! read back through [`Text`], whose decode fails — never panics — on a word no variant
//! spells.

use sqlx::error::BoxDynError;
use sqlx::{Database, Decode, Type};
use usdt_gateway_core::states::{
    AttemptOutcome, DeliveryState, DepositState, OrderState, StateText,
};

/// A state read from a text column: `#[sqlx(try_from = "Text<OrderState>")]` on a row's
/// field, or `query_scalar::<_, Text<…>>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Text<T>(pub T);

impl<DB: Database, T> Type<DB> for Text<T>
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

impl<'r, DB: Database, T: StateText> Decode<'r, DB> for Text<T>
where
    &'r str: Decode<'r, DB>,
{
    fn decode(value: <DB as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(Self(T::parse_text(<&'r str as Decode<'r, DB>>::decode(
            value,
        )?)?))
    }
}

/// `Text<State>` → `State`, for `#[sqlx(try_from = …)]` (one impl per state: the orphan
/// rule allows no blanket one).
macro_rules! unwrap_text {
    ($($state:ty),+) => {
        $(impl From<Text<$state>> for $state {
            fn from(text: Text<$state>) -> Self {
                text.0
            }
        })+
    };
}

unwrap_text!(OrderState, DepositState, DeliveryState, AttemptOutcome);

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
            let back: Text<OrderState> = sqlx::query_scalar("SELECT $1")
                .bind(state.as_str())
                .fetch_one(&pool)
                .await
                .expect("round trip");
            assert_eq!(back.0, *state);
        }
    }

    #[tokio::test]
    async fn an_unknown_stored_text_is_a_decode_error() {
        let pool = SqlitePoolOptions::new()
            .connect("sqlite::memory:")
            .await
            .expect("an in-memory database");
        let read = sqlx::query_scalar::<_, Text<DeliveryState>>("SELECT 'lost'")
            .fetch_one(&pool)
            .await;
        assert!(
            matches!(&read, Err(sqlx::Error::ColumnDecode { source, .. })
                if source.to_string() == "unknown delivery state `lost`"),
            "{read:?}"
        );
    }
}
