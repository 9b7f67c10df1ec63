//! `snapshot`: every product and variation of the store with its stock, streamed to stdout
//! as the catalog is read (`client.catalog_stock()`), as CSV (a valid `sync` FILE) or JSON
//! lines.

use std::{
    future::poll_fn,
    io::{self, Write},
    pin::Pin,
};

use ecwid_inventory::{catalog::CatalogStream, Client, Error, Stock, StockLevel};
use futures_core::Stream;

use crate::{
    args::{self, SnapshotFormat},
    exit::{Exit, Fail},
    output::{count, Output, StockJson},
    progress,
};

/// The CSV header: `sync` reads its `sku` and `quantity` columns and ignores the others.
const CSV_HEADER: [&str; 6] = [
    "sku",
    "product_id",
    "combination_id",
    "quantity",
    "unlimited",
    "in_stock",
];

pub async fn run(
    client: &Client,
    args: &args::Snapshot,
    out: &Output,
    verbose: u8,
) -> Result<Exit, Fail> {
    let format = args.format.unwrap_or(if out.json {
        SnapshotFormat::Json
    } else {
        SnapshotFormat::Csv
    });
    let bar = progress::bar(out, verbose, "products read");
    let progress = bar.clone();
    let mut items = client
        .catalog_stock()
        .on_progress(move |p| {
            progress.set_length(p.total as u64);
            progress.set_position(p.completed as u64);
        })
        .stream();

    let mut csv = csv::Writer::from_writer(io::stdout().lock());
    if format == SnapshotFormat::Csv {
        csv.write_record(CSV_HEADER)?;
    }
    let (mut products, mut rows) = (0u64, 0u64);
    let ended = loop {
        let stock = match next(&mut items).await {
            Some(Ok(stock)) => stock,
            Some(Err(error)) => break Some(error),
            None => break None,
        };
        products += u64::from(stock.item.combination().is_none());
        let written = match format {
            SnapshotFormat::Csv => bar.suspend(|| write_csv(&mut csv, &stock)),
            SnapshotFormat::Json => {
                bar.suspend(|| out.json(&StockJson::from(&stock)).map(|()| true))
            }
        };
        match written {
            Ok(written) => rows += u64::from(written),
            // `snapshot | head`: the reader has what it wanted and closed the pipe. Stop
            // reading the catalog (nothing more is sent) and end quietly, as a filter does.
            Err(error) if error.kind() == io::ErrorKind::BrokenPipe => {
                bar.finish_and_clear();
                return Ok(Exit::Done);
            }
            Err(error) => return Err(error.into()),
        }
    };
    csv.flush()?;
    bar.finish_and_clear();
    if let Some(error) = ended {
        // What was printed stands; the snapshot is incomplete, and says so.
        let mut fail = Fail::from(error);
        fail.message = format!(
            "the snapshot is incomplete ({rows} rows written): {}",
            fail.message
        );
        return Err(fail);
    }
    out.note(&format!(
        "{} of {}, in {}.",
        count(rows, "row"),
        count(products, "product"),
        count(client.requests_sent(), "request")
    ));
    Ok(Exit::Done)
}

/// The stream's next item.
async fn next(items: &mut CatalogStream<'_>) -> Option<Result<StockLevel, Error>> {
    poll_fn(|cx| Pin::new(&mut *items).poll_next(cx)).await
}

/// One CSV row of `stock`: a product's own stock, or a variation's with a SKU of its own. A
/// variation sharing its product's stock is left out (the product's row stands for it, and a
/// second row of the same SKU would not be a valid `sync` FILE). Says whether it wrote a row.
fn write_csv(csv: &mut csv::Writer<impl Write>, stock: &StockLevel) -> io::Result<bool> {
    if stock.shares_product_stock {
        return Ok(false);
    }
    let (quantity, unlimited) = match stock.stock {
        Stock::Quantity(quantity) => (quantity.to_string(), "false"),
        Stock::Unlimited => ("unlimited".to_owned(), "true"),
    };
    csv.write_record([
        stock.sku.as_str(),
        &stock.item.product().to_string(),
        &stock
            .item
            .combination()
            .map(|c| c.to_string())
            .unwrap_or_default(),
        &quantity,
        unlimited,
        if stock.in_stock { "true" } else { "false" },
    ])?;
    // Out as it comes: a reader of the pipe sees each row (csv holds up to 8 KB otherwise).
    csv.flush()?;
    Ok(true)
}
