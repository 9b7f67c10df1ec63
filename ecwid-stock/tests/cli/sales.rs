//! `sales`: the catch-up against a mock Ecwid on loopback (wiremock) whose orders the test
//! changes, with its ledger and cursor file in a temporary folder. Each movement is printed
//! once across runs, a cancellation's restock too; bad input sends nothing; a run that could
//! not print leaves the cursor file as it was.

use std::{
    collections::BTreeMap,
    path::PathBuf,
    process::Stdio,
    sync::{Arc, Mutex},
    time::{SystemTime, UNIX_EPOCH},
};

use serde_json::{json, Value};
use wiremock::{
    matchers::{method, path},
    Mock, MockServer, Request, ResponseTemplate,
};

use crate::harness::{self, Run, BIN};

const STORE: u64 = 1003;
const TOKEN: &str = "secret_token_of_the_sales_test";
const HEADER: &str =
    "movement_id,order_id,line_id,product_id,combination_id,sku,delta,kind,recorded_at";

/// Ecwid's order search on loopback, answering from the orders the test put there.
struct Ecwid {
    server: MockServer,
    orders: Arc<Mutex<BTreeMap<String, Value>>>,
}

fn query(request: &Request, name: &str) -> Option<String> {
    request
        .url
        .query_pairs()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.into_owned())
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

impl Ecwid {
    async fn start() -> Ecwid {
        let server = MockServer::start().await;
        let orders = Arc::new(Mutex::new(BTreeMap::<String, Value>::new()));
        let held = orders.clone();
        Mock::given(method("GET"))
            .and(path(format!("/api/v3/{STORE}/orders")))
            .respond_with(move |request: &Request| {
                let orders = held.lock().unwrap();
                let from: i64 = query(request, "updatedFrom").map_or(0, |t| t.parse().unwrap());
                let offset: usize = query(request, "offset").map_or(0, |o| o.parse().unwrap());
                let limit: usize = query(request, "limit").map_or(100, |l| l.parse().unwrap());
                let matching: Vec<&Value> = orders
                    .values()
                    .filter(|o| o["updateTimestamp"].as_i64().unwrap() >= from)
                    .collect();
                let items: Vec<&Value> =
                    matching.iter().skip(offset).take(limit).copied().collect();
                ResponseTemplate::new(200).set_body_json(json!({
                    "total": matching.len(), "count": items.len(),
                    "offset": offset, "limit": limit, "items": items,
                }))
            })
            .mount(&server)
            .await;
        Ecwid { server, orders }
    }

    /// Order XJ12H, updated now: two tees (variation 11) on line 7, a mug on line 8.
    fn put_order(&self, payment: &str) {
        let updated = now();
        self.orders.lock().unwrap().insert(
            "XJ12H".into(),
            json!({
                "id": "XJ12H", "paymentStatus": payment,
                "fulfillmentStatus": "AWAITING_PROCESSING",
                "createTimestamp": updated, "updateTimestamp": updated,
                "items": [
                    {"id": 7, "productId": 692730761, "combinationId": 11, "sku": "TEE-S",
                     "quantity": 2},
                    {"id": 8, "productId": 692730763, "sku": "MUG", "quantity": 1},
                ]
            }),
        );
    }

    async fn requests(&self) -> usize {
        self.server.received_requests().await.unwrap().len()
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("ECWID_API_URL", format!("{}/api/v3", self.server.uri())),
            ("ECWID_STORE_ID", STORE.to_string()),
            ("ECWID_TOKEN", TOKEN.to_owned()),
        ]
    }

    async fn run(&self, args: &[&str]) -> Run {
        let env = self.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        harness::run(args, &env).await
    }
}

/// A temporary folder for the ledger and the cursor file, removed when dropped.
struct Folder(PathBuf);

impl Folder {
    fn new(name: &str) -> Folder {
        let folder = std::env::temp_dir().join(format!(
            "ecwid-stock-sales-{name}-{}-{}",
            std::process::id(),
            unique()
        ));
        std::fs::create_dir_all(&folder).unwrap();
        Folder(folder)
    }

