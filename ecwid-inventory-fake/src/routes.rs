//! Routing: the checks every API request passes, in order (the endpoint and method, the bearer
//! token, its rate limit, its store and scopes, its query flags and JSON body), before the state
//! acts on it; a request under `/storefront` goes to the storefront instead.
//!
//! The same [`State::execute`] serves a REST request and a request carried by a batch.

use hyper::StatusCode;
use serde_json::Value;

use super::answer::Answer;
use super::auth::{bearer, Scope};
use super::config::Config;
use super::records::Origin;
use super::request::{Body, Caller, Endpoint, HttpRequest, Query};
use super::state::State;
use ecwid_inventory::generated::types::StockUpdate;

impl State {
    /// Handles one HTTP request, in this order: route (404, 405), token (403), rate limit
    /// (429), then [`State::execute`].
    pub(crate) fn handle_http(&mut self, config: &Config, request: HttpRequest<'_>) -> Answer {
        // The fake's own storefront, outside the API: no token, no rate limit.
        if request.path.starts_with("/storefront/") {
            return self.handle_storefront(&request);
        }
        let Some(endpoint) = Endpoint::from_api_path(request.path) else {
            return Answer::error(
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                format!("No API endpoint at {}", request.path),
            );
        };
        let allowed = endpoint.allowed_methods();
        if !allowed.contains(&request.method) {
            let mut answer = Answer::error(
                StatusCode::METHOD_NOT_ALLOWED,
                "METHOD_NOT_ALLOWED",
                format!("{} is not supported here", request.method),
            );
            answer.headers.push(("allow", allowed.join(", ")));
            return answer;
        }
        // Only the Authorization header counts: Ecwid refuses tokens in the query string.
        let presented = request.authorization.and_then(bearer);
        let Some(token) =
            presented.and_then(|presented| config.tokens.iter().position(|t| t.matches(presented)))
        else {
            return Answer::error(
                StatusCode::FORBIDDEN,
                "INVALID_API_TOKEN",
                "Invalid or missing access token",
            );
        };
        if let Some(limit) = config.rate_limit {
            let now = self.now();
            if let Err(seconds) = self.windows.entry(token).or_default().admit(now, limit) {
                let mut answer = Answer::error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "RATE_LIMITED",
                    format!(
                        "Too many requests: at most {} per {:?} per token",
                        limit.requests(),
                        limit.per()
                    ),
                );
                answer.headers.push(("retry-after", seconds.to_string()));
                return answer;
            }
        }
        let body = Body::Http {
            content_type: request.content_type,
            bytes: request.body,
        };
        let caller = Caller {
            token,
            origin: Origin::Request(request.id),
        };
        self.execute(
            config,
            &caller,
            request.method,
            endpoint,
            request.query,
            body,
        )
    }

    /// Executes an authenticated request: store (404), token's store (403), scopes (403), then
    /// the endpoint itself.
    pub(crate) fn execute(
        &mut self,
        config: &Config,
        caller: &Caller,
        method: &str,
        endpoint: Endpoint,
        query: Option<&str>,
        body: Body<'_>,
    ) -> Answer {
        let store = endpoint.store();
        if !self.catalog.has_store(store) {
            return Answer::error(
                StatusCode::NOT_FOUND,
                "STORE_NOT_FOUND",
                format!("Store {store} not found"),
            );
        }
        let token = &config.tokens[caller.token];
        if token.store != store {
            return Answer::error(
                StatusCode::FORBIDDEN,
                "INVALID_API_TOKEN",
                format!("The access token is not valid for store {store}"),
            );
        }
        let needed: &[Scope] = match (endpoint, method) {
            (
                Endpoint::Products(_)
                | Endpoint::Product(_)
                | Endpoint::Variations(_)
                | Endpoint::Variation(_),
                "GET",
            ) => &[Scope::ReadCatalog],
            (Endpoint::VariationInventory(_) | Endpoint::Variation(_), _) => {
                &[Scope::ReadCatalog, Scope::UpdateCatalog]
            }
            (
                Endpoint::ProductInventory(_)
                | Endpoint::Product(_)
                | Endpoint::Products(_)
                | Endpoint::Variations(_),
                _,
            ) => &[Scope::UpdateCatalog],
            // A batch needs no scope of its own: each of its requests is checked when it runs.
            (Endpoint::Batch(_), _) => &[],
            (Endpoint::Orders(_) | Endpoint::Order(..), _) => &[Scope::ReadOrders],
        };
        if let Some(missing) = needed.iter().find(|&&scope| !token.may(scope)) {
            return Answer::error(
                StatusCode::FORBIDDEN,
                "INSUFFICIENT_APP_SCOPE",
                format!("The access token lacks the {} scope", scope_name(*missing)),
            );
        }
        if matches!((endpoint, &body), (Endpoint::Batch(_), Body::Json(_))) {
            return Answer::wrong_parameter("A batch cannot carry batch requests");
        }
        let query = match Query::parse(query) {
            Ok(query) => query,
            Err(answer) => return answer,
        };
        match (endpoint, method) {
            (Endpoint::VariationInventory(target) | Endpoint::ProductInventory(target), "PUT") => {
                let check = match query.flag("checkLowStockNotification") {
                    Ok(check) => check.unwrap_or(false),
                    Err(answer) => return answer,
                };
                let delta = match read_json(body).and_then(|value| quantity_delta(&value)) {
                    Ok(delta) => delta,
                    Err(answer) => return answer,
                };
                self.adjust(target, delta, check, caller.origin.clone())
            }
            (Endpoint::Products(store), "GET") => self.search_products(store, &query),
            (Endpoint::Product(target), "GET") => self.get_product(target, &query),
            (Endpoint::Variations(target), "GET") => self.list_variations(target, &query),
            (Endpoint::Variation(target), "GET") => self.get_variation(target, &query),
            (Endpoint::Product(target) | Endpoint::Variation(target), "PUT") => {
                match read_json(body).and_then(|value| stock_update(&value)) {
                    Ok(update) => self.set(target, update, caller.origin.clone()),
                    Err(answer) => answer,
                }
            }
            (Endpoint::Batch(store), "POST") => {
                let value = match read_json(body) {
                    Ok(value) => value,
                    Err(answer) => return answer,
                };
                let Some(created_by) = caller.origin.request() else {
                    return Answer::wrong_parameter("A batch cannot carry batch requests");
                };
                let now = self.now();
                let created =
                    self.batches
                        .create(store, caller.token, created_by, &query, value, now);
                if created.is_ok() {
                    if let Some(waker) = config.batch_wakers.get(&store) {
                        waker.notify_one();
                    }
                }
                created.unwrap_or_else(|answer| answer)
            }
            (Endpoint::Batch(store), "GET") => self.batches.status(store, &query),
            (Endpoint::Orders(store), "GET") => self.search_orders(store, &query),
            (Endpoint::Order(store, order), "GET") => self.get_order(store, order, &query),
            _ => Answer::error(
                StatusCode::METHOD_NOT_ALLOWED,
                "METHOD_NOT_ALLOWED",
                format!("{method} is not supported here"),
            ),
        }
    }
}

