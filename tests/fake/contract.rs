//! The fake store against its contract, read from `spec/ecwid-inventory.yaml` itself.
//!
//! For every operation of the spec, requests are built from its parameter and body schemas:
//! values at the edges of each constraint and just past them, wrong types, extra properties,
//! missing required ones, every property at once. Whether a request is valid is decided by the
//! spec's own schemas, never by this file. Against the demo shop (its ids are the spec's
//! examples), with a batch and an order the test makes:
//! - every operation is served: its request as in the spec succeeds (2xx);
//! - a valid request is never refused as malformed (400 `WRONG_PARAMETER`, or 415);
//! - an invalid one gets a 4xx;
//! - every answer's status is one the operation lists, and its body validates against that
//!   status's schema (`$ref`s resolved against the spec's components), and so does every
//!   answer a batch carries.
//!
//! Every disagreement is collected, and the test fails listing them all.

use crate::common;

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use ecwid_inventory_fake::{demo, FakeStore, Sale};
use serde_json::{json, Map, Value};

use common::*;

const SPEC: &str = include_str!("../../spec/ecwid-inventory.yaml");

/// The HTTP methods an OpenAPI path item may hold operations for.
const METHODS: [&str; 4] = ["get", "put", "post", "delete"];

// ---------------------------------------------------------------------------------------------
// The spec

struct Spec {
    doc: Value,
    /// The components, as JSON Schema (see [`json_schema`]), for `$ref`s to resolve against.
    components: Value,
    /// Validators already built, by schema: building one is most of this test's time.
    validators: RefCell<HashMap<String, Rc<jsonschema::Validator>>>,
}

/// One operation, its `$ref`s resolved.
struct Operation {
    id: String,
    method: String,
    path: String,
    parameters: Vec<Parameter>,
    /// The JSON body's schema, and whether the body is required.
    body: Option<(Value, bool)>,
    /// Each listed status, with its JSON body's schema when it has one.
    responses: BTreeMap<u16, Option<Value>>,
}

struct Parameter {
    name: String,
    in_path: bool,
    required: bool,
    schema: Value,
    example: Option<Value>,
}

impl Spec {
    fn load() -> Self {
        let doc: Value = serde_yaml_ng::from_str(SPEC).expect("the spec is YAML");
        let components = json_schema(&doc["components"]);
        Spec {
            doc,
            components,
            validators: RefCell::default(),
        }
    }

    /// Follows `$ref`s (`#/components/...`) to what they name.
    fn resolve<'a>(&'a self, mut value: &'a Value) -> &'a Value {
        while let Some(reference) = value.get("$ref").and_then(Value::as_str) {
            let pointer = reference.strip_prefix('#').expect("a local $ref");
            value = self
                .doc
                .pointer(pointer)
                .unwrap_or_else(|| panic!("{reference} is in the spec"));
        }
        value
    }

    /// A validator for one of the spec's schemas, its `$ref`s resolved against the components.
    fn validator(&self, schema: &Value) -> Rc<jsonschema::Validator> {
        let key = schema.to_string();
        if let Some(validator) = self.validators.borrow().get(&key) {
            return Rc::clone(validator);
        }
        let mut root = json_schema(schema);
        if let Value::Object(root) = &mut root {
            root.insert("components".to_owned(), self.components.clone());
        }
        let validator = Rc::new(
            jsonschema::validator_for(&root).expect("the spec's schemas are valid JSON Schema"),
        );
        self.validators
            .borrow_mut()
            .insert(key, Rc::clone(&validator));
        validator
    }

    fn is_valid(&self, schema: &Value, value: &Value) -> bool {
        self.validator(schema).is_valid(value)
    }

    fn operations(&self) -> Vec<Operation> {
        let paths = self.doc["paths"].as_object().expect("paths");
        let mut operations = Vec::new();
        for (path, item) in paths {
            for method in METHODS {
                let Some(operation) = item.get(method) else {
                    continue;
                };
                operations.push(self.operation(path, method, item, operation));
            }
        }
        operations
    }

