//! An order's payment and fulfilment statuses, as Ecwid names them, with room for the ones it
//! adds (custom fulfilment statuses among them).

use std::fmt;

macro_rules! status_type {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal,)* }) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        #[derive(serde::Serialize, serde::Deserialize)]
        #[serde(from = "String", into = "String")]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vdoc])* $variant,)*
            /// A status this crate does not know, as Ecwid spells it.
            Other(String),
        }

        impl $name {
            /// The status as Ecwid spells it, such as `"PAID"`.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)*
                    $name::Other(text) => text,
                }
            }
        }

        impl From<&str> for $name {
            /// Reads Ecwid's spelling; an unknown one is kept as [`Other`](Self::Other).
            fn from(text: &str) -> Self {
                match text {
                    $($text => $name::$variant,)*
                    other => $name::Other(other.to_owned()),
                }
            }
        }

        impl From<String> for $name {
            fn from(text: String) -> Self {
                match $name::from(text.as_str()) {
                    $name::Other(_) => $name::Other(text),
                    known => known,
                }
            }
        }

        impl From<$name> for String {
            fn from(status: $name) -> String {
                match status {
                    $name::Other(text) => text,
                    known => known.as_str().to_owned(),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

status_type!(
    /// An order's payment status (`paymentStatus`; `newPaymentStatus` and `oldPaymentStatus` in
    /// a webhook).
    PaymentStatus {
        /// `AWAITING_PAYMENT`
        AwaitingPayment = "AWAITING_PAYMENT",
        /// `PAID`
        Paid = "PAID",
        /// `CANCELLED`
        Cancelled = "CANCELLED",
        /// `REFUNDED`
        Refunded = "REFUNDED",
        /// `PARTIALLY_REFUNDED`
        PartiallyRefunded = "PARTIALLY_REFUNDED",
        /// `INCOMPLETE`
        Incomplete = "INCOMPLETE",
    }
);

status_type!(
    /// An order's fulfilment status (`fulfillmentStatus`; `newFulfillmentStatus` and
    /// `oldFulfillmentStatus` in a webhook). A store's custom statuses come as
    /// [`Other`](FulfillmentStatus::Other).
    FulfillmentStatus {
        /// `AWAITING_PROCESSING`
        AwaitingProcessing = "AWAITING_PROCESSING",
        /// `PROCESSING`
        Processing = "PROCESSING",
        /// `SHIPPED`
        Shipped = "SHIPPED",
        /// `DELIVERED`
        Delivered = "DELIVERED",
        /// `WILL_NOT_DELIVER`
        WillNotDeliver = "WILL_NOT_DELIVER",
        /// `RETURNED`
        Returned = "RETURNED",
        /// `READY_FOR_PICKUP`
        ReadyForPickup = "READY_FOR_PICKUP",
        /// `OUT_FOR_DELIVERY`
        OutForDelivery = "OUT_FOR_DELIVERY",
    }
);

#[cfg(test)]
mod tests {
    use super::{FulfillmentStatus, PaymentStatus};

    #[test]
    fn known_statuses_read_and_print_as_ecwid_spells_them() {
        for text in [
            "AWAITING_PAYMENT",
            "PAID",
            "CANCELLED",
            "REFUNDED",
            "PARTIALLY_REFUNDED",
            "INCOMPLETE",
        ] {
            let status = PaymentStatus::from(text);
            assert!(!matches!(status, PaymentStatus::Other(_)), "{text}");
            assert_eq!(status.as_str(), text);
            assert_eq!(String::from(status), text);
        }
        for text in [
            "AWAITING_PROCESSING",
            "PROCESSING",
            "SHIPPED",
            "DELIVERED",
            "WILL_NOT_DELIVER",
            "RETURNED",
            "READY_FOR_PICKUP",
            "OUT_FOR_DELIVERY",
        ] {
            let status = FulfillmentStatus::from(text);
            assert!(!matches!(status, FulfillmentStatus::Other(_)), "{text}");
            assert_eq!(status.to_string(), text);
        }
    }

    #[test]
    fn an_unknown_status_is_kept_as_sent() {
        let custom = FulfillmentStatus::from("CUSTOM_FULFILLMENT_STATUS_1".to_owned());
        assert_eq!(
            custom,
            FulfillmentStatus::Other("CUSTOM_FULFILLMENT_STATUS_1".into())
        );
        assert_eq!(custom.as_str(), "CUSTOM_FULFILLMENT_STATUS_1");
        // Spelled otherwise than Ecwid does, a known status is not guessed at.
        assert_eq!(
            PaymentStatus::from("paid"),
            PaymentStatus::Other("paid".into())
        );
        let json = serde_json::to_string(&PaymentStatus::Paid).unwrap();
        assert_eq!(json, "\"PAID\"");
        let read: PaymentStatus = serde_json::from_str("\"SOMETHING_NEW\"").unwrap();
        assert_eq!(read, PaymentStatus::Other("SOMETHING_NEW".into()));
    }
}
