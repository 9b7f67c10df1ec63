//! Routing: which endpoint a request calls, who calls it (the bearer token, its rate limit, its
//! store and scopes), and what it asks (query flags, JSON body), before the state acts on it.
//!
//! The same [`State::execute`] serves a REST request and a request carried by a batch.

use hyper::StatusCode;
use serde_json::Value;

use super::answer::Answer;
use super::auth::{bearer, Scope};
use super::catalog::Target;
use super::faults::Route;
use super::records::{Origin, RequestId};
use super::state::{Config, State};
use ecwid_inventory::generated::types::StockUpdate;
use ecwid_inventory::{CombinationId, ProductId, StockItem, StoreId};

/// A known endpoint, read from a path.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Endpoint {
    VariationInventory(Target),
    ProductInventory(Target),
    /// `/products`: the search.
    Products(StoreId),
    /// `/products/{productId}`: get, or set the stock.
    Product(Target),
    /// `/products/{productId}/combinations`: list the product's variations.
    Variations(Target),
    /// `/products/{productId}/combinations/{combinationId}`: get, or set the stock.
    Variation(Target),
    Batch(StoreId),
}

impl Endpoint {
    /// Reads a full path such as `/api/v3/1003/products/1/inventory`.
    pub(crate) fn from_api_path(path: &str) -> Option<Self> {
        let rest = path.strip_prefix("/api/v3/")?;
        let (store, rest) = rest.split_once('/')?;
        Self::from_store_path(StoreId::new(parse_id(store)?), &format!("/{rest}"))
    }

    /// Reads a path relative to a store, such as `/products/1/inventory` (a batch item's).
    pub(crate) fn from_store_path(store: StoreId, path: &str) -> Option<Self> {
        let segments: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
        let product = |id: &str| -> Option<Target> {
            Some(Target {
                store,
                item: StockItem::Product {
                    product: ProductId::new(parse_id(id)?),
                },
            })
        };
        let variation = |product: &str, combination: &str| -> Option<Target> {
            Some(Target {
                store,
                item: StockItem::Variation {
                    product: ProductId::new(parse_id(product)?),
                    combination: CombinationId::new(parse_id(combination)?),
                },
            })
        };
        match segments.as_slice() {
            ["products"] => Some(Endpoint::Products(store)),
            ["products", id] => product(id).map(Endpoint::Product),
            ["products", id, "combinations"] => product(id).map(Endpoint::Variations),
            ["products", id, "combinations", combination] => {
                variation(id, combination).map(Endpoint::Variation)
            }
            ["products", id, "inventory"] => product(id).map(Endpoint::ProductInventory),
            ["products", id, "combinations", combination, "inventory"] => {
                variation(id, combination).map(Endpoint::VariationInventory)
            }
            ["batch"] => Some(Endpoint::Batch(store)),
            _ => None,
        }
    }

    pub(crate) fn store(self) -> StoreId {
        match self {
            Endpoint::VariationInventory(target)
            | Endpoint::ProductInventory(target)
            | Endpoint::Product(target)
            | Endpoint::Variations(target)
            | Endpoint::Variation(target) => target.store,
            Endpoint::Products(store) | Endpoint::Batch(store) => store,
        }
    }

    /// The route faults are scripted by (`None`: a method the endpoint does not serve, which
    /// only [`Route::Any`] matches).
    pub(crate) fn route(self, method: &str) -> Option<Route> {
        match (self, method) {
            (Endpoint::VariationInventory(_), _) => Some(Route::VariationInventory),
            (Endpoint::ProductInventory(_), _) => Some(Route::ProductInventory),
            (Endpoint::Products(_), "GET") => Some(Route::SearchProducts),
            (Endpoint::Product(_), "GET") => Some(Route::GetProduct),
            (Endpoint::Product(_), "PUT") => Some(Route::UpdateProductStock),
            (Endpoint::Variations(_), "GET") => Some(Route::ListVariations),
            (Endpoint::Variation(_), "GET") => Some(Route::GetVariation),
            (Endpoint::Variation(_), "PUT") => Some(Route::UpdateVariationStock),
            (Endpoint::Batch(_), "POST") => Some(Route::BatchCreate),
            (Endpoint::Batch(_), "GET") => Some(Route::BatchStatus),
            (
                Endpoint::Products(_)
                | Endpoint::Product(_)
                | Endpoint::Variations(_)
                | Endpoint::Variation(_),
                _,
            )
            | (Endpoint::Batch(_), _) => None,
        }
    }

    fn allowed_methods(self) -> &'static [&'static str] {
        match self {
            Endpoint::VariationInventory(_) | Endpoint::ProductInventory(_) => &["PUT"],
            Endpoint::Products(_) | Endpoint::Variations(_) => &["GET"],
            Endpoint::Product(_) | Endpoint::Variation(_) => &["GET", "PUT"],
            Endpoint::Batch(_) => &["GET", "POST"],
        }
    }
}

/// Ids are decimal digits only (no sign, no spaces), as in Ecwid's URLs.
pub(crate) fn parse_id(segment: &str) -> Option<u64> {
    if segment.is_empty() || !segment.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    segment.parse().ok()
}

/// A request's body, as the HTTP layer or a batch item carries it.
pub(crate) enum Body<'a> {
    /// Raw bytes with the request's `Content-Type`, checked before the body is read.
    Http {
        content_type: Option<&'a str>,
        bytes: &'a [u8],
    },
    /// A batch item's JSON body (always JSON: there is no content type to get wrong).
    Json(Value),
}

/// Who is asking, once authenticated.
pub(crate) struct Caller {
    /// The token's index in the configuration.
    pub(crate) token: usize,
    /// What a change this request applies is recorded as coming from.
    pub(crate) origin: Origin,
}

