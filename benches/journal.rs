//! What the journal's drain costs and saves: 10,000 events, each an order line selling one of a
//! variation, applied by one `exactly_once()` call per event (the baseline), then recorded in a
//! journal and drained, on SQLite (a file) and on PostgreSQL (a server on loopback with `fsync`
//! on, started for the run when installed), into the fake Ecwid store under a rate limit
//! scaled in time.
//!
//! Ecwid allows 600 requests per 60 s; here 600 per 1 s, on the fake and on the client alike,
//! with the polling intervals scaled the same way. Each run reports the requests the fake
//! received, the 429s among them, the wall time and, for the drain, the time it waited on the
//! journal (`DrainReport::journal_time`) as a share of its wall time, and the time recording
//! took. Every stock is checked after each run. Targets: at least 100 events per rate-limited
//! request, journal time under 10% of the drain's wall time.
//!
//! Recording alone, first: `JOURNAL_RECORD_EVENTS` events (default 20,000) recorded by
//! `JOURNAL_TASKS` concurrent recorders (default 64) with one transaction per event (a group
//! size of 1: the path before group commit), then with group commit (the default), then by one
//! caller through `record_many` in batches of `JOURNAL_BATCH` (default 1,000), each into a
//! fresh journal, on SQLite and on the durable PostgreSQL; with the disk's own fsyncs a second,
//! measured in the benchmark's folder, to compare with. Targets: at least 20,000 events a
//! second from the concurrent recorders, 100,000 through `record_many`.
//!
//! `cargo bench --bench journal`. Environment: `JOURNAL_EVENTS` (default 10000),
//! `JOURNAL_RATE` (requests per window, default 600), `JOURNAL_WINDOW_MS` (default 1000),
//! `JOURNAL_TASKS` (concurrent tasks of the baseline, and of recording, default 64),
//! `JOURNAL_VARIATIONS` (default 100), `JOURNAL_RECORD_EVENTS`, `JOURNAL_BATCH`,
//! `JOURNAL_RECORD_WAYS` (which ways of recording to run, of `alone`, `grouped` and `many`,
//! comma-separated; all three by default); `ONLY=record` or `ONLY=drain` runs one half.

// The journal tests' harness, for a PostgreSQL server of the benchmark's own.
#[path = "../tests/common/postgres.rs"]
mod harness;

mod common;

use common::env;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, UNIX_EPOCH};

use ecwid_inventory::journal::{Event, Journal, MAX_GROUP};
use ecwid_inventory::{
    Client, CombinationId, Error, ProductId, RateLimit, StockChange, StockItem, StoreId, TimeSource,
};
use ecwid_inventory_fake::{demo, FakeStore, FakeToken, Stock, Store};

const STORE: StoreId = StoreId::new(1003);
const TOKEN: &str = "secret_bench_token";
const RACK: ProductId = ProductId::new(1);
const START: i64 = 1_000_000;

struct Config {
    events: usize,
    rate: u32,
    window: Duration,
    tasks: usize,
    variations: u64,
    record_events: usize,
    batch: usize,
    /// The ways of recording to run (`JOURNAL_RECORD_WAYS`).
    ways: Vec<Recording>,
}

impl Config {
    /// Ecwid's default polling (200 ms, then up to 2 s), scaled with the window.
    fn polling(&self) -> (Duration, Duration) {
        let scale = self.window.as_secs_f64() / 60.0;
        (
            Duration::from_millis(200).mul_f64(scale),
            Duration::from_secs(2).mul_f64(scale),
        )
    }
}

struct Figures {
    requests: usize,
    rate_limited: usize,
    wall: Duration,
    /// The drain's: recording every event, and the drain's own waits on the journal.
    recording: Option<Duration>,
    journal: Option<Duration>,
}

async fn fake(config: &Config) -> FakeStore {
    let rack = demo::numbered_product(RACK, "RACK", config.variations, START);
    FakeStore::builder()
        .store(Store::new(STORE).product(rack))
        .token(FakeToken::secret(STORE, TOKEN))
        .rate_limit(RateLimit::new(config.rate, config.window))
        .start()
        .await
        .expect("the fake starts")
}

