//! Verifying Ecwid's webhook deliveries: signatures computed apart from the crate (HMAC-SHA256
//! in the test, and vectors computed once with Python's `hmac`), Ecwid's documented bodies,
//! and every rejection, each by its variant and in the order the checks run; the client secret
//! in no output.
#![cfg(feature = "webhooks")]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::{engine::general_purpose::STANDARD as BASE64, Engine as _};
use ecwid_inventory::{
    orders::{FulfillmentStatus, PaymentStatus},
    webhooks::{
        sign, EventKind, OrderEvent, Rejection, SecretString, Verifier, VerifierBuilder,
        WebhookEvent, DEFAULT_MAX_AGE, DEFAULT_MAX_BODY_SIZE, DEFAULT_MAX_CLOCK_AHEAD,
        SIGNATURE_HEADER,
    },
    Error, OrderId, ProductId, StoreId, TimeSource,
};
use hmac::{Hmac, Mac};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::{json, Value};
use sha2::Sha256;

const SECRET: &str = "app-client-secret";
const STORE: StoreId = StoreId::new(1003);
/// The verifier's clock: a minute after the events below were created.
const CREATED: i64 = 1_700_000_000;
const NOW: u64 = 1_700_000_060;
const EVENT_ID: &str = "80aece08-40e8-4145-8764-6c2f0d38678";

/// `base64(HMAC-SHA256(b"app-client-secret", b"1700000000.80aece08-40e8-4145-8764-6c2f0d38678"))`,
/// computed with Python's `hmac`, `hashlib` and `base64`.
const PYTHON_SIGNATURE: &str = "T5nM/K6oviKckZPY/I3U73MdfL2JRedKgsvRUQ2O4P0=";

fn clock_at(unix_secs: u64) -> TimeSource {
    TimeSource::new(move || UNIX_EPOCH + Duration::from_secs(unix_secs))
}

fn builder() -> VerifierBuilder {
    Verifier::builder(SecretString::from(SECRET), STORE).time_source(clock_at(NOW))
}

fn verifier() -> Verifier {
    builder().build().unwrap()
}

/// The signature, computed here with the `hmac` crate, apart from the crate's own code.
fn hmac_signature(secret: &str, created: i64, event_id: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{created}.{event_id}").as_bytes());
    BASE64.encode(mac.finalize().into_bytes())
}

fn headers(signatures: &[&str]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    for signature in signatures {
        headers.append(SIGNATURE_HEADER, HeaderValue::from_str(signature).unwrap());
    }
    headers
}

/// Ecwid's `order.created` example (docs.ecwid.com, "Event data in webhooks"), at `CREATED`.
fn order_created() -> Value {
    json!({
        "eventId": EVENT_ID,
        "eventCreated": CREATED,
        "storeId": 1003,
        "entityId": 103878161,
        "eventType": "order.created",
        "data": {"orderId": "XJ12H", "newPaymentStatus": "PAID", "newFulfillmentStatus": "SHIPPED"}
    })
}

/// A body signed as Ecwid would, with the signature computed in the test.
fn delivery(body: &Value) -> (HeaderMap, Vec<u8>) {
    let signature = hmac_signature(
        SECRET,
        body["eventCreated"].as_i64().unwrap(),
        body["eventId"].as_str().unwrap(),
    );
    (headers(&[&signature]), serde_json::to_vec(body).unwrap())
}

fn verify(body: &Value) -> Result<WebhookEvent, Rejection> {
    let (headers, body) = delivery(body);
    verifier().verify(&headers, &body)
}

// --- Signatures computed apart from the crate ---

#[test]
fn sign_agrees_with_vectors_computed_by_python() {
    let secret = SecretString::from("secret");
    assert_eq!(
        sign(&secret, 1234567, "abc"),
        "A1SUNC1V71IibnRiz751KldYsDOH+YpsQV7AZlS1lsU="
    );
    let secret = SecretString::from(SECRET);
    assert_eq!(sign(&secret, CREATED, EVENT_ID), PYTHON_SIGNATURE);
    assert_eq!(
        sign(&secret, CREATED, "80aece08-40e8-4145-8764-6c2f0d38679"),
        "MlxuY0Aynr93udJY67xlfHHg1BeMRSUuHreolGbP5Fw="
    );
}

