//! What became of one change (`adjust`, `set`), printed the same way for both.

use std::time::SystemTime;

use ecwid_inventory::{bulk::KEY_WINDOW, Error, Stock, StockAdjustment};

use crate::{
    exit::{Exit, Fail},
    items::Named,
    output::{id_columns, stock_value, ChangeJson, Output},
};

/// The change asked for.
#[derive(Clone, Copy, Debug)]
pub enum Asked {
    Delta {
        delta: i32,
        /// Under a caller's key (`--key`): when it was first sent under it.
        first_attempt: Option<SystemTime>,
    },
    Set(Stock),
}

/// Prints what became of `asked` on `named` (JSON or a row of columns) and says how the
/// process ends: 0 when it was applied or Ecwid had nothing to change, 1 with the error when
/// it failed or its outcome is unknown, 2 when the library refused it before sending.
pub fn report(
    out: &Output,
    named: &Named,
    asked: Asked,
    result: Result<StockAdjustment, Error>,
) -> Result<Exit, Fail> {
    let (outcome, warning, error) = match result {
        Ok(done) if done.is_updated() => ("applied", done.warning().map(str::to_owned), None),
        Ok(done) => ("not-updated", done.warning().map(str::to_owned), None),
        Err(error @ (Error::Config(_) | Error::InvalidInput(_))) => return Err(error.into()),
        Err(error) if error.may_have_been_applied() => {
            let key_expired = matches!(error, Error::KeyExpired { .. });
            let what_to_do = what_to_do(named, asked, key_expired, SystemTime::now());
            ("unknown", None, Some(format!("{error}; {what_to_do}")))
        }
        Err(error) => ("failed", None, Some(error.to_string())),
    };

    if out.json {
        out.json(&ChangeJson {
            sku: named.sku.clone(),
            product_id: named.item.product().get(),
            combination_id: named.item.combination().map(|c| c.get()),
            change: match asked {
                Asked::Delta { delta, .. } => Some(delta),
                Asked::Set(_) => None,
            },
            target: match asked {
                Asked::Delta { .. } => None,
                Asked::Set(stock) => Some(stock_value(stock)),
            },
            first_attempt: match asked {
                Asked::Delta {
                    first_attempt: Some(first),
                    ..
                } => Some(humantime::format_rfc3339_seconds(first).to_string()),
                _ => None,
            },
            outcome,
            warning: warning.clone(),
            error: error.clone(),
        })?;
    } else if !out.quiet {
        let [product, variation] = id_columns(named.item);
        let (asked_header, asked_value) = match asked {
            Asked::Delta { delta, .. } => ("CHANGE", format!("{delta:+}")),
            Asked::Set(stock) => ("TARGET", stock.to_string()),
        };
        let mut header = vec!["SKU", "PRODUCT", "VARIATION", asked_header, "OUTCOME"];
        let mut row = vec![
            named.sku.clone().unwrap_or_else(|| "-".to_owned()),
            product,
            variation,
            asked_value,
            outcome.to_owned(),
        ];
        if let Some(warning) = &warning {
            header.push("WARNING");
            row.push(warning.clone());
        }
        out.table(&header, || [row.clone()])?;
    }
    if outcome == "not-updated" {
        out.note("Ecwid changed nothing (updateCount 0): an item with unlimited stock has no count to adjust.");
    }
    match error {
        Some(error) => Err(Fail::failed(error)),
        None => Ok(Exit::Done),
    }
}

/// What to do about a change whose outcome is unknown, at `now`; `key_expired` when its key
/// was refused as too old to be remembered.
fn what_to_do(named: &Named, asked: Asked, key_expired: bool, now: SystemTime) -> String {
    match asked {
        // Within the key's window, the same command is answered with what became of the
        // first: it can be run again as it is, given the first run's time.
        Asked::Delta {
            first_attempt: Some(first),
            ..
        } if now < first + KEY_WINDOW && !key_expired => format!(
            "the same command with --first-attempt {} applies it at most once, until {}",
            humantime::format_rfc3339_seconds(first),
            humantime::format_rfc3339_seconds(first + KEY_WINDOW)
        ),
        Asked::Delta { .. } => format!(
            "read the stock (ecwid-stock get {}) before sending the change again",
            get_arguments(named)
        ),
        Asked::Set(_) => "sending the same set again is safe".to_owned(),
    }
}

/// The arguments of `get` for the same item.
fn get_arguments(named: &Named) -> String {
    match &named.sku {
        // Quoted for a shell when it holds anything but letters, digits and `._-`.
        Some(sku)
            if sku
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) =>
        {
            sku.clone()
        }
        Some(sku) => format!("'{}'", sku.replace('\'', "'\\''")),
        None => {
            let [product, variation] = id_columns(named.item);
            if variation.is_empty() {
                format!("--product {product}")
            } else {
                format!("--product {product} --combination {variation}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ecwid_inventory::{ProductId, StockItem};
    use std::time::Duration;

    #[test]
    fn an_unknown_outcome_says_what_to_do() {
        let named = Named {
            item: StockItem::Product {
                product: ProductId::new(7),
            },
            sku: Some("MUG 2".to_owned()),
            found: None,
        };
        let first = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_310_245);
        let keyed = Asked::Delta {
            delta: -1,
            first_attempt: Some(first),
        };
        let read_first = "read the stock (ecwid-stock get 'MUG 2') before sending the change again";

        // Under a key still remembered: the same command again, with the first run's time.
        assert_eq!(
            what_to_do(&named, keyed, false, first + Duration::from_secs(60)),
            "the same command with --first-attempt 2026-12-03T15:04:05Z applies it at most \
             once, until 2026-12-03T15:59:05Z"
        );
        // Once the key may be forgotten, or refused as too old, only a read tells.
        assert_eq!(
            what_to_do(&named, keyed, false, first + KEY_WINDOW),
            read_first
        );
        assert_eq!(what_to_do(&named, keyed, true, first), read_first);
        // Without a key, a delta sent again could be applied twice.
        let plain = Asked::Delta {
            delta: -1,
            first_attempt: None,
        };
        assert_eq!(what_to_do(&named, plain, false, first), read_first);
        assert_eq!(
            what_to_do(&named, Asked::Set(Stock::Unlimited), false, first),
            "sending the same set again is safe"
        );
    }
}
