//! What the SDK costs per adjustment over a hand-written reqwest call.
//!
//! The same adjustment is sent sequentially through the SDK and through raw reqwest (same client
//! settings, keep-alive, JSON in and out) to one minimal HTTP server on loopback, in interleaved
//! rounds so that drift on a shared machine hits both alike. Also through the generated client
//! alone (no wrapper), which splits the SDK's cost into progenitor's and the wrapper's. Prints
//! the median time per request of each, and the median over rounds of each one's time against
//! raw reqwest's in the same round, in wall time and in the CPU time of the one thread that runs
//! everything (the steadier figure on a shared machine). Target: SDK / raw <= 1.03, and <= 1.05
//! with the limiter and retries on.
//!
//! `cargo bench --bench overhead` (ROUNDS and PER_ROUND in the environment to change the size;
//! ONLY=raw, generated, sdk or limited to run one variant alone). Under
//! `valgrind --tool=callgrind`, a variant's instructions per call are the inclusive cost of its
//! function (`raw_adjust`, `generated_adjust`, `sdk_adjust`, `sdk_limited_adjust`) divided by
//! its calls, `PER_ROUND * (ROUNDS + 1)`; run each with ONLY, since what the others allocate
//! changes the allocator's paths by a thousand instructions a call or more.

use std::{convert::Infallible, net::SocketAddr, time::Duration};

use bytes::Bytes;
use ecwid_inventory::{
    generated, Client, CombinationId, ProductId, RateLimit, RetryPolicy, StoreId,
};
use http_body_util::{BodyExt, Full};
use hyper::{server::conn::http1, service::service_fn, Request, Response};
use hyper_util::rt::TokioIo;
use tokio::{net::TcpListener, time::Instant};

const TOKEN: &str = "secret_bench_token";

