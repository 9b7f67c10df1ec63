//! The rate limiter and token guard shared through Redis, by separate OS processes.
//!
//! Each test starts a real `redis-server` (see `common/redis.rs`) and a fake Ecwid store enforcing the
//! same limit as the clients, then re-runs this test binary as child processes (the ignored test
//! `child`, configured by `CHILD_*` environment variables), each a client of its own sharing one
//! token. The fake's recorded requests say whether any request earned a 429; its ledger, whether every
//! delta landed once.

#[path = "../common/mod.rs"]
mod common;

use common::small_tee_stock;

use std::{
    collections::BTreeMap,
    process::Stdio,
    time::{Duration, Instant},
};

use common::redis::RedisServer;
use ecwid_inventory::{
    Client, Error, RateLimit, RedisRateLimit, RetryPolicy, WhenRedisUnavailable,
};
use ecwid_inventory_fake::{demo, FakeStore, FakeToken, Fault, Route};

const LIMIT: u32 = 10;
const WINDOW: Duration = Duration::from_secs(1);
/// The limiter's margin for a 1 s window (1%, at least 20 ms): a finished request counts for
/// `WINDOW + MARGIN` after its answer.
const MARGIN: Duration = Duration::from_millis(20);
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
const PASSWORD: &str = "hunter2-redis-password";

async fn fake_store(tokens: Vec<FakeToken>) -> FakeStore {
    FakeStore::builder()
        .store(demo::store())
        .tokens(tokens)
        .rate_limit(RateLimit::new(LIMIT, WINDOW))
        .start()
        .await
        .unwrap()
}

fn rejected_429(fake: &FakeStore) -> usize {
    fake.requests()
        .iter()
        .filter(|r| r.status == Some(429))
        .count()
}

/// What one child does.
#[derive(Clone)]
struct Job {
    redis_url: Option<String>,
    token: String,
    /// The rate limit's requests per `WINDOW`.
    limit: u32,
    /// The client's per-attempt timeout, which a slot's lease includes.
    timeout: Duration,
    count: u32,
    tasks: u32,
    deadline: Duration,
    /// Calls that fail without applying anything are made again, until this long has passed.
    persist: Duration,
    /// The CA a TLS Redis's certificate is signed by, as `SSL_CERT_FILE`.
    ca_file: Option<std::path::PathBuf>,
    /// The child closes its client after its last call.
    close: bool,
}

impl Job {
    fn shared(redis: &RedisServer, count: u32) -> Job {
        Job {
            redis_url: Some(redis.url()),
            token: demo::TOKEN.to_owned(),
            limit: LIMIT,
            timeout: ATTEMPT_TIMEOUT,
            count,
            tasks: 4,
            deadline: Duration::from_secs(20),
            persist: Duration::ZERO,
            ca_file: redis.ca_file(),
            close: false,
        }
    }
}

/// A child's report: how its calls ended, by kind, and every distinct error message.
#[derive(Debug, Default)]
struct Report {
    counts: BTreeMap<String, u32>,
    errors: Vec<String>,
    elapsed: Duration,
    output: String,
}

impl Report {
    fn count(&self, kind: &str) -> u32 {
        self.counts.get(kind).copied().unwrap_or(0)
    }
}

fn spawn(fake: &FakeStore, job: &Job) -> tokio::process::Child {
    spawn_as("child", fake, job)
}

/// Runs `job` in the ignored test `child` (concurrent tasks) or `last_call_child`.
fn spawn_as(child: &str, fake: &FakeStore, job: &Job) -> tokio::process::Child {
    let mut command = tokio::process::Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", child, "--nocapture", "--ignored", "--quiet"])
        .env("CHILD_FAKE_URL", fake.base_url())
        .env("CHILD_REDIS_URL", job.redis_url.clone().unwrap_or_default())
        .env("CHILD_TOKEN", &job.token)
        .env("CHILD_LIMIT", job.limit.to_string())
        .env("CHILD_TIMEOUT_MS", job.timeout.as_millis().to_string())
        .env("CHILD_COUNT", job.count.to_string())
        .env("CHILD_TASKS", job.tasks.to_string())
        .env("CHILD_DEADLINE_MS", job.deadline.as_millis().to_string())
        .env("CHILD_PERSIST_MS", job.persist.as_millis().to_string())
        .env("CHILD_CLOSE", if job.close { "1" } else { "" })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(ca_file) = &job.ca_file {
        command.env("SSL_CERT_FILE", ca_file);
    }
    command.spawn().expect("the test binary runs as a child")
}

async fn finish(child: tokio::process::Child) -> Report {
    let output = tokio::time::timeout(Duration::from_secs(90), child.wait_with_output())
        .await
        .expect("a child finishes within 90 s")
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "child failed:\n{stdout}\n{stderr}");
    let mut report = Report {
        output: format!("{stdout}\n{stderr}"),
        ..Report::default()
    };
    for line in stdout.lines() {
        if let Some(rest) = line.strip_prefix("CHILD-COUNT ") {
            let (kind, n) = rest.split_once(' ').unwrap();
            report.counts.insert(kind.to_owned(), n.parse().unwrap());
        } else if let Some(rest) = line.strip_prefix("CHILD-ERROR ") {
            report.errors.push(rest.to_owned());
        } else if let Some(ms) = line.strip_prefix("CHILD-ELAPSED-MS ") {
            report.elapsed = Duration::from_millis(ms.parse().unwrap());
        }
    }
    report
}

