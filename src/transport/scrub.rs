//! The token scrub: a server (or a proxy) may repeat the request's `Authorization` value in
//! its answer. Whatever the wrapper builds from an answer is scrubbed first by one
//! [`Redactor`]: a success value's strings after parsing ([`Scrub`], which costs a search and
//! no allocation when no secret is there), and every part of an error answer (its JSON fields,
//! its text, the parse error that may quote it) before an [`Error`](crate::Error) is built. So
//! no error, outcome, saved plan or log line can show the token, and the common answer, which
//! carries no secret, is not copied. [`crate::Client::raw`]'s callers get the generated
//! client's own values, which the wrapper does not see: for them the hook scrubs each whole
//! body as it arrives ([`Redactor::scrub_response`]).

use std::{
    collections::HashMap,
    pin::Pin,
    task::{Context, Poll},
};

use bytes::Bytes;
use secrecy::{ExposeSecret, SecretString};

use crate::generated::types;

/// Removes the API token from what a server sends back.
pub(crate) struct Redactor {
    /// The token in each form an answer may carry it, longest first (so that no form is cut
    /// up by a shorter one replaced before it).
    secrets: Vec<SecretString>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Redactor([redacted])")
    }
}

/// What a scrubbed secret is replaced with.
const REDACTED: &[u8] = b"[redacted]";

impl Redactor {
    pub(crate) fn new(token: &SecretString) -> Self {
        let token = token.expose_secret();
        // Inside a JSON string, as a batch item's `escapedHttpBody` still carries it once
        // parsed: `"` and `\` escaped, and `/` as `\/` by the encoders that do.
        let escaped = serde_json::Value::from(token).to_string();
        let escaped = escaped[1..escaped.len() - 1].to_owned();
        Self::from_forms(vec![
            token.to_owned(),
            // As a URL or a form would carry it.
            form_urlencoded::byte_serialize(token.as_bytes()).collect(),
            escaped.replace('/', "\\/"),
            escaped,
        ])
    }

    fn from_forms(mut forms: Vec<String>) -> Self {
        forms.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        forms.dedup();
        Self {
            secrets: forms.into_iter().map(SecretString::from).collect(),
        }
    }

    /// Whether `text` holds a secret.
    pub(crate) fn finds_in(&self, text: &str) -> bool {
        self.secrets
            .iter()
            .any(|secret| find(text.as_bytes(), secret.expose_secret().as_bytes()).is_some())
    }

    /// `text` with every secret replaced, or `None`, having allocated nothing, when it holds
    /// none. Whole UTF-8 secrets replaced in UTF-8 text leave UTF-8 text.
    fn scrubbed(&self, text: &[u8]) -> Option<Vec<u8>> {
        let mut scrubbed: Option<Vec<u8>> = None;
        for secret in &self.secrets {
            let secret = secret.expose_secret().as_bytes();
            let current = scrubbed.as_deref().unwrap_or(text);
            let Some(first) = find(current, secret) else {
                continue;
            };
            let mut out = Vec::with_capacity(current.len());
            let (mut rest, mut at) = (current, Some(first));
            while let Some(found) = at {
                out.extend_from_slice(&rest[..found]);
                out.extend_from_slice(REDACTED);
                rest = &rest[found + secret.len()..];
                at = find(rest, secret);
            }
            out.extend_from_slice(rest);
            scrubbed = Some(out);
        }
        scrubbed
    }

    /// `bytes` with every secret replaced; the same bytes when none is there.
    fn scrub(&self, bytes: Bytes) -> Bytes {
        self.scrubbed(&bytes).map_or(bytes, Bytes::from)
    }

