//! `get ITEM`: an item's stock.

use ecwid_inventory::Client;

use crate::{
    args,
    exit::{Exit, Fail},
    items,
    output::{stock_row, Output, StockJson, STOCK_HEADER},
};

pub async fn run(client: &Client, args: &args::Get, out: &Output) -> Result<Exit, Fail> {
    let named = items::resolve(client, &args.item).await?;
    // A SKU lookup reads the stock with the item: no second request.
    let stock = match named.found {
        Some(stock) => stock,
        None => client.stock(named.item).await?,
    };
    if out.json {
        out.json(&StockJson::from(&stock))?;
    } else {
        out.table(&STOCK_HEADER, || [stock_row(&stock)])?;
    }
    Ok(Exit::Done)
}
