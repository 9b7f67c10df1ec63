//! Typed ids: a product id cannot be passed where a combination id belongs.

use std::{fmt, num::NonZeroU64};

use crate::Error;

/// The one check that an id is not zero, in the one wording every caller gives; `what` names
/// the id (`"store id"`). Ecwid has no object numbered zero, and a zero in a path would name
/// another request.
pub(crate) fn check_non_zero(id: u64, what: &str) -> Result<NonZeroU64, String> {
    NonZeroU64::new(id).ok_or_else(|| format!("the {what} must not be zero"))
}

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

            /// The id as the generated client wants it; zero is bad input
            /// ([`Error::InvalidInput`]).
            pub(crate) fn non_zero(self) -> Result<NonZeroU64, Error> {
                self.checked().map_err(Error::InvalidInput)
            }

            /// The id, checked not to be zero ([`check_non_zero`]), for a caller that says
            /// what kind of error a zero is.
            pub(crate) fn checked(self) -> Result<NonZeroU64, String> {
                check_non_zero(self.0, $what)
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
    fn a_zero_id_is_refused_in_one_wording() {
        assert_eq!(
            StoreId::new(1003).checked(),
            Ok(NonZeroU64::new(1003).unwrap())
        );
        assert_eq!(ProductId::new(7).non_zero().ok(), NonZeroU64::new(7));
        for (checked, what) in [
            (StoreId::new(0).checked(), "store id"),
            (ProductId::new(0).checked(), "product id"),
            (CombinationId::new(0).checked(), "combination id"),
        ] {
            assert_eq!(checked, Err(format!("the {what} must not be zero")));
        }
        let Err(Error::InvalidInput(why)) = CombinationId::new(0).non_zero() else {
            panic!("a zero id is bad input")
        };
        assert_eq!(why, "the combination id must not be zero");
    }

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
