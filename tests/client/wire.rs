//! The exact requests the SDK sends and how it reads every answer, against a mock server on
//! loopback.

use crate::common;

use ecwid_inventory::{
    Client, CombinationId, Error, ProductId, StockAdjustment, StockItem, StoreId,
};
use serde_json::json;
use wiremock::{
    matchers::{method, path},
    Mock, MockServer, Request, ResponseTemplate,
};

use common::{adjust_seed, answer, mock_client, mock_client_builder, MOCK_TOKEN as TOKEN};

const VARIATION_PATH: &str = "/api/v3/1003/products/692730761/combinations/422488528/inventory";
const PRODUCT_PATH: &str = "/api/v3/1003/products/39766764/inventory";

async fn only_request(server: &MockServer) -> Request {
    let mut requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1, "exactly one request was expected");
    requests.pop().unwrap()
}

#[tokio::test]
async fn seed_example_sends_the_documented_request() {
    let server = MockServer::start().await;
    answer(
        &server,
        ResponseTemplate::new(200).set_body_json(json!({"updateCount": 1})),
    )
    .await;

    let adjustment = adjust_seed(&mock_client(&server)).await.unwrap();
    assert_eq!(adjustment.update_count(), 1);
    assert!(adjustment.is_updated());
    assert_eq!(adjustment.warning(), None);

    let request = only_request(&server).await;
    assert_eq!(request.method.as_str(), "PUT");
    assert_eq!(request.url.path(), VARIATION_PATH);
    assert_eq!(request.url.query(), None, "the flag is absent unless set");
    assert_eq!(
        request.headers.get("authorization").unwrap(),
        &format!("Bearer {TOKEN}")
    );
    assert_eq!(
        request.headers.get("content-type").unwrap(),
        "application/json"
    );
    assert_eq!(
        std::str::from_utf8(&request.body).unwrap(),
        r#"{"quantityDelta":-10}"#
    );
}

#[tokio::test]
async fn low_stock_flag_is_sent_as_set() {
    for (set, expected) in [
        (true, "checkLowStockNotification=true"),
        (false, "checkLowStockNotification=false"),
    ] {
        let server = MockServer::start().await;
        answer(
            &server,
            ResponseTemplate::new(200).set_body_json(json!({"updateCount": 1})),
        )
        .await;
        mock_client(&server)
            .adjust_variation_stock(
                ProductId::new(692730761),
                CombinationId::new(422488528),
                -10,
            )
            .check_low_stock_notification(set)
            .send()
            .await
            .unwrap();
        assert_eq!(only_request(&server).await.url.query(), Some(expected));
    }
}

#[tokio::test]
async fn client_default_for_the_flag_applies_unless_a_request_overrides_it() {
    let server = MockServer::start().await;
    answer(
        &server,
        ResponseTemplate::new(200).set_body_json(json!({"updateCount": 1})),
    )
    .await;
    let client = mock_client_builder(&server, TOKEN)
        .check_low_stock_notification(true)
        .build()
        .unwrap();
    let item = StockItem::Product {
        product: ProductId::new(39766764),
    };
    client.decrease_stock(item, 3).send().await.unwrap();
    client
        .increase_stock(item, 4)
        .check_low_stock_notification(false)
        .send()
        .await
        .unwrap();
    let requests = server.received_requests().await.unwrap();
    let seen: Vec<_> = requests
        .iter()
        .map(|r| {
            (
                r.url.query().unwrap().to_owned(),
                String::from_utf8(r.body.clone()).unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                "checkLowStockNotification=true".into(),
                r#"{"quantityDelta":-3}"#.into()
            ),
            (
                "checkLowStockNotification=false".into(),
                r#"{"quantityDelta":4}"#.into()
            ),
        ]
    );
}

#[tokio::test]
async fn product_endpoint_sends_the_documented_request() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path(PRODUCT_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"updateCount": 1})))
        .expect(1)
        .mount(&server)
        .await;
    let adjustment = mock_client(&server)
        .adjust_product_stock(ProductId::new(39766764), 5)
        .send()
        .await
        .unwrap();
    assert!(adjustment.is_updated());
    let request = only_request(&server).await;
    assert_eq!(
        std::str::from_utf8(&request.body).unwrap(),
        r#"{"quantityDelta":5}"#
    );
    assert_eq!(
        request.headers.get("authorization").unwrap(),
        &format!("Bearer {TOKEN}")
    );
}

