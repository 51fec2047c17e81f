//! The identifiers of the domain, each its own type so one is never passed for another:
//! a merchant's `appid`, the merchant's `orderid`, the gateway's `ordersn`, and the
//! chain (network) a record is on.

use std::fmt;

use serde::Serialize;

/// Declares a text identifier: built from a `String` or `&str`, read with `as_str`,
/// shown and serialized as the bare text.
macro_rules! text_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The identifier's text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The identifier's text, owned.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl From<String> for $name {
            fn from(text: String) -> Self {
                Self(text)
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                Self(text.to_owned())
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_id! {
    /// A merchant's `appid`.
    AppId
}

text_id! {
    /// The merchant's own order number (`orderid`), unique per `appid`.
    OrderId
}

text_id! {
    /// The gateway's order number (`ordersn`), unique across the gateway.
    OrderSn
}

text_id! {
    /// A chain's wire name (`TRC20`, `ERC20`, `OMNI`): which network (and token) an
    /// order, a deposit or a watcher is on.
    ChainName
}
