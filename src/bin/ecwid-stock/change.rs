//! What became of one change (`adjust`, `set`), printed the same way for both.

use ecwid_inventory::{Error, Stock, StockAdjustment};

use crate::{
    exit::{Exit, Fail},
    items::Named,
    output::{id_columns, stock_value, ChangeJson, Output},
};

/// The change asked for.
#[derive(Clone, Copy, Debug)]
pub enum Asked {
    Delta(i32),
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
            let what_to_do = match asked {
                Asked::Delta(_) => format!(
                    "read the stock (ecwid-stock get {}) before sending the change again",
                    get_arguments(named)
                ),
                Asked::Set(_) => "sending the same set again is safe".to_owned(),
            };
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
                Asked::Delta(delta) => Some(delta),
                Asked::Set(_) => None,
            },
            target: match asked {
                Asked::Delta(_) => None,
                Asked::Set(stock) => Some(stock_value(stock)),
            },
            outcome,
            warning: warning.clone(),
            error: error.clone(),
        })?;
    } else if !out.quiet {
        let [product, variation] = id_columns(named.item);
        let (asked_header, asked_value) = match asked {
            Asked::Delta(delta) => ("CHANGE", format!("{delta:+}")),
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
        out.table(&header, &[row])?;
    }
    if outcome == "not-updated" {
        out.note("Ecwid changed nothing (updateCount 0): an item with unlimited stock has no count to adjust.");
    }
    match error {
        Some(error) => Err(Fail::failed(error)),
        None => Ok(Exit::Done),
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
