//! Typed ids: a product id cannot be passed where a combination id belongs.

use std::{fmt, num::NonZeroU64};

use crate::Error;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[derive(serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(u64);

        impl $name {
            #[doc = concat!("Wraps a raw ", $what, ". Zero is accepted here and refused, with a clear")]
            /// error and nothing sent, when the id is used.
            pub const fn new(id: u64) -> Self {
                Self(id)
            }

            /// The raw id.
            pub const fn get(self) -> u64 {
                self.0
            }

            /// The id as the generated client wants it; zero is bad input.
            pub(crate) fn non_zero(self) -> Result<NonZeroU64, Error> {
                NonZeroU64::new(self.0).ok_or_else(|| {
                    Error::InvalidInput(concat!("the ", $what, " must not be zero").into())
                })
            }
        }

        impl From<u64> for $name {
            fn from(id: u64) -> Self {
                Self(id)
            }
        }

        impl From<$name> for u64 {
            fn from(id: $name) -> u64 {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }
    };
}

id_type!(
    /// An Ecwid store id, the first segment of every API path.
    StoreId,
    "store id"
);
id_type!(
    /// Ecwid's internal id of a product.
    ProductId,
    "product id"
);
id_type!(
    /// Ecwid's internal id of a product variation (a "combination" in Ecwid's API).
    CombinationId,
    "combination id"
);

/// An order's id for Ecwid's REST API, such as `XJ12H` (`data.orderId` in a webhook, `id` in an
/// order). Not the order's internal number, which a webhook sends as `entityId`.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct OrderId(String);

impl OrderId {
    /// Wraps an order id as Ecwid spells it.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The id as Ecwid spells it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for OrderId {
    fn from(id: &str) -> Self {
        Self::new(id)
    }
}

impl From<String> for OrderId {
    fn from(id: String) -> Self {
        Self(id)
    }
}

impl fmt::Display for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
