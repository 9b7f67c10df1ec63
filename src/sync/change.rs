//! How a sync moves a stock to its target: the mode, and the change it plans.

use serde::{Deserialize, Serialize};

use crate::{Stock, StockChange};

/// How a sync sends its changes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SyncMode {
    /// Each change is a delta, `target - current`, from the plan's read of the stock: a sale
    /// (or any change) made between that read and the write is kept, as the delta moves the
    /// stock from wherever it is then. Where a delta cannot reach the target, the plan says
    /// so by holding a set instead: to or from unlimited stock (Ecwid ignores deltas on an
    /// unlimited stock), and a difference beyond Ecwid's 32-bit delta.
    #[default]
    Delta,
    /// Each change is an absolute count. It lands the target whatever happened since the read,
    /// so **a sale made between the read and the write is overwritten** (sold, yet counted
    /// back in). For when the targets are known to include every sale up to the write.
    Set,
}

/// The change that takes `current` to `target` in `mode`; `None` when they are equal.
pub(super) fn planned_change(current: Stock, target: Stock, mode: SyncMode) -> Option<StockChange> {
    if current == target {
        return None;
    }
    let delta = match (mode, current, target) {
        (SyncMode::Delta, Stock::Quantity(current), Stock::Quantity(target)) => target
            .checked_sub(current)
            .and_then(|delta| i32::try_from(delta).ok()),
        _ => None,
    };
    Some(delta.map_or(StockChange::Set(target), StockChange::Delta))
}