/// A server that reads the request and answers like Ecwid does for an applied adjustment.
async fn serve() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let service = service_fn(|request: Request<hyper::body::Incoming>| async move {
                    let body = request.into_body().collect().await.unwrap().to_bytes();
                    assert!(body.starts_with(b"{\"quantityDelta\":"));
                    Ok::<_, Infallible>(
                        Response::builder()
                            .header("content-type", "application/json")
                            .body(Full::new(Bytes::from_static(br#"{"updateCount":1}"#)))
                            .unwrap(),
                    )
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

/// The body, typed as the SDK's is (a `serde_json::json!` value would cost the baseline a map
/// the SDK does not build).
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct RawDelta {
    quantity_delta: i32,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAnswer {
    update_count: i32,
    #[allow(dead_code)]
    warning: Option<String>,
}

fn raw_client() -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    let mut auth = reqwest::header::HeaderValue::try_from(format!("Bearer {TOKEN}")).unwrap();
    auth.set_sensitive(true);
    headers.insert(reqwest::header::AUTHORIZATION, auth);
    // The generated client sends these two as well: the same bytes go on the wire.
    headers.insert(reqwest::header::ACCEPT, "application/json".parse().unwrap());
    headers.insert("api-version", "3".parse().unwrap());
    reqwest::Client::builder()
        .default_headers(headers)
        .user_agent(concat!("ecwid-inventory/", env!("CARGO_PKG_VERSION")))
        .timeout(Duration::from_secs(30))
        .connect_timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        // As the SDK does for a loopback base URL: no proxy lookup per request.
        .no_proxy()
        .build()
        .unwrap()
}

/// What a hand-written call does: build the URL from the ids, send, check, parse.
async fn raw_adjust(http: &reqwest::Client, base: &str) {
    let (store, product, combination) = (1003u64, 692730761u64, 422488528u64);
    let url = format!("{base}/{store}/products/{product}/combinations/{combination}/inventory");
    let answer: RawAnswer = http
        .put(url)
        .query(&[("checkLowStockNotification", "true")])
        .json(&RawDelta { quantity_delta: -1 })
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer.update_count, 1);
}

/// The same call through the generated client alone, as `Client::raw` would make it but
/// without its body scrub: what progenitor's code costs before the wrapper adds anything.
async fn generated_adjust(raw: &generated::Client) {
    let answer = raw
        .adjust_variation_stock()
        .store_id(1003u64)
        .product_id(692730761u64)
        .combination_id(422488528u64)
        .check_low_stock_notification(true)
        .body(generated::types::StockDelta { quantity_delta: -1 })
        .send()
        .await
        .unwrap();
    assert_eq!(answer.update_count, 1);
}

/// The SDK's call, one function per client so that a profile tells them apart.
async fn sdk_adjust(client: &Client) {
    adjust(client).await
}

/// [`sdk_adjust`] through the client with the limiter and retries on.
async fn sdk_limited_adjust(client: &Client) {
    adjust(client).await
}

async fn adjust(client: &Client) {
    let adjustment = client
        .adjust_variation_stock(ProductId::new(692730761), CombinationId::new(422488528), -1)
        .check_low_stock_notification(true)
        .send()
        .await
        .unwrap();
    assert!(adjustment.is_updated());
}

fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The variants, in the order they are printed: what `ONLY` names each, and its title.
const VARIANTS: [(&str, &str); 4] = [
    ("raw", "raw reqwest"),
    ("generated", "generated client alone"),
    ("sdk", "SDK (no limiter)"),
    ("limited", "SDK (limiter and retries on)"),
];

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let rounds = env_or("ROUNDS", 101);
    let per_round = env_or("PER_ROUND", 200);
    // One variant alone, for a profile: what the others allocate does not shift its
    // allocator's state (glibc's malloc takes slower paths in a fuller heap).
    let only = std::env::var("ONLY").ok();
    if let Some(only) = &only {
        let names: Vec<_> = VARIANTS.iter().map(|(name, _)| *name).collect();
        assert!(names.contains(&only.as_str()), "ONLY is one of {names:?}");
    }
    let runs = |variant: usize| {
        only.as_deref()
            .is_none_or(|only| only == VARIANTS[variant].0)
    };
    let addr = serve().await;
    let base = format!("http://{addr}/api/v3");

    let raw = raw_client();
    // The same reqwest settings; a default context, with which the hook records what it
    // needs and leaves answers as they come.
    let generated = generated::Client::new_with_client(&base, raw_client(), Default::default());
    let sdk = Client::builder(StoreId::new(1003), TOKEN)
        .base_url(&base)
        .no_rate_limit()
        .retry_policy(RetryPolicy::never())
        .build()
        .unwrap();
    // The default path: limiter on (with a limit this run never reaches) and retries on.
    let sdk_limited = Client::builder(StoreId::new(1003), TOKEN)
        .base_url(&base)
        .rate_limit(RateLimit::new(1_000_000, Duration::from_secs(1)))
        .build()
        .unwrap();

    let run = |variant: usize| {
        let (raw, base, generated, sdk, sdk_limited) =
            (&raw, &base, &generated, &sdk, &sdk_limited);
        async move {
            let started = (Instant::now(), cpu_time());
            for _ in 0..per_round {
                match variant {
                    0 => raw_adjust(raw, base).await,
                    1 => generated_adjust(generated).await,
                    2 => sdk_adjust(sdk).await,
                    _ => sdk_limited_adjust(sdk_limited).await,
                }
            }
            let wall = started.0.elapsed().as_secs_f64() / per_round as f64;
            let cpu = match (started.1, cpu_time()) {
                (Some(before), Some(after)) => Some((after - before) / per_round as f64),
                _ => None,
            };
            (wall, cpu)
        }
    };

    // Warm up connections and code paths (called here as well as in `run`, each variant's
    // function is not inlined into it, and keeps its name in a profile).
    for _ in 0..per_round {
        if runs(0) {
            raw_adjust(&raw, &base).await;
        }
        if runs(1) {
            generated_adjust(&generated).await;
        }
        if runs(2) {
            sdk_adjust(&sdk).await;
        }
        if runs(3) {
            sdk_limited_adjust(&sdk_limited).await;
        }
    }

    let (mut wall, mut cpu) = (
        vec![Vec::new(); VARIANTS.len()],
        vec![Vec::new(); VARIANTS.len()],
    );
    for round in 0..rounds {
        // Rotate the order so that none always runs first.
        for slot in 0..VARIANTS.len() {
            let variant = (round + slot) % VARIANTS.len();
            if !runs(variant) {
                continue;
            }
            let (wall_time, cpu_time) = run(variant).await;
            wall[variant].push(wall_time);
            cpu[variant].extend(cpu_time);
        }
    }
    println!("overhead: {rounds} rounds of {per_round} sequential adjustments each, loopback, keep-alive");
    report("wall time", &wall);
    if cpu.iter().all(|times| times.len() == wall[0].len()) {
        report("CPU time of the thread (server included)", &cpu);
    }
}

/// Each variant's median time per request, and the median over rounds of its time against
/// raw reqwest's in the same round (drift between rounds cancels).
fn report(what: &str, times: &[Vec<f64>]) {
    println!(" {what}:");
    for ((_, name), times) in VARIANTS.iter().zip(times) {
        if !times.is_empty() {
            println!(
                "  {name:<30} {:8.1} µs/request",
                median(times.clone()) * 1e6
            );
        }
    }
    if times[0].is_empty() {
        return;
    }
    for ((_, name), variant) in VARIANTS.iter().zip(times).skip(1) {
        let ratios = variant.iter().zip(&times[0]).map(|(v, r)| v / r).collect();
        println!("  ratio {name:<24} / raw {:8.3}", median(ratios));
    }
}

/// The time this thread has run on a CPU, in seconds (`None` where the clock is missing).
/// The client, the server and the runtime all run on this one thread, and time spent waiting
/// for a CPU taken by other programs is left out, so this is the steadier figure on a shared
/// machine.
fn cpu_time() -> Option<f64> {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid timespec for the call to write.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    (status == 0).then(|| now.tv_sec as f64 + now.tv_nsec as f64 / 1e9)
}
