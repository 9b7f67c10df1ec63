//! `ecwid-stock`: the command line for people who run an Ecwid shop's stock by hand or from
//! cron. A thin layer over the `ecwid_inventory` library: every command is a call a library
//! user could make, and inherits its promises (bad input sends nothing, the token is never
//! shown, nothing is applied twice). This package's README (`ecwid-stock/README.md`)
//! documents the commands, the JSON output and the exit codes.

mod adjust;
mod args;
mod change;
mod config;
mod exit;
mod fake;
mod get;
mod items;
mod output;
mod progress;
mod sales;
mod set;
mod snapshot;
mod sync;
mod targets;

use std::{io::IsTerminal, process::ExitCode};

use clap::Parser;
use tracing_subscriber::{fmt::format::FmtSpan, EnvFilter};

use args::{Cli, Command};
use exit::{Exit, Fail};
use output::Output;

/// The allocator: a large sync allocates and frees millions of small values (each catalog
/// page read, each row's output) beside a heap that holds every row, where the system's
/// allocator spent half the process's CPU time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    // A usage error ends the process here, with exit code 2, before anything is sent.
    let cli = Cli::parse();
    start_logs(cli.global.verbose);
    let out = Output {
        json: cli.global.json,
        quiet: cli.global.quiet,
    };
    let exit = match run(&cli, &out).await {
        Ok(exit) => exit,
        Err(Fail { exit, message }) => {
            eprintln!("error: {message}");
            exit
        }
    };
    exit.into()
}

async fn run(cli: &Cli, out: &Output) -> Result<Exit, Fail> {
    if let Command::Fake(args) = &cli.command {
        return fake::run(args, out).await;
    }
    let client = config::client(&cli.global)?;
    let result = match &cli.command {
        Command::Get(args) => get::run(&client, args, out).await,
        Command::Adjust(args) => adjust::run(&client, args, out, cli.global.verbose).await,
        Command::Set(args) => set::run(&client, args, out).await,
        Command::Snapshot(args) => snapshot::run(&client, args, out, cli.global.verbose).await,
        Command::Sync(args) => sync::run(&client, args, out, cli.global.verbose).await,
        Command::Sales(args) => sales::run(&client, args, out).await,
        Command::Fake(_) => unreachable!("served above"),
    };
    // Releases a shared rate limiter's slots before the process ends.
    client.close().await;
    result
}

/// `-v`: the library's log lines (one per request), `-vv` its debug lines, `-vvv` all of
/// them, on stderr. Only this crate's, the library's and its fake store's (for `fake`): none
/// logs the token.
fn start_logs(verbose: u8) {
    let level = match verbose {
        0 => return,
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(format!(
            "ecwid_inventory={level},ecwid_inventory_fake={level},ecwid_stock={level}"
        )))
        // A line as each request's span closes: its operation, ids, status and latency.
        .with_span_events(FmtSpan::CLOSE)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}
