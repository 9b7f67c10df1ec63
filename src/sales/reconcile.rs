//! The one decision of this module, as a pure function: given an order as read now and what
//! was counted for its lines so far, which movements to record and what to count from then on.
//! Both backends call it inside the transaction that holds the order, so that what it reads
//! is what it replaces.

use super::{
    movement::{movement_id, MovementKind},
    StockPolicy,
};
use crate::{
    orders::Order,
    orders::{FulfillmentStatus, PaymentStatus},
    CombinationId, ProductId, StockItem, StoreId,
};

/// An order as just read from Ecwid: its state, or the fact that Ecwid no longer has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Observed {
    Order(Snapshot),
    /// Ecwid answered 404 for the order: deleted.
    Deleted(String),
}

impl Observed {
    pub(super) fn order_id(&self) -> &str {
        match self {
            Observed::Order(snapshot) => &snapshot.order_id,
            Observed::Deleted(order_id) => order_id,
        }
    }
}

/// The parts of an order that decide its stock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Snapshot {
    pub order_id: String,
    /// Ecwid's `updateTimestamp`, in milliseconds.
    pub updated_ms: Option<i64>,
    pub payment: Option<PaymentStatus>,
    pub fulfillment: Option<FulfillmentStatus>,
    pub lines: Vec<LineNow>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct LineNow {
    pub line_id: u64,
    pub item: Option<StockItem>,
    pub sku: Option<String>,
    pub quantity: u32,
}

impl From<&Order> for Snapshot {
    fn from(order: &Order) -> Self {
        Snapshot {
            order_id: order.id.as_str().to_owned(),
            updated_ms: order.updated.map(|at| crate::time::unix_ms(at) as i64),
            payment: order.payment_status.clone(),
            fulfillment: order.fulfillment_status.clone(),
            lines: order
                .lines
                .iter()
                .map(|line| LineNow {
                    line_id: line.id,
                    item: line.stock_item(),
                    sku: line.sku.clone(),
                    quantity: line.quantity,
                })
                .collect(),
        }
    }
}

/// An order's row as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct OrderRow {
    pub updated_ms: Option<i64>,
    pub deleted: bool,
    pub payment_status: Option<String>,
    pub fulfillment_status: Option<String>,
}

/// A line's row as stored: what is counted out of stock for it, and how many movements of
/// each kind it has had.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct LineRow {
    pub line_id: i64,
    pub product_id: Option<i64>,
    pub combination_id: Option<i64>,
    pub sku: Option<String>,
    pub counted: i64,
    pub placed: i64,
    pub restocked: i64,
}

impl LineRow {
    fn item(&self) -> Option<StockItem> {
        let product = ProductId::new(u64::try_from(self.product_id?).ok()?);
        Some(
            match self.combination_id.and_then(|c| u64::try_from(c).ok()) {
                Some(combination) => StockItem::Variation {
                    product,
                    combination: CombinationId::new(combination),
                },
                None => StockItem::Product { product },
            },
        )
    }

    fn set_item(&mut self, item: StockItem) {
        self.product_id = Some(item.product().get() as i64);
        self.combination_id = item.combination().map(|c| c.get() as i64);
    }
}

/// What a line of the order read holds out of stock now (none: nothing), by line id, with
/// its SKU.
type Target = (i64, Option<(StockItem, i64)>, Option<String>);

/// A movement to record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct NewMovement {
    pub movement_id: String,
    pub order_id: String,
    pub line_id: i64,
    pub kind: MovementKind,
    pub number: i64,
    pub product_id: i64,
    pub combination_id: Option<i64>,
    pub sku: Option<String>,
    pub quantity: i64,
    pub payment_status: Option<String>,
    pub fulfillment_status: Option<String>,
    pub order_deleted: bool,
}

/// What to write for one order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Reconciled {
    pub order: OrderRow,
    /// The lines whose row changes (or is new).
    pub lines: Vec<LineRow>,
    pub movements: Vec<NewMovement>,
}

