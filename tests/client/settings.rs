//! Extreme settings: what is longer than a day is refused, with a clear error, before anything
//! is sent; the longest accepted ones never panic.

use std::time::Duration;

use ecwid_inventory::{
    bulk::BulkItem, settings::MAX_SETTING, ClientBuilder, Error, RateLimit, RetryPolicy,
};
use ecwid_inventory_fake::{demo, FakeStore, Fault, Route};

#[tokio::test]
async fn settings_longer_than_a_day_are_refused_when_the_client_is_built() {
    let fake = FakeStore::demo().await.unwrap();
    let builder = || fake.client_builder(demo::TOKEN);
    let too_long = MAX_SETTING + Duration::from_nanos(1);
    let cases: Vec<(&str, ClientBuilder)> = vec![
        ("deadline", builder().deadline(Duration::MAX)),
        ("deadline", builder().deadline(too_long)),
        ("timeout", builder().timeout(Duration::MAX)),
        ("connect timeout", builder().connect_timeout(Duration::MAX)),
        (
            "rate limit's window",
            builder().rate_limit(RateLimit::new(1, Duration::MAX)),
        ),
        (
            "default Retry-After",
            builder().retry_policy(RetryPolicy::default().default_retry_after(Duration::MAX)),
        ),
        (
            "longest Retry-After",
            builder().retry_policy(RetryPolicy::default().max_retry_after(too_long)),
        ),
        (
            "backoff",
            builder()
                .retry_policy(RetryPolicy::default().connect_backoff(Duration::MAX, Duration::MAX)),
        ),
    ];
    for (name, builder) in cases {
        let error = builder.build().expect_err(name);
        assert!(matches!(error, Error::Config(_)), "{name}: {error:?}");
        let text = error.to_string();
        assert!(
            text.contains(name) && text.contains("24 hours"),
            "{name}: {text}"
        );
    }
    assert!(fake.requests().is_empty());
}

/// The longest accepted settings, together: a call, a 429 without `Retry-After`, a limiter
/// wait, and a bulk run with the longest polling, none of which may panic.
#[tokio::test]
async fn the_longest_accepted_settings_do_not_panic() {
    let fake = FakeStore::demo().await.unwrap();
    let client = fake
        .client_builder(demo::TOKEN)
        .deadline(MAX_SETTING)
        .timeout(MAX_SETTING)
        .connect_timeout(MAX_SETTING)
        .rate_limit(RateLimit::new(2, MAX_SETTING))
        .retry_policy(
            RetryPolicy::default()
                .default_retry_after(MAX_SETTING)
                .max_retry_after(MAX_SETTING)
                .connect_backoff(MAX_SETTING, MAX_SETTING),
        )
        .build()
        .unwrap();
    client
        .adjust_product_stock(demo::MUG, -1)
        .send()
        .await
        .unwrap();
    // A 429 without Retry-After asks for a day's wait, which would pass the deadline.
    fake.inject_fault(
        Route::ProductInventory,
        1,
        Fault::ecwid_error(429, "RATE_LIMITED", "wait"),
    );
    let error = client
        .adjust_product_stock(demo::MUG, -1)
        .send()
        .await
        .unwrap_err();
    assert!(matches!(error, Error::RateLimited { .. }), "{error:?}");
    // Both slots of the day are spent: the next call cannot get one before its deadline.
    let error = client
        .adjust_product_stock(demo::MUG, -1)
        .send()
        .await
        .unwrap_err();
    assert!(matches!(error, Error::DeadlineExceeded), "{error:?}");

    let bulk = fake
        .client_builder(demo::TOKEN)
        .no_rate_limit()
        .build()
        .unwrap();
    let report = bulk
        .bulk_adjust([BulkItem::product(demo::MUG, 1)])
        .poll_interval(Duration::from_millis(5), MAX_SETTING)
        .poll_timeout(MAX_SETTING)
        .send()
        .await
        .unwrap();
    assert!(report.is_settled(), "{:?}", report.summary());
}

#[tokio::test]
async fn bulk_poll_settings_longer_than_a_day_are_refused_before_anything_is_sent() {
    let fake = FakeStore::demo().await.unwrap();
    let client = fake.client_builder(demo::TOKEN).build().unwrap();
    let items = || [BulkItem::product(demo::MUG, 1)];
    let runs = [
        (
            "first poll interval",
            client
                .bulk_adjust(items())
                .poll_interval(Duration::MAX, Duration::MAX),
        ),
        (
            "longest poll interval",
            client
                .bulk_adjust(items())
                .poll_interval(Duration::from_millis(5), Duration::MAX),
        ),
        (
            "poll timeout",
            client.bulk_adjust(items()).poll_timeout(Duration::MAX),
        ),
    ];
    for (name, run) in runs {
        let error = run.send().await.expect_err(name);
        assert!(matches!(error, Error::InvalidInput(_)), "{name}: {error:?}");
        assert!(error.to_string().contains(name), "{name}: {error}");
    }
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());
}

/// Per-call settings override the client's: a call's own timeout cuts a slow read that the
/// client's 30 s would have waited for, and a bad per-call setting is refused before anything
/// is sent, on every kind of call.
#[tokio::test]
async fn per_call_settings_override_the_clients_and_are_checked() {
    use ecwid_inventory::RequestOptions;
    let fake = FakeStore::demo().await.unwrap();
    let client = fake
        .client_builder(demo::TOKEN)
        .timeout(Duration::from_secs(30))
        .retry_policy(RetryPolicy::never())
        .build()
        .unwrap();
    let (product, combination) = demo::SMALL_TEE;
    let item = ecwid_inventory::StockItem::Variation {
        product,
        combination,
    };
    fake.inject_fault(Route::Any, 1, Fault::Delay(Duration::from_secs(3)));
    let started = std::time::Instant::now();
    let error = client
        .stock(item)
        .timeout(Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Timeout { .. }), "{error:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the call's own timeout cut it"
    );
    // The next call without an override reads with the client's settings.
    assert!(client.stock(item).await.is_ok());

    let sent = fake.requests().len();
    let zero = RequestOptions::new().deadline(Duration::ZERO);
    let too_long = RequestOptions::new().timeout(MAX_SETTING + Duration::from_secs(1));
    for options in [zero, too_long] {
        let errors = [
            client.stock(item).options(options).await.unwrap_err(),
            client.find_sku("TEE-S").options(options).await.unwrap_err(),
            client
                .find_skus(["A", "B", "C"])
                .options(options)
                .await
                .unwrap_err(),
            client
                .adjust_stock(item, -1)
                .options(options)
                .await
                .unwrap_err(),
            client
                .adjust_stock(item, -1)
                .exactly_once()
                .options(options)
                .await
                .unwrap_err(),
            client
                .set_stock(item, 3)
                .options(options)
                .await
                .unwrap_err(),
            client
                .bulk_adjust([BulkItem::new(item, -1)])
                .options(options)
                .await
                .unwrap_err(),
        ];
        for error in errors {
            assert!(matches!(error, Error::InvalidInput(_)), "{error:?}");
        }
    }
    assert_eq!(fake.requests().len(), sent, "nothing was sent");
}
