//! The command line's grammar, with clap: global flags, commands and their arguments. Values
//! are checked here (a zero delta, a count out of range) so that bad input is refused before
//! anything is sent, a SKU lookup included.

use std::{num::NonZeroI32, path::PathBuf, time::SystemTime};

use clap::{Args, Parser, Subcommand};
use ecwid_inventory::{sync::SyncMode, Stock};

use crate::targets;

/// Read, adjust and set an Ecwid store's stock; snapshot it, sync it with a warehouse file,
/// and print Ecwid's own sales as stock movements.
///
/// Configuration: ECWID_STORE_ID (or --store), ECWID_TOKEN (or --token-file; never a flag, it
/// would show in `ps`), ECWID_API_URL (or --api-url; default Ecwid's). Exit codes: 0 done, 1 a
/// change failed or its outcome is unknown, 2 bad input or configuration (nothing sent).
#[derive(Debug, Parser)]
#[command(name = "ecwid-stock", version)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags accepted before or after the command.
#[derive(Debug, Args)]
pub struct Global {
    /// Machine-readable output: one JSON document (JSON lines for snapshot, sync and sales).
    #[arg(long, global = true)]
    pub json: bool,

    /// No output but errors (and what get and snapshot read); no progress bar.
    #[arg(long, short, global = true)]
    pub quiet: bool,

    /// Log lines on stderr (-v each request, -vv more, -vvv everything); never the token.
    #[arg(short, long = "verbose", action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// The store id, instead of ECWID_STORE_ID.
    #[arg(long, global = true, value_name = "ID")]
    pub store: Option<String>,

    /// The API root, instead of ECWID_API_URL (such as the fake's
    /// http://127.0.0.1:PORT/api/v3).
    #[arg(long, global = true, value_name = "URL")]
    pub api_url: Option<String>,

    /// A file holding the API token, instead of ECWID_TOKEN.
    #[arg(long, global = true, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print an item's stock: SKU, ids, quantity or unlimited, in stock, shared with its
    /// product or not.
    Get(Get),
    /// Add DELTA to an item's stock (negative to take stock away).
    #[command(allow_missing_positional = true)]
    Adjust(Adjust),
    /// Set an item's stock to N, or to unlimited stock.
    ///
    /// An absolute count overwrites any change made since you counted (a sale on the
    /// storefront, say): for a change relative to what is there, use adjust.
    #[command(allow_missing_positional = true)]
    Set(Set),
    /// Print every product and variation of the store with its stock, as the catalog is read:
    /// CSV (a valid sync FILE) or JSON lines.
    Snapshot(Snapshot),
    /// Make the store's stock match FILE: check every row, read the current stock, print the
    /// plan, then (unless --dry-run) apply its changes exactly once and report each outcome.
    ///
    /// FILE is CSV with a header holding `sku` and `quantity` columns (others are ignored);
    /// `quantity` is a whole number from 0 to 2147483647, or `unlimited`. Blank lines are
    /// skipped. A bad row is reported with its line number (the header is line 1), and then
    /// nothing is sent. Exit 0 when every change was applied (or none was needed), 1 when any
    /// failed or is unknown, 2 for bad input (nothing sent).
    Sync(Sync),
    /// Print the stock movements of the store's orders updated since TIME, each once: the
    /// catch-up for a cron that mirrors Ecwid's sales into a warehouse or another channel.
    ///
    /// Reads the orders (a page of 100 at a time), records them in the ledger (a database
    /// that remembers what each order line already moved), and prints one row per new
    /// movement: CSV with a header, or JSON lines with --json. The columns: movement_id,
    /// order_id, line_id, product_id, combination_id, sku, delta, kind, recorded_at. delta is Ecwid's stock change:
    /// negative for a sale, positive for a cancellation's restock. With --cursor FILE, the
    /// position is saved to FILE after the rows are written, so the next run (the same
    /// command) prints only what is new since; without the file, give --since. Exit 0 when
    /// every order was read, 1 when a read failed or the rows could not be written (the next
    /// run prints what this one could not), 2 for bad input (nothing sent).
    Sales(Sales),
    /// Serve the fake Ecwid store on 127.0.0.1 and print its base URL, token and demo items;
    /// Ctrl-C stops it.
    Fake(Fake),
}

/// An item: its SKU, or its ids.
#[derive(Debug, Args)]
pub struct Item {
    /// The item's SKU (or name it with --product, and --combination for a variation).
    // Negative numbers allowed here too: while ITEM is unfilled, clap asks it whether `-2` is
    // a value, and it then goes to DELTA (see `allow_missing_positional`).
    #[arg(
        value_name = "ITEM",
        required_unless_present = "product",
        conflicts_with = "product",
        allow_negative_numbers = true
    )]
    pub sku: Option<String>,

    /// A product's id: its own stock, or with --combination one of its variations'.
    #[arg(long, value_name = "P")]
    pub product: Option<u64>,

    /// A variation's id (Ecwid calls them combinations).
    #[arg(long, value_name = "C", requires = "product")]
    pub combination: Option<u64>,
}

