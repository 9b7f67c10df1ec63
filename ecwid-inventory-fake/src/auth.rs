//! The access tokens the fake accepts ([`FakeToken`]), each bound to one store, and the scopes
//! ([`Scope`]) each endpoint needs.
//!
//! A request carries its token as `Authorization: Bearer <token>`, never in the query string;
//! an unknown token, or one of another store, is answered 403 `INVALID_API_TOKEN`, and a
//! missing scope 403 `INSUFFICIENT_APP_SCOPE`. A `public_…` token never writes. Each token has
//! its own rate limit
//! ([`FakeStoreBuilder::rate_limit`](crate::FakeStoreBuilder::rate_limit)). Token values are
//! secrets: the fake never prints, logs or records one, and
//! [`RecordedRequest`](crate::records::RecordedRequest) shows them as `[REDACTED]`.

use std::collections::VecDeque;
use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use tokio::time::Instant;

use ecwid_inventory::{RateLimit, StoreId};

/// An Ecwid access scope the fake checks. Ecwid has many more; one is added when an endpoint
/// the fake serves needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scope {
    /// `read_catalog`: needed by every read (a product, a variation, a product's variations,
    /// the search), and with
    /// `update_catalog` by a variation's adjustment and set.
    ReadCatalog,
    /// `update_catalog`: needed by every write (adjustments and sets).
    UpdateCatalog,
    /// `read_orders`: needed by the order reads (one order, the order search).
    ReadOrders,
}

/// An access token the fake accepts, bound to one store.
///
/// The value is held as a secret: the fake never prints, logs or records it, and `Debug`
/// shows only the store, the kind and the scopes.
///
/// ```
/// use ecwid_inventory_fake::{FakeToken, Scope};
/// use ecwid_inventory::StoreId;
///
/// let writer = FakeToken::secret(StoreId::new(1003), "secret_token");
/// let reader = FakeToken::secret(StoreId::new(1003), "secret_reader").scopes([Scope::ReadCatalog]);
/// let storefront = FakeToken::public(StoreId::new(1003), "public_token");
/// assert!(!format!("{writer:?} {reader:?} {storefront:?}").contains("secret_token"));
/// ```
#[derive(Clone)]
pub struct FakeToken {
    pub(crate) value: SecretString,
    pub(crate) store: StoreId,
    pub(crate) public: bool,
    pub(crate) scopes: Vec<Scope>,
}

impl FakeToken {
    /// A `secret_…` (server-side) token for `store`, with `read_catalog`, `update_catalog` and
    /// `read_orders`.
    ///
    /// As in Ecwid, the kind follows the value: one starting with `public_` is a public token
    /// (see [`FakeToken::public`]) whichever constructor made it.
    pub fn secret(store: StoreId, value: impl Into<String>) -> Self {
        let value = value.into();
        Self {
            public: value.starts_with("public_"),
            value: SecretString::from(value),
            store,
            scopes: vec![Scope::ReadCatalog, Scope::UpdateCatalog, Scope::ReadOrders],
        }
    }

    /// A `public_…` (storefront) token for `store`, with `read_catalog` (not `read_orders`: a
    /// public token reads no orders). As in Ecwid, a public token can never write the catalog:
    /// whatever its scopes, adjustments and sets answer 403 `INSUFFICIENT_APP_SCOPE`.
    pub fn public(store: StoreId, value: impl Into<String>) -> Self {
        Self {
            public: true,
            scopes: vec![Scope::ReadCatalog],
            ..Self::secret(store, value)
        }
    }

    /// Replaces the token's scopes.
    pub fn scopes(mut self, scopes: impl IntoIterator<Item = Scope>) -> Self {
        self.scopes = scopes.into_iter().collect();
        self
    }

    /// The store the token belongs to.
    pub fn store(&self) -> StoreId {
        self.store
    }

    pub(crate) fn matches(&self, presented: &str) -> bool {
        self.value.expose_secret() == presented
    }

