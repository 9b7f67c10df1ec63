//! `responseFields`: the fields a read sends, as a comma list with nested fields in parentheses
//! (`total,items(id,sku,combinations(id,quantity))`), applied to the JSON answer once it has
//! been built from the generated type.
//!
//! The grammar is the spec's `ResponseFields` pattern: names of letters, digits and `_`, no
//! spaces, parentheses nested at most [`MAX_DEPTH`] deep.

use serde_json::Value;

use super::answer::Answer;

/// How deep parentheses may nest: as deep as the spec's answers go (`items(combinations(id))`).
pub(crate) const MAX_DEPTH: usize = 2;

/// A parsed `responseFields`: each field, with the fields to keep inside it when it names some.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Fields(Vec<(String, Option<Fields>)>);

impl Fields {
    /// Reads a `responseFields` value: `None` for an empty one, which asks for every field.
    /// Anything the spec's pattern refuses (an empty name, `()`, an unbalanced parenthesis, a
    /// trailing comma, a space, nesting deeper than [`MAX_DEPTH`]) is `WRONG_PARAMETER`.
    pub(crate) fn parse(list: &str) -> Result<Option<Self>, Answer> {
        if list.is_empty() {
            return Ok(None);
        }
        let malformed = || Answer::wrong_parameter(format!("Malformed responseFields {list:?}"));
        let mut parser = Parser {
            rest: list.as_bytes(),
        };
        let fields = parser.list(0).ok_or_else(malformed)?;
        if !parser.rest.is_empty() {
            return Err(malformed());
        }
        Ok(Some(fields))
    }

    /// Whether an answer cut down to these fields keeps the field at `path`, such as
    /// `["items", "combinations"]`: each step listed, or inside a field kept whole.
    pub(crate) fn keeps(&self, path: &[&str]) -> bool {
        let Some((first, rest)) = path.split_first() else {
            return true;
        };
        self.0.iter().any(|(name, nested)| {
            name == first && nested.as_ref().is_none_or(|nested| nested.keeps(rest))
        })
    }

    /// Keeps only the listed fields of `value`: of an object, its listed keys (nested lists
    /// applied to their values); of an array, of each element. A scalar is left as it is.
    pub(crate) fn apply(&self, value: &mut Value) {
        match value {
            Value::Object(object) => {
                object.retain(|key, _| self.0.iter().any(|(name, _)| name == key));
                for (name, nested) in &self.0 {
                    if let (Some(nested), Some(inner)) = (nested, object.get_mut(name)) {
                        nested.apply(inner);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|item| self.apply(item)),
            _ => {}
        }
    }
}

struct Parser<'a> {
    rest: &'a [u8],
}

impl Parser<'_> {
    fn eat(&mut self, byte: u8) -> bool {
        match self.rest {
            [first, rest @ ..] if *first == byte => {
                self.rest = rest;
                true
            }
            _ => false,
        }
    }

    /// `field (',' field)*`, at least one field, inside `depth` parentheses.
    fn list(&mut self, depth: usize) -> Option<Fields> {
        let mut fields = vec![self.field(depth)?];
        while self.eat(b',') {
            fields.push(self.field(depth)?);
        }
        Some(Fields(fields))
    }

    /// `name ['(' list ')']`.
    fn field(&mut self, depth: usize) -> Option<(String, Option<Fields>)> {
        let length = self
            .rest
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
            .count();
        if length == 0 {
            return None;
        }
        let (name, rest) = self.rest.split_at(length);
        self.rest = rest;
        let name = String::from_utf8(name.to_vec()).expect("ASCII");
        if !self.eat(b'(') {
            return Some((name, None));
        }
        if depth == MAX_DEPTH {
            return None;
        }
        let nested = self.list(depth + 1)?;
        self.eat(b')').then_some((name, Some(nested)))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn nested_lists_filter_objects_and_arrays() {
        let fields = Fields::parse("total,items(id,sku,combinations(id,quantity)),nothing(x)")
            .unwrap()
            .unwrap();
        let mut page = json!({
            "total": 1, "count": 1,
            "items": [{"id": 1, "sku": "A", "quantity": 3,
                       "combinations": [{"id": 2, "sku": "", "quantity": 3, "inStock": true}]}]
        });
        fields.apply(&mut page);
        assert_eq!(
            page,
            json!({"total": 1,
                   "items": [{"id": 1, "sku": "A",
                              "combinations": [{"id": 2, "quantity": 3}]}]})
        );
        // A field without a nested list is kept whole.
        let mut product = json!({"id": 1, "combinations": [{"id": 2, "sku": ""}]});
        Fields::parse("combinations")
            .unwrap()
            .unwrap()
            .apply(&mut product);
        assert_eq!(product, json!({"combinations": [{"id": 2, "sku": ""}]}));
    }

    #[test]
    fn keeps_follows_nested_lists_and_whole_fields() {
        let keeps = |list: &str| {
            Fields::parse(list)
                .unwrap()
                .unwrap()
                .keeps(&["items", "combinations"])
        };
        assert!(keeps("items"));
        assert!(keeps("total,items(id,combinations(id))"));
        assert!(keeps("items(combinations)"));
        assert!(!keeps("total"));
        assert!(!keeps("items(id,sku)"));
        assert!(!keeps("combinations,itemsx(combinations)"));
    }

    #[test]
    fn an_empty_list_asks_for_every_field() {
        assert_eq!(Fields::parse("").unwrap(), None);
    }

    #[test]
    fn lists_nest_two_deep() {
        assert!(Fields::parse("a(b(c))").unwrap().is_some());
        assert!(Fields::parse("a(b(c(d)))").is_err());
    }

    #[test]
    fn malformed_lists_are_refused() {
        for list in [
            " ",
            "id, sku",
            " id",
            "id,",
            ",id",
            "id,,sku",
            "items()",
            "items(id",
            "items(id))",
            "id)",
            "a-b",
            "items(id)x",
            "id sku",
        ] {
            assert!(Fields::parse(list).is_err(), "{list:?}");
        }
    }
}
