//! `adjust ITEM DELTA`: one adjustment, optionally exactly once.

use ecwid_inventory::Client;

use crate::{
    args,
    change::{self, Asked},
    exit::{Exit, Fail},
    items,
    output::Output,
};

pub async fn run(client: &Client, args: &args::Adjust, out: &Output) -> Result<Exit, Fail> {
    let named = items::resolve(client, &args.item).await?;
    let delta = args.delta.get();
    let mut call = client.adjust_stock(named.item, delta);
    // Left out of the request unless asked for, as Ecwid's default is.
    if args.notify_low_stock {
        call = call.check_low_stock_notification(true);
    }
    if args.exactly_once {
        call = call.exactly_once();
    }
    let result = call.send().await;
    change::report(out, &named, Asked::Delta(delta), result)
}
