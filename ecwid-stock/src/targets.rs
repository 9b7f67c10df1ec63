//! Target counts as a user writes them: `set`'s N, and a sync FILE (CSV with `sku` and
//! `quantity` columns), every row of which is checked before anything is sent.

use std::{hash::BuildHasher, path::Path};

use hashbrown::HashTable;

use ecwid_inventory::{stock::MAX_QUANTITY, Stock};

use crate::exit::Fail;

/// At most this many problems of a file are listed; the count says how many more.
const LISTED_PROBLEMS: usize = 50;

/// One row of a sync FILE.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The file's physical line the row starts on, the header being line 1.
    pub line: u64,
    pub sku: String,
    pub stock: Stock,
}

/// Reads and checks every row of the sync FILE at `path`: a bad number, an empty or repeated
/// SKU, a missing column, each reported with its line number, fail the whole file (exit 2).
pub fn read_file(path: &Path) -> Result<Vec<Target>, Fail> {
    let shown = path.display();
    let file = std::fs::read(path)
        .map_err(|error| Fail::bad_input(format!("cannot read {shown}: {error}")))?;
    read(&file).map_err(|problems| {
        let listed = problems.len().min(LISTED_PROBLEMS);
        let mut message = format!(
            "{shown} has {} problem{}; nothing was sent:",
            problems.len(),
            if problems.len() == 1 { "" } else { "s" }
        );
        for problem in &problems[..listed] {
            message.push_str("\n  ");
            message.push_str(problem);
        }
        if problems.len() > listed {
            message.push_str(&format!("\n  and {} more", problems.len() - listed));
        }
        Fail::bad_input(message)
    })
}

/// The rows of a sync file, or every problem found in it (`line N: ...`).
fn read(input: &[u8]) -> Result<Vec<Target>, Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        // Other columns, and rows short of a column, are the checks' business, not the parser's.
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(input);
    let header = reader
        .headers()
        .map_err(|error| vec![problem(input, &error)])?
        .clone();
    let column = |name: &str| -> Result<usize, String> {
        let found: Vec<usize> = header
            .iter()
            .enumerate()
            .filter(|(_, title)| title.eq_ignore_ascii_case(name))
            .map(|(n, _)| n)
            .collect();
        match found[..] {
            [n] => Ok(n),
            [] => Err(format!(
                "line 1: the header has no `{name}` column (it has: {})",
                header.iter().collect::<Vec<_>>().join(", ")
            )),
            _ => Err(format!(
                "line 1: the header has {} `{name}` columns",
                found.len()
            )),
        }
    };
    let (sku_column, quantity_column) = match (column("sku"), column("quantity")) {
        (Ok(sku), Ok(quantity)) => (sku, quantity),
        (sku, quantity) => return Err([sku.err(), quantity.err()].into_iter().flatten().collect()),
    };

    // As many rows as lines at most, held from the start: a million rows are not copied
    // each time they outgrow their room.
    let lines = input.iter().filter(|&&byte| byte == b'\n').count() + 1;
    let mut targets: Vec<Target> = Vec::with_capacity(lines);
    let mut problems = Vec::new();
    // Each SKU's row, by its place in `targets`: a million SKUs are not copied to be found.
    let mut first_row: HashTable<u32> = HashTable::with_capacity(lines);
    let hasher = std::hash::RandomState::new();
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                problems.push(problem(input, &error));
                continue;
            }
        };
        let line = record
            .position()
            .map_or(0, |position| physical_line(input, position));
        if record.iter().all(str::is_empty) {
            continue; // a blank line, or one of blanks and commas only
        }
        let (Some(sku), Some(quantity)) = (record.get(sku_column), record.get(quantity_column))
        else {
            let missing = if record.get(sku_column).is_none() {
                "sku"
            } else {
                "quantity"
            };
            problems.push(format!("line {line}: the row has no `{missing}` field"));
            continue;
        };
        if sku.is_empty() {
            problems.push(format!("line {line}: the SKU is empty"));
            continue;
        }
        let hash = hasher.hash_one(sku);
        if let Some(&first) = first_row.find(hash, |&n| targets[n as usize].sku == sku) {
            problems.push(format!(
                "line {line}: the SKU {sku:?} is repeated (first on line {})",
                targets[first as usize].line
            ));
            continue;
        }
        let Ok(n) = u32::try_from(targets.len()) else {
            problems.push(format!(
                "line {line}: a file holds at most {} rows",
                u32::MAX
            ));
            break;
        };
        first_row.insert_unique(hash, n, |&m| {
            hasher.hash_one(targets[m as usize].sku.as_str())
        });
        // A row whose quantity is refused is kept all the same, so that a repeat of its SKU
        // is found too; its count is never used, as the file then fails.
        let stock = parse_quantity(quantity).unwrap_or_else(|error| {
            problems.push(format!("line {line}: the quantity {error}"));
            Stock::Quantity(0)
        });
        targets.push(Target {
            line,
            sku: sku.to_owned(),
            stock,
        });
    }
    if problems.is_empty() {
        Ok(targets)
    } else {
        Err(problems)
    }
}