    fn operation(&self, path: &str, method: &str, item: &Value, operation: &Value) -> Operation {
        let listed = |value: &Value| value.as_array().cloned().unwrap_or_default();
        let parameters = listed(&item["parameters"])
            .iter()
            .chain(listed(&operation["parameters"]).iter())
            .map(|parameter| {
                let parameter = self.resolve(parameter);
                let schema = parameter["schema"].clone();
                Parameter {
                    name: parameter["name"].as_str().expect("a name").to_owned(),
                    in_path: parameter["in"] == "path",
                    required: parameter["required"] == true,
                    example: parameter
                        .get("example")
                        .or_else(|| self.resolve(&schema).get("example"))
                        .cloned(),
                    schema,
                }
            })
            .collect();
        let body = operation.get("requestBody").map(|body| {
            let body = self.resolve(body);
            let schema = body["content"]["application/json"]["schema"].clone();
            (schema, body["required"] == true)
        });
        let responses = operation["responses"]
            .as_object()
            .expect("responses")
            .iter()
            .map(|(status, response)| {
                let status = status.parse().expect("statuses are numbers");
                let schema = self.resolve(response)["content"]["application/json"]
                    .get("schema")
                    .cloned();
                (status, schema)
            })
            .collect();
        Operation {
            id: operation["operationId"].as_str().expect("an id").to_owned(),
            method: method.to_uppercase(),
            path: path.to_owned(),
            parameters,
            body,
            responses,
        }
    }

    /// The operation a request of a batch calls, by method and path (relative to the store).
    fn operation_for<'a>(
        &self,
        operations: &'a [Operation],
        method: &str,
        path: &str,
    ) -> Option<&'a Operation> {
        let path = path.split('?').next().unwrap_or_default();
        let segments: Vec<&str> = path.split('/').collect();
        operations.iter().find(|operation| {
            let template: Vec<&str> = operation
                .path
                .trim_start_matches("/{storeId}")
                .split('/')
                .collect();
            operation.method == method
                && template.len() == segments.len()
                && template.iter().zip(&segments).all(|(t, s)| {
                    t == s || (t.starts_with('{') && s.bytes().all(|b| b.is_ascii_digit()))
                })
        })
    }
}

/// An OpenAPI 3.0 schema as JSON Schema: an integer's `format` (`int32`, `int64`) becomes the
/// bounds it implies, which OpenAPI states and JSON Schema would not check.
fn json_schema(schema: &Value) -> Value {
    match schema {
        Value::Object(object) => {
            let mut converted: Map<String, Value> = object
                .iter()
                .map(|(key, value)| (key.clone(), json_schema(value)))
                .collect();
            if object.get("type").and_then(Value::as_str) == Some("integer") {
                let (low, high) = match object.get("format").and_then(Value::as_str) {
                    Some("int32") => (i64::from(i32::MIN), i64::from(i32::MAX)),
                    Some("int64") => (i64::MIN, i64::MAX),
                    _ => return Value::Object(converted),
                };
                let minimum = object.get("minimum").and_then(Value::as_i64);
                let maximum = object.get("maximum").and_then(Value::as_i64);
                converted.insert("minimum".into(), json!(minimum.map_or(low, |m| m.max(low))));
                converted.insert(
                    "maximum".into(),
                    json!(maximum.map_or(high, |m| m.min(high))),
                );
            }
            Value::Object(converted)
        }
        Value::Array(items) => Value::Array(items.iter().map(json_schema).collect()),
        other => other.clone(),
    }
}

// ---------------------------------------------------------------------------------------------
// Values to try