fn client(fake: &FakeStore, config: &Config) -> Client {
    fake.client_builder(TOKEN)
        .rate_limit(RateLimit::new(config.rate, config.window))
        .build()
        .expect("the client builds")
}

fn variation(config: &Config, n: usize) -> CombinationId {
    CombinationId::new(n as u64 % config.variations + 1)
}

/// Event `n`: order line `order-n` sold one of its variation.
fn event(config: &Config, n: usize) -> Event {
    Event::new(
        STORE,
        format!("order-{n}"),
        StockItem::Variation {
            product: RACK,
            combination: variation(config, n),
        },
        StockChange::Delta(-1),
        UNIX_EPOCH + Duration::from_secs(1_767_225_600) + Duration::from_millis(n as u64),
    )
}

/// Checks every stock and the ledger's length; panics if wrong.
fn verify(fake: &FakeStore, config: &Config, what: &str) {
    let mut expected: HashMap<CombinationId, i64> = HashMap::new();
    for n in 0..config.events {
        *expected.entry(variation(config, n)).or_insert(START) -= 1;
    }
    for (c, stock) in expected {
        let item = StockItem::Variation {
            product: RACK,
            combination: c,
        };
        assert_eq!(
            fake.stock(STORE, item),
            Some(Stock::Quantity(stock)),
            "{what}: stock of variation {c:?}"
        );
    }
    assert_eq!(
        fake.ledger().len(),
        config.events,
        "{what}: changes applied"
    );
}

fn figures(fake: &FakeStore, wall: Duration) -> Figures {
    let requests = fake.requests();
    Figures {
        requests: requests.len(),
        rate_limited: requests.iter().filter(|r| r.status == Some(429)).count(),
        wall,
        recording: None,
        journal: None,
    }
}

/// One `exactly_once()` adjustment per event, from `tasks` concurrent tasks sharing a client
/// (its status reads at their own intervals, 100 ms up to 1 s, not scaled: the rate limit, not
/// the wait, bounds it with this many tasks).
async fn one_call_per_event(config: &Arc<Config>) -> Figures {
    let fake = fake(config).await;
    let client = client(&fake, config);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(config.tasks);
    for _ in 0..config.tasks {
        let (client, next, config) = (client.clone(), Arc::clone(&next), Arc::clone(config));
        tasks.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= config.events {
                    break;
                }
                let answer = client
                    .adjust_variation_stock(RACK, variation(&config, n), -1)
                    .exactly_once()
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("event {n}: {e}"));
                assert!(answer.is_updated(), "event {n} not updated");
            }
        }));
    }
    for task in tasks {
        task.await.expect("a task panicked");
    }
    let wall = started.elapsed();
    verify(&fake, config, "one call per event");
    figures(&fake, wall)
}

/// Records every event (from `tasks` tasks), then drains them.
async fn drained(config: &Arc<Config>, journal: Journal) -> Figures {
    let fake = fake(config).await;
    let client = client(&fake, config);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(config.tasks);
    for _ in 0..config.tasks {
        let (journal, next, config) = (journal.clone(), Arc::clone(&next), Arc::clone(config));
        tasks.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= config.events {
                    break;
                }
                let recorded = journal.record(&event(&config, n)).await.expect("records");
                assert!(recorded.is_new(), "event {n} recorded before");
            }
        }));
    }
    for task in tasks {
        task.await.expect("a task panicked");
    }
    let recording = started.elapsed();

    let (first, max) = config.polling();
    let started = Instant::now();
    let report = journal
        .drain(&client)
        .poll_interval(first, max)
        .send()
        .await
        .expect("the drain runs");
    let wall = started.elapsed();
    assert_eq!(report.applied, config.events, "drain: {report:?}");
    verify(&fake, config, "drain");
    let mut figures = figures(&fake, wall);
    assert_eq!(
        figures.requests, report.requests_sent,
        "drain: requests counted"
    );
    figures.recording = Some(recording);
    figures.journal = Some(report.journal_time);
    figures
}

/// How recording goes: one transaction per event, or grouped.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Recording {
    /// `JOURNAL_TASKS` recorders, a group size of 1: each call a transaction of its own.
    EachAlone,
    /// `JOURNAL_TASKS` recorders sharing transactions (the default).
    Grouped,
    /// One caller, `record_many` in batches of `JOURNAL_BATCH`.
    Batches,
}

