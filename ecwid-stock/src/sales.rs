//! `sales`: the catch-up for an operator's cron. Reads the store's orders updated since a time
//! (`Sales::catch_up`), records them in a ledger database, and prints each stock movement
//! they made once, as CSV or JSON lines.
//!
//! "Once" rests on two positions kept in the cursor file (`--cursor FILE`, this module's
//! format): where the next catch-up reads orders from (the library's `SalesCursor`), and the
//! last movement printed (its sequence in the ledger). The file is replaced only after the
//! rows are written and flushed, so a run that could not print (a closed pipe, a full disk)
//! prints the same movements again next time, and a run that printed never prints them again.
//! The ledger remembers what each order line already moved, so orders read again (the
//! catch-up's overlap, a webhook receiver sharing the ledger) move nothing twice.

use std::{
    fs,
    io::{self, BufWriter, Write},
    path::{Path, PathBuf},
};

use ecwid_inventory::{
    journal::{Journal, MAX_READ},
    sales::{Movement, Sales, SalesCursor},
    Client, Error, StoreId,
};
use serde::{Deserialize, Serialize};

use crate::{
    args,
    exit::{Exit, Fail},
    output::{count, Output},
};

/// The ledger's file name when `--ledger` is not given: beside the cursor file, or in the
/// current folder without one.
pub const DEFAULT_LEDGER: &str = "ecwid-sales.sqlite3";

/// The version of the cursor file's format that this version writes and reads.
const CURSOR_FILE_VERSION: u32 = 1;

/// The CSV header: the fields of [`Row`], in order.
const CSV_HEADER: [&str; 9] = [
    "movement_id",
    "order_id",
    "line_id",
    "product_id",
    "combination_id",
    "sku",
    "delta",
    "kind",
    "recorded_at",
];

/// The cursor file: `{"version":1,"orders":<SalesCursor>,"printedThrough":<sequence>}`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CursorFile {
    version: u32,
    /// Where the next catch-up reads orders from (the library's saved cursor, version 1).
    orders: SalesCursor,
    /// The ledger sequence of the last movement printed (0: none yet).
    printed_through: u64,
}

/// One printed movement: a CSV row, or a JSON line.
#[derive(Debug, Serialize)]
struct Row<'a> {
    movement_id: &'a str,
    order_id: &'a str,
    line_id: u64,
    product_id: u64,
    combination_id: Option<u64>,
    sku: Option<&'a str>,
    /// Ecwid's stock change: negative for a sale, positive for a restock.
    delta: i64,
    /// `placed` or `restocked`.
    kind: &'static str,
    /// When the ledger recorded the movement, RFC 3339 in UTC.
    recorded_at: String,
}

impl<'a> From<&'a Movement> for Row<'a> {
    fn from(movement: &'a Movement) -> Self {
        Row {
            movement_id: &movement.id,
            order_id: movement.order_id.as_str(),
            line_id: movement.line_id,
            product_id: movement.item.product().get(),
            combination_id: movement.item.combination().map(|c| c.get()),
            sku: movement.sku.as_deref(),
            delta: movement.delta(),
            kind: movement.kind.as_str(),
            recorded_at: humantime::format_rfc3339_seconds(movement.recorded_at).to_string(),
        }
    }
}

