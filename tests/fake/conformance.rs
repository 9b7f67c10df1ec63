//! Every kind of body the fake Ecwid store sends conforms to the spec.

use crate::common;

use ecwid_inventory::generated::types::{BatchStatus, BatchTicket, EcwidError, StockUpdateResult};
use ecwid_inventory::RateLimit;
use serde_json::{json, Value};

use common::*;

// ---------------------------------------------------------------------------------------------
// Conformance to the spec

#[tokio::test]
async fn every_kind_of_body_the_fake_sends_matches_the_spec() {
    let fake = shop()
        .rate_limit(RateLimit::per_minute(40))
        .start()
        .await
        .unwrap();
    let client = http();
    let url = |path: &str| format!("{}{path}", fake.base_url());
    let mut stock_results = Vec::new();
    let mut errors = Vec::new();

    // Successes of both endpoints: plain, with a warning, updateCount 0.
    for (path, delta) in [
        (SHIRT_RED_PATH, -1),
        (SHIRT_PATH, -1),
        (SHIRT_RED_PATH, -100),
        (SHIRT_PATH, -100),
        ("/1003/products/2/inventory", -1),
        ("/1003/products/3/combinations/31/inventory", -1),
    ] {
        stock_results.push(read(self::delta(&fake, path, delta).await).await);
    }
    // Every kind of error.
    let one = json!({ "quantityDelta": 1 });
    errors.push(read(put(&fake, SHIRT_PATH, TOKEN, json!({})).await).await);
    errors.push(read(put(&fake, SHIRT_PATH, "secret_unknown", one.clone()).await).await);
    errors.push(read(put(&fake, SHIRT_PATH, READER, one.clone()).await).await);
    errors.push(read(put(&fake, "/9999/products/1/inventory", TOKEN, one.clone()).await).await);
    errors.push(read(put(&fake, "/1003/products/9/inventory", TOKEN, one.clone()).await).await);
    errors.push(
        read(
            put(
                &fake,
                "/1003/products/1/combinations/9/inventory",
                TOKEN,
                one.clone(),
            )
            .await,
        )
        .await,
    );
    errors.push(read(put(&fake, "/1003/elsewhere", TOKEN, one.clone()).await).await);
    errors.push(
        read(
            client
                .get(url(SHIRT_PATH))
                .bearer_auth(TOKEN)
                .send()
                .await
                .unwrap(),
        )
        .await,
    );
    errors.push(
        read(
            client
                .put(url(SHIRT_PATH))
                .bearer_auth(TOKEN)
                .body("1")
                .send()
                .await
                .unwrap(),
        )
        .await,
    );
    errors.push(batch_status(&fake, "ticket=unknown").await);
    errors.push(batch_status(&fake, "").await);
    errors.push(read(create_batch(&fake, "", json!({})).await.unwrap()).await);

    // Batch: a ticket, and a status in every state and form.
    fake.pause_batches();
    let ticket_answer = read(
        create_batch(
            &fake,
            "",
            json!([
                item("ok", "/products/1/inventory", 1),
                item("negative", "/products/1/combinations/11/inventory", -100),
                item("fails", "/products/99/inventory", 1),
                item("skipped", "/products/1/inventory", 1),
            ]),
        )
        .await
        .unwrap(),
    )
    .await;
    let ticket = ticket_answer.1["ticket"].as_str().unwrap().to_owned();
    let mut statuses = vec![batch_status(&fake, &format!("ticket={ticket}")).await];
    fake.resume_batches();
    fake.batches_settled().await;
    statuses.push(batch_status(&fake, &format!("ticket={ticket}")).await);
    statuses.push(batch_status(&fake, &format!("ticket={ticket}&escapedJson=true")).await);

    // And a 429, last: fill the window.
    loop {
        let (status, body) = read(self::delta(&fake, SHIRT_PATH, 1).await).await;
        if status == 429 {
            errors.push((status, body));
            break;
        }
    }

    let stock_result = validator::<StockUpdateResult>();
    let ecwid_error = validator::<EcwidError>();
    let batch_ticket = validator::<BatchTicket>();
    let batch_status = validator::<BatchStatus>();
    // The checks have teeth: wrong bodies are refused.
    assert!(!stock_result.is_valid(&json!({ "updateCount": "1" })));
    assert!(!stock_result.is_valid(&json!({ "warning": "w" })));
    assert!(!ecwid_error.is_valid(&json!({ "errorCode": 403 })));
    assert!(!batch_ticket.is_valid(&json!({})));
    assert!(!batch_status.is_valid(&json!({ "status": "DONE" })));
    assert!(!batch_status
        .is_valid(&json!({ "status": "COMPLETED", "responses": [{ "status": "OK" }] })));

    assert_eq!(stock_results.len(), 6);
    for (status, body) in &stock_results {
        assert_eq!(*status, 200);
        assert!(stock_result.is_valid(body), "{body}");
    }
    let kinds: std::collections::BTreeSet<_> = errors
        .iter()
        .map(|(status, body)| (*status, body["errorCode"].as_str().unwrap().to_owned()))
        .collect();
    let expected: std::collections::BTreeSet<_> = [
        (400, "WRONG_PARAMETER"),
        (403, "INSUFFICIENT_APP_SCOPE"),
        (403, "INVALID_API_TOKEN"),
        (404, "COMBINATION_NOT_FOUND"),
        (404, "NOT_FOUND"),
        (404, "PRODUCT_NOT_FOUND"),
        (404, "STORE_NOT_FOUND"),
        (404, "TICKET_NOT_FOUND"),
        (405, "METHOD_NOT_ALLOWED"),
        (415, "UNSUPPORTED_MEDIA_TYPE"),
        (429, "RATE_LIMITED"),
    ]
    .into_iter()
    .map(|(status, code)| (status, code.to_owned()))
    .collect();
    assert_eq!(kinds, expected);
    for (_, body) in &errors {
        assert!(ecwid_error.is_valid(body), "{body}");
    }
    assert_eq!(ticket_answer.0, 200);
    assert!(batch_ticket.is_valid(&ticket_answer.1));
    for (status, body) in &statuses {
        assert_eq!(*status, 200);
        assert!(batch_status.is_valid(body), "{body}");
        // The bodies carried in a batch's results are the same kinds, and conform too.
        for response in body["responses"].as_array().into_iter().flatten() {
            let carried = match response.get("escapedHttpBody") {
                Some(escaped) => serde_json::from_str(escaped.as_str().unwrap()).unwrap(),
                None => response.get("httpBody").cloned().unwrap_or(Value::Null),
            };
            match response["httpStatusCode"].as_i64() {
                Some(200) => assert!(stock_result.is_valid(&carried), "{carried}"),
                Some(_) => assert!(ecwid_error.is_valid(&carried), "{carried}"),
                None => assert_eq!(response["status"], "NOT_EXECUTED"),
            }
        }
    }
    assert_eq!(statuses[0].1["status"], "QUEUED");
    assert_eq!(statuses[1].1["status"], "COMPLETED");
}