    fn path(&self, name: &str) -> String {
        self.0.join(name).to_string_lossy().into_owned()
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn unique() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// The CSV rows without their `recorded_at` (the ledger's clock).
fn rows(run: &Run) -> Vec<String> {
    let mut lines = run.stdout.lines();
    assert_eq!(lines.next(), Some(HEADER), "{run:#?}");
    lines
        .map(|line| line.rsplit_once(',').expect("a CSV row").0.to_owned())
        .collect()
}

#[tokio::test]
async fn sales_prints_each_movement_once_and_a_cancellation_once() {
    let ecwid = Ecwid::start().await;
    let folder = Folder::new("once");
    let cursor = folder.path("cursor.json");
    let ledger = folder.path("ledger.sqlite3");
    let since = (now() - 3600).to_string();
    let args = [
        "sales", "--since", &since, "--cursor", &cursor, "--ledger", &ledger,
    ];
    ecwid.put_order("PAID");

    let first = ecwid.run(&args).await.expect(0);
    assert_eq!(
        rows(&first),
        [
            "1003/XJ12H/7/placed-1,XJ12H,7,692730761,11,TEE-S,-2,placed",
            "1003/XJ12H/8/placed-1,XJ12H,8,692730763,,MUG,-1,placed",
        ],
        "{first:#?}"
    );
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&cursor).unwrap()).unwrap();
    assert_eq!(saved["version"], 1);
    assert_eq!(saved["orders"]["version"], 1);
    assert_eq!(saved["orders"]["storeId"], STORE);
    assert_eq!(saved["printedThrough"], 2);

    // The same orders again (the cursor reaches back before them): nothing new.
    let second = ecwid.run(&args).await.expect(0);
    assert!(rows(&second).is_empty(), "{second:#?}");

    ecwid.put_order("CANCELLED");
    let third = ecwid.run(&args).await.expect(0);
    assert_eq!(
        rows(&third),
        [
            "1003/XJ12H/7/restocked-1,XJ12H,7,692730761,11,TEE-S,2,restocked",
            "1003/XJ12H/8/restocked-1,XJ12H,8,692730763,,MUG,1,restocked",
        ],
        "{third:#?}"
    );
    let fourth = ecwid.run(&args).await.expect(0);
    assert!(rows(&fourth).is_empty(), "{fourth:#?}");
    assert!(!ecwid.run(&args).await.all().contains(TOKEN));
}

#[tokio::test]
async fn sales_without_a_cursor_file_prints_only_what_the_run_recorded() {
    let ecwid = Ecwid::start().await;
    let folder = Folder::new("nocursor");
    let ledger = folder.path("ledger.sqlite3");
    let since = (now() - 3600).to_string();
    let args = ["sales", "--since", &since, "--ledger", &ledger];
    ecwid.put_order("PAID");
    assert_eq!(rows(&ecwid.run(&args).await.expect(0)).len(), 2);
    let again = ecwid.run(&args).await.expect(0);
    assert!(rows(&again).is_empty(), "{again:#?}");
    ecwid.put_order("CANCELLED");
    let cancelled = ecwid.run(&args).await.expect(0);
    assert_eq!(rows(&cancelled).len(), 2, "{cancelled:#?}");
    assert!(rows(&cancelled)
        .iter()
        .all(|row| row.ends_with(",restocked")));
}

#[tokio::test]
async fn sales_json_lines_parse() {
    let ecwid = Ecwid::start().await;
    let folder = Folder::new("json");
    let cursor = folder.path("cursor.json");
    let since = "2026-01-01T00:00:00Z";
    ecwid.put_order("PAID");
    let run = ecwid
        .run(&["sales", "--json", "--since", since, "--cursor", &cursor])
        .await
        .expect(0);
    let lines: Vec<Value> = run
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 2, "{run:#?}");
    let mut first = lines[0].clone();
    let recorded_at = first["recorded_at"].take();
    assert!(
        humantime::parse_rfc3339(recorded_at.as_str().unwrap()).is_ok(),
        "{recorded_at}"
    );
    assert_eq!(
        first,
        json!({"movement_id": "1003/XJ12H/7/placed-1", "order_id": "XJ12H", "line_id": 7,
               "product_id": 692730761, "combination_id": 11, "sku": "TEE-S", "delta": -2,
               "kind": "placed", "recorded_at": null})
    );
    assert_eq!(lines[1]["combination_id"], Value::Null);
    // The default ledger lives beside the cursor file.
    assert!(folder.0.join("ecwid-sales.sqlite3").exists());
}