async fn run_all(fake: &FakeStore, jobs: &[Job]) -> Vec<Report> {
    let children: Vec<_> = jobs.iter().map(|job| spawn(fake, job)).collect();
    let mut reports = Vec::new();
    for child in children {
        reports.push(finish(child).await);
    }
    reports
}

fn kind(error: &Error) -> &'static str {
    match error {
        Error::RateLimited { .. } => "rate-limited",
        Error::TokenRejected => "token-rejected",
        Error::DeadlineExceeded => "deadline",
        Error::RateLimiterUnavailable { .. } => "unavailable",
        Error::Api { status: 403, .. } => "forbidden",
        Error::Timeout { .. } => "timeout",
        _ => "other",
    }
}

fn child_var(name: &str) -> String {
    std::env::var(name).unwrap_or_default()
}

fn child_number(name: &str) -> u64 {
    child_var(name).parse().unwrap()
}

/// A child's client, configured by the `CHILD_*` variables, with logging to the parent; `None`
/// when the child test is run by hand (with `--ignored`), with nothing to do.
fn child_client() -> Option<Client> {
    let fake_url = child_var("CHILD_FAKE_URL");
    if fake_url.is_empty() {
        return None;
    }
    // Everything this crate and redis-rs log goes to the parent, which checks it for secrets.
    tracing_subscriber::fmt()
        .with_env_filter("ecwid_inventory=trace,redis=trace,warn")
        .with_ansi(false)
        .init();
    let mut builder = Client::builder(demo::STORE, child_var("CHILD_TOKEN"))
        .base_url(fake_url)
        .rate_limit(RateLimit::new(child_number("CHILD_LIMIT") as u32, WINDOW))
        .timeout(Duration::from_millis(child_number("CHILD_TIMEOUT_MS")))
        .deadline(Duration::from_millis(child_number("CHILD_DEADLINE_MS")))
        .retry_policy(RetryPolicy::default().default_retry_after(Duration::from_millis(50)));
    let redis_url = child_var("CHILD_REDIS_URL");
    if !redis_url.is_empty() {
        builder = builder.shared_rate_limit(RedisRateLimit::new(redis_url).key_prefix("test"));
    }
    Some(builder.build().unwrap())
}

/// Whether the child closes its client after its last call.
fn closing() -> bool {
    !child_var("CHILD_CLOSE").is_empty()
}

