//! `set ITEM (N | unlimited)`: an absolute count.

use ecwid_inventory::{Client, Stock};

use crate::{
    args,
    change::{self, Asked},
    exit::{Exit, Fail},
    items,
    output::Output,
};

pub async fn run(client: &Client, args: &args::Set, out: &Output) -> Result<Exit, Fail> {
    let named = items::resolve(client, &args.item).await?;
    let result = match args.stock {
        Stock::Quantity(quantity) => client.set_stock(named.item, quantity).await,
        Stock::Unlimited => client.set_unlimited_stock(named.item).await,
    };
    change::report(out, &named, Asked::Set(args.stock), result)
}