/// The parts of an HTTP request the Ecwid logic reads.
pub(crate) struct HttpRequest<'a> {
    pub(crate) id: RequestId,
    pub(crate) method: &'a str,
    pub(crate) path: &'a str,
    pub(crate) query: Option<&'a str>,
    pub(crate) authorization: Option<&'a str>,
    pub(crate) content_type: Option<&'a str>,
    pub(crate) body: &'a [u8],
}

impl State {
    /// Handles one HTTP request, in this order: route (404, 405), token (403), rate limit
    /// (429), then [`State::execute`].
    pub(crate) fn handle_http(&mut self, config: &Config, request: HttpRequest<'_>) -> Answer {
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
                let now = self.now();
                let created = self.batches.create(
                    store,
                    caller.token,
                    caller.origin.request(),
                    &query,
                    value,
                    now,
                );
                if created.is_ok() {
                    if let Some(waker) = config.batch_wakers.get(&store) {
                        waker.notify_one();
                    }
                }
                created.unwrap_or_else(|answer| answer)
            }
            (Endpoint::Batch(store), "GET") => self.batches.status(store, &query),
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
    }
}

/// Reads a JSON body: 415 for another content type, 400 for what is not JSON.
fn read_json(body: Body<'_>) -> Result<Value, Answer> {
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

/// A decoded query string.
#[derive(Debug, Default)]
pub(crate) struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// Decodes `application/x-www-form-urlencoded` pairs. A malformed escape (`%` not followed
    /// by two hex digits) or a name or value that is not UTF-8 once decoded is
    /// `WRONG_PARAMETER`, as a servlet container would refuse it, rather than read as
    /// something the caller did not send.
    pub(crate) fn parse(query: Option<&str>) -> Result<Self, Answer> {
        let query = query.unwrap_or("");
        let malformed = || Answer::wrong_parameter(format!("Malformed query string {query}"));
        if !escapes_are_well_formed(query) {
            return Err(malformed());
        }
        let mut pairs = Vec::new();
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            // form_urlencoded decodes lossily: a replacement character marks bytes that were
            // not UTF-8.
            if name.contains(char::REPLACEMENT_CHARACTER)
                || value.contains(char::REPLACEMENT_CHARACTER)
            {
                return Err(malformed());
            }
            pairs.push((name.into_owned(), value.into_owned()));
        }
        Ok(Query { pairs })
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// A boolean flag: `true` or `false`, anything else is `WRONG_PARAMETER`.
    pub(crate) fn flag(&self, name: &str) -> Result<Option<bool>, Answer> {
        match self.get(name) {
            None => Ok(None),
            Some(value) if value.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(value) if value.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(value) => Err(Answer::wrong_parameter(format!(
                "{name} must be true or false, not {value:?}"
            ))),
        }
    }
}

/// Whether every `%` starts an escape of two hex digits.
fn escapes_are_well_formed(query: &str) -> bool {
    query.split('%').skip(1).all(|escape| {
        escape
            .as_bytes()
            .get(..2)
            .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_read_strictly() {
        assert!(matches!(
            Endpoint::from_api_path("/api/v3/1003/products/7/combinations/9/inventory"),
            Some(Endpoint::VariationInventory(Target {
                store,
                item: StockItem::Variation { product, combination }
            })) if store.get() == 1003 && product.get() == 7 && combination.get() == 9
        ));
        assert!(matches!(
            Endpoint::from_api_path("/api/v3/1003/batch"),
            Some(Endpoint::Batch(_))
        ));
        assert!(matches!(
            Endpoint::from_api_path("/api/v3/1003/products"),
            Some(Endpoint::Products(_))
        ));
        assert!(matches!(
            Endpoint::from_api_path("/api/v3/1003/products/7"),
            Some(Endpoint::Product(Target { item: StockItem::Product { product }, .. }))
                if product.get() == 7
        ));
        assert!(matches!(
            Endpoint::from_api_path("/api/v3/1003/products/7/combinations"),
            Some(Endpoint::Variations(Target { item: StockItem::Product { product }, .. }))
                if product.get() == 7
        ));
        assert!(matches!(
            Endpoint::from_api_path("/api/v3/1003/products/7/combinations/9"),
            Some(Endpoint::Variation(Target {
                item: StockItem::Variation { product, combination }, ..
            })) if product.get() == 7 && combination.get() == 9
        ));
        for path in [
            "/api/v3/1003/products/7/inventory/",
            "/api/v3/x/products/7/inventory",
            "/api/v3/1003/products/+7/inventory",
            "/api/v2/1003/products/7/inventory",
            "/api/v3/1003",
            "/api/v3/1003/products/",
            "/api/v3/1003/products/7/combinations/",
            "/api/v3/1003/products/x/combinations",
            "/api/v3/1003/products/x/combinations/9",
        ] {
            assert!(Endpoint::from_api_path(path).is_none(), "{path}");
        }
    }

    #[test]
    fn query_flags() {
        let query = Query::parse(Some("a=true&b=FALSE&c=yes&d%20e=x%2By+z")).unwrap();
        assert_eq!(query.flag("a").unwrap(), Some(true));
        assert_eq!(query.flag("b").unwrap(), Some(false));
        assert!(query.flag("c").is_err());
        assert_eq!(query.flag("missing").unwrap(), None);
        assert_eq!(query.get("d e"), Some("x+y z"));
        assert_eq!(
            Query::parse(Some("e=%C3%A9&&f")).unwrap().get("e"),
            Some("é")
        );
        for malformed in ["a=%zz", "a=%2", "a=%", "a=%FF"] {
            assert!(Query::parse(Some(malformed)).is_err(), "{malformed}");
        }
    }

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
