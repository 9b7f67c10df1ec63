//! Reading the catalog's stock, its requests on the wire, and syncing stock to given counts.

#[path = "../common/mod.rs"]
mod common;

mod catalog;
mod sync;
mod wire;
