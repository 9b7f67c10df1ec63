//! `adjust ITEM DELTA`: one adjustment, optionally exactly once, under a key of the caller's.

use std::time::SystemTime;

use ecwid_inventory::Client;

use crate::{
    args,
    change::{self, Asked},
    exit::{Exit, Fail},
    items,
    output::Output,
    progress,
};

pub async fn run(
    client: &Client,
    args: &args::Adjust,
    out: &Output,
    verbose: u8,
) -> Result<Exit, Fail> {
    let named = items::resolve(client, &args.item).await?;
    let delta = args.delta.get();
    // Taken before anything is sent: this run is the first attempt unless told otherwise.
    let first_attempt = args
        .key
        .as_ref()
        .map(|_| args.first_attempt.unwrap_or_else(SystemTime::now));
    let mut call = client.adjust_stock(named.item, delta);
    // Left out of the request unless asked for, as Ecwid's default is.
    if args.notify_low_stock {
        call = call.check_low_stock_notification(true);
    }
    let result = if args.exactly_once {
        // It keeps trying, and reading Ecwid's batch, until the outcome is known: up to the
        // call's deadline during an outage.
        let waiting = progress::spinner(out, verbose, "applying it exactly once");
        let result = match (&args.key, first_attempt) {
            (Some(key), Some(first)) => call.exactly_once_key(key, first).send().await,
            _ => call.exactly_once().send().await,
        };
        waiting.finish_and_clear();
        result
    } else {
        call.send().await
    };
    change::report(
        out,
        &named,
        Asked::Delta {
            delta,
            first_attempt,
        },
        result,
    )
}