#[test]
fn a_delivery_signed_as_python_signs_it_verifies() {
    let body = serde_json::to_vec(&order_created()).unwrap();
    let event = verifier()
        .verify(&headers(&[PYTHON_SIGNATURE]), &body)
        .unwrap();
    assert_eq!(event.event_id, EVENT_ID);
    assert_eq!(
        event.created,
        UNIX_EPOCH + Duration::from_secs(CREATED as u64)
    );
    assert_eq!(event.created_unix(), CREATED);
    assert_eq!(event.store_id, STORE);
}

#[test]
fn a_delivery_signed_with_hmac_in_the_test_verifies() {
    let event = verify(&order_created()).unwrap();
    assert_eq!(event.event_id, EVENT_ID);
    assert_eq!(event.store_id, STORE);
    assert_eq!(event.data["orderId"], "XJ12H");
}

#[test]
fn verify_request_reads_the_headers_and_body_of_an_http_request() {
    let (headers, body) = delivery(&order_created());
    let mut request = http::Request::post("/webhooks")
        .body(bytes::Bytes::from(body))
        .unwrap();
    *request.headers_mut() = headers;
    let event = verifier().verify_request(&request).unwrap();
    assert_eq!(event.event_id, EVENT_ID);
}

#[test]
fn sign_is_the_inverse_of_verify() {
    let secret = SecretString::from(SECRET);
    for (created, id) in [
        (CREATED, "a"),
        (CREATED - 3600, "ü-ñ 🦀"),
        (CREATED + 60, EVENT_ID),
    ] {
        let body = json!({"eventId": id, "eventCreated": created, "storeId": 1003});
        let signature = sign(&secret, created, id);
        let event = verifier()
            .verify(&headers(&[&signature]), body.to_string().as_bytes())
            .unwrap_or_else(|r| panic!("{id}: {r}"));
        assert_eq!(event.event_id, id);
        assert_eq!(event.created_unix(), created);
    }
}

// --- Typed events: Ecwid's documented bodies, and what it may send one day ---

/// One of Ecwid's example bodies, given its own id and time, verified.
fn verified(mut body: Value) -> WebhookEvent {
    body["eventCreated"] = json!(CREATED);
    verify(&body).unwrap_or_else(|r| panic!("{body}: {r}"))
}

#[test]
fn order_created_carries_the_order_id_from_data_not_entity_id() {
    let event = verified(order_created());
    assert_eq!(event.event_type(), "order.created");
    let EventKind::OrderCreated(order) = &event.kind else {
        panic!("{:?}", event.kind)
    };
    assert_eq!(order.order_id, Some(OrderId::new("XJ12H")));
    assert_eq!(order.new_payment_status, Some(PaymentStatus::Paid));
    assert_eq!(
        order.new_fulfillment_status,
        Some(FulfillmentStatus::Shipped)
    );
    assert_eq!(order.old_payment_status, None);
    assert_eq!(order.old_fulfillment_status, None);
    assert_eq!(event.kind.order(), Some(order));
    assert_eq!(event.kind.product_id(), None);
    // The internal number stays apart, as text.
    assert_eq!(event.entity_id.as_deref(), Some("103878161"));
    assert_eq!(event.data["newFulfillmentStatus"], "SHIPPED");
}

#[test]
fn order_updated_carries_the_old_and_new_statuses() {
    // Ecwid's order.updated example (docs.ecwid.com, "Event data in webhooks").
    let event = verified(json!({
        "eventId": "80aece08-40e8-4145-8764-6c2f0d38678",
        "eventCreated": 1234567,
        "storeId": 1003,
        "entityId": 450012387,
        "eventType": "order.updated",
        "data": {
            "orderId": "B8HGD",
            "oldPaymentStatus": "PAID",
            "newPaymentStatus": "PAID",
            "oldFulfillmentStatus": "PROCESSING",
            "newFulfillmentStatus": "SHIPPED"
        }
    }));
    assert_eq!(
        event.kind,
        EventKind::OrderUpdated({
            let mut order = OrderEvent::default();
            order.order_id = Some(OrderId::new("B8HGD"));
            order.old_payment_status = Some(PaymentStatus::Paid);
            order.new_payment_status = Some(PaymentStatus::Paid);
            order.old_fulfillment_status = Some(FulfillmentStatus::Processing);
            order.new_fulfillment_status = Some(FulfillmentStatus::Shipped);
            order
        })
    );
}

