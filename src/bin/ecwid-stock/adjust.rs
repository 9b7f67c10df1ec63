//! `adjust ITEM DELTA`: one adjustment, optionally exactly once.

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
    let mut call = client.adjust_stock(named.item, delta);
    // Left out of the request unless asked for, as Ecwid's default is.
    if args.notify_low_stock {
        call = call.check_low_stock_notification(true);
    }
    let result = if args.exactly_once {
        // It keeps trying, and reading Ecwid's batch, until the outcome is known: up to the
        // call's deadline during an outage.
        let waiting = progress::spinner(out, verbose, "applying it exactly once");
        let result = call.exactly_once().send().await;
        waiting.finish_and_clear();
        result
    } else {
        call.send().await
    };
    change::report(out, &named, Asked::Delta(delta), result)
}