    /// The response with its body read and scrubbed. A body that cannot be read stays a body
    /// that fails to read, with the same error, so the error mapping sees what it saw before.
    ///
    /// The head is moved over as it is; the rebuilt response has no URL, which nothing reads
    /// (a body read from memory cannot fail, and the original error keeps its own).
    pub(super) async fn scrub_response(
        &self,
        mut response: reqwest::Response,
    ) -> reqwest::Response {
        let mut head = http::Response::new(());
        *head.status_mut() = response.status();
        *head.version_mut() = response.version();
        *head.headers_mut() = std::mem::take(response.headers_mut());
        let body = match response.bytes().await {
            Ok(bytes) => reqwest::Body::from(self.scrub(bytes)),
            Err(error) => reqwest::Body::wrap_stream(Failed(Some(error))),
        };
        reqwest::Response::from(head.map(|()| body))
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || needle.len() > haystack.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A value read from an answer, whose strings a server filled: each may repeat the token.
///
/// Implemented for every answer type the wrapper receives ([`crate::Client`]'s pipeline takes
/// no other), listing each string it holds; a test built from each type's JSON schema fails
/// when a string is left out, so a field added to the spec cannot slip through.
pub(crate) trait Scrub {
    /// Replaces every secret `redactor` knows in the value's strings; allocates only where
    /// one is found.
    fn scrub(&mut self, redactor: &Redactor);
}

impl Scrub for String {
    fn scrub(&mut self, redactor: &Redactor) {
        if let Some(clean) = redactor.scrubbed(self.as_bytes()) {
            *self = String::from_utf8_lossy(&clean).into_owned();
        }
    }
}

impl<T: Scrub> Scrub for Option<T> {
    fn scrub(&mut self, redactor: &Redactor) {
        if let Some(value) = self {
            value.scrub(redactor);
        }
    }
}

impl<T: Scrub> Scrub for Vec<T> {
    fn scrub(&mut self, redactor: &Redactor) {
        for value in self {
            value.scrub(redactor);
        }
    }
}

impl Scrub for serde_json::Value {
    fn scrub(&mut self, redactor: &Redactor) {
        match self {
            serde_json::Value::String(text) => text.scrub(redactor),
            serde_json::Value::Array(values) => values.scrub(redactor),
            serde_json::Value::Object(map) => map.scrub(redactor),
            serde_json::Value::Null | serde_json::Value::Bool(_) | serde_json::Value::Number(_) => {
            }
        }
    }
}

impl Scrub for serde_json::Map<String, serde_json::Value> {
    fn scrub(&mut self, redactor: &Redactor) {
        // Keys are strings a server chose too; they cannot be changed in place.
        if self.keys().any(|key| redactor.finds_in(key)) {
            *self = scrub_keys(std::mem::take(self), redactor);
        }
        for value in self.values_mut() {
            value.scrub(redactor);
        }
    }
}

impl Scrub for HashMap<String, String> {
    fn scrub(&mut self, redactor: &Redactor) {
        if self.keys().any(|key| redactor.finds_in(key)) {
            *self = scrub_keys(std::mem::take(self), redactor);
        }
        for value in self.values_mut() {
            value.scrub(redactor);
        }
    }
}

fn scrub_keys<V, M>(map: M, redactor: &Redactor) -> M
where
    M: IntoIterator<Item = (String, V)> + FromIterator<(String, V)>,
{
    map.into_iter()
        .map(|(mut key, value)| {
            key.scrub(redactor);
            (key, value)
        })
        .collect()
}

/// [`Scrub`] for the generated answer types, naming the fields that hold strings (alone, or
/// in options, lists, maps and nested answers); their other fields are numbers, flags and
/// enums. The same list is the schema test's.
macro_rules! scrub_answers {
    ($($answer:ident { $($field:ident),* $(,)? })*) => {
        $(
            impl Scrub for types::$answer {
                fn scrub(&mut self, redactor: &Redactor) {
                    $(self.$field.scrub(redactor);)*
                }
            }
        )*

        /// Every answer type with a [`Scrub`], for the schema test.
        #[cfg(test)]
        const SCRUBBED_ANSWERS: &[(&str, fn(&str))] = &[
            $((stringify!($answer), tests::scrubs_every_string::<types::$answer>),)*
        ];
    };
}

scrub_answers! {
    StockUpdateResult { warning }
    ProductPage { items }
    ProductStock { combinations, sku, updated }
    VariationStock { sku }
    BatchTicket { ticket }
    BatchStatus { responses }
    BatchResponseItem { escaped_http_body, http_body, http_status_line, id }
    EcwidError { args, error_code, error_message, extra }
}

/// A body stream that yields the error reading the original body met.
struct Failed(Option<reqwest::Error>);

impl futures_core::Stream for Failed {
    type Item = Result<Bytes, reqwest::Error>;

    fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Poll::Ready(self.0.take().map(Err))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "secret_a/b+c";

    fn redactor() -> Redactor {
        Redactor::new(&SecretString::from(SECRET.to_owned()))
    }

    #[test]
    fn scrubs_every_occurrence_of_the_token_and_its_encoded_form() {
        let redactor = redactor();
        let body = Bytes::from_static(
            b"{\"m\":\"Bearer secret_a/b+c, again secret_a/b+csecret_a/b+c, url secret_a%2Fb%2Bc\"}",
        );
        let scrubbed = redactor.scrub(body);
        assert_eq!(
            scrubbed,
            Bytes::from_static(
                b"{\"m\":\"Bearer [redacted], again [redacted][redacted], url [redacted]\"}"
            )
        );
        let clean = Bytes::from_static(b"{\"updateCount\":1}");
        assert_eq!(redactor.scrub(clean.clone()), clean);
        assert!(redactor.finds_in("x secret_a%2Fb%2Bc"));
        assert!(!redactor.finds_in("secret_a"));
        assert!(!format!("{redactor:?}").contains("secret"));
    }

    #[test]
    fn scrubs_the_token_escaped_as_a_json_string_carries_it() {
        let redactor = Redactor::new(&SecretString::from(r#"secret_a/b"c\d"#.to_owned()));
        let mut text = r#"{"m":"secret_a/b\"c\\d and secret_a\/b\"c\\d"}"#.to_owned();
        text.scrub(&redactor);
        assert_eq!(text, r#"{"m":"[redacted] and [redacted]"}"#);
    }

    #[test]
    fn a_clean_string_is_left_where_it_is() {
        let redactor = redactor();
        let mut clean = String::from("Product has negative stock.");
        let buffer = clean.as_ptr();
        clean.scrub(&redactor);
        assert_eq!(clean, "Product has negative stock.");
        assert_eq!(clean.as_ptr(), buffer, "not copied");
        let mut dirty = format!("é {SECRET} ü");
        dirty.scrub(&redactor);
        assert_eq!(dirty, "é [redacted] ü");
    }

    #[test]
    fn map_keys_are_scrubbed_too() {
        let redactor = redactor();
        let mut value = serde_json::json!({SECRET: {"list": [SECRET, 1, null]}, "plain": SECRET});
        value.scrub(&redactor);
        assert_eq!(
            value,
            serde_json::json!({"[redacted]": {"list": ["[redacted]", 1, null]}, "plain": "[redacted]"})
        );
        let mut args = HashMap::from([(SECRET.to_owned(), SECRET.to_owned())]);
        args.scrub(&redactor);
        assert_eq!(
            args,
            HashMap::from([("[redacted]".to_owned(), "[redacted]".to_owned())])
        );
    }

    /// Each answer type, filled from its JSON schema with the secret in every string, every
    /// key of an open map and every value of any type, keeps none of it once scrubbed. A
    /// string field added to the spec but not to [`scrub_answers!`] fails here.
    #[test]
    fn every_string_of_every_answer_is_scrubbed() {
        assert!(SCRUBBED_ANSWERS.len() >= 8);
        for (name, check) in SCRUBBED_ANSWERS {
            check(name);
        }
    }

    pub(super) fn scrubs_every_string<T>(name: &str)
    where
        T: Scrub + serde::de::DeserializeOwned + serde::Serialize + schemars::JsonSchema,
    {
        let schema = schemars::schema_for!(T);
        let schema = schema.as_value();
        let filled = filled(schema, schema, SECRET);
        let mut value: T = serde_json::from_value(filled.clone())
            .unwrap_or_else(|e| panic!("{name}: {filled} does not read: {e}"));
        let before = serde_json::to_string(&value).unwrap();
        assert!(
            before.contains(SECRET),
            "{name}: nothing to scrub in {before}"
        );
        value.scrub(&redactor());
        let after = serde_json::to_string(&value).unwrap();
        assert!(
            !after.contains("secret_a"),
            "{name} keeps the secret: {after}"
        );
        assert!(after.contains("[redacted]"), "{name}: {after}");
    }

    /// A value of `schema` (within `root`, for `$ref`) with `secret` in every string, every
    /// optional field present and one item in every list.
    fn filled(
        schema: &serde_json::Value,
        root: &serde_json::Value,
        secret: &str,
    ) -> serde_json::Value {
        use serde_json::{json, Value};
        // `true` or `{}`: any JSON at all, so a nested object with the secret as key and value.
        let anything = || json!({ secret: [secret] });
        let Some(object) = schema.as_object() else {
            return anything();
        };
        if let Some(Value::String(reference)) = object.get("$ref") {
            let name = reference.trim_start_matches("#/$defs/");
            return filled(&root["$defs"][name], root, secret);
        }
        if let Some(value) = object.get("const") {
            return value.clone();
        }
        if let Some(Value::Array(values)) = object.get("enum") {
            return values[0].clone();
        }
        for key in ["anyOf", "oneOf", "allOf"] {
            if let Some(Value::Array(options)) = object.get(key) {
                let chosen = options
                    .iter()
                    .find(|option| option.get("type") != Some(&json!("null")))
                    .expect("an option that is not null");
                return filled(chosen, root, secret);
            }
        }
        let kind = match object.get("type") {
            Some(Value::String(kind)) => kind.as_str(),
            Some(Value::Array(kinds)) => kinds
                .iter()
                .filter_map(Value::as_str)
                .find(|kind| *kind != "null")
                .expect("a type that is not null"),
            _ => return anything(),
        };
        match kind {
            "string" => json!(secret),
            "integer" => json!(1),
            "number" => json!(1.5),
            "boolean" => json!(true),
            "array" => json!([filled(
                object.get("items").unwrap_or(&json!(true)),
                root,
                secret
            )]),
            "object" => {
                let mut map = serde_json::Map::new();
                if let Some(Value::Object(properties)) = object.get("properties") {
                    for (name, property) in properties {
                        map.insert(name.clone(), filled(property, root, secret));
                    }
                }
                match object.get("additionalProperties") {
                    None | Some(Value::Bool(false)) => {}
                    Some(extra) => {
                        map.insert(secret.to_owned(), filled(extra, root, secret));
                    }
                }
                Value::Object(map)
            }
            other => panic!("a schema type the test does not know: {other}"),
        }
    }
}