fn scope_name(scope: Scope) -> &'static str {
    match scope {
        Scope::ReadCatalog => "read_catalog",
        Scope::UpdateCatalog => "update_catalog",
        Scope::ReadOrders => "read_orders",
    }
}

/// Reads a JSON body: 415 for another content type, 400 for what is not JSON.
pub(crate) fn read_json(body: Body<'_>) -> Result<Value, Answer> {
    match body {
        Body::Json(value) => Ok(value),
        Body::Http {
            content_type,
            bytes,
        } => {
            let is_json = content_type
                .and_then(|value| value.split(';').next())
                .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
            if !is_json {
                return Err(Answer::error(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "UNSUPPORTED_MEDIA_TYPE",
                    "The body must be sent as application/json",
                ));
            }
            serde_json::from_slice(bytes).map_err(|error| {
                Answer::wrong_parameter(format!("The body is not valid JSON: {error}"))
            })
        }
    }
}

/// `quantityDelta`: required, an integer within Ecwid's 32 bits.
fn quantity_delta(body: &Value) -> Result<i32, Answer> {
    let field = body
        .get("quantityDelta")
        .ok_or_else(|| Answer::wrong_parameter("quantityDelta is required"))?;
    field
        .as_i64()
        .and_then(|delta| i32::try_from(delta).ok())
        .ok_or_else(|| {
            Answer::wrong_parameter(format!(
                "quantityDelta must be a 32-bit integer, not {field}"
            ))
        })
}

/// A set's body: `quantity` (an integer from 0 to `i32::MAX`) and `unlimited` (a boolean),
/// both optional and never `null`. Other fields are ignored: Ecwid's product has many the fake
/// does not model.
fn stock_update(body: &Value) -> Result<StockUpdate, Answer> {
    let Some(object) = body.as_object() else {
        return Err(Answer::wrong_parameter("The body must be a JSON object"));
    };
    // serde reads an explicit null as "not sent"; Ecwid's fields are a number and a boolean.
    for name in ["quantity", "unlimited"] {
        if object.get(name).is_some_and(Value::is_null) {
            return Err(Answer::wrong_parameter(format!("{name} must not be null")));
        }
    }
    let update: StockUpdate = serde_json::from_value(body.clone()).map_err(|error| {
        Answer::wrong_parameter(format!(
            "quantity must be an integer from 0 to {} and unlimited a boolean: {error}",
            i32::MAX
        ))
    })?;
    if let Some(quantity) = update.quantity.filter(|&quantity| quantity < 0) {
        return Err(Answer::wrong_parameter(format!(
            "quantity must not be negative, not {quantity}"
        )));
    }
    Ok(update)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_take_a_count_within_32_bits_or_unlimited() {
        let read = |body: &str| stock_update(&serde_json::from_str(body).unwrap());
        let update = read(r#"{"quantity": 2147483647, "name": "ignored"}"#).unwrap();
        assert_eq!((update.quantity, update.unlimited), (Some(i32::MAX), None));
        let update = read(r#"{"unlimited": false}"#).unwrap();
        assert_eq!((update.quantity, update.unlimited), (None, Some(false)));
        assert!(read("{}").is_ok());
        for body in [
            r#"{"quantity": -1}"#,
            r#"{"quantity": 2147483648}"#,
            r#"{"quantity": 1.5}"#,
            r#"{"quantity": "1"}"#,
            r#"{"quantity": null}"#,
            r#"{"unlimited": "true"}"#,
            r#"{"unlimited": null}"#,
            r#"[1, true]"#,
        ] {
            assert!(read(body).is_err(), "{body}");
        }
    }

    #[test]
    fn deltas_must_be_32_bit_integers() {
        let read = |body: &str| quantity_delta(&serde_json::from_str(body).unwrap());
        assert_eq!(read(r#"{"quantityDelta": -5}"#).unwrap(), -5);
        for body in [
            r#"{}"#,
            r#"{"quantityDelta": 1.5}"#,
            r#"{"quantityDelta": "1"}"#,
            r#"{"quantityDelta": 2147483648}"#,
            r#"[1]"#,
        ] {
            assert!(read(body).is_err(), "{body}");
        }
    }
}
