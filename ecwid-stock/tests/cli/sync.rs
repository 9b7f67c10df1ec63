//! `sync FILE`: the plan, a dry run that sends nothing, changes applied once in either mode,
//! a saved plan resumed without sending anything twice, and how each ending exits.

use std::path::{Path, PathBuf};

use ecwid_inventory::{ProductId, StockItem};
use ecwid_inventory_fake::{demo, FakeStore, Fault, Product, Route, Stock, StockChange, Store};
use serde_json::{json, Value};

use crate::harness::{Run, Shop};

const SMALL_TEE: StockItem = StockItem::Variation {
    product: demo::SMALL_TEE.0,
    combination: demo::SMALL_TEE.1,
};
const GIFT: StockItem = StockItem::Product {
    product: demo::GIFT_CARD,
};
const MUG: StockItem = StockItem::Product { product: demo::MUG };

/// A file in a folder of its own, removed when dropped.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let dir = std::env::temp_dir().join(format!("ecwid-stock-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Dir(dir)
    }

    fn file(&self, name: &str, text: &str) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    }

    fn path(&self, name: &str) -> String {
        self.0.join(name).to_str().unwrap().to_owned()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// stdout as JSON lines.
fn lines(run: &Run) -> Vec<Value> {
    run.stdout
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line:?} of {run:#?}"))
        })
        .collect()
}

/// The demo shop: TEE-S 10, TEE-M 15, GIFT unlimited, MUG 8.
const FILE: &str = "name,sku,quantity\n\
                    Small tee,TEE-S,12\n\
                    Medium tee,TEE-M,15\n\
                    \n\
                    Gift card,GIFT,5\n\
                    Lost,NOPE,3\n\
                    Mug,MUG,unlimited\n";

#[tokio::test]
async fn a_dry_run_prints_the_plan_and_sends_no_write() {
    let shop = Shop::demo().await;
    let dir = Dir::new("dry-run");
    let file = dir.file("stock.csv", FILE);
    let run = shop
        .run(&["sync", &file, "--dry-run", "--json"])
        .await
        .expect(0);
    let rows = lines(&run);
    assert_eq!(rows.len(), 6, "{run:#?}");
    assert_eq!(
        rows[0],
        json!({"sku": "TEE-S", "product_id": 692730761, "combination_id": 422488528,
               "current": 10, "target": 12, "change": {"delta": 2}, "status": "change"})
    );
    assert_eq!(rows[1]["status"], "same");
    assert_eq!(rows[1]["change"], Value::Null);
    // A delta cannot reach a count from unlimited stock, nor unlimited stock: a set can.
    assert_eq!(rows[2]["change"], json!({"set": 5}));
    assert_eq!(rows[3]["status"], "not-found");
    assert_eq!(rows[4]["change"], json!({"set": "unlimited"}));
    assert_eq!(
        rows[5],
        json!({"totals": {"rows": 5, "change": 3, "shared": 0, "same": 1, "not_found": 1,
                          "several": 0, "read_requests": rows[5]["totals"]["read_requests"]}})
    );
    let reads = rows[5]["totals"]["read_requests"].as_u64().unwrap();
    assert!(
        (1..=3).contains(&reads),
        "batched, not one per SKU: {reads}"
    );

    // In columns, the same plan.
    let run = shop.run(&["sync", &file, "--dry-run"]).await.expect(0);
    let table: Vec<Vec<&str>> = run
        .stdout
        .lines()
        .map(|line| line.split_whitespace().collect())
        .collect();
    assert_eq!(
        table[..3],
        [
            vec![
                "SKU",
                "PRODUCT",
                "VARIATION",
                "CURRENT",
                "TARGET",
                "CHANGE",
                "STATUS"
            ],
            vec![
                "TEE-S",
                "692730761",
                "422488528",
                "10",
                "12",
                "+2",
                "change"
            ],
            vec!["TEE-M", "692730761", "422488529", "15", "15", "-", "same"],
        ],
        "{run:#?}"
    );
    assert!(run
        .stderr
        .contains("\"NOPE\": no product or variation has this SKU"));

    assert_eq!(shop.writes(), 0, "{:#?}", shop.fake.requests());
    assert!(shop.ledger().is_empty());
}

