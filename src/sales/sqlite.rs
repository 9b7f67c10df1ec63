//! The sales tables in the journal's SQLite file, through the journal's connection.
//!
//! Every write is one `IMMEDIATE` transaction, so writers (this process's and other
//! processes') take turns: the reconciliation of an order reads what was counted and writes
//! what replaces it with no other writer in between, and the movements' numbers follow the
//! order of the commits.

use std::sync::Arc;

use rusqlite::{params, OptionalExtension, Row, Transaction, TransactionBehavior};

use super::{
    reconcile::{reconcile as decide, LineRow, OrderRow},
    store::{
        Claimed, FailedRead, MovementRow, NewEvent, Work, FAILED, MOVEMENT_COLUMNS, PROCESSED,
        WAITING,
    },
};
use crate::journal::{group::GroupFailed, sqlite::Sqlite, JournalError};

fn json_list(seqs: &[i64]) -> String {
    serde_json::to_string(seqs).expect("numbers serialize")
}

pub(super) async fn record_events(
    db: &Sqlite,
    events: Arc<[NewEvent]>,
    now: i64,
) -> Result<Vec<bool>, GroupFailed> {
    db.call_saying("record webhook events", move |connection| {
        let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut inserted = Vec::with_capacity(events.len());
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO ecwid_sales_events (store_id, event_id, event_type, order_id,
                     created_at_ms, recorded_at_ms, state, state_changed_at_ms, attempts,
                     next_attempt_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?6, 0, ?6)
                 ON CONFLICT (store_id, event_id) DO NOTHING",
            )?;
            for event in events.iter() {
                let count = insert.execute(params![
                    event.store_id,
                    event.event_id,
                    event.event_type,
                    event.order_id,
                    event.created_ms,
                    now,
                    event.state
                ])?;
                inserted.push(count == 1);
            }
        }
        tx.commit()?;
        Ok(inserted)
    })
    .await
}

