//! Drains in child processes: this test binary run again as the ignored test `drain_child`,
//! configured by `CHILD_*` environment variables, draining one journal (a SQLite file or a
//! PostgreSQL URL) into the fake store of the parent. The parent kills children (SIGKILL) and
//! watches them from outside only: the fake's requests and ledger, the database's rows.

use std::process::Stdio;
use std::time::{Duration, SystemTime};

use ecwid_inventory::journal::{DrainStop, Journal};
use ecwid_inventory::{Client, RateLimit, RedisRateLimit, TimeSource};
use ecwid_inventory_fake::FakeStore;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdout};

use crate::common::postgres::Target;
use crate::common::{STORE, TOKEN};

/// The most drain calls one child makes before giving up: each stops at a bound, and a worker
/// that met a run it could not finish tries again, up to this.
const MAX_CALLS: usize = 20;

/// What one child does.
#[derive(Clone, Debug)]
pub struct DrainJob {
    pub target: Target,
    /// Added to the system's time for the journal's clock: a later process sees the runs of a
    /// killed one as expired.
    pub clock_ahead: Duration,
    pub run_size: usize,
    /// The client's rate limit per second (none: no limit of its own).
    pub limit: Option<u32>,
    /// A Redis shared by the children's limiters.
    pub redis_url: Option<String>,
    pub worker: String,
}

impl DrainJob {
    pub fn new(target: &Target, worker: &str) -> DrainJob {
        DrainJob {
            target: target.clone(),
            clock_ahead: Duration::ZERO,
            run_size: 500,
            limit: None,
            redis_url: None,
            worker: worker.to_owned(),
        }
    }
}

/// A child draining, its output read line by line.
pub struct DrainChild {
    child: Child,
    stdout: tokio::io::Lines<BufReader<ChildStdout>>,
    lines: Vec<String>,
}

/// What a child that ended said: its drains' totals.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ChildTotals {
    pub applied: usize,
    pub failed: usize,
    pub unknown: usize,
    pub runs: usize,
    pub taken_over: usize,
    pub requests: usize,
}

/// Starts a child that drains at once.
pub async fn spawn(fake: &FakeStore, job: &DrainJob) -> DrainChild {
    let mut child = spawn_held(fake, job).await;
    child.go().await;
    child
}

/// Starts a child, and waits until it has opened the journal; it drains once told to
/// [`go`](DrainChild::go).
pub async fn spawn_held(fake: &FakeStore, job: &DrainJob) -> DrainChild {
    let target = match &job.target {
        Target::Sqlite(path) => format!("sqlite:{}", path.display()),
        Target::Postgres(url) => url.clone(),
    };
    let mut child = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "children::drain_child",
            "--nocapture",
            "--ignored",
        ])
        .args(["--quiet"])
        .env("CHILD_FAKE_URL", fake.base_url())
        .env("CHILD_JOURNAL", target)
        .env(
            "CHILD_CLOCK_AHEAD_MS",
            job.clock_ahead.as_millis().to_string(),
        )
        .env("CHILD_RUN_SIZE", job.run_size.to_string())
        .env(
            "CHILD_LIMIT",
            job.limit.map(|l| l.to_string()).unwrap_or_default(),
        )
        .env("CHILD_REDIS_URL", job.redis_url.clone().unwrap_or_default())
        .env("CHILD_WORKER", &job.worker)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("the test binary runs as a child");
    let stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut child = DrainChild {
        child,
        stdout,
        lines: Vec::new(),
    };
    child.wait_for_line("CHILD-OPENED").await;
    child
}

impl DrainChild {
    /// Tells a child started held to drain.
    pub async fn go(&mut self) {
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin.write_all(b"go\n").await.unwrap();
        stdin.flush().await.unwrap();
    }

    /// Waits (at most 60 s) until the child prints `line`.
    pub async fn wait_for_line(&mut self, line: &str) {
        let read = async {
            while let Some(next) = self.stdout.next_line().await.unwrap() {
                let found = next == line;
                self.lines.push(next);
                if found {
                    return;
                }
            }
            panic!(
                "the child ended without printing {line:?}: {:?}",
                self.lines
            );
        };
        tokio::time::timeout(Duration::from_secs(60), read)
            .await
            .unwrap_or_else(|_| panic!("no {line:?} from the child in 60 s: {:?}", self.lines));
    }