/// Values to try for a schema: its example, the edges of what it allows and just past them,
/// and wrong types. Which are valid is for the schema to say.
fn candidates(spec: &Spec, schema: &Value) -> Vec<Value> {
    let converted = json_schema(spec.resolve(schema));
    let mut values: Vec<Value> = converted.get("example").into_iter().cloned().collect();
    match converted.get("type").and_then(Value::as_str) {
        Some("integer") => {
            let low = converted["minimum"]
                .as_i64()
                .map_or(i128::from(i32::MIN), i128::from);
            let high = converted["maximum"]
                .as_i64()
                .map_or(i128::from(i32::MAX), i128::from);
            for n in [low, high, low - 1, high + 1, 0] {
                if let Some(n) = number(n) {
                    values.push(n);
                }
            }
            values.extend([json!(1.5), json!("1"), Value::Null]);
        }
        Some("boolean") => values.extend([json!(true), json!(false), json!("true"), Value::Null]),
        Some("string") => match converted.get("enum").and_then(Value::as_array) {
            Some(allowed) => values.extend(allowed.iter().cloned().chain([json!("NOT_LISTED")])),
            None => values.extend([json!(""), json!(" "), json!("x"), json!("("), json!(5)]),
        },
        Some("object") => values.extend([json!({}), json!({"quantityDelta": 1}), json!("x")]),
        Some("array") => values.extend([json!([]), json!("x")]),
        _ => {}
    }
    if converted.get("type").is_some() {
        values.push(Value::Null);
    }
    values.dedup();
    values
}

/// A whole number as JSON, if JSON (serde's i64 or u64) can hold it.
fn number(n: i128) -> Option<Value> {
    i64::try_from(n)
        .map(Value::from)
        .or_else(|_| u64::try_from(n).map(Value::from))
        .ok()
}

