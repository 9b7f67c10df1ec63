//! What a request asks, read before anything acts on it: the endpoint its path names, its
//! query string, its body, and who is calling.
//!
//! A REST request and a request carried by a batch are read into the same types, so the same
//! checks serve both.

use serde_json::Value;

use super::answer::Answer;
use super::catalog::Target;
use super::faults::Route;
use super::order_book::OrderRef;
use super::records::{Origin, RequestId};
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
    /// `/orders`: the order search.
    Orders(StoreId),
    /// `/orders/{orderId}`: one order.
    Order(StoreId, OrderRef),
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
            ["orders"] => Some(Endpoint::Orders(store)),
            ["orders", id] if !id.is_empty() => Some(Endpoint::Order(store, OrderRef::parse(id))),
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
            Endpoint::Products(store)
            | Endpoint::Batch(store)
            | Endpoint::Orders(store)
            | Endpoint::Order(store, _) => store,
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
            (Endpoint::Orders(_), "GET") => Some(Route::SearchOrders),
            (Endpoint::Order(..), "GET") => Some(Route::GetOrder),
            (
                Endpoint::Products(_)
                | Endpoint::Product(_)
                | Endpoint::Variations(_)
                | Endpoint::Variation(_),
                _,
            )
            | (Endpoint::Batch(_) | Endpoint::Orders(_) | Endpoint::Order(..), _) => None,
        }
    }

    pub(crate) fn allowed_methods(self) -> &'static [&'static str] {
        match self {
            Endpoint::VariationInventory(_) | Endpoint::ProductInventory(_) => &["PUT"],
            Endpoint::Products(_)
            | Endpoint::Variations(_)
            | Endpoint::Orders(_)
            | Endpoint::Order(..) => &["GET"],
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
}
