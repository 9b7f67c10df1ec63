//! A bulk stock sync with a progress bar, offline.
//!
//! `cargo run --example bulk_sync`
//!
//! Starts the embedded fake Ecwid store with a catalog of 50 variations (each item of a batch
//! takes the fake a millisecond, so the bar moves), sends 2,000 adjustments through
//! `bulk_adjust` (four batches of 500, each one rate-limited request), draws the progress on one
//! line, then prints the summary, the requests spent, and checks every stock.
//!
//! Then it syncs absolute warehouse counts keyed by SKU from `examples/warehouse.csv`: it finds
//! every SKU's item with `find_skus` (the searches batched), reports the SKUs Ecwid does not
//! know, sets the counts with `bulk_adjust`, and shows the requests this took.

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use ecwid_inventory::{
    bulk::BulkItem, Client, CombinationId, ProductId, Progress, StockItem, StoreId,
};
use ecwid_inventory_fake::{demo, FakeStore, FakeToken, Stock, Store};

const STORE: StoreId = StoreId::new(1003);
const TOKEN: &str = "secret_token";
const SHELF: ProductId = ProductId::new(1);
const VARIATIONS: u64 = 50;
const ITEMS: usize = 2_000;
const START: i64 = 500;
const BAR_WIDTH: usize = 40;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn bar(progress: &Progress) -> String {
    let filled = (progress.completed * BAR_WIDTH)
        .checked_div(progress.total)
        .unwrap_or(BAR_WIDTH);
    format!(
        "[{}{}] {}/{}",
        "#".repeat(filled),
        ".".repeat(BAR_WIDTH - filled),
        progress.completed,
        progress.total
    )
}

async fn run() -> Result<bool, Box<dyn std::error::Error>> {
    let shelf = demo::numbered_product(SHELF, "SHELF", VARIATIONS, START);
    // Ecwid's own rate limit (600 a minute) on the fake and on the client alike.
    let fake = FakeStore::builder()
        .store(Store::new(STORE).product(shelf))
        .token(FakeToken::secret(STORE, TOKEN))
        .batch_item_delay(Duration::from_millis(1))
        .start()
        .await?;
    let client = fake.client_builder(TOKEN).build()?;

    // 2,000 adjustments: sales and restocks spread over the 50 variations.
    let items: Vec<BulkItem> = (0..ITEMS)
        .map(|i| {
            let combination = CombinationId::new(i as u64 % VARIATIONS + 1);
            let delta = if i % 4 == 3 { 5 } else { -((i % 3) as i32 + 1) };
            BulkItem::variation(SHELF, combination, delta)
        })
        .collect();
    let mut expected = vec![START; VARIATIONS as usize + 1];
    for item in &items {
        let c = item.item.combination().expect("a variation").get() as usize;
        expected[c] += i64::from(item.delta().expect("the example only adjusts"));
    }

    println!(
        "Syncing {ITEMS} adjustments over {VARIATIONS} variations through {}",
        fake.base_url()
    );
    let started = Instant::now();
    let report = client
        .bulk_adjust(items)
        .poll_interval(Duration::from_millis(100), Duration::from_millis(250))
        .on_progress(|progress| {
            let mut out = std::io::stdout().lock();
            let _ = write!(out, "\r{}", bar(progress));
            let _ = out.flush();
        })
        .send()
        .await?;
    println!();
    let elapsed = started.elapsed();

    let summary = report.summary();
    println!(
        "Done in {:.1} s: {} updated, {} not updated, {} failed, {} not executed, {} not sent, {} unknown",
        elapsed.as_secs_f64(),
        summary.applied,
        summary.not_updated,
        summary.failed,
        summary.not_executed,
        summary.not_sent,
        summary.unknown,
    );
    let requests = fake.requests();
    let creates = requests.iter().filter(|r| r.method == "POST").count();
    let rate_limited = requests.iter().filter(|r| r.status == Some(429)).count();
    println!(
        "Rate-limited requests spent: {} ({creates} batch creates, {} status reads; {rate_limited} answered 429) \
         instead of {ITEMS} one by one",
        requests.len(),
        requests.len() - creates,
    );

    let mut wrong = 0;
    for c in 1..=VARIATIONS {
        let stock = fake.stock(
            STORE,
            StockItem::Variation {
                product: SHELF,
                combination: CombinationId::new(c),
            },
        );
        if stock != Some(Stock::Quantity(expected[c as usize])) {
            wrong += 1;
            println!(
                "variation {c}: expected {}, found {stock:?}",
                expected[c as usize]
            );
        }
    }
    let applied = fake.ledger().len();
    let ok = wrong == 0 && applied == ITEMS && summary.applied == ITEMS;
    if ok {
        println!(
            "Stocks check: all {VARIATIONS} variations exact; {applied} deltas applied, each once"
        );
    } else {
        println!("Stocks check FAILED: {wrong} variations wrong; {applied} deltas applied for {ITEMS} items");
    }
    Ok(ok && sync_counts(&client, &fake).await?)
}

/// Sets the warehouse's absolute counts, keyed by SKU, from the CSV shipped beside this file.
async fn sync_counts(
    client: &Client,
    fake: &FakeStore,
) -> Result<bool, Box<dyn std::error::Error>> {
    let csv = include_str!("warehouse.csv");
    let counts: Vec<(&str, i64)> = csv
        .lines()
        .skip(1)
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (sku, count) = line.split_once(',').ok_or("a line without a comma")?;
            Ok((sku.trim(), count.trim().parse()?))
        })
        .collect::<Result<_, Box<dyn std::error::Error>>>()?;
    println!(
        "\nSetting {} warehouse counts from examples/warehouse.csv, keyed by SKU",
        counts.len()
    );
    let sent_before = fake.requests().len();

    let found = client.find_skus(counts.iter().map(|(sku, _)| *sku)).await?;
    for sku in found.not_found() {
        println!("  no item has SKU {sku}: skipped");
    }
    let items: Vec<BulkItem> = counts
        .iter()
        .filter_map(|(sku, count)| {
            let item = found.get(sku)?.found()?;
            Some(BulkItem::set(item.item, *count))
        })
        .collect();
    let lookups = fake.requests().len() - sent_before;
    let report = client
        .bulk_adjust(items.clone())
        .poll_interval(Duration::from_millis(50), Duration::from_millis(250))
        .send()
        .await?;
    let spent = fake.requests().len() - sent_before;
    println!(
        "  {} counts set ({} updated) for {spent} rate-limited requests: {lookups} to find the \
         SKUs, {} to set the counts, instead of {} one by one",
        items.len(),
        report.summary().applied,
        spent - lookups,
        2 * counts.len(),
    );
    let mut wrong = 0;
    for item in &items {
        let ecwid_inventory::StockChange::Set(expected) = item.change else {
            continue;
        };
        let now = client.stock(item.item).await?;
        if now.stock != expected {
            wrong += 1;
            println!(
                "  {:?}: expected {expected:?}, Ecwid has {:?}",
                item.item, now.stock
            );
        }
    }
    println!(
        "  Counts check: {}",
        if wrong == 0 {
            "every count exact, read back through client.stock"
        } else {
            "FAILED"
        }
    );
    Ok(wrong == 0 && report.is_settled())
}