/// A value as it goes on the wire in a path or a query string (`None`: it cannot).
fn wire(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// What the wire text is, read as the schema's type, for the schema to judge.
fn typed(spec: &Spec, schema: &Value, text: &str) -> Value {
    match spec.resolve(schema).get("type").and_then(Value::as_str) {
        Some("integer") => text
            .parse::<i128>()
            .ok()
            .and_then(number)
            .unwrap_or_else(|| json!(text)),
        Some("boolean") => match text {
            "true" => json!(true),
            "false" => json!(false),
            _ => json!(text),
        },
        _ => json!(text),
    }
}

/// The first valid value among the candidates.
fn valid_value(spec: &Spec, schema: &Value) -> Value {
    let schema = spec.resolve(schema);
    if let Some(example) = schema.get("example") {
        return example.clone();
    }
    if schema["type"] == "object" {
        let mut object = Map::new();
        for name in schema["required"].as_array().into_iter().flatten() {
            let name = name.as_str().expect("a property name");
            object.insert(
                name.to_owned(),
                valid_value(spec, &schema["properties"][name]),
            );
        }
        return Value::Object(object);
    }
    candidates(spec, schema)
        .into_iter()
        .find(|value| spec.is_valid(schema, value))
        .unwrap_or_else(|| panic!("no valid value for {schema}"))
}

/// Variants of an object: each property at each candidate, each required one missing, an
/// extra property, and every property at once at its first valid value.
fn object_variants(spec: &Spec, schema: &Value) -> Vec<(String, Value)> {
    let schema = spec.resolve(schema);
    let base = valid_value(spec, schema);
    let Value::Object(base) = base else {
        unreachable!("an object's valid value is an object");
    };
    let properties = schema["properties"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let mut variants = vec![("as in the spec".to_owned(), Value::Object(base.clone()))];
    for (name, property) in &properties {
        for value in candidates(spec, property) {
            let mut object = base.clone();
            object.insert(name.clone(), value.clone());
            variants.push((format!("{name}: {value}"), Value::Object(object)));
        }
    }
    for name in schema["required"].as_array().into_iter().flatten() {
        let mut object = base.clone();
        object.remove(name.as_str().expect("a name"));
        variants.push((format!("without {name}"), Value::Object(object)));
    }
    for extra in [Value::Null, json!({"nested": [1, "two"]})] {
        let mut object = base.clone();
        object.insert("extraField".to_owned(), extra.clone());
        variants.push((format!("extraField: {extra}"), Value::Object(object)));
    }
    let mut every = base;
    for (name, property) in &properties {
        every.insert(name.clone(), valid_value(spec, property));
    }
    variants.push(("every property".to_owned(), Value::Object(every)));
    variants
}

/// Variants of a request body.
fn body_variants(spec: &Spec, schema: &Value) -> Vec<(String, Value)> {
    let resolved = spec.resolve(schema);
    let mut variants = match resolved["type"].as_str() {
        Some("object") => object_variants(spec, resolved),
        Some("array") => {
            let items = &resolved["items"];
            let item = valid_value(spec, items);
            let mut variants: Vec<(String, Value)> = object_variants(spec, items)
                .into_iter()
                .map(|(what, item)| (format!("[{what}]"), json!([item])))
                .collect();
            variants.push(("[]".to_owned(), json!([])));
            if let Some(most) = resolved["maxItems"].as_u64() {
                for n in [most, most + 1] {
                    let many = vec![item.clone(); usize::try_from(n).unwrap()];
                    variants.push((format!("{n} items"), Value::Array(many)));
                }
            }
            variants
        }
        _ => Vec::new(),
    };
    variants.extend([
        ("a string".to_owned(), json!("x")),
        ("a number".to_owned(), json!(1)),
        ("null".to_owned(), Value::Null),
    ]);
    variants
}

// ---------------------------------------------------------------------------------------------
// Requests, and what must hold of their answers

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Valid,
    Invalid,
}

#[derive(Clone)]
enum Body {
    Json(Value),
    /// Raw bytes with a content type.
    Raw(&'static str, &'static str),
}

#[derive(Clone)]
struct Probe {
    what: String,
    path: String,
    query: Vec<(String, String)>,
    body: Option<Body>,
    token: bool,
    expect: Expect,
}

/// The requests to try for one operation.
fn probes(spec: &Spec, operation: &Operation, fixtures: &BTreeMap<&str, String>) -> Vec<Probe> {
    let base_value = |parameter: &Parameter| -> String {
        fixtures
            .get(parameter.name.as_str())
            .cloned()
            .or_else(|| parameter.example.as_ref().and_then(wire))
            .unwrap_or_else(|| panic!("{}: no example for {}", operation.id, parameter.name))
    };
    let mut base = Probe {
        what: "as in the spec".to_owned(),
        path: operation.path.clone(),
        query: Vec::new(),
        body: operation
            .body
            .as_ref()
            .map(|(schema, _)| Body::Json(valid_value(spec, schema))),
        token: true,
        expect: Expect::Valid,
    };
    for parameter in &operation.parameters {
        if parameter.in_path {
            let value = base_value(parameter);
            base.path = base
                .path
                .replace(&format!("{{{}}}", parameter.name), &value);
        } else if parameter.required {
            base.query
                .push((parameter.name.clone(), base_value(parameter)));
        }
    }
    // The base request with one thing changed.
    let with = |what: String, expect: Expect, change: &dyn Fn(&mut Probe)| {
        let mut probe = Probe {
            what,
            expect,
            ..base.clone()
        };
        change(&mut probe);
        probe
    };

    let mut probes = vec![with("as in the spec".to_owned(), Expect::Valid, &|_| {})];
    probes.push(with("without a token".to_owned(), Expect::Invalid, &|p| {
        p.token = false;
    }));
    for parameter in &operation.parameters {
        let mut values: Vec<String> = candidates(spec, &parameter.schema)
            .iter()
            .chain(&parameter.example)
            .filter_map(wire)
            .chain(["x".to_owned()])
            .collect();
        values.sort();
        values.dedup();
        for text in values {
            if parameter.in_path && text.is_empty() {
                continue; // An empty segment is another path, not this value.
            }
            let valid = spec.is_valid(&parameter.schema, &typed(spec, &parameter.schema, &text));
            let expect = if valid {
                Expect::Valid
            } else {
                Expect::Invalid
            };
            let what = format!("{} = {text:?}", parameter.name);
            probes.push(with(what, expect, &|p| {
                if parameter.in_path {
                    let path = operation
                        .path
                        .replace(&format!("{{{}}}", parameter.name), &text);
                    p.path = operation
                        .parameters
                        .iter()
                        .filter(|other| other.in_path && other.name != parameter.name)
                        .fold(path, |path, other| {
                            path.replace(&format!("{{{}}}", other.name), &base_value(other))
                        });
                } else {
                    p.query.retain(|(name, _)| *name != parameter.name);
                    p.query.push((parameter.name.clone(), text.clone()));
                }
            }));
        }
        if parameter.required && !parameter.in_path {
            let what = format!("without {}", parameter.name);
            probes.push(with(what, Expect::Invalid, &|p| {
                p.query.retain(|(name, _)| *name != parameter.name);
            }));
        }
    }
    if let Some((schema, required)) = &operation.body {
        for (what, value) in body_variants(spec, schema) {
            let expect = if spec.is_valid(schema, &value) {
                Expect::Valid
            } else {
                Expect::Invalid
            };
            probes.push(with(format!("body {what}"), expect, &|p| {
                p.body = Some(Body::Json(value.clone()));
            }));
        }
        let raw = [
            ("body not JSON", "application/json", "{"),
            ("body as text/plain", "text/plain", "{}"),
        ];
        for (what, content_type, text) in raw {
            probes.push(with(what.to_owned(), Expect::Invalid, &|p| {
                p.body = Some(Body::Raw(content_type, text));
            }));
        }
        if *required {
            probes.push(with("without a body".to_owned(), Expect::Invalid, &|p| {
                p.body = None;
            }));
        }
    }
    probes
}

/// Sends a probe: the status and the body's text.
async fn send(
    client: &reqwest::Client,
    fake: &FakeStore,
    method: &str,
    probe: &Probe,
) -> (u16, String) {
    let mut url = reqwest::Url::parse(&format!("{}{}", fake.base_url(), probe.path)).unwrap();
    if !probe.query.is_empty() {
        url.query_pairs_mut().extend_pairs(&probe.query);
    }
    let mut request = client.request(method.parse().unwrap(), url);
    if probe.token {
        request = request.bearer_auth(demo::TOKEN);
    }
    request = match &probe.body {
        Some(Body::Json(value)) => request.json(value),
        Some(Body::Raw(content_type, text)) => {
            request.header("content-type", *content_type).body(*text)
        }
        None => request,
    };
    let response = request.send().await.expect("the fake answers");
    let status = response.status().as_u16();
    (status, response.text().await.expect("a body"))
}

/// What is wrong with an answer to a request of `operation`, if anything.
fn judge(
    spec: &Spec,
    operation: &Operation,
    expect: Expect,
    status: u16,
    body: &str,
) -> Option<String> {
    let Some(schema) = operation.responses.get(&status) else {
        return Some(format!(
            "answered {status}, which the operation does not list: {body}"
        ));
    };
    let json: Option<Value> = serde_json::from_str(body).ok();
    if let Some(schema) = schema {
        let Some(json) = &json else {
            return Some(format!(
                "answered {status} with a body that is not JSON: {body}"
            ));
        };
        let validator = spec.validator(schema);
        let errors: Vec<String> = validator.iter_errors(json).map(|e| e.to_string()).collect();
        if !errors.is_empty() {
            return Some(format!(
                "answered {status} with {json}, against the spec: {errors:?}"
            ));
        }
    }
    let code = json.as_ref().and_then(|json| json["errorCode"].as_str());
    match expect {
        Expect::Valid if status == 415 || (status == 400 && code == Some("WRONG_PARAMETER")) => {
            Some(format!("valid by the spec, refused: {status} {body}"))
        }
        Expect::Invalid if !(400..500).contains(&status) => {
            Some(format!("invalid by the spec, accepted: {status} {body}"))
        }
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// The test

#[tokio::test]
async fn the_fake_keeps_the_contract_its_spec_states() {
    let spec = Spec::load();
    let operations = spec.operations();
    let fake = demo_store().await;
    // One client for every request: building one per request would be most of the run.
    let client = http();
    let mut failures = Vec::new();

    // A real ticket, for the operation that reads one.
    let create = operations.iter().find(|o| o.id == "createBatch").unwrap();
    let body = valid_value(&spec, &create.body.as_ref().unwrap().0);
    let (_, answer) = read(
        http()
            .post(format!("{}/1003/batch", fake.base_url()))
            .bearer_auth(demo::TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    // A real order, for the operation that reads one: a storefront sale.
    let order = fake
        .sell(
            demo::STORE,
            Sale::new().variation(demo::TEE, demo::SMALL_TEE.1, 1),
        )
        .unwrap();
    let fixtures = BTreeMap::from([
        ("ticket", answer["ticket"].as_str().unwrap().to_owned()),
        ("orderId", order.to_string()),
    ]);

    // Each batch created, with the requests it carries.
    let mut batches = vec![(fixtures["ticket"].clone(), body)];
    let mut tried = 0;
    for operation in &operations {
        for (index, probe) in probes(&spec, operation, &fixtures).into_iter().enumerate() {
            let (status, body) = send(&client, &fake, &operation.method, &probe).await;
            tried += 1;
            // The first probe is the request as in the spec.
            if index == 0 && !(200..300).contains(&status) {
                failures.push(format!(
                    "{} is not served: as in the spec, answered {status} {body}",
                    operation.id
                ));
            }
            if let Some(problem) = judge(&spec, operation, probe.expect, status, &body) {
                let expect = format!("{:?}", probe.expect).to_lowercase();
                failures.push(format!(
                    "{} {} ({expect}): {problem}",
                    operation.id, probe.what
                ));
            }
            if let (true, 200, Some(Body::Json(items))) =
                (operation.id == "createBatch", status, &probe.body)
            {
                let answer: Value = serde_json::from_str(&body).unwrap();
                let ticket = answer["ticket"].as_str().unwrap().to_owned();
                batches.push((ticket, items.clone()));
            }
        }
    }

    // What the batches carried: each answer as its own operation would have sent it.
    fake.batches_settled().await;
    let status_of = operations
        .iter()
        .find(|o| o.id == "getBatchStatus")
        .unwrap();
    for (ticket, items) in &batches {
        let (status, answer) = batch_status(&fake, &format!("ticket={ticket}")).await;
        if let Some(problem) = judge(&spec, status_of, Expect::Valid, status, &answer.to_string()) {
            failures.push(format!("getBatchStatus of {ticket}: {problem}"));
        }
        let responses = answer["responses"].as_array().cloned().unwrap_or_default();
        for (response, request) in responses.iter().zip(items.as_array().unwrap()) {
            let Some(code) = response["httpStatusCode"].as_u64() else {
                continue; // Not executed.
            };
            let (Some(method), Some(path)) = (request["method"].as_str(), request["path"].as_str())
            else {
                continue;
            };
            let Some(operation) = spec.operation_for(&operations, method, path) else {
                continue; // A path no operation has: nothing to hold it to.
            };
            let code = u16::try_from(code).unwrap();
            let body = response["httpBody"].to_string();
            if let Some(problem) = judge(&spec, operation, Expect::Valid, code, &body)
                .filter(|problem| !problem.starts_with("valid by the spec"))
            {
                failures.push(format!("{method} {path} in a batch: {problem}"));
            }
        }
    }

    assert!(tried > 300, "only {tried} requests were tried");
    assert!(
        failures.is_empty(),
        "{} of {tried} requests disagree with the spec:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
