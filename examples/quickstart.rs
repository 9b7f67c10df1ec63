//! A day of stock changes, end to end.
//!
//! `cargo run --example quickstart`
//!
//! Without `ECWID_TOKEN` it starts the embedded fake Ecwid store with a small demo shop and walks
//! through a day, reading the stock from the store before and after each step: a lookup by SKU,
//! a sale, a warehouse count set as an absolute number, an oversell into negative stock, a
//! low-stock notification, an unlimited item, an exactly-once restock that survives a lost
//! answer, an unknown variation, and a variation that shares its product's stock.
//!
//! With `ECWID_STORE_ID`, `ECWID_TOKEN`, `ECWID_PRODUCT_ID` and `ECWID_COMBINATION_ID` set (and
//! optionally `ECWID_API_URL`), it makes one real adjustment of that variation: `ECWID_DELTA`
//! if set, otherwise +1 then -1, which leaves the stock as it was.

use std::process::ExitCode;

use ecwid_inventory::{
    stock::SkuMatch, Client, CombinationId, Error, ProductId, StockAdjustment, StockChange,
    StockItem,
};
use ecwid_inventory_fake::{demo, FakeStore, Fault, Route};

#[tokio::main]
async fn main() -> ExitCode {
    let result = if std::env::var_os("ECWID_TOKEN").is_some() {
        real_store().await
    } else {
        fake_store_day().await
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// One real adjustment (or +1 then -1) against the store named by the environment.
async fn real_store() -> Result<(), Box<dyn std::error::Error>> {
    let number = |name: &str| -> Result<u64, String> {
        let value = std::env::var(name).map_err(|_| format!("{name} is not set"))?;
        value
            .trim()
            .parse()
            .map_err(|_| format!("{name} is not a number: {value:?}"))
    };
    let product = ProductId::new(number("ECWID_PRODUCT_ID")?);
    let combination = CombinationId::new(number("ECWID_COMBINATION_ID")?);
    let deltas: Vec<i32> = match std::env::var("ECWID_DELTA") {
        Ok(delta) => vec![delta
            .trim()
            .parse()
            .map_err(|_| format!("ECWID_DELTA is not a whole number: {delta:?}"))?],
        Err(_) => vec![1, -1],
    };
    let client = Client::from_env()?;
    println!(
        "Ecwid store {} at {}: adjusting variation {combination} of product {product}",
        client.store_id(),
        client.base_url()
    );
    for delta in deltas {
        match client
            .adjust_variation_stock(product, combination, delta)
            .send()
            .await
        {
            Ok(adjustment) => println!("  {delta:+}: {}", describe(&adjustment)),
            Err(error) => {
                println!("  {delta:+}: failed: {error}");
                println!("     {}", applied_note(&error));
                return Err(error.into());
            }
        }
    }
    Ok(())
}

/// The demo day against the embedded fake store.
async fn fake_store_day() -> Result<(), Box<dyn std::error::Error>> {
    let fake = FakeStore::demo().await?;
    let client = fake.client_builder(demo::TOKEN).build()?;
    println!("No ECWID_TOKEN set: running against the embedded fake Ecwid store");
    println!("  at {}, store {}", fake.base_url(), demo::STORE);
    println!("  (set ECWID_STORE_ID, ECWID_TOKEN, ECWID_PRODUCT_ID and ECWID_COMBINATION_ID");
    println!("  to make one real adjustment instead)\n");

    println!("0. Find the small T-shirt by its SKU, TEE-S");
    let small_tee = match client.find_sku("TEE-S").await? {
        SkuMatch::Found(found) => {
            println!("   {:?}, stock {}", found.item, found.stock);
            found.item
        }
        other => return Err(format!("TEE-S: {other:?}").into()),
    };
    let mug = StockItem::Product { product: demo::MUG };
    let gift_card = StockItem::Product {
        product: demo::GIFT_CARD,
    };
    println!();

    let steps: [(&str, StockItem, i32, bool); 4] = [
        ("1. Sell 3 small T-shirts", small_tee, -3, false),
        (
            "3. Oversell: a marketplace order of 30 small T-shirts",
            small_tee,
            -30,
            false,
        ),
        (
            "4. Sell 6 mugs, asking Ecwid to check the low-stock limit",
            mug,
            -6,
            true,
        ),
        (
            "5. Sell a gift card (unlimited stock)",
            gift_card,
            -1,
            false,
        ),
    ];
    for (n, (title, item, delta, check_low_stock)) in steps.into_iter().enumerate() {
        if n == 1 {
            println!("2. The warehouse counted 25 small T-shirts: set the absolute count");
            let before = stock(&client, small_tee).await?;
            let set = client.set_stock(small_tee, 25).send().await?;
            println!("   {}", describe(&set));
            println!(
                "   stock: {before} -> {}\n",
                stock(&client, small_tee).await?
            );
        }
        println!("{title}");
        let before = stock(&client, item).await?;
        let mut request = client.adjust_stock(item, delta);
        if check_low_stock {
            request = request.check_low_stock_notification(true);
        }
        let notifications_before = fake.low_stock_notifications().len();
        match request.send().await {
            Ok(adjustment) => println!("   {}", describe(&adjustment)),
            Err(error) => println!("   failed: {error}"),
        }
        println!("   stock: {before} -> {}", stock(&client, item).await?);
        for notification in &fake.low_stock_notifications()[notifications_before..] {
            println!(
                "   low-stock email to the owner: stock {} is at or below the limit of {}",
                notification.stock, notification.warning_limit
            );
        }
        println!();
    }

    println!("6. Restock 40 small T-shirts exactly once, while the network loses Ecwid's answer");
    fake.inject_fault(Route::BatchCreate, 1, Fault::CloseAfterApplying);
    let before = stock(&client, small_tee).await?;
    let restock = client
        .adjust_stock(small_tee, 40)
        .exactly_once()
        .send()
        .await?;
    println!(
        "   {} (the answer was lost once; the create was sent again under",
        describe(&restock)
    );
    println!("   the same deduplication key, and Ecwid applied it once)");
    println!(
        "   stock: {before} -> {}\n",
        stock(&client, small_tee).await?
    );

    println!("7. Adjust a variation that does not exist");
    let (tee, _) = demo::SMALL_TEE;
    let unknown = CombinationId::new(999_999);
    match client.adjust_variation_stock(tee, unknown, -1).send().await {
        Ok(adjustment) => println!("   unexpected success: {}", describe(&adjustment)),
        Err(error) => {
            println!(
                "   status {}, errorCode {}: {}",
                error.status().map_or("none".into(), |s| s.to_string()),
                error.error_code().unwrap_or("none"),
                error.error_message().unwrap_or("")
            );
            println!("   {}", applied_note(&error));
        }
    }

    println!("\n8. Read the large T-shirt, which has no SKU of its own");
    let (tee, large) = demo::LARGE_TEE;
    let large = client
        .stock(StockItem::Variation {
            product: tee,
            combination: large,
        })
        .await?;
    println!(
        "   stock {}, shares the T-shirt's stock: {}",
        large.stock, large.shares_product_stock
    );

    println!("\nThe fake's ledger: every change it applied, once each");
    for applied in fake.ledger() {
        let item = match applied.item {
            StockItem::Variation { combination, .. } => format!("variation {combination}"),
            StockItem::Product { product } => format!("product {product}"),
        };
        let change = match applied.change {
            StockChange::Delta(delta) => format!("{delta:+}"),
            StockChange::Set(stock) => format!("set to {stock}"),
            _ => "changed".to_owned(),
        };
        println!("   {item:>20}: {change} -> stock {}", applied.stock_after);
    }
    Ok(())
}

/// The item's stock, read from Ecwid.
async fn stock(client: &Client, item: StockItem) -> Result<String, Error> {
    Ok(client.stock(item).await?.stock.to_string())
}

fn describe(adjustment: &StockAdjustment) -> String {
    let mut text = if adjustment.is_updated() {
        format!("updated (updateCount {})", adjustment.update_count())
    } else {
        format!("not updated (updateCount {})", adjustment.update_count())
    };
    if let Some(warning) = adjustment.warning() {
        text.push_str(&format!(", warning: {warning:?}"));
    }
    text
}

fn applied_note(error: &Error) -> &'static str {
    if error.may_have_been_applied() {
        "the adjustment MAY have been applied: check the stock before sending it again"
    } else {
        "nothing was applied: safe to fix and send again"
    }
}