#[test]
fn an_order_event_without_an_order_id_is_kept_without_one() {
    // Ecwid's older order.deleted example: no data, the order's number in entityId.
    let event = verified(json!({
        "eventId": EVENT_ID, "storeId": 1003, "entityId": 102, "eventType": "order.deleted"
    }));
    assert_eq!(event.kind, EventKind::OrderDeleted(OrderEvent::default()));
    assert_eq!(event.data, Value::Null);
    assert_eq!(event.entity_id.as_deref(), Some("102"));
    // An empty orderId is no order id either.
    let event = verified(json!({
        "eventId": EVENT_ID, "storeId": 1003, "eventType": "order.updated",
        "data": {"orderId": "", "newPaymentStatus": "CANCELLED"}
    }));
    let order = event.kind.order().unwrap();
    assert_eq!(order.order_id, None);
    assert_eq!(order.new_payment_status, Some(PaymentStatus::Cancelled));
}

#[test]
fn product_events_carry_the_product_id_from_entity_id() {
    // Ecwid's product.created example: entityId is the product, and there is no data.
    for (event_type, kind) in [
        (
            "product.created",
            EventKind::ProductCreated {
                product_id: ProductId::new(667251253),
            },
        ),
        (
            "product.updated",
            EventKind::ProductUpdated {
                product_id: ProductId::new(667251253),
            },
        ),
        (
            "product.deleted",
            EventKind::ProductDeleted {
                product_id: ProductId::new(667251253),
            },
        ),
    ] {
        let event = verified(json!({
            "eventId": "08a78904-4c1a-0aa0-953a-2e33c56236f1",
            "eventCreated": 1469429915,
            "storeId": 1003,
            "entityId": 667251253,
            "eventType": event_type
        }));
        assert_eq!(event.kind, kind);
        assert_eq!(event.event_type(), event_type);
        assert_eq!(event.kind.product_id(), Some(ProductId::new(667251253)));
        assert_eq!(event.kind.order(), None);
        assert_eq!(event.data, Value::Null);
    }
    // A quoted product id is read too.
    let event = verified(json!({
        "eventId": EVENT_ID, "storeId": 1003, "entityId": "667251253", "eventType": "product.updated"
    }));
    assert_eq!(event.kind.product_id(), Some(ProductId::new(667251253)));
}

#[test]
fn a_product_event_without_a_product_id_is_kept_as_other() {
    for entity_id in [json!(null), json!(0), json!(-5), json!("abc")] {
        let event = verified(json!({
            "eventId": EVENT_ID, "storeId": 1003, "entityId": entity_id, "eventType": "product.updated"
        }));
        assert_eq!(
            event.kind,
            EventKind::Other {
                event_type: "product.updated".into()
            },
            "{entity_id}"
        );
        assert_eq!(event.event_type(), "product.updated");
    }
}

#[test]
fn an_application_event_with_a_quoted_entity_id_verifies() {
    // Ecwid sends application.* events' entityId as a quoted string.
    let event = verified(json!({
        "eventId": EVENT_ID,
        "storeId": 1003,
        "entityId": "1003",
        "eventType": "application.installed",
        "data": {}
    }));
    assert_eq!(
        event.kind,
        EventKind::Other {
            event_type: "application.installed".into()
        }
    );
    assert_eq!(event.entity_id.as_deref(), Some("1003"));
    assert_eq!(event.data, json!({}));
}

