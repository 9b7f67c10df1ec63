//! Ecwid's own sales: verified webhooks, orders read from Ecwid, and sales recorded as stock
//! movements in the journal's databases.

#[path = "../common/mod.rs"]
mod common;

mod loop_with_fake;
mod orders;
mod sales;
mod webhooks;
