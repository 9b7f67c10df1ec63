//! The fake Ecwid store's batch API, spoken to with raw `reqwest` on loopback.

use crate::common;

use std::time::Duration;

use ecwid_inventory::generated::types::BatchStatus;
use ecwid_inventory::RateLimit;
use ecwid_inventory_fake::{
    FakeStore, Fault, Origin, Route, Stock, VARIATION_NEGATIVE_STOCK_WARNING,
};
use serde_json::{json, Value};

use common::*;

// ---------------------------------------------------------------------------------------------
// Batch API

async fn settled_status(fake: &FakeStore, ticket: &str) -> BatchStatus {
    fake.batches_settled().await;
    let (status, body) = batch_status(fake, &format!("ticket={ticket}")).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_value(body).unwrap()
}

#[tokio::test]
async fn a_batch_runs_its_items_in_order_through_the_same_rules() {
    let fake = start().await;
    let ticket = ticket(
        &fake,
        "",
        json!([
            item("a", "/products/1/combinations/11/inventory", -1),
            item(
                "b",
                "/products/1/inventory?checkLowStockNotification=true",
                -15
            ),
            item("c", "/products/1/combinations/11/inventory", -12),
            item("d", "/products/2/inventory", -1),
        ]),
    )
    .await;
    let status = settled_status(&fake, &ticket).await;
    let body = serde_json::to_value(&status).unwrap();
    assert_eq!(body["status"], "COMPLETED");
    assert_eq!(
        (
            body["totalRequests"].clone(),
            body["completedRequests"].clone()
        ),
        (json!(4), json!(4))
    );
    let responses = body["responses"].as_array().unwrap();
    assert_eq!(responses[0]["id"], "a");
    assert_eq!(responses[0]["status"], "COMPLETED");
    assert_eq!(responses[0]["httpStatusCode"], 200);
    assert_eq!(responses[0]["httpStatusLine"], "HTTP/1.1 200 OK");
    assert_eq!(responses[0]["httpBody"], json!({ "updateCount": 1 }));
    assert_eq!(
        responses[2]["httpBody"],
        json!({ "updateCount": 1, "warning": VARIATION_NEGATIVE_STOCK_WARNING })
    );
    assert_eq!(responses[3]["httpBody"], json!({ "updateCount": 0 }));

    assert_eq!(red(&fake), Some(Stock::Quantity(-3)));
    assert_eq!(shirt(&fake), Some(Stock::Quantity(5)));
    assert_eq!(fake.low_stock_notifications().len(), 1);
    let ledger = fake.ledger();
    let create = fake.requests()[0].id;
    let origins: Vec<_> = ledger.iter().map(|d| d.origin.clone()).collect();
    assert_eq!(
        origins,
        (0..3)
            .map(|index| Origin::Batch {
                ticket: ticket.clone(),
                created_by: create,
                index
            })
            .collect::<Vec<_>>()
    );

    // escapedJson: each body as a JSON string.
    let (_, escaped) = batch_status(&fake, &format!("ticket={ticket}&escapedJson=true")).await;
    let first = &escaped["responses"][0];
    assert!(first.get("httpBody").is_none());
    let unescaped: Value =
        serde_json::from_str(first["escapedHttpBody"].as_str().unwrap()).unwrap();
    assert_eq!(unescaped, json!({ "updateCount": 1 }));
}