#[derive(Debug, Args)]
pub struct Get {
    #[command(flatten)]
    pub item: Item,
}

#[derive(Debug, Args)]
pub struct Adjust {
    #[command(flatten)]
    pub item: Item,

    /// The change: a whole number, negative to take stock away, never 0.
    #[arg(value_name = "DELTA", allow_negative_numbers = true, value_parser = parse_delta)]
    pub delta: NonZeroI32,

    /// Ask Ecwid to email the store owner when the new stock is at or below the item's
    /// warning limit.
    #[arg(long)]
    pub notify_low_stock: bool,

    /// Send it as a one-item batch under a deduplication key: retried after a timeout or a
    /// lost answer without ever applying it twice (two requests or more instead of one).
    #[arg(long)]
    pub exactly_once: bool,

    /// With --exactly-once: make the deduplication key from KEY, your own id for this change
    /// (an order line's, say), so that running the same command again applies it once.
    #[arg(long, value_name = "KEY", requires = "exactly_once")]
    pub key: Option<String>,

    /// With --key: when the change was first sent under KEY (RFC 3339, such as
    /// 2026-12-03T15:04:05Z; default now). Ecwid remembers a key for an hour: to run the
    /// command again after a failure, give the first run's time (it prints it), and once
    /// that is 55 minutes old the command refuses to send instead of applying it twice.
    #[arg(long, value_name = "TIME", requires = "key", value_parser = parse_time)]
    pub first_attempt: Option<SystemTime>,
}

#[derive(Debug, Args)]
pub struct Set {
    #[command(flatten)]
    pub item: Item,

    /// The count, 0 to 2147483647, or `unlimited`.
    #[arg(
        value_name = "N|unlimited",
        allow_negative_numbers = true,
        value_parser = targets::parse_quantity
    )]
    pub stock: Stock,
}

#[derive(Debug, Args)]
pub struct Sync {
    /// The warehouse file: CSV with `sku` and `quantity` columns.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Print the plan and stop: no change is sent.
    #[arg(long)]
    pub dry_run: bool,

    /// delta (the default) sends target - current as read, so a storefront sale made between
    /// the read and the write is kept. set sends absolute counts: a sale made in between is
    /// overwritten (sold, yet counted back in).
    #[arg(long, value_enum, value_name = "delta|set")]
    pub mode: Option<Mode>,

    /// Save the plan to PLAN before anything is sent and after every checkpoint. Run the same
    /// command again with the same PLAN to resume it: every outcome is learned, nothing is
    /// applied twice, nothing planned anew. Removed once every change is applied.
    #[arg(long, value_name = "PLAN")]
    pub plan: Option<PathBuf>,
}

/// How `sync` sends its changes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    #[default]
    Delta,
    Set,
}

impl From<Mode> for SyncMode {
    fn from(mode: Mode) -> SyncMode {
        match mode {
            Mode::Delta => SyncMode::Delta,
            Mode::Set => SyncMode::Set,
        }
    }
}

#[derive(Debug, Args)]
pub struct Snapshot {
    /// csv: one row per product and per variation with a SKU of its own (header
    /// sku,product_id,combination_id,quantity,unlimited,in_stock). json: one object per line,
    /// per product and per variation. Default: csv, or json with --json.
    #[arg(long, value_enum)]
    pub format: Option<SnapshotFormat>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SnapshotFormat {
    Csv,
    Json,
}

/// The largest generated catalog `fake --products` serves.
pub const MAX_FAKE_PRODUCTS: u64 = 1_000_000;

#[derive(Debug, Args)]
pub struct Sales {
    /// Read orders updated at or after TIME: RFC 3339 (2026-12-03T15:04:05Z) or UNIX
    /// seconds. Ignored once the --cursor FILE exists: the file says where to go on from.
    #[arg(
        long,
        value_name = "TIME",
        value_parser = parse_since,
        required_unless_present = "cursor"
    )]
    pub since: Option<SystemTime>,

    /// Keep the position in FILE (JSON, replaced at once after the rows are written): the
    /// first run creates it, later runs print only the movements they did not print.
    #[arg(long, value_name = "FILE")]
    pub cursor: Option<PathBuf>,

    /// The ledger: a SQLite file (created if missing), or a PostgreSQL URL
    /// (postgresql://user:password@host/database) to share it with a webhook receiver.
    /// Default: ecwid-sales.sqlite3 beside the cursor file, or in the current folder.
    #[arg(long, value_name = "PATH|URL")]
    pub ledger: Option<String>,
}

#[derive(Debug, Args)]
pub struct Fake {
    /// The port on 127.0.0.1 (default: any free port).
    #[arg(long, default_value_t = 0)]
    pub port: u16,

