//! What the drain's tests share: events that each move one numbered variation of the fake's
//! rack, a client for the fake, and the checks that every event landed exactly once.

use std::collections::HashMap;
use std::time::{Duration, UNIX_EPOCH};

use ecwid_inventory::journal::{Event, EventState, Journal, Recorded};
use ecwid_inventory::{CombinationId, StockChange, StockItem};
use ecwid_inventory_fake::FakeStore;

use crate::common::{RACK, START, STORE};

/// Event `n`: order line `order-n` sold one of variation `n` of the rack, `n` ms into 2026.
pub fn sale(n: u64) -> Event {
    Event::new(
        STORE,
        format!("order-{n}"),
        StockItem::Variation {
            product: RACK,
            combination: CombinationId::new(n),
        },
        StockChange::Delta(-1),
        UNIX_EPOCH + Duration::from_millis(1_767_225_600_000 + n),
    )
}

/// Records events `numbers`, each new; returns them.
pub async fn record(journal: &Journal, numbers: impl IntoIterator<Item = u64>) -> Vec<Event> {
    let mut events = Vec::new();
    for n in numbers {
        let event = sale(n);
        let recorded = journal.record(&event).await.unwrap();
        assert!(recorded.is_new(), "{recorded:?}");
        events.push(event);
    }
    events
}

/// Records events `numbers` from 8 tasks at once, for thousands of them.
pub async fn record_many(journal: &Journal, numbers: std::ops::RangeInclusive<u64>) {
    let (first, last) = (*numbers.start(), *numbers.end());
    let mut tasks = Vec::new();
    for lane in 0..8 {
        let journal = journal.clone();
        tasks.push(tokio::spawn(async move {
            for n in (first + lane..=last).step_by(8) {
                let recorded = journal.record(&sale(n)).await.unwrap();
                assert!(matches!(recorded, Recorded::New(_)), "{recorded:?}");
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
}

/// The events per variation the fake's ledger applied.
pub fn applied_per_variation(fake: &FakeStore) -> HashMap<u64, usize> {
    let mut counts = HashMap::new();
    for entry in fake.ledger() {
        let variation = entry.item.combination().expect("a variation").get();
        *counts.entry(variation).or_insert(0) += 1;
    }
    counts
}

/// Each of events `1..=n` was applied exactly once, and nothing else: the ledger holds one
/// change per variation, and each variation's stock moved by exactly one.
pub fn assert_applied_once(fake: &FakeStore, n: u64) {
    let counts = applied_per_variation(fake);
    let twice: Vec<_> = counts.iter().filter(|(_, &c)| c > 1).collect();
    assert!(twice.is_empty(), "applied more than once: {twice:?}");
    let missing: Vec<_> = (1..=n).filter(|v| !counts.contains_key(v)).collect();
    assert!(missing.is_empty(), "never applied: {missing:?}");
    assert_eq!(fake.ledger().len() as u64, n, "changes applied");
    for v in [1, n / 2 + 1, n] {
        assert_eq!(
            crate::common::quantity(fake, v),
            START - 1,
            "stock of variation {v}"
        );
    }
}

/// Each of events `1..=n` is `applied` in the journal, with Ecwid's `updateCount` 1; and no
/// event of the store is in another state.
pub async fn assert_journal_applied(journal: &Journal, n: u64) {
    let counts = journal.counts(STORE).await.unwrap();
    assert_eq!(counts.applied, n, "{counts:?}");
    assert_eq!(
        counts.recorded + counts.sending + counts.sent + counts.failed + counts.unknown,
        0,
        "{counts:?}"
    );
    for v in [1, n / 2 + 1, n] {
        let record = journal
            .event(STORE, &format!("order-{v}"))
            .await
            .unwrap()
            .unwrap();
        assert!(
            matches!(
                record.state,
                EventState::Applied {
                    update_count: 1,
                    warning: None,
                    ..
                }
            ),
            "order-{v}: {:?}",
            record.state
        );
    }
}
