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

/// Ecwid's id of an order, such as `"XJ12H"`, with the store's prefix and suffix if it has them
/// (`"MYSTORE-X8UYE"`): the id the REST API reads orders by, and a webhook's `data.orderId`.
/// Not the internal number a webhook's `entityId` carries.
///
/// Any text is accepted here; an empty id, one with whitespace in it, or `.` and `..` (which
/// would name another path) are refused, with a clear error and nothing sent, when the id is
/// used.
///
/// ```
/// use ecwid_inventory::OrderId;
///
/// let id = OrderId::new("XJ12H");
/// assert_eq!(id.as_str(), "XJ12H");
/// assert_eq!(id.to_string(), "XJ12H");
/// assert_eq!(serde_json::to_string(&id).unwrap(), r#""XJ12H""#);
/// ```
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct OrderId(String);

impl OrderId {
    /// Wraps an order id. A malformed one is accepted here and refused, with a clear error and
    /// nothing sent, when the id is used.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id, checked: an order id is a path segment and an item of a comma list, so it is
    /// neither empty nor `.` or `..`, and holds no whitespace or control character.
    pub(crate) fn checked(&self) -> Result<&str, Error> {
        let id = self.0.as_str();
        if id.is_empty() {
            return Err(Error::InvalidInput("the order id must not be empty".into()));
        }
        if id.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Error::InvalidInput(format!(
                "the order id {id:?} holds whitespace or a control character, which no Ecwid \
                 order id does"
            )));
        }
        if id == "." || id == ".." {
            return Err(Error::InvalidInput(format!(
                "{id:?} is not an order id: it would name another path"
            )));
        }
        Ok(id)
    }
}

impl From<String> for OrderId {
    fn from(id: String) -> Self {
        Self(id)
    }
}

impl From<&str> for OrderId {
    fn from(id: &str) -> Self {
        Self(id.to_owned())
    }
}

impl From<OrderId> for String {
    fn from(id: OrderId) -> String {
        id.0
    }
}

impl AsRef<str> for OrderId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_order_id_is_checked_when_used() {
        for good in ["XJ12H", "MYSTORE-X8UYE", "SALE-G01ZG", "a/b", "..."] {
            assert_eq!(OrderId::new(good).checked().unwrap(), good);
        }
        for (bad, says) in [
            ("", "empty"),
            (" XJ12H", "whitespace"),
            ("XJ 12H", "whitespace"),
            ("XJ12H\n", "whitespace"),
            ("XJ\u{0}12H", "control"),
            (".", "another path"),
            ("..", "another path"),
        ] {
            let Err(Error::InvalidInput(why)) = OrderId::new(bad).checked() else {
                panic!("{bad:?} was accepted")
            };
            assert!(why.contains(says), "{bad:?}: {why}");
        }
    }
}
