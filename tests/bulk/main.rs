//! Bulk adjustments through Ecwid's batch API: outcomes, exactly-once delivery, the key window,
//! polling, checkpoints and resuming a saved plan.

#[path = "../common/mod.rs"]
mod common;

mod checkpoint;
mod exactly_once;
mod key_window;
mod outcomes;
mod plan_log;
mod polling;
mod resume;
