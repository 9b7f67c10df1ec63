//! The client's configuration: the same variables as `Client::from_env` (`ECWID_STORE_ID`,
//! `ECWID_TOKEN`, `ECWID_API_URL`), each overridden by its flag (`--store`, `--token-file`,
//! `--api-url`). Every error is one line naming the variable or flag at fault, and never
//! quotes a value: a token put in the wrong variable would show.

use std::path::Path;

use ecwid_inventory::{settings::DEFAULT_BASE_URL, Client, Error, StoreId};

use crate::{args::Global, exit::Fail};

/// A variable's value; unset, empty and blank are the same (as for `Client::from_env`).
fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The client for `global`'s settings, checked before anything is sent.
pub fn client(global: &Global) -> Result<Client, Fail> {
    let (store, store_from) = match &global.store {
        Some(store) => (store.clone(), "--store"),
        None => (
            var("ECWID_STORE_ID")
                .ok_or_else(|| Fail::bad_input("ECWID_STORE_ID is not set (or pass --store ID)"))?,
            "ECWID_STORE_ID",
        ),
    };
    let store = store
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|&id| id > 0)
        .ok_or_else(|| {
            Fail::bad_input(format!(
                "{store_from} is not a store id (a whole number above 0)"
            ))
        })?;

    let (token, token_from) = match &global.token_file {
        Some(path) => (read_token(path)?, "--token-file"),
        None => (
            var("ECWID_TOKEN").ok_or_else(|| {
                Fail::bad_input("ECWID_TOKEN is not set (or pass --token-file PATH)")
            })?,
            "ECWID_TOKEN",
        ),
    };

    let (url, url_from) = match (&global.api_url, var("ECWID_API_URL")) {
        (Some(url), _) => (url.clone(), "--api-url"),
        (None, Some(url)) => (url, "ECWID_API_URL"),
        (None, None) => (DEFAULT_BASE_URL.to_owned(), "the default API URL"),
    };

    Client::builder(StoreId::new(store), token)
        .base_url(url)
        .build()
        .map_err(|error| match error {
            // The builder's checks say which setting they refused; the user needs to know
            // which variable or flag held it.
            Error::Config(message) if message.starts_with("the base URL") => {
                Fail::bad_input(format!("{url_from}: {message}"))
            }
            Error::Config(message) if message.starts_with("the API token") => {
                Fail::bad_input(format!("{token_from}: {message}"))
            }
            other => Fail::from(other),
        })
}

/// The token in `path`, without the line break an editor leaves after it.
fn read_token(path: &Path) -> Result<String, Fail> {
    let shown = path.display();
    let token = std::fs::read_to_string(path)
        .map_err(|error| Fail::bad_input(format!("--token-file {shown}: {error}")))?;
    let token = token.trim();
    if token.is_empty() {
        return Err(Fail::bad_input(format!("--token-file {shown} is empty")));
    }
    Ok(token.to_owned())
}