    /// Kills the child with SIGKILL, and waits until it is gone.
    pub async fn kill(mut self) {
        self.child.kill().await.unwrap();
    }

    /// Waits (at most 120 s) for the child to end, successfully, and returns its totals.
    pub async fn finish(mut self) -> ChildTotals {
        let read = async {
            while let Some(next) = self.stdout.next_line().await.unwrap() {
                self.lines.push(next);
            }
            self.child.wait().await.unwrap()
        };
        let status = tokio::time::timeout(Duration::from_secs(120), read)
            .await
            .unwrap_or_else(|_| panic!("the child did not end in 120 s: {:?}", self.lines));
        assert!(status.success(), "the child failed: {:?}", self.lines);
        let line = self
            .lines
            .iter()
            .find_map(|line| line.strip_prefix("CHILD-TOTALS "))
            .unwrap_or_else(|| panic!("no totals: {:?}", self.lines));
        let n: Vec<usize> = line.split(' ').map(|n| n.parse().unwrap()).collect();
        ChildTotals {
            applied: n[0],
            failed: n[1],
            unknown: n[2],
            runs: n[3],
            taken_over: n[4],
            requests: n[5],
        }
    }
}

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_default()
}

/// The child: opens the journal and a client of the fake as the `CHILD_*` variables say,
/// prints `CHILD-OPENED`, waits for a line on its input, prints `CHILD-DRAINING`, drains until nothing is waiting (at most [`MAX_CALLS`] calls), and
/// prints its totals. Run by hand (without the variables) it does nothing.
#[test]
#[ignore = "run by the other tests as a child process"]
fn drain_child() {
    let fake_url = var("CHILD_FAKE_URL");
    if fake_url.is_empty() {
        return;
    }
    let ahead = Duration::from_millis(var("CHILD_CLOCK_AHEAD_MS").parse().unwrap());
    let mut builder = Client::builder(STORE, TOKEN).base_url(fake_url);
    builder = match var("CHILD_LIMIT").parse::<u32>() {
        Ok(limit) => builder.rate_limit(RateLimit::new(limit, Duration::from_secs(1))),
        Err(_) => builder.no_rate_limit(),
    };
    let redis_url = var("CHILD_REDIS_URL");
    if !redis_url.is_empty() {
        builder = builder.shared_rate_limit(RedisRateLimit::new(redis_url).key_prefix("drain"));
    }
    let client = builder.build().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let journal =
            Journal::builder().time_source(TimeSource::new(move || SystemTime::now() + ahead));
        let target = var("CHILD_JOURNAL");
        let journal = match target.strip_prefix("sqlite:") {
            Some(path) => journal.open_sqlite(path).await.unwrap(),
            None => journal.connect_postgres(&target).await.unwrap(),
        };
        println!("CHILD-OPENED");
        let mut go = String::new();
        std::io::stdin().read_line(&mut go).unwrap();
        println!("CHILD-DRAINING");
        let mut totals = ChildTotals::default();
        for _ in 0..MAX_CALLS {
            let report = journal
                .drain(&client)
                .worker(var("CHILD_WORKER"))
                .run_size(var("CHILD_RUN_SIZE").parse().unwrap())
                .poll_interval(Duration::from_millis(20), Duration::from_millis(100))
                .send()
                .await
                .unwrap();
            totals.applied += report.applied;
            totals.failed += report.failed;
            totals.unknown += report.unknown;
            totals.runs += report.runs;
            totals.taken_over += report.taken_over;
            totals.requests += report.requests_sent;
            if report.stopped == DrainStop::NothingWaiting {
                break;
            }
        }
        println!(
            "CHILD-TOTALS {} {} {} {} {} {}",
            totals.applied,
            totals.failed,
            totals.unknown,
            totals.runs,
            totals.taken_over,
            totals.requests
        );
    });
}