#[tokio::test]
async fn sales_refuses_bad_input_and_sends_nothing() {
    let ecwid = Ecwid::start().await;
    let folder = Folder::new("bad");
    let ledger = folder.path("ledger.sqlite3");
    let missing = folder.path("no-cursor-yet.json");
    for since in ["yesterday", "2026-13-03T15:04:05Z", "1.5", "-5", ""] {
        let since = format!("--since={since}");
        let run = ecwid
            .run(&["sales", &since, "--ledger", &ledger])
            .await
            .expect(2);
        assert!(run.stderr.contains("--since"), "{run:#?}");
        assert!(run.stdout.is_empty(), "{run:#?}");
    }
    // Neither a time nor a cursor; a cursor file that does not exist yet without a time.
    let run = ecwid.run(&["sales", "--ledger", &ledger]).await.expect(2);
    assert!(run.stderr.contains("--since"), "{run:#?}");
    let run = ecwid
        .run(&["sales", "--cursor", &missing, "--ledger", &ledger])
        .await
        .expect(2);
    assert!(run.stderr.contains("give --since"), "{run:#?}");
    // A cursor file that is not one, and one of another store.
    let cursor = folder.path("cursor.json");
    for (text, says) in [
        ("not json", "not a sales cursor file"),
        (
            r#"{"version":1,"orders":{"version":1,"storeId":42,"updatedFrom":0},"printedThrough":0}"#,
            "store 42's",
        ),
        (
            r#"{"version":2,"orders":{"version":1,"storeId":1003,"updatedFrom":0},"printedThrough":0}"#,
            "version 2",
        ),
    ] {
        std::fs::write(&cursor, text).unwrap();
        let run = ecwid
            .run(&["sales", "--cursor", &cursor, "--ledger", &ledger])
            .await
            .expect(2);
        assert!(run.stderr.contains(says), "{says}: {run:#?}");
    }
    assert_eq!(ecwid.requests().await, 0);
    assert!(!std::path::Path::new(&ledger).exists());
}

/// stdout is /dev/full: no row can be written, so the cursor file keeps the position the run
/// started from, and the next run prints the movements the failed one recorded.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn sales_keeps_the_cursor_file_when_the_rows_cannot_be_written() {
    let ecwid = Ecwid::start().await;
    let folder = Folder::new("full");
    let cursor = folder.path("cursor.json");
    let ledger = folder.path("ledger.sqlite3");
    let since = (now() - 3600).to_string();
    let args = [
        "sales", "--since", &since, "--cursor", &cursor, "--ledger", &ledger,
    ];
    ecwid.put_order("PAID");

    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let output = tokio::process::Command::new(BIN)
        .args(args)
        .env_clear()
        .envs(ecwid.env())
        .stdin(Stdio::null())
        .stdout(full)
        .stderr(Stdio::piped())
        // Not `output()`: it would replace stdout with a pipe.
        .spawn()
        .unwrap()
        .wait_with_output()
        .await
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot write the output"), "{stderr}");
    // The file holds where the run started, and nothing printed.
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&cursor).unwrap()).unwrap();
    assert_eq!(saved["printedThrough"], 0, "{saved}");
    assert_eq!(
        saved["orders"]["updatedFrom"],
        since.parse::<i64>().unwrap()
    );
    assert!(std::fs::read_dir(&folder.0).unwrap().all(|entry| !entry
        .unwrap()
        .file_name()
        .to_string_lossy()
        .contains(".tmp")));

    // The movements were recorded by the failed run, and are printed by the next one, once.
    let next = ecwid.run(&args).await.expect(0);
    assert_eq!(rows(&next).len(), 2, "{next:#?}");
    let after = ecwid.run(&args).await.expect(0);
    assert!(rows(&after).is_empty(), "{after:#?}");
}