#[tokio::test]
async fn the_first_failure_stops_a_batch_unless_asked_otherwise() {
    let fake = start().await;
    let items = json!([
        item("ok", "/products/1/combinations/11/inventory", -1),
        item("missing", "/products/99/inventory", -1),
        item("skipped", "/products/1/combinations/11/inventory", -1),
    ]);
    let stopped = ticket(&fake, "", items.clone()).await;
    let status = serde_json::to_value(settled_status(&fake, &stopped).await).unwrap();
    let responses = &status["responses"];
    assert_eq!(responses[0]["status"], "COMPLETED");
    assert_eq!(responses[1]["status"], "FAILED");
    assert_eq!(responses[1]["httpStatusCode"], 404);
    assert_eq!(responses[1]["httpStatusLine"], "HTTP/1.1 404 Not Found");
    assert_eq!(responses[1]["httpBody"]["errorCode"], "PRODUCT_NOT_FOUND");
    assert_eq!(responses[2]["status"], "NOT_EXECUTED");
    assert!(responses[2].get("httpStatusCode").is_none());
    assert_eq!(responses[2]["id"], "skipped");
    assert_eq!(status["completedRequests"], 3);
    assert_eq!(
        red(&fake),
        Some(Stock::Quantity(9)),
        "the skipped item was not applied"
    );

    let carried_on = ticket(&fake, "?stopOnFirstFailure=false", items).await;
    let status = serde_json::to_value(settled_status(&fake, &carried_on).await).unwrap();
    let statuses: Vec<_> = status["responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].clone())
        .collect();
    assert_eq!(
        statuses,
        [json!("COMPLETED"), json!("FAILED"), json!("COMPLETED")]
    );
    assert_eq!(red(&fake), Some(Stock::Quantity(7)));
}

#[tokio::test]
async fn batch_items_are_checked_like_requests() {
    let fake = start().await;
    let response = http()
        .post(format!(
            "{}/1003/batch?stopOnFirstFailure=false",
            fake.base_url()
        ))
        .bearer_auth(WRITER)
        .json(&json!([
            item("variation needs read_catalog", "/products/1/combinations/11/inventory", -1),
            item("product is fine", "/products/1/inventory", -1),
            { "id": "get", "method": "GET", "path": "/products/1/inventory" },
            { "id": "no body", "method": "PUT", "path": "/products/1/inventory" },
            item("nested", "/batch", -1),
            item("unknown", "/customers", -1),
            item("bad flag", "/products/1/inventory?checkLowStockNotification=1", -1),
        ]))
        .send()
        .await
        .unwrap();
    let (_, body) = read(response).await;
    let ticket = body["ticket"].as_str().unwrap().to_owned();
    let status = serde_json::to_value(settled_status(&fake, &ticket).await).unwrap();
    let results: Vec<_> = status["responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["status"].as_str().unwrap().to_owned(),
                r["httpStatusCode"].as_i64().unwrap(),
                r["httpBody"]["errorCode"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let expected = [
        ("FAILED", 403, "INSUFFICIENT_APP_SCOPE"),
        ("COMPLETED", 200, ""),
        ("FAILED", 405, "METHOD_NOT_ALLOWED"),
        ("FAILED", 400, "WRONG_PARAMETER"),
        ("FAILED", 400, "WRONG_PARAMETER"),
        ("FAILED", 404, "NOT_FOUND"),
        ("FAILED", 400, "WRONG_PARAMETER"),
    ]
    .map(|(s, c, e)| (s.to_owned(), c, e.to_owned()));
    assert_eq!(results, expected);
    assert_eq!(fake.ledger().len(), 1);
}

#[tokio::test]
async fn batches_wait_in_fifo_order_and_report_queued_then_completed() {
    let fake = start().await;
    fake.pause_batches();
    let first = ticket(&fake, "", json!([item("1", "/products/1/inventory", 5)])).await;
    let second = ticket(&fake, "", json!([item("2", "/products/1/inventory", -30)])).await;
    let (status, body) = batch_status(&fake, &format!("ticket={first}")).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({ "status": "QUEUED", "totalRequests": 1, "completedRequests": 0 })
    );
    assert!(fake.ledger().is_empty());

    fake.resume_batches();
    fake.batches_settled().await;
    let ledger = fake.ledger();
    // First in, first run: +5 then -30.
    let after: Vec<_> = ledger.iter().map(|d| d.stock_after).collect();
    assert_eq!(after, [Stock::Quantity(25), Stock::Quantity(-5)]);
    assert_eq!(settled_status(&fake, &second).await.responses.len(), 1);
}

#[tokio::test]
async fn a_running_batch_reports_its_progress() {
    let fake = shop()
        .batch_item_delay(Duration::from_millis(40))
        .start()
        .await
        .unwrap();
    let items: Vec<_> = (0..4)
        .map(|i| item(&i.to_string(), "/products/1/inventory", -1))
        .collect();
    let ticket = ticket(&fake, "", Value::Array(items)).await;
    let mut seen_in_progress = None;
    for _ in 0..200 {
        let (_, body) = batch_status(&fake, &format!("ticket={ticket}")).await;
        if body["status"] == "IN_PROGRESS" {
            let completed = body["completedRequests"].as_i64().unwrap();
            let shown = body
                .get("responses")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            assert_eq!(shown as i64, completed, "one result per completed request");
            seen_in_progress = Some(completed);
            if completed > 0 {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let completed = seen_in_progress.expect("IN_PROGRESS was observed");
    assert!((0..4).contains(&completed));
    assert_eq!(
        settled_status(&fake, &ticket).await.completed_requests,
        Some(4)
    );
    assert_eq!(shirt(&fake), Some(Stock::Quantity(16)));
}

#[tokio::test]
async fn a_deduplication_key_returns_the_first_ticket_for_an_hour() {
    let fake = start().await;
    let query = "?deduplicationKey=5f0c4d1e-8a41-4c3e-9b7e-2f1d7c3a9e10";
    let items = json!([item("x", "/products/1/inventory", -2)]);
    let first = ticket(&fake, query, items.clone()).await;
    fake.batches_settled().await;
    let again = ticket(&fake, query, items.clone()).await;
    fake.batches_settled().await;
    assert_eq!(again, first);
    assert_eq!(fake.ledger().len(), 1, "the repeat applied nothing");

    // Another key is another batch.
    let other = ticket(&fake, "?deduplicationKey=other", items.clone()).await;
    assert_ne!(other, first);
    fake.batches_settled().await;
    assert_eq!(fake.ledger().len(), 2);

    fake.advance_clock(Duration::from_secs(59 * 60));
    assert_eq!(ticket(&fake, query, items.clone()).await, first);
    fake.advance_clock(Duration::from_secs(60));
    let after_an_hour = ticket(&fake, query, items).await;
    assert_ne!(after_an_hour, first, "forgotten after an hour");
    fake.batches_settled().await;
    assert_eq!(fake.ledger().len(), 3);
    assert_eq!(shirt(&fake), Some(Stock::Quantity(14)));
}

#[tokio::test]
async fn a_lost_batch_answer_is_recovered_by_its_deduplication_key() {
    let fake = start().await;
    fake.inject_fault(Route::BatchCreate, 1, Fault::CloseAfterApplying);
    let query = "?deduplicationKey=retry-me";
    let items = json!([item("x", "/products/1/inventory", -2)]);
    let lost = create_batch(&fake, query, items.clone()).await;
    assert!(lost.is_err(), "the caller got no answer");
    fake.batches_settled().await;
    assert_eq!(fake.ledger().len(), 1, "but the batch was queued and ran");

    let ticket = ticket(&fake, query, items).await;
    fake.batches_settled().await;
    assert_eq!(fake.ledger().len(), 1, "the retry applied nothing new");
    let Origin::Batch {
        ticket: applied_by, ..
    } = &fake.ledger()[0].origin
    else {
        panic!("applied by the batch");
    };
    assert_eq!(applied_by, &ticket);
}

#[tokio::test]
async fn malformed_batches_and_tickets_are_refused() {
    let fake = start().await;
    let too_many: Vec<_> = (0..501)
        .map(|i| item(&i.to_string(), "/products/1/inventory", 1))
        .collect();
    for (query, body) in [
        ("", Value::Array(too_many)),
        (
            "",
            json!({ "path": "/products/1/inventory", "method": "PUT" }),
        ),
        ("", json!([{ "path": "/products/1/inventory" }])),
        (
            "",
            json!([{ "path": "/products/1/inventory", "method": "PATCH" }]),
        ),
        ("?stopOnFirstFailure=perhaps", json!([])),
    ] {
        let answer = error(create_batch(&fake, query, body).await.unwrap()).await;
        assert_eq!(answer, (400, "WRONG_PARAMETER".into()), "{query}");
    }
    let full: Vec<_> = (0..500)
        .map(|i| item(&i.to_string(), "/products/1/inventory", 1))
        .collect();
    let accepted = ticket(&fake, "", Value::Array(full)).await;
    assert_eq!(
        settled_status(&fake, &accepted).await.completed_requests,
        Some(500)
    );
    assert_eq!(shirt(&fake), Some(Stock::Quantity(520)));

    let (status, body) = batch_status(&fake, "ticket=no-such-ticket").await;
    assert_eq!(
        (status, body["errorCode"].clone()),
        (404, json!("TICKET_NOT_FOUND"))
    );
    let (status, body) = batch_status(&fake, "escapedJson=true").await;
    assert_eq!(
        (status, body["errorCode"].clone()),
        (400, json!("WRONG_PARAMETER"))
    );
    // Another store's token cannot read this store's batches.
    let foreign = http()
        .get(format!("{}/1003/batch?ticket={accepted}", fake.base_url()))
        .bearer_auth(OTHER_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(error(foreign).await, (403, "INVALID_API_TOKEN".into()));
    let delete = http()
        .delete(format!("{}/1003/batch", fake.base_url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(delete.headers()["allow"], "GET, POST");
    assert_eq!(error(delete).await.0, 405);
}

#[tokio::test]
async fn a_batch_item_whose_id_is_null_is_refused() {
    let fake = start().await;
    // The spec types `id` as a string: null is as malformed as a number.
    for id in [Value::Null, json!(7)] {
        let body = json!([{
            "id": id,
            "path": "/products/1/inventory",
            "method": "PUT",
            "body": { "quantityDelta": 1 },
        }]);
        let answer = error(create_batch(&fake, "", body).await.unwrap()).await;
        assert_eq!(answer, (400, "WRONG_PARAMETER".into()), "id {id}");
    }
    fake.batches_settled().await;
    assert!(fake.ledger().is_empty());
    assert_eq!(shirt(&fake), Some(Stock::Quantity(20)));
}

#[tokio::test]
async fn a_batch_item_s_other_fields_are_ignored_null_or_not() {
    let fake = start().await;
    // The spec allows other fields in an item; Ecwid's own clients send more than these.
    let body = json!([
        {"path": "/products/1/inventory", "method": "PUT", "body": {"quantityDelta": -1},
         "note": null},
        {"path": "/products/1/inventory", "method": "PUT", "body": {"quantityDelta": -2},
         "note": {"by": ["warehouse"]}},
    ]);
    ticket(&fake, "", body).await;
    fake.batches_settled().await;
    assert_eq!(fake.ledger().len(), 2);
    assert_eq!(shirt(&fake), Some(Stock::Quantity(17)));
}

#[tokio::test]
async fn a_batch_counts_as_one_request_against_the_rate_limit() {
    let fake = shop()
        .rate_limit(RateLimit::per_minute(2))
        .start()
        .await
        .unwrap();
    let items: Vec<_> = (0..10)
        .map(|i| item(&i.to_string(), "/products/1/inventory", -1))
        .collect();
    ticket(&fake, "", Value::Array(items)).await;
    fake.batches_settled().await;
    assert_eq!(fake.ledger().len(), 10);
    assert_eq!(delta(&fake, SHIRT_PATH, -1).await.status(), 200);
    assert_eq!(delta(&fake, SHIRT_PATH, -1).await.status(), 429);
    assert_eq!(shirt(&fake), Some(Stock::Quantity(9)));
}

#[tokio::test]
async fn a_parallel_batch_runs_up_to_100_items_at_once_each_answered_in_its_place() {
    let delay = Duration::from_secs(1);
    let items = |n: usize| {
        Value::Array(
            (0..n)
                .map(|i| item(&i.to_string(), "/products/1/inventory", -1))
                .collect(),
        )
    };
    let parallel = shop().batch_item_delay(delay).start().await.unwrap();
    let in_order = shop().batch_item_delay(delay).start().await.unwrap();
    let before = shirt(&parallel);
    parallel.pause_batches();
    in_order.pause_batches();
    let parallel_ticket = ticket(&parallel, "?allowParallelMode=true", items(150)).await;
    let in_order_ticket = ticket(&in_order, "?allowParallelMode=false", items(3)).await;
    // From here the fakes are only looked at in-process, so the paused clock moves them.
    tokio::time::pause();
    parallel.resume_batches();
    in_order.resume_batches();
    tokio::time::sleep(delay + delay / 2).await;
    assert_eq!(
        parallel.ledger().len(),
        100,
        "a hundred items ran together, and no more"
    );
    assert_eq!(
        in_order.ledger().len(),
        1,
        "without the flag, one at a time"
    );
    tokio::time::sleep(delay).await;
    assert_eq!(parallel.ledger().len(), 150);
    assert_eq!(in_order.ledger().len(), 2);
    tokio::time::resume();

    let status = serde_json::to_value(settled_status(&parallel, &parallel_ticket).await).unwrap();
    assert_eq!(status["completedRequests"], 150);
    let responses = status["responses"].as_array().unwrap();
    assert_eq!(responses.len(), 150);
    for (i, response) in responses.iter().enumerate() {
        assert_eq!(
            response["id"],
            i.to_string(),
            "each result in its item's place"
        );
        assert_eq!(response["status"], "COMPLETED");
        assert_eq!(response["httpBody"]["updateCount"], 1);
    }
    let (Some(Stock::Quantity(before)), Some(Stock::Quantity(after))) = (before, shirt(&parallel))
    else {
        panic!("the shirt has a counted stock");
    };
    assert_eq!(before - after, 150, "every item applied once");
    let status = settled_status(&in_order, &in_order_ticket).await;
    assert_eq!(status.completed_requests, Some(3));
}

#[tokio::test]
async fn a_failure_in_a_parallel_batch_stops_only_the_items_not_yet_started() {
    let fake = shop()
        .batch_item_delay(Duration::from_millis(10))
        .start()
        .await
        .unwrap();
    let mut items = vec![item("missing", "/products/99/inventory", -1)];
    items.extend((1..150).map(|i| item(&i.to_string(), "/products/1/inventory", -1)));
    let ticket = ticket(&fake, "?allowParallelMode=true", Value::Array(items)).await;
    let status = serde_json::to_value(settled_status(&fake, &ticket).await).unwrap();
    let statuses: Vec<&str> = status["responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    // The first hundred started together, before the failure was known.
    assert_eq!(statuses[0], "FAILED");
    assert!(
        statuses[1..100].iter().all(|&s| s == "COMPLETED"),
        "{statuses:?}"
    );
    assert!(
        statuses[100..].iter().all(|&s| s == "NOT_EXECUTED"),
        "{statuses:?}"
    );
    assert_eq!(status["completedRequests"], 150);
    assert_eq!(fake.ledger().len(), 99);
}

/// Under a paused clock the fake's waits pass as soon as nothing else can run, so the time a
/// request takes is exactly the fake's modelled time.
#[tokio::test(start_paused = true)]
async fn a_search_page_costs_its_time_over_http_and_in_a_batch_where_parallel_pages_share_it() {
    let page_time = Duration::from_secs(1);
    let fake = shop().search_page_time(page_time).start().await.unwrap();
    let get = |path: &'static str| {
        let url = format!("{}/1003{path}", fake.base_url());
        async move {
            let started = tokio::time::Instant::now();
            let response = http().get(url).bearer_auth(TOKEN).send().await.unwrap();
            assert_eq!(response.status(), 200);
            started.elapsed()
        }
    };
    assert_eq!(get("/products?limit=1").await, page_time);
    assert!(
        get("/products/1").await < page_time,
        "only a search pays it"
    );

    let pages = |n: usize| {
        Value::Array(
            (0..n)
                .map(|i| json!({"id": i.to_string(), "method": "GET", "path": "/products?limit=1"}))
                .collect(),
        )
    };
    let started = tokio::time::Instant::now();
    let parallel = ticket(&fake, "?allowParallelMode=true", pages(150)).await;
    let status = settled_status(&fake, &parallel).await;
    assert_eq!(status.completed_requests, Some(150));
    // A hundred pages, then fifty: two page times, not one, nor 150.
    let took = started.elapsed();
    assert!(took >= 2 * page_time && took < 3 * page_time, "{took:?}");
    let started = tokio::time::Instant::now();
    let in_order = ticket(&fake, "", pages(3)).await;
    settled_status(&fake, &in_order).await;
    assert!(started.elapsed() >= 3 * page_time);
}