pub async fn run(client: &Client, args: &args::Sales, out: &Output) -> Result<Exit, Fail> {
    let store = client.store_id();
    // Everything the command line says is checked before the ledger is opened or Ecwid read.
    let saved = match &args.cursor {
        Some(path) => read_cursor(path, store)?,
        None => None,
    };
    let (start, printed) = match (&saved, args.since) {
        (Some(saved), _) => (saved.orders, Some(saved.printed_through)),
        (None, Some(since)) => (SalesCursor::since(store, since), None),
        (None, None) => {
            let path = args.cursor.as_deref().map(Path::display);
            return Err(Fail::bad_input(match path {
                Some(path) => format!(
                    "--cursor {path} does not exist yet: give --since TIME for the first run"
                ),
                None => "give --since TIME or --cursor FILE".to_owned(),
            }));
        }
    };
    let sales = Sales::new(open_ledger(&ledger(args)).await?);
    // Without a saved position, only the movements this run records are new.
    let mut printed = match printed {
        Some(printed) => printed,
        None => last_sequence(&sales, store).await.map_err(ledger_fail)?,
    };

    // The first run saves where it starts before recording anything: should it fail to print,
    // the next run starts from there and prints what this one recorded.
    if let (Some(path), None) = (&args.cursor, &saved) {
        save(path, start, printed, 0)?;
    }

    let caught_up = sales.catch_up(client).cursor(start).send().await;

    // What the ledger holds is printed even when the catch-up stopped part way: its orders
    // are recorded, and their movements must reach the reader once, now or next run.
    let (rows, printed_through) = print(&sales, store, printed, out).await?;
    printed = printed_through;

    if let Some(path) = &args.cursor {
        let orders = match &caught_up {
            Ok(report) => report.cursor,
            Err(_) => start,
        };
        save(path, orders, printed, rows)?;
    }

    match caught_up {
        Ok(report) => {
            out.note(&format!(
                "{} printed; {} read, in {}.",
                count(rows, "new movement"),
                count(report.orders as u64, "order"),
                count(client.requests_sent(), "request")
            ));
            Ok(Exit::Done)
        }
        Err(error) => {
            let mut fail = Fail::from(error);
            fail.message = format!(
                "the catch-up stopped ({} printed; the next run reads the same orders again): {}",
                count(rows, "movement"),
                fail.message
            );
            Err(fail)
        }
    }
}

/// `--ledger`, or [`DEFAULT_LEDGER`] beside the cursor file.
fn ledger(args: &args::Sales) -> String {
    if let Some(ledger) = &args.ledger {
        return ledger.clone();
    }
    let folder = args
        .cursor
        .as_deref()
        .and_then(Path::parent)
        .unwrap_or(Path::new(""));
    folder.join(DEFAULT_LEDGER).to_string_lossy().into_owned()
}

/// A PostgreSQL URL or a SQLite file's path.
async fn open_ledger(ledger: &str) -> Result<Journal, Fail> {
    let opened = if ledger.starts_with("postgres://") || ledger.starts_with("postgresql://") {
        Journal::connect_postgres(ledger).await
    } else {
        Journal::open_sqlite(ledger).await
    };
    opened.map_err(ledger_fail)
}

/// The ledger's errors name their database (never a password) and what failed.
fn ledger_fail(error: Error) -> Fail {
    let mut fail = Fail::from(error);
    fail.message = format!("the ledger: {}", fail.message);
    fail
}

/// The cursor file at `path`, or `None` when there is none yet. One of another store is
/// refused: its positions mean nothing for this one.
fn read_cursor(path: &Path, store: StoreId) -> Result<Option<CursorFile>, Fail> {
    let shown = path.display();
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(Fail::bad_input(format!("--cursor {shown}: {error}"))),
    };
    let file: CursorFile = serde_json::from_str(&text).map_err(|error| {
        Fail::bad_input(format!(
            "--cursor {shown} is not a sales cursor file ({error})"
        ))
    })?;
    if file.version != CURSOR_FILE_VERSION {
        return Err(Fail::bad_input(format!(
            "--cursor {shown} is of format version {}; this version reads version \
             {CURSOR_FILE_VERSION} only",
            file.version
        )));
    }
    if file.orders.store() != store {
        return Err(Fail::bad_input(format!(
            "--cursor {shown} is store {}'s, not store {store}'s",
            file.orders.store()
        )));
    }
    Ok(Some(file))
}