    /// Serve a generated catalog of this many products (with variations, unlimited items and
    /// variations sharing their product's stock) instead of the demo shop; up to 1000000 (about
    /// 0.2 KB of the fake's memory a product).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=MAX_FAKE_PRODUCTS))]
    pub products: Option<u64>,

    /// The generated catalog's seed: the same seed, the same catalog.
    #[arg(long, default_value_t = 1, requires = "products")]
    pub seed: u64,

    /// Send the fake's signed webhooks (a storefront sale's `order.created`, `product.updated`
    /// per stock change, ...) to this `http://` URL, with Ecwid's delivery and retry rules.
    #[arg(long, value_name = "URL", requires = "client_secret")]
    pub webhook_url: Option<String>,

    /// The app's client secret the webhooks are signed with (the key a receiver verifies them
    /// with; not an API token).
    #[arg(long, value_name = "SECRET", requires = "webhook_url", value_parser = client_secret)]
    pub client_secret: Option<secrecy::SecretString>,
}

/// A client secret, held so that it never shows in `Debug` output.
fn client_secret(text: &str) -> Result<secrecy::SecretString, String> {
    if text.is_empty() {
        return Err("the client secret is empty".to_owned());
    }
    Ok(secrecy::SecretString::from(text))
}

/// A delta as Ecwid takes it: 32 bits, and not zero (it would spend a request on nothing).
fn parse_delta(text: &str) -> Result<NonZeroI32, String> {
    let delta: i64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a whole number"))?;
    let delta = i32::try_from(delta).map_err(|_| {
        format!(
            "{delta} is outside Ecwid's range ({}..={})",
            i32::MIN,
            i32::MAX
        )
    })?;
    NonZeroI32::new(delta).ok_or_else(|| "a delta of 0 would change nothing".to_owned())
}

/// A time as RFC 3339 (`2026-12-03T15:04:05Z`, or with a space instead of the `T`).
fn parse_time(text: &str) -> Result<SystemTime, String> {
    humantime::parse_rfc3339_weak(text).map_err(|error| {
        format!("{text:?} is not an RFC 3339 time such as 2026-12-03T15:04:05Z ({error})")
    })
}

/// `--since`: RFC 3339, or whole UNIX seconds.
fn parse_since(text: &str) -> Result<SystemTime, String> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let seconds: u64 = text
            .parse()
            .map_err(|_| format!("{text:?} is too large for UNIX seconds"))?;
        return std::time::UNIX_EPOCH
            .checked_add(std::time::Duration::from_secs(seconds))
            .ok_or_else(|| format!("{text:?} is too large for UNIX seconds"));
    }
    humantime::parse_rfc3339_weak(text).map_err(|error| {
        format!(
            "{text:?} is neither an RFC 3339 time such as 2026-12-03T15:04:05Z nor UNIX \
             seconds such as 1796310245 ({error})"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_grammar_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn fake_serves_up_to_a_million_generated_products() {
        let products = |n: &str| {
            Cli::try_parse_from(["ecwid-stock", "fake", "--products", n]).map(|cli| {
                let Command::Fake(fake) = cli.command else {
                    panic!("not the fake command");
                };
                fake.products
            })
        };
        assert_eq!(products("1000000").unwrap(), Some(1_000_000));
        assert_eq!(products("1").unwrap(), Some(1));
        for refused in ["0", "1000001"] {
            assert!(products(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn deltas() {
        assert_eq!(parse_delta("-2").unwrap().get(), -2);
        assert_eq!(parse_delta("2147483647").unwrap().get(), i32::MAX);
        for bad in ["0", "2147483648", "-2147483649", "1.5", "two", ""] {
            assert!(parse_delta(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn times() {
        use std::time::{Duration, UNIX_EPOCH};
        let at = UNIX_EPOCH + Duration::from_secs(1_796_310_245);
        assert_eq!(parse_time("2026-12-03T15:04:05Z").unwrap(), at);
        assert_eq!(parse_time("2026-12-03 15:04:05").unwrap(), at);
        for bad in [
            "",
            "15:04",
            "2026-13-03T15:04:05Z",
            "yesterday",
            "1796310245",
        ] {
            assert!(parse_time(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn since_times() {
        use std::time::{Duration, UNIX_EPOCH};
        let at = UNIX_EPOCH + Duration::from_secs(1_796_310_245);
        assert_eq!(parse_since("2026-12-03T15:04:05Z").unwrap(), at);
        assert_eq!(parse_since("1796310245").unwrap(), at);
        assert_eq!(parse_since("0").unwrap(), UNIX_EPOCH);
        for bad in [
            "",
            "-5",
            "1.5",
            "yesterday",
            "2026-13-03T15:04:05Z",
            "99999999999999999999999",
        ] {
            assert!(parse_since(bad).is_err(), "{bad:?}");
        }
    }
}