/// The line a record starts on. The parser skips blank lines but counts a record from where
/// they began, so the line breaks at its start position are counted here.
fn physical_line(input: &[u8], position: &csv::Position) -> u64 {
    let start = usize::try_from(position.byte()).unwrap_or(usize::MAX);
    let blank_lines = input
        .get(start..)
        .unwrap_or_default()
        .iter()
        .take_while(|&&byte| byte == b'\n' || byte == b'\r')
        .filter(|&&byte| byte == b'\n')
        .count();
    position.line() + blank_lines as u64
}

/// A problem the CSV parser found (bad UTF-8, say), with its line when it knows it.
fn problem(input: &[u8], error: &csv::Error) -> String {
    match error.position() {
        Some(position) => format!("line {}: {error}", physical_line(input, position)),
        None => error.to_string(),
    }
}

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

    fn rows(text: &str) -> Result<Vec<(u64, String, Stock)>, Vec<String>> {
        read(text.as_bytes()).map(|targets| {
            targets
                .into_iter()
                .map(|t| (t.line, t.sku, t.stock))
                .collect()
        })
    }

    #[test]
    fn rows_keep_their_physical_line_numbers() {
        let text = "\u{feff}Name,SKU,Quantity\n\
                    Tee small,TEE-S,10\n\
                    \n\
                    \"Two\nlines\", TEE-M , 15 \n\
                    ,,\n\
                    Card,GIFT,unlimited\n";
        assert_eq!(
            rows(text).unwrap(),
            [
                (2, "TEE-S".to_owned(), Stock::Quantity(10)),
                (4, "TEE-M".to_owned(), Stock::Quantity(15)),
                (7, "GIFT".to_owned(), Stock::Unlimited),
            ]
        );
    }

    #[test]
    fn blank_lines_count_whatever_the_line_breaks() {
        let text = "sku,quantity\r\n\r\n\r\nTEE-S,1\r\n\n\nMUG,2";
        assert_eq!(
            rows(text).unwrap(),
            [
                (4, "TEE-S".to_owned(), Stock::Quantity(1)),
                (7, "MUG".to_owned(), Stock::Quantity(2)),
            ]
        );
        let problems = rows("sku,quantity\n\n\nMUG,x\n").unwrap_err();
        assert!(problems[0].starts_with("line 4: "), "{problems:?}");
    }

    #[test]
    fn every_bad_row_is_reported_with_its_line() {
        let text = "sku,quantity,note\n\
                    TEE-S,10\n\
                    TEE-M,-1,returns\n\
                    ,4\n\
                    \n\
                    TEE-S,12\n\
                    MUG\n\
                    GIFT,lots\n\
                    CARD,2147483648\n\
                    GIFT,3\n";
        assert_eq!(
            rows(text).unwrap_err(),
            [
                "line 3: the quantity \"-1\" is not a whole number from 0 to 2147483647, nor `unlimited`",
                "line 4: the SKU is empty",
                "line 6: the SKU \"TEE-S\" is repeated (first on line 2)",
                "line 7: the row has no `quantity` field",
                "line 8: the quantity \"lots\" is not a whole number from 0 to 2147483647, nor `unlimited`",
                "line 9: the quantity \"2147483648\" is not a whole number from 0 to 2147483647, nor `unlimited`",
                "line 10: the SKU \"GIFT\" is repeated (first on line 8)",
            ]
        );
    }

    #[test]
    fn the_header_needs_both_columns_once() {
        assert_eq!(
            rows("sku,count\nTEE-S,3\n").unwrap_err(),
            ["line 1: the header has no `quantity` column (it has: sku, count)"]
        );
        assert_eq!(
            rows("").unwrap_err(),
            [
                "line 1: the header has no `sku` column (it has: )",
                "line 1: the header has no `quantity` column (it has: )"
            ]
        );
        assert_eq!(
            rows("sku,quantity,SKU\n").unwrap_err(),
            ["line 1: the header has 2 `sku` columns"]
        );
        assert_eq!(rows("sku,quantity\n").unwrap(), []);
    }

    #[test]
    fn text_that_is_not_utf8_is_reported_with_its_line() {
        let problems = read(b"sku,quantity\nTEE-S,1\n\nM\xffG,2\n").unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with("line 4: "), "{problems:?}");
    }

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