#[tokio::test]
async fn reads_warning_zero_count_and_ignores_unknown_fields() {
    let cases = [
        (
            json!({"updateCount": 1, "warning": "Product has negative stock."}),
            1,
            Some("Product has negative stock."),
        ),
        (json!({"updateCount": 0}), 0, None),
        (
            json!({"updateCount": 1, "somethingNew": {"nested": [1, 2]}, "x": null}),
            1,
            None,
        ),
    ];
    for (body, count, warning) in cases {
        let server = MockServer::start().await;
        answer(
            &server,
            ResponseTemplate::new(200).set_body_json(body.clone()),
        )
        .await;
        let adjustment = adjust_seed(&mock_client(&server)).await.unwrap();
        assert_eq!(adjustment.update_count(), count, "{body}");
        assert_eq!(adjustment.is_updated(), count == 1, "{body}");
        assert_eq!(adjustment.warning(), warning, "{body}");
    }
}

#[tokio::test]
async fn unreadable_success_bodies_may_have_been_applied() {
    for body in [
        "",
        "not json",
        r#"{"warning": "no count"}"#,
        r#"{"updateCount": -1}"#,
    ] {
        let server = MockServer::start().await;
        answer(&server, ResponseTemplate::new(200).set_body_string(body)).await;
        let error = adjust_seed(&mock_client(&server)).await.unwrap_err();
        assert!(
            matches!(
                error,
                Error::InvalidResponse {
                    status: Some(200),
                    ..
                }
            ),
            "{body:?}: {error:?}"
        );
        assert!(error.may_have_been_applied(), "{body:?}");
        assert_eq!(error.status(), Some(200));
    }
    // A success status the spec does not list.
    let server = MockServer::start().await;
    answer(&server, ResponseTemplate::new(204)).await;
    let error = adjust_seed(&mock_client(&server)).await.unwrap_err();
    assert_eq!(error.status(), Some(204));
    assert!(error.may_have_been_applied());
}

/// Every documented error status, and proxies' favourites, with a JSON, an empty, a plain-text
/// and an HTML body: the status always survives, code and message whenever the body has them.
#[tokio::test]
async fn every_error_status_with_every_kind_of_body() {
    let statuses = [
        (400, "WRONG_PARAMETER"),
        (402, "STORE_IS_SUSPENDED"),
        (403, "INSUFFICIENT_APP_SCOPE"),
        (404, "COMBINATION_NOT_FOUND"),
        (405, "METHOD_NOT_ALLOWED"),
        (408, "TIMEOUT"),
        (409, "NOT_ALLOWED_TO_UPDATE_PARAMETER"),
        (415, "UNSUPPORTED_MEDIA_TYPE"),
        (422, "WRONG_URL"),
        (429, "RATE_LIMITED"),
        (500, "INTERNAL_ERROR"),
        (502, "BAD_GATEWAY"),
        (503, "SERVICE_UNAVAILABLE"),
    ];
    for (status, code) in statuses {
        let bodies: [(&str, ResponseTemplate, Option<&str>, Option<&str>); 4] = [
            (
                "json",
                ResponseTemplate::new(status).set_body_json(json!({
                    "errorMessage": "Something is wrong",
                    "errorCode": code,
                    "args": {"field": "quantityDelta"},
                })),
                Some(code),
                Some("Something is wrong"),
            ),
            ("empty", ResponseTemplate::new(status), None, None),
            (
                "text",
                ResponseTemplate::new(status).set_body_string("upstream said no\n"),
                None,
                Some("upstream said no"),
            ),
            (
                "html",
                ResponseTemplate::new(status).set_body_raw(
                    "<html><head><title>Gateway trouble</title></head><body><h1>Oops</h1></body></html>",
                    "text/html",
                ),
                None,
                Some("Gateway trouble"),
            ),
        ];
        for (kind, template, expected_code, expected_message) in bodies {
            let server = MockServer::start().await;
            answer(&server, template).await;
            let error = adjust_seed(&mock_client(&server)).await.unwrap_err();
            let what = format!("{status} with a {kind} body: {error:?}");
            assert_eq!(error.status(), Some(status), "{what}");
            assert_eq!(error.error_code(), expected_code, "{what}");
            assert_eq!(error.error_message(), expected_message, "{what}");
            assert_eq!(error.may_have_been_applied(), status >= 500, "{what}");
            assert_eq!(
                matches!(error, Error::RateLimited { .. }),
                status == 429,
                "{what}"
            );
            if kind == "json" && status != 429 {
                let Error::Api { args, .. } = &error else {
                    panic!("{what}")
                };
                assert_eq!(args, &[("field".to_owned(), "quantityDelta".to_owned())]);
            }
            assert_eq!(server.received_requests().await.unwrap().len(), 1, "{what}");
        }
    }
}

