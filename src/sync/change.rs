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

#[cfg(test)]
mod tests {
    use super::*;
    use Stock::{Quantity, Unlimited};
    use StockChange::{Delta, Set};

    const MAX_DELTA: i64 = i32::MAX as i64;

    #[test]
    fn a_delta_moves_the_stock_from_the_read_to_the_target() {
        let mode = SyncMode::Delta;
        assert_eq!(
            planned_change(Quantity(10), Quantity(12), mode),
            Some(Delta(2))
        );
        assert_eq!(
            planned_change(Quantity(10), Quantity(3), mode),
            Some(Delta(-7))
        );
        // A stock oversold below zero is brought back up by the difference.
        assert_eq!(
            planned_change(Quantity(-4), Quantity(0), mode),
            Some(Delta(4))
        );
    }

    #[test]
    fn a_stock_at_its_target_plans_nothing_in_either_mode() {
        for mode in [SyncMode::Delta, SyncMode::Set] {
            assert_eq!(planned_change(Quantity(5), Quantity(5), mode), None);
            assert_eq!(planned_change(Unlimited, Unlimited, mode), None);
        }
    }

    /// To or from unlimited stock (Ecwid ignores a delta on it), and past Ecwid's 32 bits.
    #[test]
    fn a_delta_that_cannot_reach_the_target_is_planned_as_a_set() {
        let mode = SyncMode::Delta;
        assert_eq!(
            planned_change(Quantity(5), Unlimited, mode),
            Some(Set(Unlimited))
        );
        assert_eq!(
            planned_change(Unlimited, Quantity(5), mode),
            Some(Set(Quantity(5)))
        );
        // The widest deltas still go as deltas...
        assert_eq!(
            planned_change(Quantity(0), Quantity(MAX_DELTA), mode),
            Some(Delta(i32::MAX))
        );
        assert_eq!(
            planned_change(Quantity(MAX_DELTA + 1), Quantity(0), mode),
            Some(Delta(i32::MIN))
        );
        // ...one further is a set, as is a difference that overflows 64 bits.
        assert_eq!(
            planned_change(Quantity(-1), Quantity(MAX_DELTA), mode),
            Some(Set(Quantity(MAX_DELTA)))
        );
        assert_eq!(
            planned_change(Quantity(MAX_DELTA + 2), Quantity(0), mode),
            Some(Set(Quantity(0)))
        );
        assert_eq!(
            planned_change(Quantity(i64::MIN), Quantity(1), mode),
            Some(Set(Quantity(1)))
        );
    }

    #[test]
    fn set_mode_sends_the_target_itself() {
        let mode = SyncMode::Set;
        assert_eq!(
            planned_change(Quantity(10), Quantity(12), mode),
            Some(Set(Quantity(12)))
        );
        assert_eq!(
            planned_change(Quantity(10), Unlimited, mode),
            Some(Set(Unlimited))
        );
        assert_eq!(
            planned_change(Unlimited, Quantity(0), mode),
            Some(Set(Quantity(0)))
        );
    }

    #[test]
    fn delta_is_the_default_and_modes_save_in_snake_case() {
        assert_eq!(SyncMode::default(), SyncMode::Delta);
        for (mode, word) in [(SyncMode::Delta, "delta"), (SyncMode::Set, "set")] {
            assert_eq!(serde_json::to_value(mode).unwrap(), word);
            assert_eq!(
                serde_json::from_value::<SyncMode>(word.into()).unwrap(),
                mode
            );
        }
    }
}