impl Recording {
    /// The ways named in `JOURNAL_RECORD_WAYS` (`alone`, `grouped`, `many`), all by default.
    fn chosen() -> Vec<Recording> {
        let Ok(names) = std::env::var("JOURNAL_RECORD_WAYS") else {
            return vec![Recording::EachAlone, Recording::Grouped, Recording::Batches];
        };
        names
            .split(',')
            .map(|name| match name.trim() {
                "alone" => Recording::EachAlone,
                "grouped" => Recording::Grouped,
                "many" => Recording::Batches,
                other => panic!("JOURNAL_RECORD_WAYS: {other:?} is not alone, grouped or many"),
            })
            .collect()
    }

    fn name(self, config: &Config) -> String {
        match self {
            Recording::EachAlone => format!("{} recorders, a transaction each", config.tasks),
            Recording::Grouped => format!("{} recorders, group commit", config.tasks),
            Recording::Batches => format!("record_many, batches of {}", config.batch),
        }
    }
}

/// Records `JOURNAL_RECORD_EVENTS` distinct events as `how` says; returns the wall time.
async fn record_all(config: &Arc<Config>, journal: Journal, how: Recording) -> Duration {
    let started = Instant::now();
    if how == Recording::Batches {
        for first in (0..config.record_events).step_by(config.batch) {
            let last = (first + config.batch).min(config.record_events);
            let batch: Vec<Event> = (first..last).map(|n| event(config, n)).collect();
            let recorded = journal.record_many(&batch).await.expect("records");
            assert!(recorded.iter().all(|r| r.is_new()), "recorded before");
        }
        return started.elapsed();
    }
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::with_capacity(config.tasks);
    for _ in 0..config.tasks {
        let (journal, next, config) = (journal.clone(), Arc::clone(&next), Arc::clone(config));
        tasks.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= config.record_events {
                    break;
                }
                let recorded = journal.record(&event(&config, n)).await.expect("records");
                assert!(recorded.is_new(), "event {n} recorded before");
            }
        }));
    }
    for task in tasks {
        task.await.expect("a task panicked");
    }
    started.elapsed()
}

/// Each way of recording into a fresh journal that `open` makes (with the group size given),
/// printed as it goes, one transaction per event the baseline of the others; with the CPU
/// time of the database server's processes when it has its own (`server`, its process id).
async fn recording(
    config: &Arc<Config>,
    backend: &str,
    server: Option<u32>,
    open: impl AsyncFn(usize) -> Journal,
) -> Vec<(Recording, f64)> {
    let mut rates = Vec::new();
    for &how in &config.ways {
        let group = if how == Recording::EachAlone {
            1
        } else {
            MAX_GROUP
        };
        let journal = open(group).await;
        let (cpu, server_cpu) = (cpu_time(), server.map(process_tree_cpu));
        let wall = record_all(config, journal.clone(), how).await;
        let cpu = cpu_time() - cpu;
        let server_cpu = server
            .zip(server_cpu)
            .map(|(pid, before)| {
                let used = process_tree_cpu(pid).saturating_sub(before);
                format!(
                    "   server CPU {:>3.0} us/event",
                    1e6 * used.as_secs_f64() / config.record_events as f64
                )
            })
            .unwrap_or_default();
        let counted = journal.counts(STORE).await.expect("counts").recorded;
        assert_eq!(counted, config.record_events as u64, "every event recorded");
        let rate = config.record_events as f64 / wall.as_secs_f64();
        let against = rates
            .iter()
            .find(|(way, _): &&(Recording, f64)| *way == Recording::EachAlone)
            .map(|(_, base)| format!("   x{:.1}", rate / base))
            .unwrap_or_default();
        println!(
            "record, {backend:<10} {:<34} {:>7} events   wall {:>6.2} s   CPU {:>3.0} us/event   \
             events/s {:>7.0}{against}{server_cpu}",
            how.name(config),
            config.record_events,
            wall.as_secs_f64(),
            1e6 * cpu.as_secs_f64() / config.record_events as f64,
            rate
        );
        rates.push((how, rate));
    }
    rates
}