type Outcome = Result<(), (&'static str, String)>;

async fn sell(client: &Client) -> Result<(), Error> {
    let (product, combination) = demo::SMALL_TEE;
    client
        .adjust_variation_stock(product, combination, -1)
        .send()
        .await
        .map(|_| ())
}

/// Prints how a child's calls ended, for [`finish`] to read.
fn print_report(outcomes: Vec<Outcome>, started: Instant) {
    let mut counts = BTreeMap::new();
    let mut errors = std::collections::BTreeSet::new();
    for outcome in outcomes {
        match outcome {
            Ok(()) => *counts.entry("ok").or_insert(0) += 1,
            Err((kind, message)) => {
                *counts.entry(kind).or_insert(0) += 1;
                errors.insert(message);
            }
        }
    }
    for (kind, n) in counts {
        println!("CHILD-COUNT {kind} {n}");
    }
    for error in errors {
        println!("CHILD-ERROR {error}");
    }
    println!("CHILD-ELAPSED-MS {}", started.elapsed().as_millis());
}

/// The child process: sends `CHILD_COUNT` adjustments of -1 from `CHILD_TASKS` tasks through
/// its own client (closed at the end with `CHILD_CLOSE`), and prints how each call ended.
#[test]
#[ignore = "run by the other tests as a child process"]
fn child() {
    let Some(client) = child_client() else {
        return;
    };
    let count = child_number("CHILD_COUNT") as u32;
    let tasks = child_number("CHILD_TASKS") as u32;
    let persist = Duration::from_millis(child_number("CHILD_PERSIST_MS"));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let started = Instant::now();
    let outcomes = runtime.block_on(async {
        let mut handles = Vec::new();
        for task in 0..tasks {
            let client = client.clone();
            let share = count / tasks + u32::from(task < count % tasks);
            handles.push(tokio::spawn(async move {
                let mut outcomes = Vec::new();
                for _ in 0..share {
                    let began = Instant::now();
                    loop {
                        let result = sell(&client).await;
                        let again = matches!(&result, Err(e) if !e.may_have_been_applied())
                            && began.elapsed() < persist;
                        outcomes.push(result.map_err(|e| (kind(&e), e.to_string())));
                        if !again {
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
                outcomes
            }));
        }
        let mut all = Vec::new();
        for handle in handles {
            all.extend(handle.await.unwrap());
        }
        if closing() {
            client.close().await;
        }
        all
    });
    print_report(outcomes, started);
}

/// The child process of the exit tests: sends `CHILD_COUNT` adjustments one after another and
/// exits as soon as the last one returns (after `close()` with `CHILD_CLOSE`). On a current-thread runtime nothing a call spawned
/// runs once `block_on` returns: the most abrupt exit a process can make, and the usual one
/// for a CLI or a cron job, whose runtime ends with its `main`.
#[test]
#[ignore = "run by the other tests as a child process"]
fn last_call_child() {
    let Some(client) = child_client() else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();
    let outcomes = runtime.block_on(async {
        let mut outcomes = Vec::new();
        for _ in 0..child_number("CHILD_COUNT") {
            outcomes.push(sell(&client).await.map_err(|e| (kind(&e), e.to_string())));
        }
        if closing() {
            client.close().await;
        }
        outcomes
    });
    print_report(outcomes, started);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_sharing_a_token_through_redis_earn_no_429() {
    let Some(redis) =
        RedisServer::start("processes_sharing_a_token_through_redis_earn_no_429", None)
    else {
        return;
    };
    let fake = fake_store(demo::tokens().to_vec()).await;
    let before = small_tee_stock(&fake);
    let job = Job::shared(&redis, 15);
    let reports = run_all(&fake, &[job.clone(), job.clone(), job]).await;
    for report in &reports {
        assert_eq!(report.count("ok"), 15, "{}", report.output);
    }
    assert_eq!(rejected_429(&fake), 0, "no request earned a 429");
    assert_eq!(fake.ledger().len(), 45, "every delta applied once");
    assert_eq!(before - small_tee_stock(&fake), 45);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_with_in_process_limiters_only_earn_429s() {
    let fake = fake_store(demo::tokens().to_vec()).await;
    let job = Job {
        redis_url: None,
        token: demo::TOKEN.to_owned(),
        limit: LIMIT,
        timeout: ATTEMPT_TIMEOUT,
        count: 15,
        tasks: 4,
        deadline: Duration::from_secs(20),
        persist: Duration::ZERO,
        ca_file: None,
        close: false,
    };
    let reports = run_all(&fake, &[job.clone(), job.clone(), job]).await;
    let refused = rejected_429(&fake);
    eprintln!("three processes with in-process limiters of {LIMIT}/s each: {refused} 429s");
    assert!(refused > 0, "each believes it may send the whole limit");
    // 429s are retried, and none applied anything: the ledger holds what succeeded, once.
    let ok: u32 = reports.iter().map(|r| r.count("ok")).sum();
    assert_eq!(fake.ledger().len(), ok as usize);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_process_frees_its_slots_when_the_leases_end() {
    let Some(redis) =
        RedisServer::start("a_killed_process_frees_its_slots_when_the_leases_end", None)
    else {
        return;
    };
    let fake = fake_store(demo::tokens().to_vec()).await;
    // The doomed process's first LIMIT requests take 1.5 s at the fake: it is killed while they
    // are in flight, holding every slot. The fake still applies (and counts) them at 1.5 s.
    fake.inject_fault(
        Route::VariationInventory,
        LIMIT as usize,
        Fault::Delay(Duration::from_millis(1500)),
    );
    let mut doomed = spawn(
        &fake,
        &Job {
            tasks: LIMIT,
            ..Job::shared(&redis, 100)
        },
    );
    let give_up = Instant::now() + Duration::from_secs(20);
    while fake.requests().len() < LIMIT as usize {
        assert!(Instant::now() < give_up, "the doomed process never sent");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    doomed.start_kill().unwrap(); // SIGKILL
    doomed.wait().await.unwrap();
    let killed_at = Instant::now();

    let job = Job::shared(&redis, 10);
    let reports = run_all(&fake, &[job.clone(), job]).await;
    let took = killed_at.elapsed();
    for report in &reports {
        assert_eq!(report.count("ok"), 10, "{}", report.output);
    }
    // The leases end a window, the margin and the attempt timeout after they were taken; then
    // the 20 requests need one more window after their first burst. Start-up and slack: 2 s.
    let bound = WINDOW + ATTEMPT_TIMEOUT + WINDOW + Duration::from_secs(2);
    assert!(took < bound, "the others carried on after {took:?}");
    // Had the slots been freed at the kill, the survivors' burst and the doomed requests would
    // have landed in one window of the fake.
    assert_eq!(rejected_429(&fake), 0);
    assert_eq!(fake.ledger().len(), LIMIT as usize + 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_sends_nothing_new_fails_clearly_then_service_resumes() {
    let Some(mut redis) = RedisServer::start(
        "redis_down_sends_nothing_new_fails_clearly_then_service_resumes",
        Some(PASSWORD),
    ) else {
        return;
    };
    let fake = fake_store(demo::tokens().to_vec()).await;
    let before = small_tee_stock(&fake);
    let job = Job {
        deadline: Duration::from_millis(1500),
        persist: Duration::from_secs(40),
        ..Job::shared(&redis, 30)
    };
    let children = vec![spawn(&fake, &job), spawn(&fake, &job)];
    // Down after the first burst, for 2 s, then back empty (no persistence).
    let give_up = Instant::now() + Duration::from_secs(20);
    while fake.ledger().len() < LIMIT as usize {
        assert!(Instant::now() < give_up, "nothing was sent");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    redis.stop();
    let sent_when_stopped = fake.requests().len();
    tokio::time::sleep(Duration::from_secs(2)).await;
    // Requests in flight when Redis went away may still land; nothing new is let go.
    let sent_while_down = fake.requests().len() - sent_when_stopped;
    redis.start_again();
    let mut reports = Vec::new();
    for child in children {
        reports.push(finish(child).await);
    }
    assert!(
        sent_while_down <= LIMIT as usize,
        "{sent_while_down} sent while Redis was down"
    );
    let (mut ok, mut unknown) = (0, 0);
    for report in &reports {
        // A call let go just before its short deadline may be cut mid-attempt: its outcome is
        // unknown (the child does not repeat those). Every other call ends in success.
        let cut = report.count("timeout");
        assert!(cut <= 2, "{}", report.output);
        assert_eq!(
            report.count("ok") + cut,
            30,
            "normal service after: {}",
            report.output
        );
        ok += report.count("ok") as usize;
        unknown += cut as usize;
        assert!(
            report.count("unavailable") > 0,
            "clear errors while down: {}",
            report.output
        );
        assert!(
            report
                .errors
                .iter()
                .any(|e| e.contains("shared rate limiter") && e.contains("127.0.0.1")),
            "{:?}",
            report.errors
        );
        assert!(
            report.output.contains("Redis is unavailable"),
            "the outage is logged: {}",
            report.output
        );
        for secret in [PASSWORD, demo::TOKEN] {
            assert!(!report.output.contains(secret), "{}", report.output);
        }
    }
    assert_eq!(
        rejected_429(&fake),
        0,
        "nothing unthrottled, no burst after Redis came back (empty)"
    );
    let applied = fake.ledger().len();
    assert!((ok..=ok + unknown).contains(&applied), "{applied} applied");
    assert_eq!(before - small_tee_stock(&fake), applied as i64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_process_403_stops_the_others_before_they_send() {
    let Some(redis) = RedisServer::start("one_process_403_stops_the_others_before_they_send", None)
    else {
        return;
    };
    let fake = fake_store(demo::tokens().to_vec()).await;
    let revoked = Job {
        token: "secret_revoked".to_owned(),
        tasks: 1,
        ..Job::shared(&redis, 1)
    };
    let first = finish(spawn(&fake, &revoked)).await;
    assert_eq!(first.count("forbidden"), 1, "{}", first.output);
    assert_eq!(fake.requests().len(), 1);
    let others = Job {
        count: 3,
        ..revoked
    };
    let reports = run_all(&fake, &[others.clone(), others]).await;
    for report in &reports {
        assert_eq!(report.count("token-rejected"), 3, "{}", report.output);
    }
    assert_eq!(fake.requests().len(), 1, "the others sent nothing");

    // This process resets the guard for all: its own next call goes out (and is refused).
    let client = Client::builder(demo::STORE, "secret_revoked")
        .base_url(fake.base_url())
        .rate_limit(RateLimit::new(LIMIT, WINDOW))
        .shared_rate_limit(RedisRateLimit::new(redis.url()).key_prefix("test"))
        .build()
        .unwrap();
    let (product, combination) = demo::SMALL_TEE;
    let refused = client
        .adjust_variation_stock(product, combination, -1)
        .send()
        .await
        .unwrap_err();
    assert!(matches!(refused, Error::TokenRejected), "{refused:?}");
    assert!(client.is_token_rejected());
    client.reset_token_guard();
    assert!(!client.is_token_rejected());
    let sent = client
        .adjust_variation_stock(product, combination, -1)
        .send()
        .await
        .unwrap_err();
    assert_eq!(sent.status(), Some(403), "{sent:?}");
    assert_eq!(fake.requests().len(), 2);
    // The 403 set the guard again, for everybody.
    let after = finish(spawn(
        &fake,
        &Job {
            count: 1,
            ..revoked_job(&redis)
        },
    ))
    .await;
    assert_eq!(after.count("token-rejected"), 1, "{}", after.output);
    assert_eq!(fake.requests().len(), 2);
}

fn revoked_job(redis: &RedisServer) -> Job {
    Job {
        token: "secret_revoked".to_owned(),
        tasks: 1,
        ..Job::shared(redis, 1)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tokens_on_one_redis_keep_separate_budgets() {
    let Some(redis) = RedisServer::start("two_tokens_on_one_redis_keep_separate_budgets", None)
    else {
        return;
    };
    let fake = fake_store(vec![
        FakeToken::secret(demo::STORE, "secret_a"),
        FakeToken::secret(demo::STORE, "secret_b"),
    ])
    .await;
    let job = |token: &str| Job {
        token: token.to_owned(),
        ..Job::shared(&redis, 10)
    };
    let reports = run_all(
        &fake,
        &[
            job("secret_a"),
            job("secret_a"),
            job("secret_b"),
            job("secret_b"),
        ],
    )
    .await;
    for report in &reports {
        assert_eq!(report.count("ok"), 10, "{}", report.output);
        // 20 per token is a burst and one more window; one shared budget would need three.
        assert!(
            report.elapsed < WINDOW * 2 + WINDOW / 2,
            "took {:?}",
            report.elapsed
        );
    }
    assert_eq!(rejected_429(&fake), 0);
    assert_eq!(fake.ledger().len(), 40);
}

#[test]
fn a_shared_limiter_needs_a_rate_limit_and_a_redis_url() {
    let refused = Client::builder(demo::STORE, demo::TOKEN)
        .no_rate_limit()
        .shared_rate_limit(RedisRateLimit::new("redis://127.0.0.1:1"))
        .build()
        .unwrap_err();
    assert!(matches!(refused, Error::Config(_)), "{refused:?}");
    let refused = Client::builder(demo::STORE, demo::TOKEN)
        .shared_rate_limit(RedisRateLimit::new(format!("https://:{PASSWORD}@h")))
        .build()
        .unwrap_err();
    assert!(!format!("{refused} {refused:?}").contains(PASSWORD));
    let client = Client::builder(demo::STORE, demo::TOKEN)
        .shared_rate_limit(RedisRateLimit::new(format!(
            "rediss://:{PASSWORD}@redis.example:6380"
        )))
        .build()
        .unwrap();
    assert!(!format!("{client:?}").contains(PASSWORD));
}

#[tokio::test]
async fn an_unreachable_redis_fails_the_call_in_its_deadline_having_sent_nothing() {
    let fake = fake_store(demo::tokens().to_vec()).await;
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = Client::builder(demo::STORE, demo::TOKEN)
        .base_url(fake.base_url())
        .deadline(Duration::from_millis(800))
        .shared_rate_limit(RedisRateLimit::new(format!(
            "redis://:{PASSWORD}@127.0.0.1:{port}"
        )))
        .build()
        .unwrap();
    let (product, combination) = demo::SMALL_TEE;
    let started = Instant::now();
    let error = client
        .adjust_variation_stock(product, combination, -1)
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::RateLimiterUnavailable { .. }),
        "{error:?}"
    );
    assert!(!error.may_have_been_applied());
    assert!(started.elapsed() < Duration::from_secs(3));
    for text in [error.to_string(), format!("{error:?}")] {
        assert!(!text.contains(PASSWORD), "{text}");
        assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
    }
    assert!(fake.requests().is_empty(), "nothing was sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rediss_with_a_password_works_and_never_shows_it() {
    let Some(redis) = RedisServer::start_tls(
        "rediss_with_a_password_works_and_never_shows_it",
        Some(PASSWORD),
    ) else {
        return;
    };
    assert!(redis.url().starts_with("rediss://"));
    let fake = fake_store(demo::tokens().to_vec()).await;
    let job = Job::shared(&redis, 15);
    let reports = run_all(&fake, &[job.clone(), job]).await;
    for report in &reports {
        assert_eq!(report.count("ok"), 15, "{}", report.output);
        for secret in [PASSWORD, demo::TOKEN] {
            assert!(!report.output.contains(secret), "{}", report.output);
        }
    }
    assert_eq!(rejected_429(&fake), 0);
    assert_eq!(fake.ledger().len(), 30);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_share_fallback_keeps_a_share_and_warms_up_when_redis_returns() {
    let Some(mut redis) = RedisServer::start(
        "the_local_share_fallback_keeps_a_share_and_warms_up_when_redis_returns",
        None,
    ) else {
        return;
    };
    let fake = fake_store(demo::tokens().to_vec()).await;
    let client = Client::builder(demo::STORE, demo::TOKEN)
        .base_url(fake.base_url())
        .rate_limit(RateLimit::new(LIMIT, WINDOW))
        .timeout(ATTEMPT_TIMEOUT)
        .deadline(Duration::from_secs(5))
        .shared_rate_limit(
            RedisRateLimit::new(redis.url())
                .when_unavailable(WhenRedisUnavailable::LocalShare { processes: 2 }),
        )
        .build()
        .unwrap();
    let (product, combination) = demo::SMALL_TEE;
    let sell = || {
        client
            .adjust_variation_stock(product, combination, -1)
            .send()
    };
    sell().await.unwrap(); // through Redis
    redis.stop();
    // Down: half the limit a window, in this process.
    let started = Instant::now();
    for _ in 0..LIMIT / 2 + 1 {
        sell().await.unwrap();
    }
    assert!(
        started.elapsed() >= WINDOW,
        "the share is {} a window: the last one waited",
        LIMIT / 2
    );
    redis.start_again();
    // Back: Redis never counted what was sent meanwhile, so nobody gets a slot for one lease
    // (window, margin, attempt timeout): a call with a shorter deadline fails at once.
    let quick = Client::builder(demo::STORE, demo::TOKEN)
        .base_url(fake.base_url())
        .rate_limit(RateLimit::new(LIMIT, WINDOW))
        .timeout(ATTEMPT_TIMEOUT)
        .deadline(Duration::from_secs(1))
        .shared_rate_limit(RedisRateLimit::new(redis.url()))
        .build()
        .unwrap();
    // The fallen-back client marks the warm-up with its first look at Redis (the first call
    // after the restart may still fall back, before the connection is made again). Its share
    // of the window is free again first, so that only the warm-up can make a call wait.
    tokio::time::sleep(WINDOW + WINDOW / 10).await;
    let mut fell_back = 0;
    loop {
        match tokio::time::timeout(Duration::from_millis(500), sell()).await {
            Err(_waiting) => break,
            Ok(result) => {
                result.unwrap();
                fell_back += 1;
                assert!(fell_back < LIMIT / 2, "the warm-up never began");
            }
        }
    }
    let asked = Instant::now();
    let refused = quick
        .adjust_variation_stock(product, combination, -1)
        .send()
        .await
        .unwrap_err();
    assert!(matches!(refused, Error::DeadlineExceeded), "{refused:?}");
    assert!(
        asked.elapsed() < Duration::from_millis(500),
        "failed at once"
    );
    sell().await.unwrap();
    assert_eq!(rejected_429(&fake), 0);
    assert_eq!(
        fake.ledger().len(),
        1 + LIMIT as usize / 2 + 1 + fell_back as usize + 1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarted_empty_while_ecwid_still_counts_brings_no_burst() {
    let Some(mut redis) = RedisServer::start(
        "redis_restarted_empty_while_ecwid_still_counts_brings_no_burst",
        None,
    ) else {
        return;
    };
    let fake = fake_store(demo::tokens().to_vec()).await;
    let job = Job::shared(&redis, 20);
    let children = vec![spawn(&fake, &job), spawn(&fake, &job)];
    // Both processes hold slots, so both remember the epoch (a process that never saw Redis
    // before it restarted cannot know what it forgot: the documented limit).
    let give_up = Instant::now() + Duration::from_secs(20);
    while processes_holding_slots(&redis) < 2 {
        assert!(
            Instant::now() < give_up,
            "the processes never both held slots"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Redis forgets the window's requests at once, while the fake still counts them.
    redis.stop();
    redis.start_again();
    let mut reports = Vec::new();
    for child in children {
        reports.push(finish(child).await);
    }
    for report in &reports {
        assert_eq!(report.count("ok"), 20, "{}", report.output);
    }
    assert_eq!(
        rejected_429(&fake),
        0,
        "the processes remembered the epoch and warmed up instead of bursting"
    );
    assert_eq!(fake.ledger().len(), 40);
}

/// How many processes hold slots (lease ids begin with their process's id).
fn processes_holding_slots(redis: &RedisServer) -> usize {
    let processes: std::collections::BTreeSet<String> = leases(redis)
        .into_keys()
        .map(|lease| lease.split(':').next().unwrap().to_owned())
        .collect();
    processes.len()
}

fn redis_connection(redis: &RedisServer) -> redis::Connection {
    redis::Client::open(redis.url())
        .unwrap()
        .get_connection()
        .unwrap()
}

/// Every lease in Redis, of every budget, by id, with when it ends (ms on Redis's clock).
fn leases(redis: &RedisServer) -> BTreeMap<String, f64> {
    let mut connection = redis_connection(redis);
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*:slots")
        .query(&mut connection)
        .unwrap();
    let mut leases = BTreeMap::new();
    for key in keys {
        let scores: Vec<(String, f64)> = redis::cmd("ZRANGE")
            .arg(&key)
            .arg(0)
            .arg(-1)
            .arg("WITHSCORES")
            .query(&mut connection)
            .unwrap();
        leases.extend(scores);
    }
    leases
}

/// Redis's clock, in ms: the one leases are measured by.
fn redis_now(redis: &RedisServer) -> f64 {
    let (seconds, micros): (u64, u64) = redis::cmd("TIME")
        .query(&mut redis_connection(redis))
        .unwrap();
    seconds as f64 * 1000.0 + micros as f64 / 1000.0
}

/// Runs `job` in `last_call_child` and returns the lease its one call left in Redis: when
/// it ends, with Redis's clock just before the child started and just after it exited (ms).
async fn last_call_lease(redis: &RedisServer, fake: &FakeStore, job: &Job) -> (f64, f64, f64) {
    let before = leases(redis);
    let started = redis_now(redis);
    let report = finish(spawn_as("last_call_child", fake, job)).await;
    let exited = redis_now(redis);
    assert_eq!(report.count("ok"), 1, "{}", report.output);
    let mut new: Vec<f64> = leases(redis)
        .into_iter()
        .filter(|(lease, _)| !before.contains_key(lease))
        .map(|(_, ends)| ends)
        .collect();
    assert_eq!(new.len(), 1, "one call, one lease");
    (started, exited, new.pop().unwrap())
}

fn as_ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// A process that makes its last call and exits at once keeps its lease for its full length,
/// lost with the release its runtime never ran; closing the client first shortens it to a
/// window (and the margin) from the call's answer, which came between the child's start and
/// its exit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_exiting_after_its_last_call_keeps_its_lease_unless_it_closes_the_client() {
    let Some(redis) = RedisServer::start(
        "a_process_exiting_after_its_last_call_keeps_its_lease_unless_it_closes_the_client",
        None,
    ) else {
        return;
    };
    let fake = fake_store(demo::tokens().to_vec()).await;
    // A long attempt timeout sets a lease (window, margin, attempt timeout) far apart from a
    // window.
    let job = Job {
        count: 1,
        tasks: 1,
        timeout: Duration::from_secs(10),
        ..Job::shared(&redis, 1)
    };
    let window = as_ms(WINDOW + MARGIN);

    let (started, exited, ends) = last_call_lease(&redis, &fake, &job).await;
    assert!(
        ends >= started + as_ms(WINDOW + job.timeout),
        "without close(), the lease keeps its full length: it ends {:.0} ms after the child \
         started",
        ends - started
    );
    assert!(ends > exited + window, "not shortened");

    let (started, exited, ends) = last_call_lease(
        &redis,
        &fake,
        &Job {
            close: true,
            ..job.clone()
        },
    )
    .await;
    assert!(
        ends <= exited + window,
        "with close(), the lease ends a window from the answer: {:.0} ms after the exit, \
         {:.0} ms after the child started",
        ends - exited,
        ends - started
    );
    assert!(ends >= started + window, "the answer came after the start");
    assert_eq!(fake.ledger().len(), 2);
}

/// With a limit of one request a window, a process that starts as another one exits (having
/// closed its client) gets its slot a window after the other's answer, not a lease later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_process_gets_its_slot_a_window_after_a_closed_process_s_answer() {
    let Some(redis) = RedisServer::start(
        "the_next_process_gets_its_slot_a_window_after_a_closed_process_s_answer",
        None,
    ) else {
        return;
    };
    // The fake counts one request a window too: a second request less than a window after the
    // first earns a 429.
    let fake = FakeStore::builder()
        .store(demo::store())
        .tokens(demo::tokens())
        .rate_limit(RateLimit::new(1, WINDOW))
        .start()
        .await
        .unwrap();
    let job = Job {
        limit: 1,
        count: 1,
        tasks: 1,
        timeout: Duration::from_secs(10),
        close: true,
        ..Job::shared(&redis, 1)
    };
    let first = finish(spawn_as("last_call_child", &fake, &job)).await;
    let first_exited = Instant::now();
    let second = finish(spawn_as("last_call_child", &fake, &job)).await;
    let gap = first_exited.elapsed();
    for report in [&first, &second] {
        assert_eq!(report.count("ok"), 1, "{}", report.output);
    }
    let lease = WINDOW + MARGIN + MARGIN + job.timeout;
    assert!(
        gap < lease / 2,
        "the second process finished {gap:?} after the first exited: it waited for the lease \
         ({lease:?}), not a window"
    );
    assert_eq!(rejected_429(&fake), 0, "a window apart at least");
    assert_eq!(fake.ledger().len(), 2);
}

fn shared_client(fake: &FakeStore, redis: &RedisServer, limit: RateLimit) -> Client {
    Client::builder(demo::STORE, demo::TOKEN)
        .base_url(fake.base_url())
        .rate_limit(limit)
        .timeout(Duration::from_secs(10))
        // Longer than a minute: a call may wait for a slot a minute away.
        .deadline(Duration::from_secs(120))
        .shared_rate_limit(RedisRateLimit::new(redis.url()).key_prefix("close"))
        .build()
        .unwrap()
}

/// How many tickets wait in the Redis queues.
fn queued(redis: &RedisServer) -> usize {
    let mut connection = redis_connection(redis);
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*:queue")
        .query(&mut connection)
        .unwrap();
    keys.iter()
        .map(|key| {
            redis::cmd("ZCARD")
                .arg(key)
                .query::<usize>(&mut connection)
                .unwrap()
        })
        .sum()
}

/// After close(), a clone's call fails with `Closed`, having sent nothing; the lease of the
/// call before it ends a window from its answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_close_no_clone_sends_and_the_last_lease_is_shortened() {
    let Some(redis) = RedisServer::start(
        "after_close_no_clone_sends_and_the_last_lease_is_shortened",
        None,
    ) else {
        return;
    };
    let fake = fake_store(demo::tokens().to_vec()).await;
    let client = shared_client(&fake, &redis, RateLimit::new(LIMIT, WINDOW));
    let clone = client.clone();
    sell(&client).await.unwrap();
    let answered = redis_now(&redis);
    client.close().await;
    let closed = redis_now(&redis);
    let ends: Vec<f64> = leases(&redis).into_values().collect();
    assert_eq!(ends.len(), 1);
    let window = as_ms(WINDOW + MARGIN);
    assert!(
        (answered - 1.0..=closed).contains(&(ends[0] - window)),
        "the lease ends a window after the answer, not {:.0} ms after it",
        ends[0] - answered
    );
    let refused = sell(&clone).await.unwrap_err();
    assert!(matches!(refused, Error::Closed), "{refused:?}");
    assert!(!refused.may_have_been_applied());
    assert_eq!(fake.requests().len(), 1, "nothing sent after close()");
}

/// A call waiting for a slot when the client closes stops waiting, leaves the Redis queue and
/// fails with `Closed`, having sent nothing; close() does not wait for its bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_stops_a_waiting_call_which_leaves_the_queue() {
    let Some(redis) = RedisServer::start("close_stops_a_waiting_call_which_leaves_the_queue", None)
    else {
        return;
    };
    let fake = fake_store(demo::tokens().to_vec()).await;
    // One request a minute: the second call would wait a minute for its slot.
    let client = shared_client(&fake, &redis, RateLimit::new(1, Duration::from_secs(60)));
    sell(&client).await.unwrap();
    let waiting = tokio::spawn({
        let client = client.clone();
        async move { sell(&client).await }
    });
    let give_up = Instant::now() + Duration::from_secs(10);
    while queued(&redis) == 0 {
        assert!(Instant::now() < give_up, "the call never queued");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::timeout(Duration::from_secs(1), client.close())
        .await
        .expect("close() finished well within its 2 s bound");
    // close() returned once the waiting call had left: it is done, or about to return.
    let refused = tokio::time::timeout(Duration::from_secs(1), waiting)
        .await
        .expect("the waiting call stopped")
        .unwrap()
        .unwrap_err();
    assert!(matches!(refused, Error::Closed), "{refused:?}");
    assert_eq!(queued(&redis), 0, "it left the queue");
    assert_eq!(fake.requests().len(), 1, "the waiting call sent nothing");
}

#[derive(Clone, Default)]
struct LogBuffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// close() waits for a request in flight at most its bound (2 s), then says so in a warning
/// naming it; the request is not cut short, and its answer still shortens its lease.
#[tokio::test]
async fn close_waits_for_a_request_in_flight_until_its_bound_and_says_so() {
    let Some(redis) = RedisServer::start(
        "close_waits_for_a_request_in_flight_until_its_bound_and_says_so",
        None,
    ) else {
        return;
    };
    // This test's own thread logs into a buffer (a current-thread runtime runs every task of
    // the test on it).
    let logs = LogBuffer::default();
    let _logging = tracing::subscriber::set_default(
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::WARN)
            .with_ansi(false)
            .with_writer({
                let logs = logs.clone();
                move || logs.clone()
            })
            .finish(),
    );
    let fake = fake_store(demo::tokens().to_vec()).await;
    fake.inject_fault(
        Route::VariationInventory,
        1,
        Fault::Delay(Duration::from_secs(4)),
    );
    let client = shared_client(&fake, &redis, RateLimit::new(LIMIT, WINDOW));
    let in_flight = tokio::spawn({
        let client = client.clone();
        async move { sell(&client).await }
    });
    let give_up = Instant::now() + Duration::from_secs(10);
    while fake.requests().is_empty() {
        assert!(Instant::now() < give_up, "the request was never sent");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let closing = Instant::now();
    client.close().await;
    let waited = closing.elapsed();
    assert!(
        (Duration::from_secs(2)..Duration::from_secs(4)).contains(&waited),
        "close() waited {waited:?}: its bound, not the answer"
    );
    let logged = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(
        logged.contains("unfinished after 2 s, the bound of close()"),
        "{logged}"
    );
    in_flight
        .await
        .unwrap()
        .expect("the request was not cut short");
    assert_eq!(fake.ledger().len(), 1);
}

/// With the in-process limiter (or none) close() has nothing to wait for; calls after it fail
/// with `Closed` at once, having sent nothing.
#[tokio::test]
async fn close_with_the_in_process_limiter_returns_at_once_and_refuses_later_calls() {
    let fake = fake_store(demo::tokens().to_vec()).await;
    for builder in [
        // The next slot a minute away: a call after close() must not wait for it.
        Client::builder(demo::STORE, demo::TOKEN)
            .rate_limit(RateLimit::new(1, Duration::from_secs(60))),
        Client::builder(demo::STORE, demo::TOKEN).no_rate_limit(),
    ] {
        let client = builder.base_url(fake.base_url()).build().unwrap();
        let sent = fake.requests().len();
        sell(&client).await.unwrap();
        tokio::time::timeout(Duration::from_secs(1), client.close())
            .await
            .expect("nothing to wait for");
        let refused = tokio::time::timeout(Duration::from_secs(1), sell(&client.clone()))
            .await
            .expect("refused at once")
            .unwrap_err();
        assert!(matches!(refused, Error::Closed), "{refused:?}");
        assert_eq!(
            fake.requests().len(),
            sent + 1,
            "nothing sent after close()"
        );
    }
}

/// Clients with limiters of their own (to Redis, as separate processes are) are served in the
/// order they began to wait, not in the order their looks happen to reach Redis.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiters_are_served_in_arrival_order_across_limiters() {
    let Some(redis) =
        RedisServer::start("waiters_are_served_in_arrival_order_across_limiters", None)
    else {
        return;
    };
    let fake = FakeStore::builder()
        .store(demo::store())
        .tokens(demo::tokens())
        .no_rate_limit()
        .start()
        .await
        .unwrap();
    let window = Duration::from_millis(400);
    let clients: Vec<Client> = (0..3)
        .map(|_| {
            Client::builder(demo::STORE, demo::TOKEN)
                .base_url(fake.base_url())
                .rate_limit(RateLimit::new(1, window))
                .shared_rate_limit(RedisRateLimit::new(redis.url()).key_prefix("order"))
                .build()
                .unwrap()
        })
        .collect();
    let (product, combination) = demo::SMALL_TEE;
    // Client 0 takes the only slot; then 1, 2 and 0 again begin to wait, 100 ms apart. All of
    // them can look again at the same moment, when the slot frees.
    clients[0]
        .adjust_variation_stock(product, combination, -1)
        .send()
        .await
        .unwrap();
    let order = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for who in [1usize, 2, 0] {
        let (client, order) = (clients[who].clone(), order.clone());
        tasks.push(tokio::spawn(async move {
            client
                .adjust_variation_stock(product, combination, -1)
                .send()
                .await
                .unwrap();
            order.lock().unwrap().push(who);
        }));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for task in tasks {
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .unwrap()
            .unwrap();
    }
    assert_eq!(*order.lock().unwrap(), vec![1, 2, 0]);
}

/// A call waiting for the in-process limiter when the client closes fails with `Closed` when
/// its turn comes, having sent nothing.
#[tokio::test]
async fn a_call_waiting_for_the_in_process_limiter_fails_with_closed_when_its_turn_comes() {
    let fake = fake_store(demo::tokens().to_vec()).await;
    let client = Client::builder(demo::STORE, demo::TOKEN)
        .base_url(fake.base_url())
        .rate_limit(RateLimit::new(1, WINDOW))
        .build()
        .unwrap();
    sell(&client).await.unwrap();
    let waiting = tokio::spawn({
        let client = client.clone();
        async move { sell(&client).await }
    });
    // On this current-thread runtime the spawned call runs, up to its wait for the limiter,
    // before this test goes on.
    tokio::task::yield_now().await;
    client.close().await;
    let refused = waiting.await.unwrap().unwrap_err();
    assert!(matches!(refused, Error::Closed), "{refused:?}");
    assert_eq!(fake.requests().len(), 1, "nothing sent after close()");
}

/// The shared limiter keeps the same rule as the in-process one: a slot that comes with too
/// little of the deadline left to send is not taken, and nothing is sent; the deadline never
/// cuts a request just sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_slot_at_the_edge_of_the_deadline_sends_nothing() {
    let Some(redis) = RedisServer::start(
        "a_shared_slot_at_the_edge_of_the_deadline_sends_nothing",
        None,
    ) else {
        return;
    };
    let fake = fake_store(demo::tokens().to_vec()).await;
    let client = Client::builder(demo::STORE, demo::TOKEN)
        .base_url(fake.base_url())
        .rate_limit(RateLimit::new(1, Duration::from_secs(1)))
        .timeout(Duration::from_secs(10))
        .deadline(Duration::from_millis(1300))
        .shared_rate_limit(RedisRateLimit::new(redis.url()).key_prefix("edge"))
        .build()
        .unwrap();
    sell(&client).await.unwrap();
    // The next slot is a window (1.02 s) after that answer: less than the 0.65 s an attempt
    // is given before the 1.3 s deadline. The fake would then take a second to answer.
    fake.inject_fault(Route::Any, 1, Fault::Delay(Duration::from_secs(1)));
    let error = sell(&client).await.unwrap_err();
    assert!(matches!(error, Error::DeadlineExceeded), "{error:?}");
    assert!(!error.may_have_been_applied());
    assert_eq!(fake.requests().len(), 1, "nothing more was sent");
    client.close().await;
}
