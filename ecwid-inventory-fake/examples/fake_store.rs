//! Serves the fake Ecwid store on a fixed port, for trying the API with curl or another client.
//!
//! ```text
//! cargo run -p ecwid-inventory-fake --example fake_store -- [--port 8080] [--token T] [--demo|--empty] [--rate-limit N]
//! ```
//!
//! `--demo` (the default) serves the demo shop of `ecwid_inventory_fake::demo`; `--empty`
//! serves its store with no products. `--token` replaces the demo's secret token;
//! `--rate-limit` sets the requests allowed per token per minute (default 600). Stops on Ctrl-C.

use std::process::ExitCode;

use ecwid_inventory::RateLimit;
use ecwid_inventory_fake::{demo, FakeStore, FakeToken, Store};

struct Options {
    port: u16,
    token: String,
    demo: bool,
    rate_limit: u32,
}

const USAGE: &str = "usage: fake_store [--port 8080] [--token T] [--demo|--empty] [--rate-limit N]";

fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        port: 8080,
        token: demo::TOKEN.to_owned(),
        demo: true,
        rate_limit: 600,
    };
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--port" => {
                options.port = value("--port")?
                    .parse()
                    .map_err(|e| format!("--port: {e}"))?;
            }
            "--token" => options.token = value("--token")?,
            "--rate-limit" => {
                options.rate_limit = value("--rate-limit")?
                    .parse()
                    .map_err(|e| format!("--rate-limit: {e}"))?;
            }
            "--demo" => options.demo = true,
            "--empty" => options.demo = false,
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    if options.token.is_empty() {
        return Err("--token must not be empty".to_owned());
    }
    Ok(options)
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::FAILURE;
        }
    };
    let store = if options.demo {
        demo::store()
    } else {
        Store::new(demo::STORE)
    };
    let mut builder = FakeStore::builder()
        .store(store)
        .token(FakeToken::secret(demo::STORE, options.token.clone()))
        .rate_limit(RateLimit::per_minute(options.rate_limit))
        .port(options.port);
    if options.token != demo::PUBLIC_TOKEN {
        builder = builder.token(FakeToken::public(demo::STORE, demo::PUBLIC_TOKEN));
    }
    let fake = match builder.start().await {
        Ok(fake) => fake,
        Err(error) => {
            eprintln!(
                "cannot start the fake store on port {}: {error}",
                options.port
            );
            return ExitCode::FAILURE;
        }
    };

    let base = fake.base_url();
    let store = demo::STORE;
    // Printing the token is this example's purpose: it is the one a client must send.
    println!("Fake Ecwid store listening.");
    println!("  base URL      {base}");
    println!("  store id      {store}");
    println!("  secret token  {}", options.token);
    println!("  public token  {} (cannot write)", demo::PUBLIC_TOKEN);
    println!(
        "  rate limit    {} requests per minute per token",
        options.rate_limit
    );
    if options.demo {
        let (tee, small) = demo::SMALL_TEE;
        let (_, medium) = demo::MEDIUM_TEE;
        let (_, large) = demo::LARGE_TEE;
        println!("Demo catalog:");
        println!("  T-shirt        product {tee}: stock 20, warning limit 5");
        println!("    size S       combination {small}: SKU TEE-S, stock 10, warning limit 3");
        println!("    size M       combination {medium}: SKU TEE-M, stock 15, warning limit 3");
        println!("    size L       combination {large}: empty SKU, shares the T-shirt's stock");
        println!("  gift card      product {}: unlimited", demo::GIFT_CARD);
        println!(
            "  mug            product {}: stock 8, warning limit 2",
            demo::MUG
        );
        println!("Try:");
        println!(
            "  curl -X PUT '{base}/{store}/products/{tee}/combinations/{small}/inventory?checkLowStockNotification=true' \\\n    \
             -H 'Authorization: Bearer {}' -H 'Content-Type: application/json' \\\n    \
             -d '{{\"quantityDelta\": -2}}'",
            options.token
        );
        println!(
            "  curl -X POST '{base}/{store}/batch' \\\n    \
             -H 'Authorization: Bearer {}' -H 'Content-Type: application/json' \\\n    \
             -d '[{{\"id\":\"1\",\"method\":\"PUT\",\"path\":\"/products/{}/inventory\",\"body\":{{\"quantityDelta\":3}}}}]'",
            options.token,
            demo::MUG
        );
        println!(
            "  curl '{base}/{store}/batch?ticket=TICKET' -H 'Authorization: Bearer {}'",
            options.token
        );
    }
    println!("Ctrl-C to stop.");

    if let Err(error) = tokio::signal::ctrl_c().await {
        eprintln!("cannot wait for Ctrl-C: {error}");
        return ExitCode::FAILURE;
    }
    let applied = fake.ledger().len();
    fake.shutdown().await;
    println!("Stopped after {applied} applied adjustments.");
    ExitCode::SUCCESS
}
