//! Target counts as a user writes them: `set`'s N, and a sync file's `quantity` column.

use ecwid_inventory::{Stock, MAX_QUANTITY};

/// A count from 0 to [`MAX_QUANTITY`], or `unlimited`: what a set accepts (a stock goes below
/// zero only through deltas).
pub fn parse_quantity(text: &str) -> Result<Stock, String> {
    if text == "unlimited" {
        return Ok(Stock::Unlimited);
    }
    text.parse::<i64>()
        .ok()
        .filter(|quantity| (0..=MAX_QUANTITY).contains(quantity))
        .map(Stock::Quantity)
        .ok_or_else(|| {
            format!("{text:?} is not a whole number from 0 to {MAX_QUANTITY}, nor `unlimited`")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        assert_eq!(parse_quantity("0"), Ok(Stock::Quantity(0)));
        assert_eq!(
            parse_quantity("2147483647"),
            Ok(Stock::Quantity(MAX_QUANTITY))
        );
        assert_eq!(parse_quantity("unlimited"), Ok(Stock::Unlimited));
        for bad in [
            "-1",
            "2147483648",
            "1.0",
            " 3",
            "3 ",
            "",
            "Unlimited",
            "+-1",
        ] {
            assert!(parse_quantity(bad).is_err(), "{bad:?}");
        }
    }
}