/// Reconciles `observed` against the order's stored row and lines: `None` when there is
/// nothing to write, because the state read is older than the one last reconciled (deliveries
/// and reads come in any order, and going back to an older state would move stock twice), or
/// because a deleted order was never seen before.
pub(super) fn reconcile(
    store: StoreId,
    observed: &Observed,
    now_ms: i64,
    stored: Option<&OrderRow>,
    lines: &[LineRow],
    policy: &StockPolicy,
) -> Option<Reconciled> {
    let (order, targets) = match observed {
        Observed::Order(snapshot) => {
            let stale = matches!(
                (stored.and_then(|s| s.updated_ms), snapshot.updated_ms),
                (Some(last), Some(now)) if now < last
            );
            if stale {
                return None;
            }
            let holds = policy.holds(snapshot.payment.as_ref(), snapshot.fulfillment.as_ref());
            let order = OrderRow {
                updated_ms: snapshot.updated_ms,
                deleted: false,
                payment_status: snapshot.payment.clone().map(String::from),
                fulfillment_status: snapshot.fulfillment.as_ref().map(|f| f.as_str().to_owned()),
            };
            let targets: Vec<Target> = snapshot
                .lines
                .iter()
                .map(|line| {
                    let target = line
                        .item
                        .filter(|_| holds && line.quantity > 0)
                        .map(|item| (item, i64::from(line.quantity)));
                    (line.line_id as i64, target, line.sku.clone())
                })
                .collect();
            (order, targets)
        }
        Observed::Deleted(_) => {
            if stored.is_none() && lines.is_empty() {
                return None;
            }
            // The deletion is as new as this moment: a state read before it, committed after
            // it, is older and so ignored.
            let updated_ms = stored
                .and_then(|s| s.updated_ms)
                .map_or(now_ms, |last| last.max(now_ms));
            let order = OrderRow {
                updated_ms: Some(updated_ms),
                deleted: true,
                payment_status: None,
                fulfillment_status: None,
            };
            (order, Vec::new())
        }
    };

    let mut line_ids: Vec<i64> = lines.iter().map(|l| l.line_id).collect();
    line_ids.extend(targets.iter().map(|(id, _, _)| *id));
    line_ids.sort_unstable();
    line_ids.dedup();

    let mut changed = Vec::new();
    let mut movements = Vec::new();
    for line_id in line_ids {
        let before = lines.iter().find(|l| l.line_id == line_id);
        let (target, sku) = targets
            .iter()
            .find(|(id, _, _)| *id == line_id)
            .map_or((None, None), |(_, target, sku)| (*target, sku.clone()));
        let mut row = before.cloned().unwrap_or(LineRow {
            line_id,
            product_id: None,
            combination_id: None,
            sku: None,
            counted: 0,
            placed: 0,
            restocked: 0,
        });
        if sku.is_some() {
            row.sku = sku;
        }
        let counted = row
            .item()
            .filter(|_| row.counted > 0)
            .map(|i| (i, row.counted));
        let mut moves: Vec<(MovementKind, StockItem, i64)> = Vec::new();
        match (counted, target) {
            (None, None) => {}
            (None, Some((item, quantity))) => moves.push((MovementKind::Placed, item, quantity)),
            (Some((item, counted)), None) => moves.push((MovementKind::Restocked, item, counted)),
            (Some((was, counted)), Some((item, quantity))) if was == item => {
                if quantity > counted {
                    moves.push((MovementKind::Placed, item, quantity - counted));
                } else if quantity < counted {
                    moves.push((MovementKind::Restocked, item, counted - quantity));
                }
            }
            // The line now names another item: the old one comes back, the new one leaves.
            (Some((was, counted)), Some((item, quantity))) => {
                moves.push((MovementKind::Restocked, was, counted));
                moves.push((MovementKind::Placed, item, quantity));
            }
        }
        if moves.is_empty() {
            // A line never counted is stored only once it is; a counted one keeps its row.
            if before.is_some_and(|b| b.sku != row.sku) {
                changed.push(row);
            }
            continue;
        }
        for (kind, item, quantity) in moves {
            let number = match kind {
                MovementKind::Placed => {
                    row.placed += 1;
                    row.counted = quantity
                        + if row.item() == Some(item) {
                            row.counted
                        } else {
                            0
                        };
                    row.set_item(item);
                    row.placed
                }
                MovementKind::Restocked => {
                    row.restocked += 1;
                    row.counted -= quantity;
                    row.restocked
                }
            };
            movements.push(NewMovement {
                movement_id: movement_id(
                    store,
                    observed.order_id(),
                    line_id as u64,
                    kind,
                    u32::try_from(number).unwrap_or(u32::MAX),
                ),
                order_id: observed.order_id().to_owned(),
                line_id,
                kind,
                number,
                product_id: item.product().get() as i64,
                combination_id: item.combination().map(|c| c.get() as i64),
                sku: row.sku.clone(),
                quantity,
                payment_status: order.payment_status.clone(),
                fulfillment_status: order.fulfillment_status.clone(),
                order_deleted: order.deleted,
            });
        }
        changed.push(row);
    }
    Some(Reconciled {
        order,
        lines: changed,
        movements,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const STORE: StoreId = StoreId::new(1003);

    fn tee(combination: u64) -> StockItem {
        StockItem::Variation {
            product: ProductId::new(7),
            combination: CombinationId::new(combination),
        }
    }

    fn order(payment: PaymentStatus, updated: i64, lines: &[(u64, StockItem, u32)]) -> Observed {
        Observed::Order(Snapshot {
            order_id: "XJ12H".into(),
            updated_ms: Some(updated),
            payment: Some(payment),
            fulfillment: Some(FulfillmentStatus::AwaitingProcessing),
            lines: lines
                .iter()
                .map(|&(line_id, item, quantity)| LineNow {
                    line_id,
                    item: Some(item),
                    sku: Some(format!("TEE-{line_id}")),
                    quantity,
                })
                .collect(),
        })
    }

    /// Reconciles each observation in turn, keeping the stored state as the backends do; the
    /// movements, as `(id, quantity)`.
    fn history(observations: &[Observed], policy: &StockPolicy) -> Vec<(String, i64)> {
        let mut stored: Option<OrderRow> = None;
        let mut lines: Vec<LineRow> = Vec::new();
        let mut all = Vec::new();
        for (n, observed) in observations.iter().enumerate() {
            let Some(done) = reconcile(
                STORE,
                observed,
                1000 + n as i64,
                stored.as_ref(),
                &lines,
                policy,
            ) else {
                continue;
            };
            stored = Some(done.order);
            for line in done.lines {
                lines.retain(|l| l.line_id != line.line_id);
                lines.push(line);
            }
            all.extend(
                done.movements
                    .into_iter()
                    .map(|m| (m.movement_id, m.quantity)),
            );
        }
        all
    }

    fn ids(movements: &[(&str, i64)]) -> Vec<(String, i64)> {
        movements
            .iter()
            .map(|(id, q)| (id.to_string(), *q))
            .collect()
    }

    #[test]
    fn a_sale_seen_again_moves_nothing_more() {
        let paid = order(PaymentStatus::Paid, 10, &[(1, tee(11), 2), (2, tee(12), 1)]);
        let moves = history(&[paid.clone(), paid.clone(), paid], &StockPolicy::default());
        assert_eq!(
            moves,
            ids(&[("1003/XJ12H/1/placed-1", 2), ("1003/XJ12H/2/placed-1", 1)])
        );
    }

    #[test]
    fn cancel_reopen_and_cancel_again_number_each_transition() {
        let paid = order(PaymentStatus::Paid, 10, &[(1, tee(11), 2)]);
        let cancelled = order(PaymentStatus::Cancelled, 20, &[(1, tee(11), 2)]);
        let reopened = order(PaymentStatus::AwaitingPayment, 30, &[(1, tee(11), 2)]);
        let again = order(PaymentStatus::Cancelled, 40, &[(1, tee(11), 2)]);
        let moves = history(
            &[paid, cancelled.clone(), cancelled, reopened, again],
            &StockPolicy::default(),
        );
        assert_eq!(
            moves,
            ids(&[
                ("1003/XJ12H/1/placed-1", 2),
                ("1003/XJ12H/1/restocked-1", 2),
                ("1003/XJ12H/1/placed-2", 2),
                ("1003/XJ12H/1/restocked-2", 2),
            ])
        );
    }

    #[test]
    fn an_older_state_read_late_is_ignored() {
        let paid = order(PaymentStatus::Paid, 10, &[(1, tee(11), 2)]);
        let cancelled = order(PaymentStatus::Cancelled, 20, &[(1, tee(11), 2)]);
        let moves = history(&[paid.clone(), cancelled, paid], &StockPolicy::default());
        assert_eq!(
            moves,
            ids(&[
                ("1003/XJ12H/1/placed-1", 2),
                ("1003/XJ12H/1/restocked-1", 2)
            ])
        );
        // Seen only once cancelled: never counted, so nothing moves, then or later.
        let cancelled = order(PaymentStatus::Cancelled, 20, &[(1, tee(11), 2)]);
        let paid = order(PaymentStatus::Paid, 10, &[(1, tee(11), 2)]);
        assert!(history(&[cancelled, paid], &StockPolicy::default()).is_empty());
    }

    #[test]
    fn quantity_edits_move_the_difference_and_removed_lines_come_back() {
        let two = order(PaymentStatus::Paid, 10, &[(1, tee(11), 2), (2, tee(12), 1)]);
        let five = order(PaymentStatus::Paid, 20, &[(1, tee(11), 5), (2, tee(12), 1)]);
        let three_and_gone = order(PaymentStatus::Paid, 30, &[(1, tee(11), 3)]);
        let moves = history(&[two, five, three_and_gone], &StockPolicy::default());
        assert_eq!(
            moves,
            ids(&[
                ("1003/XJ12H/1/placed-1", 2),
                ("1003/XJ12H/2/placed-1", 1),
                ("1003/XJ12H/1/placed-2", 3),
                ("1003/XJ12H/1/restocked-1", 2),
                ("1003/XJ12H/2/restocked-1", 1),
            ])
        );
    }

    #[test]
    fn a_line_moved_to_another_item_restocks_the_old_and_places_the_new() {
        let small = order(PaymentStatus::Paid, 10, &[(1, tee(11), 2)]);
        let large = order(PaymentStatus::Paid, 20, &[(1, tee(13), 2)]);
        let cancelled = order(PaymentStatus::Cancelled, 30, &[(1, tee(13), 2)]);
        let policy = StockPolicy::default();
        let mut stored = None;
        let mut lines: Vec<LineRow> = Vec::new();
        let mut items = Vec::new();
        for (n, observed) in [small, large, cancelled].iter().enumerate() {
            let done =
                reconcile(STORE, observed, n as i64, stored.as_ref(), &lines, &policy).unwrap();
            stored = Some(done.order);
            lines = done.lines;
            items.extend(
                done.movements
                    .iter()
                    .map(|m| (m.kind, m.combination_id, m.quantity)),
            );
        }
        assert_eq!(
            items,
            [
                (MovementKind::Placed, Some(11), 2),
                (MovementKind::Restocked, Some(11), 2),
                (MovementKind::Placed, Some(13), 2),
                (MovementKind::Restocked, Some(13), 2),
            ]
        );
    }

    #[test]
    fn a_deletion_restocks_what_was_counted_once() {
        let paid = order(PaymentStatus::Paid, 10, &[(1, tee(11), 2)]);
        let deleted = Observed::Deleted("XJ12H".into());
        let moves = history(
            &[paid.clone(), deleted.clone(), deleted.clone(), paid],
            &StockPolicy::default(),
        );
        // The paid state read before the deletion and seen after it is older: ignored.
        assert_eq!(
            moves,
            ids(&[
                ("1003/XJ12H/1/placed-1", 2),
                ("1003/XJ12H/1/restocked-1", 2)
            ])
        );
        // A deletion of an order never seen writes nothing.
        assert_eq!(
            reconcile(STORE, &deleted, 5, None, &[], &StockPolicy::default()),
            None
        );
    }

    #[test]
    fn unfinished_checkouts_and_lines_without_a_product_never_move() {
        let incomplete = order(PaymentStatus::Incomplete, 10, &[(1, tee(11), 2)]);
        assert!(history(std::slice::from_ref(&incomplete), &StockPolicy::default()).is_empty());
        let placed = order(PaymentStatus::AwaitingPayment, 20, &[(1, tee(11), 2)]);
        assert_eq!(
            history(&[incomplete, placed], &StockPolicy::default()),
            ids(&[("1003/XJ12H/1/placed-1", 2)])
        );
        let Observed::Order(mut snapshot) = order(PaymentStatus::Paid, 10, &[(1, tee(11), 2)])
        else {
            unreachable!()
        };
        snapshot.lines[0].item = None;
        assert!(history(&[Observed::Order(snapshot)], &StockPolicy::default()).is_empty());
    }

    #[test]
    fn the_policy_decides_refunds_and_returns() {
        let paid = order(PaymentStatus::Paid, 10, &[(1, tee(11), 2)]);
        let refunded = order(PaymentStatus::Refunded, 20, &[(1, tee(11), 2)]);
        let by_default = history(&[paid.clone(), refunded.clone()], &StockPolicy::default());
        assert_eq!(by_default.len(), 2);
        let kept = StockPolicy::default().refunded_restocks(false);
        assert_eq!(history(&[paid.clone(), refunded], &kept).len(), 1);

        let Observed::Order(mut returned) = order(PaymentStatus::Paid, 20, &[(1, tee(11), 2)])
        else {
            unreachable!()
        };
        returned.fulfillment = Some(FulfillmentStatus::Returned);
        let returned = Observed::Order(returned);
        assert_eq!(
            history(&[paid.clone(), returned.clone()], &StockPolicy::default()).len(),
            1
        );
        let shelved = StockPolicy::default().returned_restocks(true);
        assert_eq!(history(&[paid, returned], &shelved).len(), 2);
    }
}
