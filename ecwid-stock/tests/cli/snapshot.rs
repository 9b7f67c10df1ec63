//! `snapshot`: the whole catalog, as CSV (a valid sync FILE) or JSON lines, read without a
//! single write.

use ecwid_inventory::{CombinationId, ProductId, Stock, StockItem};
use ecwid_inventory_fake::{demo, FakeStore, Fault, Route};
use serde_json::{json, Value};

use crate::harness::{Shop, BIN};

#[tokio::test]
async fn snapshot_writes_csv_of_every_stock_with_a_sku_of_its_own() {
    let shop = Shop::demo().await;
    let run = shop.run(&["snapshot"]).await.expect(0);
    // TEE-L shares TEE's stock: the product's row stands for it.
    assert_eq!(
        run.stdout,
        "sku,product_id,combination_id,quantity,unlimited,in_stock\n\
         TEE,692730761,,20,false,true\n\
         TEE-S,692730761,422488528,10,false,true\n\
         TEE-M,692730761,422488529,15,false,true\n\
         GIFT,692730762,,unlimited,true,true\n\
         MUG,692730763,,8,false,true\n",
        "{run:#?}"
    );
    assert_eq!(shop.writes(), 0);
}

#[tokio::test]
async fn snapshot_json_has_one_object_per_product_and_per_variation() {
    let shop = Shop::demo().await;
    for args in [
        &["snapshot", "--json"][..],
        &["snapshot", "--format", "json"],
    ] {
        let run = shop.run(args).await.expect(0);
        let lines: Vec<Value> = run
            .stdout
            .lines()
            .map(|line| serde_json::from_str(line).expect("a JSON line"))
            .collect();
        assert_eq!(lines.len(), 6, "{run:#?}");
        assert_eq!(
            lines[3],
            json!({"sku": "TEE", "product_id": 692730761, "combination_id": 422488530,
                   "quantity": 20, "unlimited": false, "in_stock": true,
                   "shares_product_stock": true})
        );
        assert_eq!(
            lines[4],
            json!({"sku": "GIFT", "product_id": 692730762, "combination_id": null,
                   "quantity": null, "unlimited": true, "in_stock": true,
                   "shares_product_stock": false})
        );
    }
    assert_eq!(shop.writes(), 0);
}

/// A generated catalog of several pages: every row is what the store holds, every product is
/// there once.
#[tokio::test]
async fn snapshot_reads_a_catalog_of_many_pages() {
    let products = 250;
    let shop = Shop::start(
        FakeStore::builder()
            .store(demo::catalog(products, 5))
            .tokens(demo::tokens()),
        demo::TOKEN,
    )
    .await;
    let run = shop.run(&["snapshot"]).await.expect(0);
    let mut reader = csv::Reader::from_reader(run.stdout.as_bytes());
    let (mut product_rows, mut rows) = (0, 0);
    for record in reader.records() {
        let record = record.unwrap();
        let product = ProductId::new(record[1].parse().unwrap());
        let item = match &record[2] {
            "" => {
                product_rows += 1;
                StockItem::Product { product }
            }
            combination => StockItem::Variation {
                product,
                combination: CombinationId::new(combination.parse().unwrap()),
            },
        };
        let stock = match &record[3] {
            "unlimited" => Stock::Unlimited,
            count => Stock::Quantity(count.parse().unwrap()),
        };
        assert_eq!(
            shop.fake.stock(demo::STORE, item),
            Some(stock),
            "{record:?}"
        );
        assert_eq!(
            &record[4],
            if stock == Stock::Unlimited {
                "true"
            } else {
                "false"
            }
        );
        rows += 1;
    }
    assert_eq!(product_rows, products, "every product once");
    assert!(
        rows > products,
        "and the variations with a SKU of their own"
    );
    assert_eq!(shop.writes(), 0, "{:#?}", shop.fake.requests());
}

/// A read that fails partway: the rows read stand, the error says the snapshot is
/// incomplete, exit 1.
#[tokio::test]
async fn a_snapshot_cut_short_says_so_and_exits_1() {
    let shop = Shop::start(
        FakeStore::builder()
            .store(demo::catalog(250, 5))
            .tokens(demo::tokens()),
        demo::TOKEN,
    )
    .await;
    shop.fake.inject_fault(
        Route::BatchCreate,
        1,
        Fault::ecwid_error(400, "BAD_REQUEST", "no"),
    );
    let run = shop.run(&["snapshot"]).await.expect(1);
    assert!(run.stdout.starts_with("sku,product_id,"), "{run:#?}");
    // The first search's 100 products came before the batch failed: their rows stand.
    assert!(run.stdout.lines().count() > 100, "{run:#?}");
    assert!(
        run.stderr.starts_with("error: the snapshot is incomplete"),
        "{run:#?}"
    );
}

/// `snapshot | head`: a reader that closes the pipe after the first rows ends the snapshot
/// quietly (exit 0, no error). The catalog's CSV (some 200 KB) is more than a pipe holds, so
/// the command is still writing when the pipe closes.
#[tokio::test]
async fn a_reader_closing_the_pipe_ends_the_snapshot_quietly() {
    use tokio::io::{AsyncBufReadExt, BufReader};

    let shop = Shop::start(
        FakeStore::builder()
            .store(demo::catalog(2_000, 5))
            .tokens(demo::tokens()),
        demo::TOKEN,
    )
    .await;
    let mut child = tokio::process::Command::new(BIN)
        .arg("snapshot")
        .env_clear()
        .envs(shop.env())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut header = String::new();
    stdout.read_line(&mut header).await.unwrap();
    assert!(header.starts_with("sku,product_id,"), "{header}");
    drop(stdout);
    let output = child.wait_with_output().await.unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(stderr, "");
}
