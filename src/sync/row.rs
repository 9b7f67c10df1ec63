//! One target's row of a plan: what was found, what is sent, and the row's saved form.

use serde::{Deserialize, Serialize};

use super::change::{planned_change, SyncMode};
use crate::{
    bulk::BulkItem, stock::stock_update, CombinationId, ProductId, Stock, StockChange, StockItem,
};

/// What the plan does for one target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum SyncStatus {
    /// The stock differs from the target: the row's change is sent.
    Change,
    /// The stock is the target already: nothing is sent.
    Same,
    /// No product or variation has the SKU (or the item does not exist): nothing is sent.
    NotFound,
    /// Several items have the SKU (Ecwid does not forbid it): none is chosen, nothing is sent.
    Several,
    /// The item is a variation without a SKU of its own, sharing its product's stock, which
    /// differs from the target: the change is sent once, to the product.
    Shared,
}

/// `change`, `same`, `not-found`, `several` or `shared`, as it serializes.
impl std::fmt::Display for SyncStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SyncStatus::Change => "change",
            SyncStatus::Same => "same",
            SyncStatus::NotFound => "not-found",
            SyncStatus::Several => "several",
            SyncStatus::Shared => "shared",
        })
    }
}

/// One target of a [`SyncPlan`]: what was found, and what will be sent.
///
/// It serializes as a flat JSON object with snake-case fields, stocks as a number or
/// `"unlimited"`, and the change as `{"delta": n}` or `{"set": n | "unlimited"}`:
///
/// ```json
/// {"sku": "TEE-S", "product_id": 1, "combination_id": 11, "current": 10, "target": 12,
///  "change": {"delta": 2}, "status": "change"}
/// ```
///
/// `product_id` and `combination_id` are `null` when no single item was found
/// (`combination_id` also for a product's own stock), `current` and `change` when there is
/// none; a row of several items lists them in `matches` (`[{"product_id": .., "combination_id":
/// ..}]`), which other rows leave out.
///
/// [`SyncPlan`]: crate::sync::SyncPlan
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "RowForm", try_from = "RowForm")]
#[non_exhaustive]
pub struct SyncRow {
    /// The SKU: the target's, or for a target given by item, the item's as read (its product's
    /// for a variation sharing its stock; empty when the item was not found).
    pub sku: String,
    /// The one item found: the one with the SKU, or the target's item (also when it was not
    /// found). `None` when no item or several have the SKU.
    pub item: Option<StockItem>,
    /// Its stock as read when the plan was made.
    pub current: Option<Stock>,
    /// The target stock.
    pub target: Stock,
    /// The change that is sent: `None` when nothing is.
    pub change: Option<StockChange>,
    /// What the plan does.
    pub status: SyncStatus,
    /// Every item with the SKU, for [`SyncStatus::Several`]; empty otherwise.
    pub matches: Vec<StockItem>,
}

impl SyncRow {
    /// The item the change is sent to: the row's item, or for [`SyncStatus::Shared`] its
    /// product. `None` when nothing is sent.
    pub fn write_item(&self) -> Option<StockItem> {
        self.change?;
        self.stock_counter()
    }

    /// The stock the row's item moves: its own, or its product's when it shares it.
    pub(super) fn stock_counter(&self) -> Option<StockItem> {
        match (self.status, self.item?) {
            (SyncStatus::Shared, item) => Some(StockItem::Product {
                product: item.product(),
            }),
            (SyncStatus::NotFound | SyncStatus::Several, _) => None,
            (_, item) => Some(item),
        }
    }

    /// The bulk item that sends the row's change.
    pub(super) fn bulk_item(&self) -> Option<BulkItem> {
        let item = self.write_item()?;
        Some(match self.change? {
            StockChange::Delta(delta) => BulkItem::new(item, delta),
            StockChange::Set(Stock::Quantity(quantity)) => BulkItem::set(item, quantity),
            StockChange::Set(Stock::Unlimited) => BulkItem::set_unlimited(item),
        })
    }