/// The CPU time this process has used so far (user and system), which leaves out time lost
/// waiting for the 2 cores that other programs share, and the PostgreSQL server's own.
fn cpu_time() -> Duration {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage = std::mem::zeroed::<libc::rusage>();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// The CPU time (user and system) of process `pid` and of its children, those running and
/// those that ended and were waited for: a PostgreSQL server's own, its connections' processes
/// included. Read from `/proc`; zero where it cannot be read.
fn process_tree_cpu(pid: u32) -> Duration {
    // SAFETY: sysconf only reads a setting.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command's name, which ends with the last ')': utime and stime are
    // the 14th and 15th of the line, cutime and cstime the 16th and 17th.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let own: u64 = (11..=14)
        .filter_map(|n| fields.get(n).and_then(|f| f.parse::<u64>().ok()))
        .sum();
    let children =
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    children
        .split_whitespace()
        .filter_map(|child| child.parse().ok())
        .map(process_tree_cpu)
        .sum::<Duration>()
        + Duration::from_secs_f64(own as f64 / ticks)
}

/// The disk's fsyncs a second in `dir`: a 4 KB block written over one of a file's first 256
/// (as a write-ahead log, once checkpointed, is written over) and `fdatasync`, over and over,
/// for a second: what each commit waits for at least once.
fn fsyncs_per_second(dir: &std::path::Path) -> f64 {
    use std::os::unix::fs::FileExt;
    let path = dir.join("fsync-probe");
    let file = std::fs::File::create(&path).expect("a probe file");
    file.set_len(256 * 4096).expect("sized");
    file.sync_all().expect("synced");
    let block = [7u8; 4096];
    let (started, mut syncs) = (Instant::now(), 0u32);
    while started.elapsed() < Duration::from_secs(1) {
        let at = u64::from(syncs % 256) * 4096;
        file.write_all_at(&block, at).expect("written");
        file.sync_data().expect("synced");
        syncs += 1;
    }
    let _ = std::fs::remove_file(path);
    f64::from(syncs) / started.elapsed().as_secs_f64()
}

/// The recording figures: the disk, then each way on SQLite and PostgreSQL; and the goals.
fn recording_figures(config: &Arc<Config>, runtime: &tokio::runtime::Runtime) {
    let dir = harness::TempDir::new("bench-record");
    println!(
        "disk: {:.0} fsyncs/s (4 KB written and fdatasync, for 1 s, in the benchmark's folder)",
        fsyncs_per_second(dir.path())
    );
    let files = AtomicUsize::new(0);
    let sqlite = runtime.block_on(recording(config, "SQLite", None, async |group| {
        let file = files.fetch_add(1, Ordering::Relaxed);
        Journal::builder()
            .group_commit(group)
            .open_sqlite(dir.path().join(format!("record-{file}.sqlite3")))
            .await
            .expect("the SQLite journal opens")
    }));
    let mut results = vec![("SQLite", sqlite)];
    match harness::PgServer::start_durable("bench-record") {
        Some(server) => {
            let url = server.url();
            let postgres = runtime.block_on(recording(
                config,
                "PostgreSQL",
                server.pid(),
                async |group| {
                    let journal = Journal::builder()
                        .group_commit(group)
                        .connect_postgres(&url)
                        .await
                        .expect("the PostgreSQL journal connects");
                    empty_postgres(&url).await;
                    journal
                },
            ));
            results.push(("PostgreSQL", postgres));
        }
        None => println!("record, PostgreSQL: skipped (not installed)"),
    }
    for (backend, rates) in results {
        let rate = |way| rates.iter().find(|(how, _)| *how == way).map(|(_, r)| *r);
        let (grouped, batches) = (rate(Recording::Grouped), rate(Recording::Batches));
        let met = |rate: Option<f64>, goal: f64| match rate {
            Some(rate) if rate >= goal => "met",
            Some(_) => "MISSED",
            None => "not run",
        };
        println!(
            "goals, {backend:<10} {} concurrent recorders >= 20,000/s: {}   record_many >= \
             100,000/s: {}",
            config.tasks,
            met(grouped, 20_000.0),
            met(batches, 100_000.0)
        );
    }
}

/// Empties the journal's tables in the PostgreSQL database at `url`, for the next way.
async fn empty_postgres(url: &str) {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connects");
    let connection = tokio::spawn(connection);
    client
        .batch_execute("TRUNCATE ecwid_journal_events, ecwid_journal_runs")
        .await
        .expect("emptied");
    drop(client);
    let _ = connection.await;
}

fn print(name: &str, config: &Config, f: &Figures) {
    let events = config.events as f64;
    let wall = f.wall.as_secs_f64();
    print!(
        "{name:<20} requests {:>6}   429s {:>3}   events/request {:>7.1}   wall {:>7.2} s   \
         events/s {:>7.0}",
        f.requests,
        f.rate_limited,
        events / f.requests as f64,
        wall,
        events / wall
    );
    if let (Some(recording), Some(journal)) = (f.recording, f.journal) {
        print!(
            "   journal in drain {:>6.3} s ({:.1}% of its wall, {:.0} us/event)   recording \
             {:>6.2} s ({:.0} us/event)",
            journal.as_secs_f64(),
            100.0 * journal.as_secs_f64() / wall,
            1e6 * journal.as_secs_f64() / events,
            recording.as_secs_f64(),
            1e6 * recording.as_secs_f64() / events
        );
    }
    println!();
}

fn main() {
    let config = Arc::new(Config {
        events: common::size("JOURNAL_EVENTS", 10_000),
        rate: env("JOURNAL_RATE", 600),
        window: Duration::from_millis(env("JOURNAL_WINDOW_MS", 1_000)),
        tasks: env("JOURNAL_TASKS", 64),
        variations: env("JOURNAL_VARIATIONS", 100),
        record_events: env("JOURNAL_RECORD_EVENTS", 20_000),
        batch: env("JOURNAL_BATCH", 1_000),
        ways: Recording::chosen(),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let only = std::env::var("ONLY").unwrap_or_default();
    assert!(
        ["", "record", "drain"].contains(&only.as_str()),
        "ONLY is record or drain"
    );
    if only != "drain" {
        recording_figures(&config, &runtime);
    }
    if only == "record" {
        return;
    }
    println!(
        "{} events over {} variations; rate limit {} per {} ms on the fake and the client \
         (Ecwid: 600 per 60 s); baseline: {} concurrent tasks, one client",
        config.events,
        config.variations,
        config.rate,
        config.window.as_millis(),
        config.tasks
    );
    let baseline = runtime.block_on(one_call_per_event(&config));
    print("exactly_once() each", &config, &baseline);
    let mut drains = Vec::new();

    let dir = harness::TempDir::new("bench");
    let sqlite = runtime
        .block_on(Journal::open_sqlite(dir.path().join("journal.sqlite3")))
        .expect("the SQLite journal opens");
    let figures = runtime.block_on(drained(&config, sqlite));
    print("drain, SQLite", &config, &figures);
    drains.push(figures);

    match harness::PgServer::start_durable("bench") {
        Some(server) => {
            let postgres = runtime
                .block_on(Journal::connect_postgres(&server.url()))
                .expect("the PostgreSQL journal connects");
            let figures = runtime.block_on(drained(&config, postgres));
            print("drain, PostgreSQL", &config, &figures);
            drains.push(figures);
        }
        None => println!("drain, PostgreSQL: skipped (not installed)"),
    }

    for f in &drains {
        let per_request = config.events as f64 / f.requests as f64;
        let share = f.journal.unwrap_or_default().as_secs_f64() / f.wall.as_secs_f64();
        println!(
            "ratio  events/request {:.1} (target >= 100: {})   requests baseline/drain {:.1}   \
             wall baseline/drain {:.1}   journal share of the drain {:.1}% (target < 10%: {})",
            per_request,
            if per_request >= 100.0 {
                "met"
            } else {
                "MISSED"
            },
            baseline.requests as f64 / f.requests as f64,
            baseline.wall.as_secs_f64() / f.wall.as_secs_f64(),
            100.0 * share,
            if share < 0.10 { "met" } else { "MISSED" },
        );
    }
    println!("stocks exact after every run; every event applied once");
}