#[test]
fn unknown_event_types_fields_and_statuses_never_fail_verification() {
    // Ecwid's unfinished_order.created example, with a field Ecwid may add one day at each level.
    let event = verified(json!({
        "eventId": EVENT_ID,
        "storeId": 1003,
        "entityId": 293225803,
        "eventType": "unfinished_order.created",
        "data": {"orderId": "RA1SD", "cartId": "320AB5DE-5EA6-4419-A4CF-0B04D2913190", "more": [1, {"a": null}]},
        "someNewField": {"nested": true}
    }));
    assert_eq!(
        event.kind,
        EventKind::Other {
            event_type: "unfinished_order.created".into()
        }
    );
    assert_eq!(event.data["cartId"], "320AB5DE-5EA6-4419-A4CF-0B04D2913190");
    assert_eq!(event.data["more"], json!([1, {"a": null}]));

    // A known type with unknown statuses and extra data.
    let event = verified(json!({
        "eventId": EVENT_ID,
        "storeId": 1003,
        "eventType": "order.updated",
        "data": {
            "orderId": "XJ12H",
            "newPaymentStatus": "SOMETHING_NEW",
            "newFulfillmentStatus": "CUSTOM_FULFILLMENT_STATUS_1",
            "extra": 1
        }
    }));
    let order = event.kind.order().unwrap();
    assert_eq!(
        order.new_payment_status,
        Some(PaymentStatus::Other("SOMETHING_NEW".into()))
    );
    assert_eq!(
        order.new_fulfillment_status,
        Some(FulfillmentStatus::Other(
            "CUSTOM_FULFILLMENT_STATUS_1".into()
        ))
    );
    assert_eq!(event.data["extra"], 1);

    // No event type at all.
    let event = verified(json!({"eventId": EVENT_ID, "storeId": 1003}));
    assert_eq!(
        event.kind,
        EventKind::Other {
            event_type: String::new()
        }
    );
    assert_eq!(event.entity_id, None);
}

#[test]
fn every_known_status_is_read() {
    let payment = [
        ("AWAITING_PAYMENT", PaymentStatus::AwaitingPayment),
        ("PAID", PaymentStatus::Paid),
        ("CANCELLED", PaymentStatus::Cancelled),
        ("REFUNDED", PaymentStatus::Refunded),
        ("PARTIALLY_REFUNDED", PaymentStatus::PartiallyRefunded),
        ("INCOMPLETE", PaymentStatus::Incomplete),
    ];
    let fulfillment = [
        ("AWAITING_PROCESSING", FulfillmentStatus::AwaitingProcessing),
        ("PROCESSING", FulfillmentStatus::Processing),
        ("SHIPPED", FulfillmentStatus::Shipped),
        ("DELIVERED", FulfillmentStatus::Delivered),
        ("WILL_NOT_DELIVER", FulfillmentStatus::WillNotDeliver),
        ("RETURNED", FulfillmentStatus::Returned),
        ("READY_FOR_PICKUP", FulfillmentStatus::ReadyForPickup),
        ("OUT_FOR_DELIVERY", FulfillmentStatus::OutForDelivery),
    ];
    for (i, (fulfillment_text, fulfillment_status)) in fulfillment.into_iter().enumerate() {
        let (payment_text, payment_status) = payment[i % payment.len()].clone();
        let event = verified(json!({
            "eventId": EVENT_ID, "storeId": 1003, "eventType": "order.updated",
            "data": {"orderId": "XJ12H", "oldPaymentStatus": payment_text, "oldFulfillmentStatus": fulfillment_text}
        }));
        let order = event.kind.order().unwrap();
        assert_eq!(order.old_payment_status.as_ref(), Some(&payment_status));
        assert_eq!(
            order.old_fulfillment_status.as_ref(),
            Some(&fulfillment_status)
        );
    }
}

// --- Rejections, each by its variant ---

fn rejected(headers: &HeaderMap, body: &[u8]) -> Rejection {
    verifier()
        .verify(headers, body)
        .expect_err("the delivery must be refused")
}