    /// Whether the row is one `plan_sync` could have made in `mode`; says why not.
    pub(super) fn check(&self, mode: SyncMode) -> Result<(), String> {
        stock_update(self.target).map_err(|error| error.to_string())?;
        let planned = self
            .current
            .and_then(|c| planned_change(c, self.target, mode));
        let consistent = match self.status {
            SyncStatus::NotFound => self.current.is_none() && self.change.is_none(),
            SyncStatus::Several => {
                self.item.is_none()
                    && self.current.is_none()
                    && self.change.is_none()
                    && self.matches.len() > 1
            }
            SyncStatus::Same => {
                self.item.is_some() && self.current == Some(self.target) && self.change.is_none()
            }
            SyncStatus::Change => {
                self.item.is_some() && self.change.is_some() && self.change == planned
            }
            SyncStatus::Shared => {
                matches!(self.item, Some(StockItem::Variation { .. }))
                    && self.change.is_some()
                    && self.change == planned
            }
        };
        let matches_only_for_several =
            self.matches.is_empty() || self.status == SyncStatus::Several;
        if consistent && matches_only_for_several {
            Ok(())
        } else {
            Err(format!(
                "the row for {:?} is not one a {mode:?} sync plans: {self:?}",
                self.sku
            ))
        }
    }
}

/// The first two rows, in row order, that move one stock: for the first row whose stock an
/// earlier row moves already, `(earlier, later, stock)`; `stocks` gives each row's stock (rows
/// that move none left out). A key per row sorted, not a hash map of them: a million rows are
/// checked in 32 MB, taken at once when `stocks` says how many there may be.
pub(super) fn first_shared_stock(
    stocks: impl IntoIterator<Item = (usize, StockItem)>,
) -> Option<(usize, usize, StockItem)> {
    let stocks = stocks.into_iter();
    // Room for as many keys as there may be, taken once: a million keys are not copied each
    // time they outgrow their room.
    let (least, most) = stocks.size_hint();
    let mut keys: Vec<(ProductId, Option<CombinationId>, usize)> =
        Vec::with_capacity(most.unwrap_or(least));
    keys.extend(stocks.map(|(n, item)| (item.product(), item.combination(), n)));
    keys.sort_unstable();
    keys.chunk_by(|a, b| (a.0, a.1) == (b.0, b.1))
        .filter(|rows| rows.len() > 1)
        .map(|rows| {
            let (product, combination, earlier) = rows[0];
            let stock = ItemForm {
                product_id: product,
                combination_id: combination,
            };
            (earlier, rows[1].2, stock.into())
        })
        .min_by_key(|&(_, later, _)| later)
}

/// A stock as a row shows it: a number, or `"unlimited"`.
#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(untagged)]
enum StockForm {
    Quantity(i64),
    Word(Unlimited),
}

#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Unlimited {
    Unlimited,
}

impl From<Stock> for StockForm {
    fn from(stock: Stock) -> Self {
        match stock {
            Stock::Quantity(quantity) => StockForm::Quantity(quantity),
            Stock::Unlimited => StockForm::Word(Unlimited::Unlimited),
        }
    }
}

impl From<StockForm> for Stock {
    fn from(form: StockForm) -> Self {
        match form {
            StockForm::Quantity(quantity) => Stock::Quantity(quantity),
            StockForm::Word(Unlimited::Unlimited) => Stock::Unlimited,
        }
    }
}

/// A change as a row shows it: `{"delta": n}` or `{"set": n | "unlimited"}`.
#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum ChangeForm {
    Delta(i32),
    Set(StockForm),
}

#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemForm {
    product_id: ProductId,
    combination_id: Option<CombinationId>,
}

impl From<StockItem> for ItemForm {
    fn from(item: StockItem) -> Self {
        Self {
            product_id: item.product(),
            combination_id: item.combination(),
        }
    }
}

impl From<ItemForm> for StockItem {
    fn from(form: ItemForm) -> Self {
        match form.combination_id {
            Some(combination) => StockItem::Variation {
                product: form.product_id,
                combination,
            },
            None => StockItem::Product {
                product: form.product_id,
            },
        }
    }
}

/// A row as it serializes (see [`SyncRow`]).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RowForm {
    sku: String,
    product_id: Option<ProductId>,
    combination_id: Option<CombinationId>,
    current: Option<StockForm>,
    target: StockForm,
    change: Option<ChangeForm>,
    status: SyncStatus,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    matches: Vec<ItemForm>,
}