#[tokio::test]
async fn retry_after_is_read_from_a_429() {
    let server = MockServer::start().await;
    answer(
        &server,
        ResponseTemplate::new(429)
            .insert_header("Retry-After", "17")
            .set_body_json(json!({"errorMessage": "Too many", "errorCode": "RATE_LIMITED"})),
    )
    .await;
    let error = adjust_seed(&mock_client(&server)).await.unwrap_err();
    assert_eq!(
        error.retry_after(),
        Some(std::time::Duration::from_secs(17))
    );
    assert!(!error.may_have_been_applied());
}

/// Each bad input fails with a clear error, before any request, without echoing the token.
#[tokio::test]
async fn bad_input_sends_nothing() {
    let server = MockServer::start().await;
    answer(
        &server,
        ResponseTemplate::new(200).set_body_json(json!({"updateCount": 1})),
    )
    .await;
    let base = format!("{}/api/v3", server.uri());
    let good = mock_client(&server);

    let mut errors: Vec<(&str, Error)> = Vec::new();
    let p = ProductId::new(692730761);
    let c = CombinationId::new(422488528);
    let call = |r: Result<StockAdjustment, Error>| r.unwrap_err();
    errors.push((
        "zero product",
        call(
            good.adjust_variation_stock(ProductId::new(0), c, 1)
                .send()
                .await,
        ),
    ));
    errors.push((
        "zero combination",
        call(
            good.adjust_variation_stock(p, CombinationId::from(0), 1)
                .send()
                .await,
        ),
    ));
    errors.push((
        "zero product (product endpoint)",
        call(good.adjust_product_stock(0.into(), 1).send().await),
    ));
    errors.push((
        "zero delta",
        call(good.adjust_variation_stock(p, c, 0).send().await),
    ));
    errors.push((
        "zero decrease",
        call(
            good.decrease_stock(StockItem::Product { product: p }, 0)
                .send()
                .await,
        ),
    ));
    errors.push((
        "delta past i32",
        call(
            good.decrease_stock(StockItem::Product { product: p }, u32::MAX)
                .send()
                .await,
        ),
    ));

    let build = |store: u64, token: &str, url: &str| {
        Client::builder(StoreId::new(store), token)
            .base_url(url)
            .build()
            .unwrap_err()
    };
    errors.push(("zero store", build(0, TOKEN, &base)));
    errors.push(("empty token", build(1003, "", &base)));
    errors.push(("token with a space", build(1003, "secret_ab cd", &base)));
    errors.push((
        "token with a newline",
        build(1003, "secret_abcd\r\nX-Evil: 1", &base),
    ));
    errors.push(("token with a tab", build(1003, "\tsecret_abcd", &base)));
    errors.push((
        "token with a control",
        build(1003, "secret_\u{7}abcd", &base),
    ));
    errors.push(("token not ascii", build(1003, "secret_äbcd", &base)));
    errors.push(("ftp base URL", build(1003, TOKEN, "ftp://127.0.0.1/api/v3")));
    errors.push(("not a URL", build(1003, TOKEN, "app.ecwid.com")));
    errors.push((
        "http to a remote host",
        build(1003, TOKEN, "http://app.ecwid.com/api/v3"),
    ));
    errors.push((
        "http to a private address",
        build(1003, TOKEN, "http://192.168.1.10/api/v3"),
    ));

    for (what, error) in &errors {
        let shown = format!("{error} {error:?}");
        assert!(!error.may_have_been_applied(), "{what}");
        assert!(
            matches!(error, Error::InvalidInput(_) | Error::Config(_)),
            "{what}: {shown}"
        );
        assert!(
            !shown.contains("abcd") && !shown.contains(TOKEN),
            "{what} echoes the token: {shown}"
        );
        assert!(
            error.to_string().len() > 20,
            "{what}: the message should say what is wrong"
        );
    }
    assert_eq!(server.received_requests().await.unwrap().len(), 0);
}
