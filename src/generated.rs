//! The raw client, generated at build time by progenitor from `spec/ecwid-inventory.yaml`.
//!
//! Power users can call any operation of the spec here directly: adding an operation to the
//! spec and rebuilding adds its method to [`Client`] with no other edit. The types in
//! [`types`] derive `schemars::JsonSchema`, so bodies can be checked against the spec.
//!
//! Build a raw client that shares the wrapper's configured connection pool and auth with
//! [`crate::Client::raw`].
#![allow(missing_docs, clippy::all, clippy::pedantic, unused_imports)]

include!(concat!(env!("OUT_DIR"), "/ecwid_inventory_generated.rs"));