pub(super) async fn claim(
    db: &Sqlite,
    store_id: i64,
    worker: String,
    max: i64,
    now: i64,
    until: i64,
) -> Result<Vec<Claimed>, JournalError> {
    db.call("claim webhook events", move |connection| {
        let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let claimed: Vec<Claimed> = tx
            .prepare_cached(
                "SELECT seq, order_id, created_at_ms, attempts FROM ecwid_sales_events
                 WHERE store_id = ?1 AND state = 'waiting' AND next_attempt_at_ms <= ?2
                   AND (claim_until_ms IS NULL OR claim_until_ms <= ?2)
                 ORDER BY seq LIMIT ?3",
            )?
            .query_map(params![store_id, now, max], |row| {
                Ok(Claimed {
                    seq: row.get(0)?,
                    order_id: row.get(1)?,
                    created_ms: row.get(2)?,
                    attempts: row.get(3)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        if !claimed.is_empty() {
            let seqs: Vec<i64> = claimed.iter().map(|c| c.seq).collect();
            tx.execute(
                "UPDATE ecwid_sales_events SET claimed_by = ?1, claim_until_ms = ?2
                 WHERE seq IN (SELECT value FROM json_each(?3))",
                params![worker, until, json_list(&seqs)],
            )?;
        }
        tx.commit()?;
        Ok(claimed)
    })
    .await
}

fn order_row(tx: &Transaction<'_>, store: i64, order: &str) -> rusqlite::Result<Option<OrderRow>> {
    tx.prepare_cached(
        "SELECT updated_ms, deleted, payment_status, fulfillment_status FROM ecwid_sales_orders
         WHERE store_id = ?1 AND order_id = ?2",
    )?
    .query_row(params![store, order], |row| {
        Ok(OrderRow {
            updated_ms: row.get(0)?,
            deleted: row.get(1)?,
            payment_status: row.get(2)?,
            fulfillment_status: row.get(3)?,
        })
    })
    .optional()
}

fn line_row(row: &Row<'_>) -> rusqlite::Result<LineRow> {
    Ok(LineRow {
        line_id: row.get(0)?,
        product_id: row.get(1)?,
        combination_id: row.get(2)?,
        sku: row.get(3)?,
        counted: row.get(4)?,
        placed: row.get(5)?,
        restocked: row.get(6)?,
    })
}

fn line_rows(tx: &Transaction<'_>, store: i64, order: &str) -> rusqlite::Result<Vec<LineRow>> {
    tx.prepare_cached(
        "SELECT line_id, product_id, combination_id, sku, counted, placed, restocked
         FROM ecwid_sales_lines WHERE store_id = ?1 AND order_id = ?2 ORDER BY line_id",
    )?
    .query_map(params![store, order], line_row)?
    .collect()
}

/// Reconciles each order of `work` and marks its done events processed, in one transaction;
/// returns how many movements it recorded.
pub(super) async fn reconcile(db: &Sqlite, work: Work) -> Result<usize, JournalError> {
    db.call("reconcile orders", move |connection| {
        let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let store = work.store.get() as i64;
        let mut recorded = 0;
        for observed in &work.observed {
            let order_id = observed.order_id();
            let stored = order_row(&tx, store, order_id)?;
            let lines = line_rows(&tx, store, order_id)?;
            let Some(done) = decide(
                work.store,
                observed,
                work.now_ms,
                stored.as_ref(),
                &lines,
                &work.policy,
            ) else {
                continue;
            };
            tx.prepare_cached(
                "INSERT INTO ecwid_sales_orders (store_id, order_id, updated_ms, deleted,
                     payment_status, fulfillment_status, reconciled_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (store_id, order_id) DO UPDATE SET updated_ms = excluded.updated_ms,
                     deleted = excluded.deleted, payment_status = excluded.payment_status,
                     fulfillment_status = excluded.fulfillment_status,
                     reconciled_at_ms = excluded.reconciled_at_ms",
            )?
            .execute(params![
                store,
                order_id,
                done.order.updated_ms,
                done.order.deleted,
                done.order.payment_status,
                done.order.fulfillment_status,
                work.now_ms
            ])?;
            let mut line = tx.prepare_cached(
                "INSERT INTO ecwid_sales_lines (store_id, order_id, line_id, product_id,
                     combination_id, sku, counted, placed, restocked)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT (store_id, order_id, line_id) DO UPDATE SET
                     product_id = excluded.product_id, combination_id = excluded.combination_id,
                     sku = excluded.sku, counted = excluded.counted, placed = excluded.placed,
                     restocked = excluded.restocked",
            )?;
            for l in &done.lines {
                line.execute(params![
                    store,
                    order_id,
                    l.line_id,
                    l.product_id,
                    l.combination_id,
                    l.sku,
                    l.counted,
                    l.placed,
                    l.restocked
                ])?;
            }
            let mut movement = tx.prepare_cached(
                "INSERT INTO ecwid_sales_movements (store_id, movement_id, order_id, line_id,
                     kind, number, product_id, combination_id, sku, quantity, payment_status,
                     fulfillment_status, order_deleted, found_by, recorded_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            )?;
            for m in &done.movements {
                movement.execute(params![
                    store,
                    m.movement_id,
                    m.order_id,
                    m.line_id,
                    m.kind.as_str(),
                    m.number,
                    m.product_id,
                    m.combination_id,
                    m.sku,
                    m.quantity,
                    m.payment_status,
                    m.fulfillment_status,
                    m.order_deleted,
                    work.found_by.as_str(),
                    work.now_ms
                ])?;
            }
            recorded += done.movements.len();
        }
        if !work.done_events.is_empty() {
            tx.execute(
                "UPDATE ecwid_sales_events SET state = ?1, state_changed_at_ms = ?2,
                     claimed_by = NULL, claim_until_ms = NULL
                 WHERE seq IN (SELECT value FROM json_each(?3)) AND state = ?4",
                params![
                    PROCESSED,
                    work.now_ms,
                    json_list(&work.done_events),
                    WAITING
                ],
            )?;
        }
        tx.commit()?;
        Ok(recorded)
    })
    .await
}

/// Puts claimed events back, untouched, for the next call.
pub(super) async fn release(db: &Sqlite, seqs: Vec<i64>) -> Result<(), JournalError> {
    db.call("put webhook events back", move |connection| {
        connection.execute(
            "UPDATE ecwid_sales_events SET claimed_by = NULL, claim_until_ms = NULL
             WHERE seq IN (SELECT value FROM json_each(?1)) AND state = 'waiting'",
            [json_list(&seqs)],
        )?;
        Ok(())
    })
    .await
}

/// Counts a failed read against each event, waiting for its next attempt or ending `failed`;
/// returns how many ended `failed`.
pub(super) async fn fail(
    db: &Sqlite,
    failed: Vec<FailedRead>,
    now: i64,
) -> Result<usize, JournalError> {
    db.call("note failed order reads", move |connection| {
        let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut ended = 0;
        {
            let mut update = tx.prepare_cached(
                "UPDATE ecwid_sales_events SET attempts = attempts + 1, last_error = ?1,
                     next_attempt_at_ms = ?2, claimed_by = NULL, claim_until_ms = NULL,
                     state = ?3,
                     state_changed_at_ms = CASE WHEN ?3 = 'waiting' THEN state_changed_at_ms
                                                ELSE ?4 END
                 WHERE seq = ?5 AND state = 'waiting'",
            )?;
            for f in &failed {
                let state = if f.last { FAILED } else { WAITING };
                let updated =
                    update.execute(params![f.error, f.next_attempt_ms, state, now, f.seq])?;
                if f.last && updated == 1 {
                    ended += 1;
                }
            }
        }
        tx.commit()?;
        Ok(ended)
    })
    .await
}

fn movement_row(row: &Row<'_>) -> rusqlite::Result<MovementRow> {
    Ok(MovementRow {
        seq: row.get(0)?,
        store_id: row.get(1)?,
        movement_id: row.get(2)?,
        order_id: row.get(3)?,
        line_id: row.get(4)?,
        kind: row.get(5)?,
        number: row.get(6)?,
        product_id: row.get(7)?,
        combination_id: row.get(8)?,
        sku: row.get(9)?,
        quantity: row.get(10)?,
        payment_status: row.get(11)?,
        fulfillment_status: row.get(12)?,
        order_deleted: row.get(13)?,
        found_by: row.get(14)?,
        recorded_at_ms: row.get(15)?,
    })
}

pub(super) async fn movements(
    db: &Sqlite,
    store_id: i64,
    after: i64,
    limit: i64,
) -> Result<Vec<MovementRow>, JournalError> {
    db.call("read stock movements", move |connection| {
        let rows = connection
            .prepare_cached(&format!(
                "SELECT {MOVEMENT_COLUMNS} FROM ecwid_sales_movements
                 WHERE store_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3"
            ))?
            .query_map(params![store_id, after, limit], movement_row)?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    })
    .await
}

pub(super) async fn counts(db: &Sqlite, store_id: i64) -> Result<Vec<(String, i64)>, JournalError> {
    db.call("count webhook events", move |connection| {
        let counts = connection
            .prepare_cached(
                "SELECT state, COUNT(*) FROM ecwid_sales_events WHERE store_id = ?1
                 GROUP BY state",
            )?
            .query_map([store_id], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<Result<_, _>>()?;
        Ok(counts)
    })
    .await
}

pub(super) async fn retry_failed(
    db: &Sqlite,
    store_id: i64,
    now: i64,
) -> Result<u64, JournalError> {
    db.call("retry failed webhook events", move |connection| {
        let count = connection.execute(
            "UPDATE ecwid_sales_events SET state = 'waiting', attempts = 0,
                 next_attempt_at_ms = ?2, state_changed_at_ms = ?2
             WHERE store_id = ?1 AND state = 'failed'",
            params![store_id, now],
        )?;
        Ok(count as u64)
    })
    .await
}

pub(super) async fn cursor(db: &Sqlite, store_id: i64) -> Result<Option<String>, JournalError> {
    db.call("read the catch-up cursor", move |connection| {
        Ok(connection
            .query_row(
                "SELECT cursor FROM ecwid_sales_cursors WHERE store_id = ?1",
                [store_id],
                |row| row.get(0),
            )
            .optional()?)
    })
    .await
}

pub(super) async fn save_cursor(
    db: &Sqlite,
    store_id: i64,
    cursor: String,
    now: i64,
) -> Result<(), JournalError> {
    db.call("save the catch-up cursor", move |connection| {
        connection.execute(
            "INSERT INTO ecwid_sales_cursors (store_id, cursor, saved_at_ms) VALUES (?1, ?2, ?3)
             ON CONFLICT (store_id) DO UPDATE SET cursor = excluded.cursor,
                 saved_at_ms = excluded.saved_at_ms",
            params![store_id, cursor, now],
        )?;
        Ok(())
    })
    .await
}

pub(super) async fn purge(db: &Sqlite, cutoff: i64) -> Result<(u64, u64), JournalError> {
    db.call("purge old sales events and movements", move |connection| {
        let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let events = tx.execute(
            "DELETE FROM ecwid_sales_events WHERE state <> 'waiting' AND state_changed_at_ms < ?1",
            [cutoff],
        )?;
        let movements = tx.execute(
            "DELETE FROM ecwid_sales_movements WHERE recorded_at_ms < ?1",
            [cutoff],
        )?;
        tx.commit()?;
        Ok((events as u64, movements as u64))
    })
    .await
}