#[tokio::test]
async fn sync_applies_each_change_once_and_reports_it() {
    let shop = Shop::demo().await;
    let dir = Dir::new("apply");
    let file = dir.file("stock.csv", FILE);
    let run = shop.run(&["sync", &file, "--json"]).await.expect(0);
    let rows = lines(&run);
    let outcomes: Vec<(&str, &str)> = rows[..5]
        .iter()
        .map(|row| {
            (
                row["sku"].as_str().unwrap(),
                row["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            ("TEE-S", "applied"),
            ("TEE-M", "nothing-to-do"),
            ("GIFT", "applied"),
            ("NOPE", "nothing-to-do"),
            ("MUG", "applied"),
        ]
    );
    let totals = &rows[5]["totals"];
    assert_eq!(
        (&totals["applied"], &totals["failed"], &totals["unknown"]),
        (&json!(3), &json!(0), &json!(0))
    );
    assert!(totals["write_requests"].as_u64().unwrap() >= 2, "{totals}");

    shop.fake.batches_settled().await;
    let ledger: Vec<(StockItem, StockChange)> =
        shop.ledger().iter().map(|e| (e.item, e.change)).collect();
    assert_eq!(
        ledger,
        [
            (SMALL_TEE, StockChange::Delta(2)),
            (GIFT, StockChange::Set(Stock::Quantity(5))),
            (MUG, StockChange::Set(Stock::Unlimited)),
        ]
    );
    assert_eq!(
        shop.fake.stock(demo::STORE, SMALL_TEE),
        Some(Stock::Quantity(12))
    );

    // Run again: everything is the same now, nothing is sent.
    let writes = shop.writes();
    let run = shop.run(&["sync", &file]).await.expect(0);
    assert!(
        run.stdout
            .contains("5 rows: 0 to change, 4 the same, 1 not found"),
        "{run:#?}"
    );
    assert_eq!(shop.writes(), writes);
}

/// `--mode set` sends absolute counts where `delta` sends differences.
#[tokio::test]
async fn mode_set_sends_counts() {
    let shop = Shop::demo().await;
    let dir = Dir::new("mode-set");
    let file = dir.file("stock.csv", "sku,quantity\nTEE-S,12\nMUG,2\n");
    let run = shop
        .run(&["sync", &file, "--mode", "set", "--quiet"])
        .await
        .expect(0);
    assert_eq!(
        (run.stdout.as_str(), run.stderr.as_str()),
        ("", ""),
        "--quiet"
    );
    shop.fake.batches_settled().await;
    let ledger: Vec<(StockItem, StockChange)> =
        shop.ledger().iter().map(|e| (e.item, e.change)).collect();
    assert_eq!(
        ledger,
        [
            (SMALL_TEE, StockChange::Set(Stock::Quantity(12))),
            (MUG, StockChange::Set(Stock::Quantity(2))),
        ]
    );
}

/// A snapshot is a valid sync FILE, and syncing it back plans nothing but `same`.
#[tokio::test]
async fn a_snapshot_synced_back_is_all_the_same() {
    let shop = Shop::start(
        FakeStore::builder()
            .store(demo::catalog(120, 3))
            .tokens(demo::tokens()),
        demo::TOKEN,
    )
    .await;
    let dir = Dir::new("snapshot-back");
    let snapshot = shop.run(&["snapshot"]).await.expect(0);
    let file = dir.file("snapshot.csv", &snapshot.stdout);
    let run = shop
        .run(&["sync", &file, "--dry-run", "--json"])
        .await
        .expect(0);
    let rows = lines(&run);
    let totals = &rows.last().unwrap()["totals"];
    let count = snapshot.stdout.lines().count() - 1;
    assert_eq!(totals["rows"], count, "{totals}");
    assert_eq!(totals["same"], count, "{totals}");
    assert_eq!(shop.writes(), 0);
}

/// Every bad row is reported with its physical line, and nothing at all is sent, not even a
/// read.
#[tokio::test]
async fn bad_rows_are_reported_by_line_and_nothing_is_sent() {
    let shop = Shop::demo().await;
    let dir = Dir::new("bad-rows");
    let file = dir.file(
        "stock.csv",
        "sku,quantity\n\
         TEE-S,12\n\
         \n\
         TEE-M,-1\n\
         ,4\n\
         TEE-S,3\n\
         MUG,lots\n\
         GIFT\n",
    );
    let run = shop.run(&["sync", &file, "--json"]).await.expect(2);
    assert!(run.stdout.is_empty(), "{run:#?}");
    for line in [
        "has 5 problems; nothing was sent:",
        "line 4: the quantity \"-1\" is not a whole number",
        "line 5: the SKU is empty",
        "line 6: the SKU \"TEE-S\" is repeated (first on line 2)",
        "line 7: the quantity \"lots\"",
        "line 8: the row has no `quantity` field",
    ] {
        assert!(run.stderr.contains(line), "{line:?} in {run:#?}");
    }
    let no_header = dir.file("no-header.csv", "sku,count\nTEE-S,1\n");
    let run = shop.run(&["sync", &no_header]).await.expect(2);
    assert!(
        run.stderr
            .contains("line 1: the header has no `quantity` column"),
        "{run:#?}"
    );
    let run = shop
        .run(&["sync", &dir.path("missing.csv")])
        .await
        .expect(2);
    assert!(run.stderr.contains("cannot read"), "{run:#?}");
    assert_eq!(shop.requests(), 0, "{:#?}", shop.fake.requests());
}

/// A SKU on several items is left alone; the rest is applied.
#[tokio::test]
async fn a_sku_on_several_items_is_left_alone() {
    let store = Store::new(demo::STORE)
        .product(Product::new(ProductId::new(1)).sku("DUP").quantity(1))
        .product(Product::new(ProductId::new(2)).sku("DUP").quantity(2))
        .product(Product::new(ProductId::new(3)).sku("ONE").quantity(3));
    let shop = Shop::start(
        FakeStore::builder().store(store).tokens(demo::tokens()),
        demo::TOKEN,
    )
    .await;
    let dir = Dir::new("several");
    let file = dir.file("stock.csv", "sku,quantity\nDUP,5\nONE,4\n");
    let run = shop.run(&["sync", &file, "--json"]).await.expect(0);
    let rows = lines(&run);
    assert_eq!(rows[0]["status"], "several", "{run:#?}");
    assert_eq!(rows[0]["outcome"], "nothing-to-do");
    assert_eq!(rows[1]["outcome"], "applied");
    assert!(run.stderr.is_empty(), "--json: no notes");
    shop.fake.batches_settled().await;
    let changed: Vec<StockItem> = shop.ledger().iter().map(|e| e.item).collect();
    assert_eq!(
        changed,
        [StockItem::Product {
            product: ProductId::new(3)
        }]
    );
}

/// A change Ecwid never ran fails: exit 1, the report says which and why, and PLAN is kept
/// for a run that would learn more.
#[tokio::test]
async fn a_failed_change_exits_1_and_keeps_the_plan() {
    let shop = Shop::demo().await;
    shop.fake.inject_fault(
        Route::BatchCreate,
        1,
        Fault::ecwid_error(400, "BAD_REQUEST", "refused"),
    );
    let dir = Dir::new("failed");
    let file = dir.file("stock.csv", "sku,quantity\nTEE-S,12\n");
    let plan = dir.path("plan.json");
    let run = shop
        .run(&["sync", &file, "--plan", &plan, "--json"])
        .await
        .expect(1);
    let rows = lines(&run);
    assert_eq!(rows[0]["outcome"], "failed", "{run:#?}");
    assert!(
        rows[0]["error"].as_str().unwrap().contains("not sent"),
        "{run:#?}"
    );
    assert_eq!(rows[1]["totals"]["failed"], 1);
    assert!(
        run.stderr
            .starts_with("error: 1 change failed and 0 unknown"),
        "{run:#?}"
    );
    assert!(Path::new(&plan).exists(), "kept");
    assert!(shop.ledger().is_empty());

    // --quiet: the error lists what failed.
    std::fs::remove_file(&plan).unwrap();
    shop.fake.inject_fault(
        Route::BatchCreate,
        1,
        Fault::ecwid_error(400, "BAD_REQUEST", "refused"),
    );
    let run = shop.run(&["sync", &file, "--quiet"]).await.expect(1);
    assert!(run.stdout.is_empty(), "{run:#?}");
    assert!(run.stderr.contains("\n  TEE-S failed: "), "{run:#?}");
}

/// A PLAN kept from `--mode set` is not resumed by the command without `--mode`, which means
/// delta: its absolute counts would overwrite the sales made since. Exit 2, nothing sent.
#[tokio::test]
async fn a_set_mode_plan_is_not_resumed_by_a_command_without_mode() {
    let shop = Shop::demo().await;
    shop.fake.inject_fault(
        Route::BatchCreate,
        1,
        Fault::ecwid_error(400, "BAD_REQUEST", "refused"),
    );
    let dir = Dir::new("set-then-delta");
    let file = dir.file("stock.csv", "sku,quantity\nTEE-S,12\n");
    let plan = dir.path("plan.json");
    shop.run(&["sync", &file, "--plan", &plan, "--mode", "set"])
        .await
        .expect(1);
    assert!(Path::new(&plan).exists(), "kept");
    let requests = shop.requests();

    let run = shop.run(&["sync", &file, "--plan", &plan]).await.expect(2);
    assert!(run.stderr.contains("holds a sync in Set mode"), "{run:#?}");
    assert_eq!(shop.requests(), requests, "nothing sent");
    assert!(shop.ledger().is_empty());

    // The same command as the first resumes it.
    shop.run(&["sync", &file, "--plan", &plan, "--mode", "set"])
        .await
        .expect(0);
    assert_eq!(shop.ledger().len(), 1);
}

/// A run stopped partway (a crash, say) is resumed from PLAN: stopped once its batch was
/// created, the outcome is read and nothing is sent again; stopped while creating it, the
/// create is sent again under the same key, which Ecwid answers without applying anything
/// twice. PLAN is removed once all is applied.
#[tokio::test]
async fn a_saved_plan_resumes_without_applying_anything_twice() {
    for (state, creates_again) in [("created", 0), ("creating", 1)] {
        let shop = Shop::demo().await;
        let dir = Dir::new(&format!("resume-{state}"));
        let file = dir.file("stock.csv", "sku,quantity\nTEE-S,12\nMUG,2\n");
        let plan_path = dir.path("plan.json");

        // The plan as a crashed run left it, from a run of the library's own.
        let client = shop.fake.client_builder(demo::TOKEN).build().unwrap();
        let plan = client
            .plan_sync([("TEE-S", Stock::Quantity(12)), ("MUG", Stock::Quantity(2))])
            .await
            .unwrap();
        let mut saved = Vec::new();
        client
            .apply_sync(plan)
            .on_checkpoint(|checkpoint| {
                saved.push(serde_json::to_string(checkpoint.plan()).unwrap())
            })
            .await
            .unwrap();
        let crashed = saved
            .iter()
            .find(|plan| plan.contains(&format!(r#""state":"{state}""#)))
            .unwrap_or_else(|| panic!("a checkpoint in state {state}: {saved:#?}"));
        std::fs::write(&plan_path, crashed).unwrap();
        shop.fake.batches_settled().await;
        assert_eq!(shop.ledger().len(), 2);
        let creates = shop.writes();

        let run = shop
            .run(&["sync", &file, "--plan", &plan_path, "--json"])
            .await
            .expect(0);
        let rows = lines(&run);
        assert_eq!(
            (&rows[0]["outcome"], &rows[1]["outcome"]),
            (&json!("applied"), &json!("applied")),
            "{run:#?}"
        );
        shop.fake.batches_settled().await;
        assert_eq!(shop.writes(), creates + creates_again, "{state}");
        assert_eq!(shop.ledger().len(), 2, "{state}: each change applied once");
        assert_eq!(shop.fake.stock(demo::STORE, MUG), Some(Stock::Quantity(2)));
        assert!(!Path::new(&plan_path).exists(), "nothing left to resume");

        // A saved plan of another file, or another mode, is refused, nothing sent.
        std::fs::write(&plan_path, crashed).unwrap();
        let other = dir.file("other.csv", "sku,quantity\nTEE-S,13\nMUG,2\n");
        let requests = shop.requests();
        let run = shop
            .run(&["sync", &other, "--plan", &plan_path])
            .await
            .expect(2);
        assert!(
            run.stderr.contains("holds another sync than")
                && run.stderr.contains("line 2 (TEE-S 13)"),
            "{run:#?}"
        );
        let run = shop
            .run(&["sync", &file, "--plan", &plan_path, "--mode", "set"])
            .await
            .expect(2);
        assert!(
            run.stderr.contains("holds a sync in Delta mode"),
            "{run:#?}"
        );
        let garbled = dir.file("garbled.json", "{\"version\": 9}");
        let run = shop
            .run(&["sync", &file, "--plan", &garbled])
            .await
            .expect(2);
        assert!(run.stderr.contains("is not a sync plan"), "{run:#?}");
        assert_eq!(shop.requests(), requests);
    }
}

/// A PLAN that cannot be written is bad input: found before anything is sent.
#[tokio::test]
async fn an_unwritable_plan_sends_no_change() {
    let shop = Shop::demo().await;
    let dir = Dir::new("unwritable");
    let file = dir.file("stock.csv", "sku,quantity\nTEE-S,12\n");
    let plan = dir.path("no-such-folder/plan.json");
    let run = shop.run(&["sync", &file, "--plan", &plan]).await.expect(2);
    assert!(run.stderr.contains("cannot save the plan to"), "{run:#?}");
    assert_eq!(shop.requests(), 0, "{:#?}", shop.fake.requests());
}

/// A change Ecwid refuses inside the batch (its product deleted since the plan was made) fails
/// with Ecwid's error while the others apply: exit 1.
#[tokio::test]
async fn a_change_refused_inside_the_batch_fails_with_ecwids_error() {
    let shop = Shop::demo().await;
    let dir = Dir::new("refused");
    let file = dir.file("stock.csv", "sku,quantity\nTEE-S,12\nGONE,7\n");
    // A plan made when GONE was product 999, which Ecwid no longer has.
    let client = shop.fake.client_builder(demo::TOKEN).build().unwrap();
    let plan = client
        .plan_sync([("TEE-S", Stock::Quantity(12))])
        .await
        .unwrap();
    let mut saved = serde_json::to_value(&plan).unwrap();
    saved["rows"].as_array_mut().unwrap().push(
        json!({"sku": "GONE", "product_id": 999, "combination_id": null, "current": 5,
               "target": 7, "change": {"delta": 2}, "status": "change"}),
    );
    let plan_path = dir.file("plan.json", &saved.to_string());

    let run = shop
        .run(&["sync", &file, "--plan", &plan_path, "--json"])
        .await
        .expect(1);
    let rows = lines(&run);
    assert_eq!(rows[0]["outcome"], "applied", "{run:#?}");
    assert_eq!(rows[1]["outcome"], "failed", "{run:#?}");
    let error = rows[1]["error"].as_str().unwrap();
    assert!(
        error.starts_with("Ecwid answered 404 PRODUCT_NOT_FOUND"),
        "{error}"
    );
    assert_eq!(
        (&rows[2]["totals"]["applied"], &rows[2]["totals"]["failed"]),
        (&json!(1), &json!(1))
    );
    assert!(Path::new(&plan_path).exists(), "kept");
    shop.fake.batches_settled().await;
    assert_eq!(shop.ledger().len(), 1);
}

/// A run stopped while creating its batch, resumed after Ecwid may have forgotten the batch's
/// key: the create is not sent again, and the outcome is unknown (exit 1), with what to do.
#[tokio::test]
async fn a_plan_resumed_too_late_is_unknown_and_sends_nothing() {
    let shop = Shop::demo().await;
    let dir = Dir::new("too-late");
    let file = dir.file("stock.csv", "sku,quantity\nTEE-S,12\n");
    let client = shop.fake.client_builder(demo::TOKEN).build().unwrap();
    let plan = client
        .plan_sync([("TEE-S", Stock::Quantity(12))])
        .await
        .unwrap();
    let mut saved = Vec::new();
    client
        .apply_sync(plan)
        .on_checkpoint(|checkpoint| saved.push(serde_json::to_value(checkpoint.plan()).unwrap()))
        .await
        .unwrap();
    let mut crashed = saved
        .into_iter()
        .find(|plan| plan["bulk"]["chunks"][0]["state"]["state"] == "creating")
        .expect("a checkpoint while creating");
    // Its keys made an hour ago.
    let made = crashed["bulk"]["keysMadeUnixMs"].as_u64().unwrap();
    crashed["bulk"]["keysMadeUnixMs"] = (made - 60 * 60 * 1000).into();
    let plan_path = dir.file("plan.json", &crashed.to_string());
    shop.fake.batches_settled().await;
    let requests = shop.requests();

    let run = shop
        .run(&["sync", &file, "--plan", &plan_path, "--json"])
        .await
        .expect(1);
    let rows = lines(&run);
    assert_eq!(rows[0]["outcome"], "unknown", "{run:#?}");
    assert!(
        rows[0]["error"]
            .as_str()
            .unwrap()
            .contains("planning the sync again"),
        "what to do: {run:#?}"
    );
    assert_eq!(rows[1]["totals"]["unknown"], 1);
    assert!(
        run.stderr
            .starts_with("error: 0 changes failed and 1 unknown"),
        "{run:#?}"
    );
    assert_eq!(shop.requests(), requests, "nothing sent");
    assert_eq!(shop.ledger().len(), 1, "applied once, by the first run");
}

/// `sync --plan` killed (SIGKILL) while it runs, at a different point each time (after the
/// first, second... create reached the fake, while the plan log is being appended to), then
/// run again: PLAN reads back (a record the kill tore is ignored) and the run resumes it,
/// applying every change exactly once, as the fake's ledger shows.
#[tokio::test]
async fn a_sync_killed_while_checkpointing_resumes_and_applies_each_change_once() {
    const PRODUCTS: u64 = 2_000;
    let mut killed = 0;
    for (round, kill_after) in [1usize, 2, 3, 4].into_iter().enumerate() {
        let shop = Shop::start(
            FakeStore::builder()
                .store(demo::catalog(PRODUCTS, 7))
                .tokens(demo::tokens()),
            demo::TOKEN,
        )
        .await;
        let dir = Dir::new(&format!("killed-{round}"));
        let mut text = "sku,quantity\n".to_owned();
        let mut targets = Vec::new();
        for id in 1..=PRODUCTS {
            let item = StockItem::Product {
                product: ProductId::new(id),
            };
            text.push_str(&format!("CAT-{id:06},{}\n", 5_000 + id));
            targets.push((item, Stock::Quantity(5_000 + id as i64)));
        }
        let file = dir.file("stock.csv", &text);
        let plan = dir.path("plan.log");
        let args = ["sync", file.as_str(), "--plan", plan.as_str(), "--quiet"];

        let env = shop.env();
        let mut child = tokio::process::Command::new(crate::harness::BIN)
            .args(args)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("the binary starts");
        let creates = |fake: &FakeStore| {
            fake.requests()
                .iter()
                .filter(|r| r.method == "POST" && r.body.contains("\"PUT\""))
                .count()
        };
        shop.fake
            .wait_until(|fake| creates(fake) >= kill_after)
            .await
            .unwrap();
        // A little later each round, so the kill lands at other steps of the checkpoints.
        tokio::time::sleep(std::time::Duration::from_micros(700 * round as u64)).await;
        child.start_kill().expect("the sync is killed");
        let status = child.wait().await.unwrap();
        if status.code().is_some() {
            // It finished before the kill: nothing to resume, this round shows nothing.
            assert_eq!(status.code(), Some(0));
            continue;
        }
        killed += 1;
        shop.fake.batches_settled().await;

        // PLAN reads back whole; the same command resumes it.
        let saved = ecwid_inventory::bulk::PlanLog::<ecwid_inventory::sync::SyncPlan>::open(&plan);
        assert!(saved.is_ok(), "round {round}: {saved:?}");
        shop.run(&args).await.expect(0);
        shop.fake.batches_settled().await;
        assert!(!Path::new(&plan).exists(), "removed once all is applied");

        let ledger = shop.ledger();
        for (item, target) in &targets {
            let applied = ledger.iter().filter(|e| e.item == *item).count();
            assert_eq!(
                applied, 1,
                "round {round}: {item:?} changed {applied} times"
            );
            assert_eq!(shop.fake.stock(demo::STORE, *item), Some(*target));
        }
        assert_eq!(ledger.len(), targets.len(), "round {round}");
    }
    assert!(
        killed >= 2,
        "only {killed} rounds were killed before they finished"
    );
}