    pub(crate) fn may(&self, scope: Scope) -> bool {
        // A public token is refused every write, even if a test gave it update_catalog.
        !(self.public && scope == Scope::UpdateCatalog) && self.scopes.contains(&scope)
    }
}

impl fmt::Debug for FakeToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeToken")
            .field("value", &"[REDACTED]")
            .field("store", &self.store)
            .field("public", &self.public)
            .field("scopes", &self.scopes)
            .finish()
    }
}

/// An `Authorization` value read as `<scheme> <credential>`: `Bearer x` gives `("Bearer", "x")`.
/// The recorded requests scrub the credential whatever the scheme; only a bearer one
/// authenticates.
pub(crate) fn credential(authorization: &str) -> Option<(&str, &str)> {
    let (scheme, credential) = authorization.trim().split_once(' ')?;
    Some((scheme, credential.trim()))
}

/// The token a bearer `Authorization` value presents (the scheme's case does not matter).
pub(crate) fn bearer(authorization: &str) -> Option<&str> {
    credential(authorization)
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token)
}

/// A sliding-window counter of one token's accepted requests.
#[derive(Debug, Default)]
pub(crate) struct Window {
    arrivals: VecDeque<Instant>,
}

impl Window {
    /// Counts a request arriving at `now`, or refuses it with the whole seconds to wait.
    ///
    /// A refused request is not counted: Ecwid documents that requests past the limit are
    /// ignored, so they do not push the window further.
    pub(crate) fn admit(&mut self, now: Instant, limit: RateLimit) -> Result<(), u64> {
        let per = limit.per();
        while self
            .arrivals
            .front()
            .is_some_and(|&first| first + per <= now)
        {
            self.arrivals.pop_front();
        }
        if self.arrivals.len() < limit.requests() as usize {
            self.arrivals.push_back(now);
            return Ok(());
        }
        let frees_at = self.arrivals.front().map_or(now, |&first| first + per);
        let nanos = frees_at.saturating_duration_since(now).as_nanos();
        let seconds = nanos.div_ceil(1_000_000_000).max(1);
        Err(u64::try_from(seconds).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn window_slides_and_refusals_do_not_count() {
        let start = Instant::now();
        let per = Duration::from_secs(10);
        let limit = RateLimit::new(2, per);
        let mut window = Window::default();
        assert_eq!(window.admit(start, limit), Ok(()));
        assert_eq!(
            window.admit(start + Duration::from_millis(2500), limit),
            Ok(())
        );
        // Full: the first arrival frees its place 10 s after it came, rounded up.
        assert_eq!(window.admit(start + Duration::from_secs(1), limit), Err(9));
        assert_eq!(
            window.admit(start + Duration::from_millis(9900), limit),
            Err(1)
        );
        // The refusals were not counted: only the first arrival leaves, and one place opens.
        assert_eq!(window.admit(start + per, limit), Ok(()));
        assert_eq!(
            window.admit(start + per, limit),
            Err(3),
            "the 2.5 s arrival frees its place at 12.5 s"
        );
    }

    #[test]
    fn credentials_are_read_from_one_place() {
        assert_eq!(credential(" Bearer  abc "), Some(("Bearer", "abc")));
        assert_eq!(credential("Basic eHk="), Some(("Basic", "eHk=")));
        assert_eq!(credential("abc"), None);
        assert_eq!(bearer("bearer abc"), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
    }

    #[test]
    fn public_tokens_never_write() {
        let token = FakeToken::public(StoreId::new(1), "public_x")
            .scopes([Scope::ReadCatalog, Scope::UpdateCatalog]);
        assert!(token.may(Scope::ReadCatalog));
        assert!(!token.may(Scope::UpdateCatalog));
        let reader = FakeToken::secret(StoreId::new(1), "secret_x").scopes([Scope::ReadCatalog]);
        assert!(!reader.may(Scope::UpdateCatalog));
        assert!(FakeToken::secret(StoreId::new(1), "secret_x").may(Scope::UpdateCatalog));
        // The value decides, as in Ecwid.
        assert!(!FakeToken::secret(StoreId::new(1), "public_x").may(Scope::UpdateCatalog));
    }
}
