//! The fake Ecwid store (`ecwid-inventory-fake`) spoken to over HTTP: its rules, catalog reads,
//! paging, faults, records, batches, helpers, orders and webhooks, and its conformance and contract with the spec.

#[path = "../common/mod.rs"]
mod common;

mod batch;
mod catalog;
mod conformance;
mod contract;
mod faults;
mod helpers;
mod orders;
mod paging;
mod records;
mod rules;
mod webhooks;
