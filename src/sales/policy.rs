//! [`StockPolicy`]: which orders hold their items out of Ecwid's stock, by their statuses.

use std::collections::BTreeSet;

use crate::orders::{FulfillmentStatus, PaymentStatus};

/// Which of an order's states hold its items out of Ecwid's stock, and which give them back.
///
/// Reconciling an order compares what its current state holds (each line's quantity, or
/// nothing) with what was counted so far, and the difference is the movement. The default is
/// what Ecwid itself does to its stock (see the [module docs](super) for the table and its
/// sources); the setters change it where shops differ:
///
/// - a payment or fulfilment status that restocks ([`payment_restocks`](Self::payment_restocks),
///   [`fulfillment_restocks`](Self::fulfillment_restocks)): an order in it holds nothing;
/// - `CANCELLED` and `INCOMPLETE` never hold stock, whatever the settings: Ecwid restocks a
///   cancelled order itself, and never took stock for an unfinished checkout.
///
/// ```
/// use ecwid_inventory::sales::StockPolicy;
/// use ecwid_inventory::{orders::{FulfillmentStatus, PaymentStatus}};
///
/// // A shop that puts returned goods back on the shelf, and keeps refunded ones aside.
/// let policy = StockPolicy::default()
///     .returned_restocks(true)
///     .refunded_restocks(false);
/// assert!(!policy.holds(Some(&PaymentStatus::Paid), Some(&FulfillmentStatus::Returned)));
/// assert!(policy.holds(Some(&PaymentStatus::Refunded), None));
/// assert!(!policy.holds(Some(&PaymentStatus::Cancelled), None));
/// ```
///
/// Give every processor of a database the same policy: an order is reconciled with the policy
/// of whoever reads it, and a policy changed later applies to the orders reconciled after the
/// change (an order already counted is then restocked or placed again, once).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StockPolicy {
    /// Payment statuses that restock, as Ecwid spells them.
    payment_restocks: BTreeSet<String>,
    /// Fulfilment statuses that restock, as Ecwid spells them.
    fulfillment_restocks: BTreeSet<String>,
}

impl Default for StockPolicy {
    /// Ecwid's own behaviour: `REFUNDED` restocks (as `CANCELLED` always does); every other
    /// status holds the stock (see the module docs' table).
    fn default() -> Self {
        Self {
            payment_restocks: [PaymentStatus::Refunded.as_str().to_owned()].into(),
            fulfillment_restocks: BTreeSet::new(),
        }
    }
}

impl StockPolicy {
    /// Ecwid's own behaviour, the default: see [`StockPolicy::default`].
    pub fn ecwid() -> Self {
        Self::default()
    }

    /// Whether an order in the payment status `status` gives its items back (`true`) or holds
    /// them (`false`). `CANCELLED` and `INCOMPLETE` hold nothing whatever is set here.
    pub fn payment_restocks(mut self, status: PaymentStatus, restocks: bool) -> Self {
        let status = String::from(status);
        if restocks {
            self.payment_restocks.insert(status);
        } else {
            self.payment_restocks.remove(&status);
        }
        self
    }

    /// Whether an order in the fulfilment status `status` (a store's custom status too) gives
    /// its items back (`true`) or holds them (`false`).
    pub fn fulfillment_restocks(mut self, status: FulfillmentStatus, restocks: bool) -> Self {
        let status = status.as_str().to_owned();
        if restocks {
            self.fulfillment_restocks.insert(status);
        } else {
            self.fulfillment_restocks.remove(&status);
        }
        self
    }

    /// Whether a fully refunded order (`REFUNDED`) gives its items back: `true` by default,
    /// as Ecwid restocks it.
    pub fn refunded_restocks(self, restocks: bool) -> Self {
        self.payment_restocks(PaymentStatus::Refunded, restocks)
    }

    /// Whether a returned order (fulfilment `RETURNED`) gives its items back: `false` by
    /// default, as Ecwid leaves its stock alone.
    pub fn returned_restocks(self, restocks: bool) -> Self {
        self.fulfillment_restocks(FulfillmentStatus::Returned, restocks)
    }

    /// Whether an order with these statuses holds its items out of stock. An order without a
    /// status, or with one this crate does not know, holds them unless set otherwise: it was
    /// placed, and Ecwid took its stock then.
    pub fn holds(
        &self,
        payment: Option<&PaymentStatus>,
        fulfillment: Option<&FulfillmentStatus>,
    ) -> bool {
        if let Some(payment) = payment {
            if matches!(
                payment,
                PaymentStatus::Cancelled | PaymentStatus::Incomplete
            ) || self.payment_restocks.contains(payment.as_str())
            {
                return false;
            }
        }
        !fulfillment.is_some_and(|f| self.fulfillment_restocks.contains(f.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The module docs' table, row by row, for the default policy.
    #[test]
    fn the_default_policy_is_the_table_in_the_docs() {
        let policy = StockPolicy::default();
        let held = |p: PaymentStatus| policy.holds(Some(&p), None);
        assert!(held(PaymentStatus::AwaitingPayment));
        assert!(held(PaymentStatus::Paid));
        assert!(held(PaymentStatus::PartiallyRefunded));
        assert!(held(PaymentStatus::Other("CUSTOM_PAYMENT_STATUS_1".into())));
        assert!(!held(PaymentStatus::Refunded));
        assert!(!held(PaymentStatus::Cancelled));
        assert!(!held(PaymentStatus::Incomplete));
        assert!(policy.holds(None, None));
        for f in [
            FulfillmentStatus::AwaitingProcessing,
            FulfillmentStatus::Processing,
            FulfillmentStatus::Shipped,
            FulfillmentStatus::Delivered,
            FulfillmentStatus::WillNotDeliver,
            FulfillmentStatus::Returned,
            FulfillmentStatus::ReadyForPickup,
            FulfillmentStatus::OutForDelivery,
        ] {
            assert!(policy.holds(Some(&PaymentStatus::Paid), Some(&f)), "{f}");
        }
    }

    #[test]
    fn settings_change_what_holds_but_never_for_cancelled_or_incomplete() {
        let policy = StockPolicy::default()
            .refunded_restocks(false)
            .returned_restocks(true)
            .payment_restocks(PaymentStatus::AwaitingPayment, true)
            .payment_restocks(PaymentStatus::Cancelled, false)
            .payment_restocks(PaymentStatus::Incomplete, false)
            .fulfillment_restocks(FulfillmentStatus::Other("LOST".into()), true);
        assert!(policy.holds(Some(&PaymentStatus::Refunded), None));
        assert!(!policy.holds(Some(&PaymentStatus::AwaitingPayment), None));
        assert!(!policy.holds(Some(&PaymentStatus::Cancelled), None));
        assert!(!policy.holds(Some(&PaymentStatus::Incomplete), None));
        let paid = Some(&PaymentStatus::Paid);
        assert!(!policy.holds(paid, Some(&FulfillmentStatus::Returned)));
        assert!(!policy.holds(paid, Some(&FulfillmentStatus::Other("LOST".into()))));
        assert!(policy.holds(paid, Some(&FulfillmentStatus::Shipped)));
        // And back.
        let policy = policy.returned_restocks(false);
        assert!(policy.holds(paid, Some(&FulfillmentStatus::Returned)));
    }
}