impl From<SyncRow> for RowForm {
    fn from(row: SyncRow) -> Self {
        Self {
            sku: row.sku,
            product_id: row.item.map(StockItem::product),
            combination_id: row.item.and_then(StockItem::combination),
            current: row.current.map(StockForm::from),
            target: row.target.into(),
            change: row.change.map(|change| match change {
                StockChange::Delta(delta) => ChangeForm::Delta(delta),
                StockChange::Set(stock) => ChangeForm::Set(stock.into()),
            }),
            status: row.status,
            matches: row.matches.into_iter().map(ItemForm::from).collect(),
        }
    }
}

impl TryFrom<RowForm> for SyncRow {
    type Error = String;

    fn try_from(form: RowForm) -> Result<Self, String> {
        let item = match (form.product_id, form.combination_id) {
            (Some(product_id), combination_id) => Some(
                ItemForm {
                    product_id,
                    combination_id,
                }
                .into(),
            ),
            (None, None) => None,
            (None, Some(_)) => {
                return Err(format!(
                    "the row for {:?} has a combination_id without a product_id",
                    form.sku
                ))
            }
        };
        Ok(Self {
            sku: form.sku,
            item,
            current: form.current.map(Stock::from),
            target: form.target.into(),
            change: form.change.map(|change| match change {
                ChangeForm::Delta(delta) => StockChange::Delta(delta),
                ChangeForm::Set(stock) => StockChange::Set(stock.into()),
            }),
            status: form.status,
            matches: form.matches.into_iter().map(StockItem::from).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_first_shared_stock_is_the_first_row_whose_stock_was_moved_before() {
        use crate::sync::fixtures::{product, variation};
        let (a, b, c) = (product(1), variation(11), product(2));
        assert_eq!(first_shared_stock([(0, a), (1, b), (2, c)]), None);
        assert_eq!(first_shared_stock([]), None);
        // Row 2 is the first whose stock an earlier row moves, though row 3 repeats row 0's.
        assert_eq!(
            first_shared_stock([(0, a), (1, b), (2, b), (3, a)]),
            Some((1, 2, b))
        );
        assert_eq!(
            first_shared_stock([(0, a), (1, b), (2, a), (3, b), (4, a)]),
            Some((0, 2, a))
        );
        // A product's own stock and its variation's are two stocks.
        assert_eq!(first_shared_stock([(0, product(1)), (1, b)]), None);
        // Rows given out of order are still named in row order.
        assert_eq!(
            first_shared_stock([(5, c), (1, c), (3, c)]),
            Some((1, 3, c))
        );
    }
    use crate::sync::fixtures::{product, variation};
    use SyncStatus::{Change, NotFound, Same, Several, Shared};

    fn row(
        item: Option<StockItem>,
        current: Option<i64>,
        target: Stock,
        change: Option<StockChange>,
        status: SyncStatus,
    ) -> SyncRow {
        SyncRow {
            sku: "TEE-S".into(),
            item,
            current: current.map(Stock::Quantity),
            target,
            change,
            status,
            matches: Vec::new(),
        }
    }

    /// The row [`SyncRow`]'s docs show: variation 11 from 10 to 12, in delta mode.
    fn tee_s() -> SyncRow {
        row(
            Some(variation(11)),
            Some(10),
            Stock::Quantity(12),
            Some(StockChange::Delta(2)),
            Change,
        )
    }

    fn several(matches: Vec<StockItem>) -> SyncRow {
        SyncRow {
            matches,
            ..row(None, None, Stock::Quantity(3), None, Several)
        }
    }

    #[test]
    fn a_change_goes_to_its_item_and_a_shared_change_to_the_product() {
        let change = tee_s();
        assert_eq!(change.write_item(), Some(variation(11)));
        assert_eq!(change.bulk_item(), Some(BulkItem::new(variation(11), 2)));
        let shared = row(
            Some(variation(12)),
            Some(20),
            Stock::Quantity(17),
            Some(StockChange::Delta(-3)),
            Shared,
        );
        assert_eq!(shared.write_item(), Some(product(1)));
        assert_eq!(shared.stock_counter(), Some(product(1)));
        assert_eq!(shared.bulk_item(), Some(BulkItem::new(product(1), -3)));
        let set = row(
            Some(variation(11)),
            Some(10),
            Stock::Quantity(12),
            Some(StockChange::Set(Stock::Quantity(12))),
            Change,
        );
        assert_eq!(set.bulk_item(), Some(BulkItem::set(variation(11), 12)));
        let unlimited = row(
            Some(product(1)),
            Some(10),
            Stock::Unlimited,
            Some(StockChange::Set(Stock::Unlimited)),
            Change,
        );
        assert_eq!(
            unlimited.bulk_item(),
            Some(BulkItem::set_unlimited(product(1)))
        );
    }

    /// A row that sends nothing has no item to write, though one at its target still holds
    /// its stock (two targets for it conflict); a row without one item holds none.
    #[test]
    fn a_row_without_a_change_sends_nothing() {
        let same = row(Some(variation(11)), Some(8), Stock::Quantity(8), None, Same);
        assert_eq!(same.write_item(), None);
        assert_eq!(same.bulk_item(), None);
        assert_eq!(same.stock_counter(), Some(variation(11)));
        let not_found = row(
            Some(variation(13)),
            None,
            Stock::Quantity(1),
            None,
            NotFound,
        );
        assert_eq!(not_found.stock_counter(), None);
        assert_eq!(not_found.bulk_item(), None);
        assert_eq!(
            several(vec![variation(11), variation(14)]).stock_counter(),
            None
        );
    }

    #[test]
    fn rows_plan_sync_makes_pass_the_check() {
        let delta = [
            tee_s(),
            row(
                Some(variation(12)),
                Some(20),
                Stock::Quantity(25),
                Some(StockChange::Delta(5)),
                Shared,
            ),
            row(Some(product(1)), Some(8), Stock::Quantity(8), None, Same),
            row(None, None, Stock::Quantity(1), None, NotFound),
            row(Some(variation(13)), None, Stock::Unlimited, None, NotFound),
            several(vec![variation(11), variation(14)]),
            row(
                Some(product(1)),
                Some(5),
                Stock::Unlimited,
                Some(StockChange::Set(Stock::Unlimited)),
                Change,
            ),
        ];
        for row in &delta {
            assert_eq!(row.check(SyncMode::Delta), Ok(()), "{row:?}");
        }
        let set = row(
            Some(variation(11)),
            Some(10),
            Stock::Quantity(12),
            Some(StockChange::Set(Stock::Quantity(12))),
            Change,
        );
        assert_eq!(set.check(SyncMode::Set), Ok(()));
        // Each mode's change is the other's tampering.
        assert!(set.check(SyncMode::Delta).is_err());
        assert!(delta[0].check(SyncMode::Set).is_err());
    }

    #[test]
    fn rows_plan_sync_would_not_make_are_refused() {
        let change = tee_s();
        let bad = [
            // Not the change the read and the target make.
            SyncRow {
                change: Some(StockChange::Delta(3)),
                ..change.clone()
            },
            // A change without an item, or without a read.
            SyncRow {
                item: None,
                ..change.clone()
            },
            SyncRow {
                current: None,
                ..change.clone()
            },
            // Matches on a row of one item.
            SyncRow {
                matches: vec![variation(11), variation(14)],
                ..change.clone()
            },
            // A "shared" stock that is a product's own.
            SyncRow {
                item: Some(product(1)),
                status: Shared,
                ..change.clone()
            },
            // The same stock with a change, or a different stock without one.
            SyncRow {
                current: Some(Stock::Quantity(12)),
                status: Same,
                ..change.clone()
            },
            SyncRow {
                change: None,
                status: Same,
                ..change.clone()
            },
            // Not found, yet read.
            SyncRow {
                change: None,
                status: NotFound,
                ..change.clone()
            },
            // Several, yet one match, or one item.
            several(vec![variation(11)]),
            SyncRow {
                item: Some(variation(11)),
                ..several(vec![variation(11), variation(14)])
            },
        ];
        for row in bad {
            let why = row.check(SyncMode::Delta).unwrap_err();
            assert!(
                why.starts_with("the row for \"TEE-S\" is not one a Delta sync plans"),
                "{row:?}: {why}"
            );
        }
        // A target no set can reach, though the row is otherwise one at its target.
        let below_zero = row(Some(product(1)), Some(-1), Stock::Quantity(-1), None, Same);
        let why = below_zero.check(SyncMode::Delta).unwrap_err();
        assert!(why.contains("-1"), "{why}");
    }

    /// The form [`SyncRow`]'s docs show, both ways.
    #[test]
    fn a_row_saves_as_a_flat_object() {
        let saved = json!({"sku": "TEE-S", "product_id": 1, "combination_id": 11, "current": 10,
            "target": 12, "change": {"delta": 2}, "status": "change"});
        let row = tee_s();
        assert_eq!(serde_json::to_value(&row).unwrap(), saved);
        assert_eq!(serde_json::from_value::<SyncRow>(saved).unwrap(), row);

        let unlimited = SyncRow {
            sku: "GIFT".into(),
            item: Some(product(1)),
            current: Some(Stock::Unlimited),
            target: Stock::Quantity(4),
            change: Some(StockChange::Set(Stock::Quantity(4))),
            status: Change,
            matches: Vec::new(),
        };
        let saved = json!({"sku": "GIFT", "product_id": 1, "combination_id": null,
            "current": "unlimited", "target": 4, "change": {"set": 4}, "status": "change"});
        assert_eq!(serde_json::to_value(&unlimited).unwrap(), saved);
        assert_eq!(serde_json::from_value::<SyncRow>(saved).unwrap(), unlimited);

        let to_unlimited = SyncRow {
            current: Some(Stock::Quantity(4)),
            target: Stock::Unlimited,
            change: Some(StockChange::Set(Stock::Unlimited)),
            ..unlimited
        };
        let saved = serde_json::to_value(&to_unlimited).unwrap();
        assert_eq!(saved["target"], "unlimited");
        assert_eq!(saved["change"], json!({"set": "unlimited"}));
        assert_eq!(
            serde_json::from_value::<SyncRow>(saved).unwrap(),
            to_unlimited
        );
    }

    #[test]
    fn only_a_row_of_several_items_lists_them() {
        let several = several(vec![variation(11), product(1)]);
        let saved = json!({"sku": "TEE-S", "product_id": null, "combination_id": null,
            "current": null, "target": 3, "change": null, "status": "several",
            "matches": [{"product_id": 1, "combination_id": 11},
                        {"product_id": 1, "combination_id": null}]});
        assert_eq!(serde_json::to_value(&several).unwrap(), saved);
        assert_eq!(serde_json::from_value::<SyncRow>(saved).unwrap(), several);
        let not_found = row(None, None, Stock::Quantity(1), None, NotFound);
        let saved = serde_json::to_value(&not_found).unwrap();
        assert!(saved.get("matches").is_none(), "{saved}");
        assert_eq!(saved["status"], "not-found");
        assert_eq!(serde_json::from_value::<SyncRow>(saved).unwrap(), not_found);
    }

    #[test]
    fn a_malformed_saved_row_is_refused() {
        let saved = json!({"sku": "TEE-S", "product_id": 1, "combination_id": 11, "current": 10,
            "target": 12, "change": {"delta": 2}, "status": "change"});
        let with = |key: &str, value: serde_json::Value| {
            let mut changed = saved.clone();
            changed[key] = value;
            serde_json::from_value::<SyncRow>(changed)
        };
        let error = with("product_id", json!(null)).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("a combination_id without a product_id"),
            "{error}"
        );
        assert!(with("surprise", json!(1)).is_err());
        assert!(with("status", json!("changed")).is_err());
        assert!(with("target", json!("lots")).is_err());
        assert!(with("change", json!({"delta": 2, "set": 12})).is_err());
        assert!(with("change", json!({"add": 2})).is_err());
        assert!(with("change", json!({"delta": 1_i64 << 31})).is_err());
    }

    #[test]
    fn a_status_displays_as_it_saves() {
        for status in [Change, Same, NotFound, Several, Shared] {
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                status.to_string(),
                "{status:?}"
            );
        }
        assert_eq!(NotFound.to_string(), "not-found");
    }
}
