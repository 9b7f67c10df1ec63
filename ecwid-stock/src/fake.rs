//! `fake`: serves the fake Ecwid store (`ecwid_inventory_fake`) on 127.0.0.1 until Ctrl-C,
//! with the demo shop or a generated catalog, and prints how to reach it. Printing the token is
//! the point here: it is the fake's demo token, which every client of the fake must send.

use ecwid_inventory_fake::{demo, FakeStore};
use serde::Serialize;

use crate::{
    args,
    exit::{Exit, Fail},
    output::Output,
};

/// What `fake --json` prints, on one line, once it listens.
#[derive(Debug, Serialize)]
struct Serving {
    base_url: String,
    store_id: u64,
    token: &'static str,
    /// A token that can read but never write.
    public_token: &'static str,
    /// `demo` or `generated`.
    catalog: &'static str,
    /// The generated catalog's size; `null` for the demo shop.
    products: Option<u64>,
    /// Where a storefront sale is POSTed: `{storefront_url}/{store_id}/orders`.
    storefront_url: String,
    /// Where the fake's webhooks go; `null` without `--webhook-url`.
    webhook_url: Option<String>,
}

pub async fn run(args: &args::Fake, out: &Output) -> Result<Exit, Fail> {
    let store = match args.products {
        Some(products) => demo::catalog(products, args.seed),
        None => demo::store(),
    };
    let mut builder = FakeStore::builder()
        .store(store)
        .tokens(demo::tokens())
        .port(args.port);
    if let (Some(url), Some(secret)) = (&args.webhook_url, &args.client_secret) {
        builder = builder.webhooks(url.clone(), secret.clone());
    }
    let fake = builder.start().await.map_err(|error| {
        Fail::failed(format!(
            "cannot start the fake store on 127.0.0.1:{}: {error}",
            args.port
        ))
    })?;
    let serving = Serving {
        base_url: fake.base_url(),
        store_id: demo::STORE.get(),
        token: demo::TOKEN,
        public_token: demo::PUBLIC_TOKEN,
        catalog: if args.products.is_some() {
            "generated"
        } else {
            "demo"
        },
        products: args.products,
        storefront_url: fake.storefront_url(),
        webhook_url: args.webhook_url.clone(),
    };
    if out.json {
        out.json(&serving)?;
    } else {
        print_welcome(&serving, args, out)?;
    }

    tokio::signal::ctrl_c()
        .await
        .map_err(|error| Fail::failed(format!("cannot wait for Ctrl-C: {error}")))?;
    let changes = fake.ledger().len();
    fake.shutdown().await;
    out.note(&format!("Stopped after {changes} stock changes."));
    Ok(Exit::Done)
}

fn print_welcome(serving: &Serving, args: &args::Fake, out: &Output) -> std::io::Result<()> {
    let Serving {
        base_url,
        store_id,
        token,
        ..
    } = serving;
    println!("A fake Ecwid store listens on {base_url} (Ctrl-C stops it).");
    println!("Point ecwid-stock at it, in another terminal:");
    println!();
    println!("  export ECWID_API_URL={base_url}");
    println!("  export ECWID_STORE_ID={store_id}");
    println!("  export ECWID_TOKEN={token}");
    println!();
    match args.products {
        Some(products) => {
            println!(
                "Its catalog: {products} generated products (seed {}), ids 1 to {products}, \
                 SKUs CAT-000001 to CAT-{products:06}; a variation's SKU is its product's and \
                 its number (CAT-000001-1), or empty (it then shares its product's stock).",
                args.seed
            );
            println!("Try: ecwid-stock get CAT-000001");
        }
        None => {
            let (tee, small) = demo::SMALL_TEE;
            let (_, medium) = demo::MEDIUM_TEE;
            let (_, large) = demo::LARGE_TEE;
            let row = |cells: [String; 4]| cells.to_vec();
            let none = String::new;
            let rows = [
                row([
                    "TEE".into(),
                    tee.to_string(),
                    none(),
                    "20, warning limit 5".into(),
                ]),
                row([
                    "TEE-S".into(),
                    tee.to_string(),
                    small.to_string(),
                    "10, warning limit 3".into(),
                ]),
                row([
                    "TEE-M".into(),
                    tee.to_string(),
                    medium.to_string(),
                    "15, warning limit 3".into(),
                ]),
                row([
                    "(none)".into(),
                    tee.to_string(),
                    large.to_string(),
                    "shares TEE's".into(),
                ]),
                row([
                    "GIFT".into(),
                    demo::GIFT_CARD.to_string(),
                    none(),
                    "unlimited".into(),
                ]),
                row([
                    "MUG".into(),
                    demo::MUG.to_string(),
                    none(),
                    "8, warning limit 2".into(),
                ]),
            ];
            out.table(&["SKU", "PRODUCT", "VARIATION", "STOCK"], || rows.clone())?;
            println!();
            println!("Try: ecwid-stock get TEE-S; ecwid-stock adjust TEE-S -2");
        }
    }
    println!(
        "The token {} can read but never write; each token may send 600 requests a minute.",
        serving.public_token
    );
    println!(
        "A shopper's sale (an order, its stock taken): curl -X POST {}/{store_id}/orders \\\n  \
         -H 'content-type: application/json' -d '{{\"items\": [{{\"productId\": {}, \"quantity\": 1}}]}}'",
        serving.storefront_url,
        // The generated catalog's ids run from 1.
        if args.products.is_some() { 1 } else { demo::MUG.get() }
    );
    if let Some(url) = &serving.webhook_url {
        println!("Its signed webhooks go to {url}.");
    }
    Ok(())
}
