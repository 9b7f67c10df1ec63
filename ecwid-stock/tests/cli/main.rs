//! The `ecwid-stock` command line, run as a user runs it: the built binary as a child process,
//! against a fake Ecwid store the test starts on 127.0.0.1. Every command, every exit code,
//! `--json` output parsed, bad input refused with nothing sent, and the token absent from all
//! output, `-vvv` included.

mod harness;

mod changes;
mod config;
mod fake_command;
mod reads;
mod sales;
mod secrets;
mod snapshot;
mod sync;
