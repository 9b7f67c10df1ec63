//! Four worker processes draining one PostgreSQL journal of thousands of events into one fake
//! store that enforces a scaled rate limit, their clients sharing one limiter through a real
//! `redis-server`: no event applied twice, none lost, no 429, and every worker did its share.

use std::time::Duration;

use ecwid_inventory::RateLimit;

use crate::children::{spawn_held, DrainJob};
use crate::common::postgres::backends;
use crate::common::redis::RedisServer;
use crate::common::{creates, numbered};
use crate::support::{assert_applied_once, assert_journal_applied, record_many};

const EVENTS: u64 = 4000;
/// Ecwid's 600 requests a minute, scaled to a window of a second and down, so that four
/// workers polling often would exceed it without the shared limiter.
const LIMIT: u32 = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_workers_share_one_postgres_journal_without_doubling_and_without_429s() {
    let test = "four_workers_share_one_postgres_journal";
    let Some(redis) = RedisServer::start(test, None) else {
        return;
    };
    for backend in backends(test).await {
        if backend.postgres.is_none() {
            continue;
        }
        let fake = numbered(EVENTS)
            .rate_limit(RateLimit::new(LIMIT, Duration::from_secs(1)))
            .start()
            .await
            .unwrap();
        record_many(&backend.journal, 1..=EVENTS).await;

        let mut children = Vec::new();
        for n in 0..4 {
            let mut job = DrainJob::new(&backend.target, &format!("worker-{n}"));
            job.run_size = 100;
            job.limit = Some(LIMIT);
            job.redis_url = Some(redis.url());
            children.push(spawn_held(&fake, &job).await);
        }
        for child in &mut children {
            child.go().await;
        }
        let mut totals = Vec::new();
        for child in children {
            totals.push(child.finish().await);
        }

        let refused = fake
            .requests()
            .iter()
            .filter(|r| r.status == Some(429))
            .count();
        assert_eq!(refused, 0, "429s");
        let applied: usize = totals.iter().map(|t| t.applied).sum();
        assert_eq!(applied, EVENTS as usize, "{totals:?}");
        assert!(
            totals.iter().all(|t| t.runs > 0),
            "every worker drained some: {totals:?}"
        );
        let runs: usize = totals.iter().map(|t| t.runs).sum();
        assert_eq!(creates(&fake).len(), runs, "one create per run: {totals:?}");
        let requests: usize = totals.iter().map(|t| t.requests).sum();
        assert_eq!(fake.requests().len(), requests, "{totals:?}");
        assert_applied_once(&fake, EVENTS);
        assert_journal_applied(&backend.journal, EVENTS).await;
    }
}