/// Saves the cursor file; `rows` printed before it is saved, for the error.
fn save(path: &Path, orders: SalesCursor, printed_through: u64, rows: u64) -> Result<(), Fail> {
    let file = CursorFile {
        version: CURSOR_FILE_VERSION,
        orders,
        printed_through,
    };
    write_cursor(path, &file).map_err(|error| {
        let again = if rows > 0 {
            format!(
                "; the next run prints the {} again",
                count(rows, "movement")
            )
        } else {
            String::new()
        };
        Fail::failed(format!(
            "--cursor {} cannot be saved ({error}){again}",
            path.display()
        ))
    })
}

/// Replaces the file at `path` with `file` all at once: a crash leaves the old file or the
/// new one, never half of one.
fn write_cursor(path: &Path, file: &CursorFile) -> io::Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
    let mut temporary_name = name.to_os_string();
    temporary_name.push(format!(".tmp-{}", std::process::id()));
    let temporary: PathBuf = path.with_file_name(temporary_name);
    let written = (|| {
        let mut out = fs::File::create(&temporary)?;
        serde_json::to_writer(&mut out, file)?;
        out.write_all(b"\n")?;
        out.sync_all()?;
        fs::rename(&temporary, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    written?;
    // The rename itself survives a power cut once the folder is on disk.
    #[cfg(unix)]
    if let Some(folder) = path.parent() {
        let folder = if folder.as_os_str().is_empty() {
            Path::new(".")
        } else {
            folder
        };
        fs::File::open(folder)?.sync_all()?;
    }
    Ok(())
}

/// Prints `store`'s movements after sequence `after`, a page at a time, and flushes them.
/// Returns how many it printed and the last one's sequence.
async fn print(
    sales: &Sales,
    store: StoreId,
    mut after: u64,
    out: &Output,
) -> Result<(u64, u64), Fail> {
    let mut stdout = BufWriter::new(io::stdout().lock());
    let mut rows = 0u64;
    if !out.json {
        csv_line(&mut stdout, &CSV_HEADER)?;
    }
    loop {
        let page = sales
            .movements(store, Some(after), MAX_READ)
            .await
            .map_err(ledger_fail)?;
        for movement in &page {
            let row = Row::from(movement);
            if out.json {
                serde_json::to_writer(&mut stdout, &row).map_err(io::Error::from)?;
                stdout.write_all(b"\n")?;
            } else {
                let mut csv = csv::WriterBuilder::new()
                    .has_headers(false)
                    .from_writer(&mut stdout);
                csv.serialize(&row)?;
                csv.flush()?;
            }
            rows += 1;
            after = movement.sequence;
        }
        if page.len() < MAX_READ {
            break;
        }
    }
    // Only rows that reached stdout count as printed.
    stdout.flush()?;
    Ok((rows, after))
}

fn csv_line(out: &mut impl Write, fields: &[&str]) -> Result<(), Fail> {
    let mut csv = csv::Writer::from_writer(out);
    csv.write_record(fields)?;
    csv.flush()?;
    Ok(())
}

/// The sequence of `store`'s last movement in the ledger (0 for none), in a few reads of one
/// movement each however long the log: "is there a movement after n" is true below the last
/// sequence and false from it on, so it is found by doubling, then halving.
async fn last_sequence(sales: &Sales, store: StoreId) -> Result<u64, Error> {
    let after = |n: u64| async move {
        Ok::<bool, Error>(!sales.movements(store, Some(n), 1).await?.is_empty())
    };
    if !after(0).await? {
        return Ok(0);
    }
    // Movements after `low`, none after `high`.
    let (mut low, mut high) = (0u64, 1u64);
    while after(high).await? {
        low = high;
        high = high
            .checked_mul(2)
            .filter(|&h| h <= i64::MAX as u64)
            .ok_or_else(|| Error::InvalidInput("the ledger's sequences are beyond 2^63".into()))?;
    }
    while high - low > 1 {
        let middle = low + (high - low) / 2;
        if after(middle).await? {
            low = middle;
        } else {
            high = middle;
        }
    }
    Ok(high)
}
