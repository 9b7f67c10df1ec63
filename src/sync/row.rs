//! One target's row of a plan: what was found, what is sent, and the row's saved form.

use serde::{Deserialize, Serialize};

use super::change::{planned_change, SyncMode};
use crate::{
    sets::stock_update, BulkItem, CombinationId, ProductId, Stock, StockChange, StockItem,
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
/// [`SyncPlan`]: crate::SyncPlan
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
