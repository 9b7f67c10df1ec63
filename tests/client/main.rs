//! The client itself: what goes on the wire, retries, logs, settings, configuration from the
//! environment, and exactly-once adjustments and their keys.

#[path = "../common/mod.rs"]
mod common;

mod exactly_once;
mod exactly_once_keys;
mod from_env;
mod logs;
mod retries;
mod settings;
mod wire;