#[test]
fn a_body_over_the_limit_is_refused_before_anything_else() {
    let limit = 2048;
    let verifier = builder().max_body_size(limit).build().unwrap();
    // No signature header and not JSON: the size alone decides.
    let body = vec![b'x'; limit + 1];
    assert_eq!(
        verifier.verify(&HeaderMap::new(), &body),
        Err(Rejection::TooLarge {
            size: limit + 1,
            limit
        })
    );
    // At the limit, a genuine delivery passes.
    let mut padded = order_created();
    let (headers, body) = delivery(&padded);
    padded["padding"] = json!("p".repeat(limit - body.len() - r#","padding":"""#.len()));
    let body_at_limit = serde_json::to_vec(&padded).unwrap();
    assert_eq!(body_at_limit.len(), limit);
    verifier.verify(&headers, &body_at_limit).unwrap();
    assert_eq!(DEFAULT_MAX_BODY_SIZE, 64 * 1024);
    assert_eq!(self::verifier().max_body_size(), DEFAULT_MAX_BODY_SIZE);
}

#[test]
fn a_missing_signature_header_is_refused_even_with_a_good_body() {
    let (_, body) = delivery(&order_created());
    assert_eq!(rejected(&headers(&[]), &body), Rejection::MissingSignature);
    // The header is looked at before the body is parsed.
    assert_eq!(
        rejected(&headers(&[]), b"not json"),
        Rejection::MissingSignature
    );
}

#[test]
fn an_empty_signature_header_is_refused() {
    let (_, body) = delivery(&order_created());
    for empty in ["", " ", "\t"] {
        assert_eq!(
            rejected(&headers(&[empty]), &body),
            Rejection::EmptySignature,
            "{empty:?}"
        );
    }
}

#[test]
fn a_repeated_signature_header_is_refused_even_when_both_are_right() {
    let (_, body) = delivery(&order_created());
    assert_eq!(
        rejected(&headers(&[PYTHON_SIGNATURE, PYTHON_SIGNATURE]), &body),
        Rejection::RepeatedSignature
    );
    assert_eq!(
        rejected(&headers(&["forged", PYTHON_SIGNATURE]), &body),
        Rejection::RepeatedSignature
    );
}

#[test]
fn a_malformed_signature_header_is_refused_before_the_body_is_parsed() {
    let url_safe = PYTHON_SIGNATURE.replace('+', "-").replace('/', "_");
    let unpadded = PYTHON_SIGNATURE.trim_end_matches('=');
    let short = BASE64.encode([7u8; 31]);
    let long = BASE64.encode([7u8; 33]);
    let joined = format!("{PYTHON_SIGNATURE}, {PYTHON_SIGNATURE}");
    let hex = "4f99ccfcaea8be229c9193d8fc8dd4ef731d7cbd8945e74a82cbd1510d8ee0fd";
    let (_, body) = delivery(&order_created());
    for malformed in [
        "not base64!",
        url_safe.as_str(),
        unpadded,
        short.as_str(),
        long.as_str(),
        joined.as_str(),
        hex,
    ] {
        assert_eq!(
            rejected(&headers(&[malformed]), &body),
            Rejection::MalformedSignature,
            "{malformed}"
        );
        assert_eq!(
            rejected(&headers(&[malformed]), b"not json"),
            Rejection::MalformedSignature,
            "{malformed}"
        );
    }
}

#[test]
fn a_body_that_is_not_json_is_refused() {
    for body in [&b"not json"[..], b"", b"{\"eventId\": ", b"\xff\xfe"] {
        assert_eq!(
            rejected(&headers(&[PYTHON_SIGNATURE]), body),
            Rejection::NotJson,
            "{body:?}"
        );
    }
}

#[test]
fn a_body_without_event_id_or_event_created_is_refused() {
    let signed = headers(&[PYTHON_SIGNATURE]);
    let cases = [
        (
            json!({"eventCreated": CREATED, "storeId": 1003}),
            "it has no eventId",
        ),
        (
            json!({"eventId": null, "eventCreated": CREATED}),
            "it has no eventId",
        ),
        (
            json!({"eventId": EVENT_ID, "storeId": 1003}),
            "it has no eventCreated",
        ),
        (
            json!({"eventId": EVENT_ID, "eventCreated": null}),
            "it has no eventCreated",
        ),
        (json!([EVENT_ID, CREATED]), "it is not a JSON object"),
        (
            json!({"eventId": "", "eventCreated": CREATED}),
            "its eventId is empty",
        ),
    ];
    for (body, what) in cases {
        assert_eq!(
            rejected(&signed, body.to_string().as_bytes()),
            Rejection::MalformedBody { what },
            "{body}"
        );
    }
}

#[test]
fn a_body_whose_fields_have_the_wrong_type_is_refused() {
    let signed = headers(&[PYTHON_SIGNATURE]);
    let mut cases = Vec::new();
    for (field, value) in [
        ("eventId", json!(42)),
        ("eventCreated", json!("1700000000")),
        ("eventCreated", json!(1700000000.5)),
        ("storeId", json!("1003")),
        ("entityId", json!(1.5)),
        ("data", json!("XJ12H")),
        ("data", json!({"orderId": 42})),
    ] {
        let mut body = order_created();
        body[field] = value;
        cases.push(body);
    }
    for body in cases {
        let rejection = rejected(&signed, body.to_string().as_bytes());
        assert!(
            matches!(rejection, Rejection::MalformedBody { .. }),
            "{body}: {rejection:?}"
        );
        assert_eq!(rejection.status(), StatusCode::BAD_REQUEST);
    }
}

#[test]
fn a_signature_that_does_not_match_is_refused() {
    let body = order_created();
    let bytes = serde_json::to_vec(&body).unwrap();
    let forged = [
        // Another app's secret.
        hmac_signature("another-secret", CREATED, EVENT_ID),
        // The secret with a trailing newline, as copied from a file.
        hmac_signature("app-client-secret\n", CREATED, EVENT_ID),
        // Another event's signature, replayed onto this body.
        hmac_signature(SECRET, CREATED, "80aece08-40e8-4145-8764-6c2f0d38679"),
        hmac_signature(SECRET, CREATED + 1, EVENT_ID),
        // The message without its dot, or in the other order.
        BASE64.encode({
            let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
            mac.update(format!("{CREATED}{EVENT_ID}").as_bytes());
            mac.finalize().into_bytes()
        }),
        hmac_signature(SECRET, 0, &format!("{EVENT_ID}.{CREATED}")),
        BASE64.encode([0u8; 32]),
    ];
    for signature in &forged {
        assert_eq!(
            rejected(&headers(&[signature]), &bytes),
            Rejection::BadSignature,
            "{signature}"
        );
    }
    // The genuine signature on a body whose signed fields were altered.
    for (field, value) in [
        ("eventId", json!("another-event")),
        ("eventCreated", json!(CREATED - 1)),
    ] {
        let mut tampered = body.clone();
        tampered[field] = value;
        assert_eq!(
            rejected(
                &headers(&[PYTHON_SIGNATURE]),
                tampered.to_string().as_bytes()
            ),
            Rejection::BadSignature,
            "{field}"
        );
    }
}

#[test]
fn an_unsigned_body_is_not_trusted_for_its_age_or_store() {
    // A forged body for another store, from long ago: the signature is what is reported.
    let mut body = order_created();
    body["storeId"] = json!(2004);
    body["eventCreated"] = json!(1);
    assert_eq!(
        rejected(&headers(&[PYTHON_SIGNATURE]), body.to_string().as_bytes()),
        Rejection::BadSignature
    );
}

#[test]
fn an_event_older_than_the_maximum_age_is_refused() {
    let max_age = DEFAULT_MAX_AGE.as_secs() as i64;
    assert_eq!(max_age, 26 * 3600);
    let now = NOW as i64;
    let mut body = order_created();
    body["eventCreated"] = json!(now - max_age);
    verify(&body).expect("an event exactly the maximum age is accepted");
    body["eventCreated"] = json!(now - max_age - 1);
    assert_eq!(
        verify(&body),
        Err(Rejection::TooOld {
            age: DEFAULT_MAX_AGE + Duration::from_secs(1),
            max_age: DEFAULT_MAX_AGE
        })
    );
    // A day-old retry, Ecwid's last, is accepted.
    body["eventCreated"] = json!(now - 24 * 3600);
    verify(&body).unwrap();
    // Ancient and negative times are refused, never a panic.
    for created in [0, -1, i64::MIN] {
        body["eventCreated"] = json!(created);
        let rejection = verify(&body).unwrap_err();
        assert!(
            matches!(rejection, Rejection::TooOld { .. }),
            "{created}: {rejection:?}"
        );
    }
    // A shorter setting.
    let strict = builder().max_age(Duration::from_secs(60)).build().unwrap();
    body["eventCreated"] = json!(now - 61);
    let (headers, bytes) = delivery(&body);
    assert!(matches!(
        strict.verify(&headers, &bytes),
        Err(Rejection::TooOld { .. })
    ));
}

#[test]
fn an_event_too_far_ahead_of_the_clock_is_refused() {
    let ahead = DEFAULT_MAX_CLOCK_AHEAD.as_secs() as i64;
    assert_eq!(ahead, 5 * 60);
    let now = NOW as i64;
    let mut body = order_created();
    body["eventCreated"] = json!(now + ahead);
    verify(&body).expect("an event exactly the allowance ahead is accepted");
    body["eventCreated"] = json!(now + ahead + 1);
    assert_eq!(
        verify(&body),
        Err(Rejection::FromTheFuture {
            ahead: DEFAULT_MAX_CLOCK_AHEAD + Duration::from_secs(1),
            max_ahead: DEFAULT_MAX_CLOCK_AHEAD
        })
    );
    body["eventCreated"] = json!(i64::MAX);
    assert!(matches!(
        verify(&body),
        Err(Rejection::FromTheFuture { .. })
    ));
    // No allowance at all.
    let strict = builder().max_clock_ahead(Duration::ZERO).build().unwrap();
    body["eventCreated"] = json!(now + 1);
    let (headers, bytes) = delivery(&body);
    assert!(matches!(
        strict.verify(&headers, &bytes),
        Err(Rejection::FromTheFuture { .. })
    ));
}

#[test]
fn an_event_of_a_store_not_served_is_refused() {
    let mut body = order_created();
    body["storeId"] = json!(2004);
    assert_eq!(
        verify(&body),
        Err(Rejection::UnknownStore {
            store_id: Some(StoreId::new(2004))
        })
    );
    for no_store in [json!(null), json!(0), json!(-1003)] {
        body["storeId"] = no_store;
        assert_eq!(
            verify(&body),
            Err(Rejection::UnknownStore { store_id: None })
        );
    }
    body.as_object_mut().unwrap().remove("storeId");
    assert_eq!(
        verify(&body),
        Err(Rejection::UnknownStore { store_id: None })
    );
}

#[test]
fn a_verifier_serves_several_stores() {
    let verifier = builder().also_serve(StoreId::new(2004)).build().unwrap();
    assert!(verifier.serves(STORE) && verifier.serves(StoreId::new(2004)));
    assert!(!verifier.serves(StoreId::new(3005)));
    for (store, accepted) in [(1003, true), (2004, true), (3005, false)] {
        let mut body = order_created();
        body["storeId"] = json!(store);
        let (headers, bytes) = delivery(&body);
        let verified = verifier.verify(&headers, &bytes);
        assert_eq!(verified.is_ok(), accepted, "{store}: {verified:?}");
        if let Ok(event) = verified {
            assert_eq!(event.store_id, StoreId::new(store));
        }
    }
}

#[test]
fn each_rejection_says_which_status_to_answer() {
    let cases = [
        (Rejection::TooLarge { size: 2, limit: 1 }, 413),
        (Rejection::MissingSignature, 401),
        (Rejection::EmptySignature, 401),
        (Rejection::RepeatedSignature, 401),
        (Rejection::MalformedSignature, 401),
        (Rejection::BadSignature, 401),
        (Rejection::NotJson, 400),
        (Rejection::MalformedBody { what: "x" }, 400),
        (
            Rejection::TooOld {
                age: Duration::from_secs(2),
                max_age: Duration::from_secs(1),
            },
            403,
        ),
        (
            Rejection::FromTheFuture {
                ahead: Duration::from_secs(2),
                max_ahead: Duration::from_secs(1),
            },
            403,
        ),
        (Rejection::UnknownStore { store_id: None }, 403),
    ];
    for (rejection, status) in cases {
        assert_eq!(rejection.status().as_u16(), status, "{rejection:?}");
        // Never a status Ecwid would take as delivered.
        assert!(!rejection.status().is_success());
    }
}

// --- Settings ---

#[test]
fn settings_that_would_fail_open_or_refuse_everything_are_refused_when_built() {
    let cases: Vec<(&str, VerifierBuilder)> = vec![
        (
            "client secret",
            Verifier::builder(SecretString::from(""), STORE),
        ),
        (
            "store id",
            Verifier::builder(SecretString::from(SECRET), StoreId::new(0)),
        ),
        ("store id", builder().also_serve(StoreId::new(0))),
        ("maximum age", builder().max_age(Duration::ZERO)),
        (
            "maximum age",
            builder().max_age(Duration::from_secs(7 * 86_400 + 1)),
        ),
        ("maximum age", builder().max_age(Duration::MAX)),
        (
            "clock allowance",
            builder().max_clock_ahead(Duration::from_secs(3601)),
        ),
        ("body size limit", builder().max_body_size(0)),
        ("body size limit", builder().max_body_size(1024 * 1024 + 1)),
    ];
    for (name, builder) in cases {
        let error = builder.build().expect_err(name);
        assert!(matches!(error, Error::Config(_)), "{name}: {error:?}");
        assert!(error.to_string().contains(name), "{name}: {error}");
    }
    // The widest accepted settings build.
    builder()
        .max_age(Duration::from_secs(7 * 86_400))
        .max_clock_ahead(Duration::from_secs(3600))
        .max_body_size(1024 * 1024)
        .build()
        .unwrap();
}

// --- The secret in no output ---

#[test]
fn the_client_secret_appears_in_no_output() {
    let secret = "s3cr3t-Marker-7f3a9c";
    let builder = Verifier::builder(SecretString::from(secret), STORE)
        .also_serve(StoreId::new(2004))
        .time_source(clock_at(NOW));
    let verifier = builder.clone().build().unwrap();
    let mut outputs = vec![
        format!("{builder:?}"),
        format!("{verifier:?}"),
        format!("{verifier:#?}"),
    ];

    let body = order_created();
    let signature = sign(&SecretString::from(secret), CREATED, EVENT_ID);
    let bytes = serde_json::to_vec(&body).unwrap();
    let event = verifier.verify(&headers(&[&signature]), &bytes).unwrap();
    outputs.push(format!("{event:?}"));

    // Every rejection this verifier can give.
    let mut stale = body.clone();
    stale["eventCreated"] = json!(1);
    let mut other_store = body.clone();
    other_store["storeId"] = json!(3005);
    let deliveries: Vec<(HeaderMap, Vec<u8>)> = vec![
        (
            headers(&[&signature]),
            vec![b' '; DEFAULT_MAX_BODY_SIZE + 1],
        ),
        (headers(&[]), bytes.clone()),
        (headers(&[""]), bytes.clone()),
        (headers(&[&signature, &signature]), bytes.clone()),
        (headers(&["bad"]), bytes.clone()),
        (headers(&[&signature]), b"nope".to_vec()),
        (headers(&[&signature]), b"{}".to_vec()),
        (headers(&[PYTHON_SIGNATURE]), bytes.clone()),
        (
            headers(&[&sign(&SecretString::from(secret), 1, EVENT_ID)]),
            stale.to_string().into_bytes(),
        ),
        (headers(&[&signature]), other_store.to_string().into_bytes()),
    ];
    for (headers, body) in &deliveries {
        let rejection = verifier.verify(headers, body).unwrap_err();
        outputs.push(rejection.to_string());
        outputs.push(format!("{rejection:?}"));
    }
    for failing in [
        Verifier::builder(SecretString::from(secret), StoreId::new(0)),
        Verifier::builder(SecretString::from(secret), STORE).max_body_size(0),
    ] {
        let error = failing.build().unwrap_err();
        outputs.push(error.to_string());
        outputs.push(format!("{error:?}"));
    }
    assert_eq!(outputs.len(), 3 + 1 + 2 * deliveries.len() + 4);
    for output in &outputs {
        assert!(!output.contains(secret), "the secret leaked: {output}");
        assert!(
            !output.contains("Marker"),
            "part of the secret leaked: {output}"
        );
    }
}

#[test]
fn a_rejection_never_repeats_the_body() {
    let marker = "body-marker-91d2";
    let signed = headers(&[PYTHON_SIGNATURE]);
    let bodies = [
        json!({"eventId": marker, "eventCreated": marker}),
        json!({"eventId": EVENT_ID, "eventCreated": CREATED, "storeId": marker}),
        json!({"eventId": EVENT_ID, "eventCreated": CREATED, "data": {"orderId": [marker]}}),
        json!({"eventId": marker, "eventCreated": CREATED}),
        json!({"eventCreated": CREATED, "eventType": marker}),
    ];
    for body in bodies {
        let rejection = rejected(&signed, body.to_string().as_bytes());
        for output in [rejection.to_string(), format!("{rejection:?}")] {
            assert!(!output.contains(marker), "{output}");
        }
    }
    let rejection = rejected(&signed, format!("{{\"{marker}\": ").as_bytes());
    assert!(!rejection.to_string().contains(marker));
}

#[test]
fn the_verifier_is_send_sync_and_clone() {
    fn check<T: Send + Sync + Clone + 'static>() {}
    check::<Verifier>();
    check::<Rejection>();
    check::<WebhookEvent>();
    let _: SystemTime = verify(&order_created()).unwrap().created;
}
