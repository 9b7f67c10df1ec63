//! The sales tables in the journal's PostgreSQL database, through the journal's connections
//! (feature `postgres`).
//!
//! Several receivers share the database. Claims lock the events they take with
//! `FOR UPDATE SKIP LOCKED`, so two processors never take the same event. Two of them may still
//! read the same order (two events of one order, or a webhook and a catch-up), so the
//! reconciliation of an order holds a transaction-scoped advisory lock on it, taken in a fixed
//! order (by the lock's key) when a transaction reconciles several orders: the second reads
//! what the first counted, and finds nothing left to move. Movements are inserted under a
//! second advisory lock, one per store, held until the commit, so that their sequence numbers
//! follow the order of the commits: a consumer reading after a number never misses a
//! movement committed later with a smaller one. The unique `(store_id, movement_id)` is the
//! last guard: a movement id can never be recorded twice.

use std::{collections::HashSet, sync::Arc};

use tokio_postgres::{Row, Transaction};

use super::{
    reconcile::{reconcile as decide, LineRow, OrderRow, Reconciled},
    store::{
        lock_key, Claimed, FailedRead, MovementRow, NewEvent, Work, FAILED, MOVEMENT_COLUMNS,
        PROCESSED, WAITING,
    },
};
use crate::journal::{
    group::GroupFailed,
    postgres::{Failure, Postgres},
    JournalError,
};

pub(super) async fn record_events(
    db: &Postgres,
    events: Arc<[NewEvent]>,
    now: i64,
) -> Result<Vec<bool>, GroupFailed> {
    const OPERATION: &str = "record webhook events";
    let mut pooled = db.connection(OPERATION).await?;
    let client = pooled.client();
    let result: Result<_, Failure> = async {
        let stores: Vec<i64> = events.iter().map(|e| e.store_id).collect();
        let ids: Vec<&str> = events.iter().map(|e| e.event_id.as_str()).collect();
        let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
        let orders: Vec<Option<&str>> = events.iter().map(|e| e.order_id.as_deref()).collect();
        let created: Vec<i64> = events.iter().map(|e| e.created_ms).collect();
        let states: Vec<&str> = events.iter().map(|e| e.state).collect();
        // One statement, so one commit, for the whole group.
        let rows = client
            .query(
                "INSERT INTO ecwid_sales_events (store_id, event_id, event_type, order_id,
                     created_at_ms, recorded_at_ms, state, state_changed_at_ms, attempts,
                     next_attempt_at_ms)
                 SELECT s, e, t, o, c, $7, st, $7, 0, $7
                 FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[],
                             $6::text[]) AS u(s, e, t, o, c, st)
                 ON CONFLICT (store_id, event_id) DO NOTHING
                 RETURNING store_id, event_id",
                &[&stores, &ids, &types, &orders, &created, &states, &now],
            )
            .await?;
        let mut new: HashSet<(i64, String)> = rows
            .iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
            .collect::<Result<_, tokio_postgres::Error>>()?;
        // The first of the group with a new key is the new one; another with the same key is
        // its duplicate.
        Ok(events
            .iter()
            .map(|e| new.remove(&(e.store_id, e.event_id.clone())))
            .collect())
    }
    .await;
    result.map_err(|f| db.failed(OPERATION, f))
}

pub(super) async fn claim(
    db: &Postgres,
    store_id: i64,
    worker: String,
    max: i64,
    now: i64,
    until: i64,
) -> Result<Vec<Claimed>, JournalError> {
    const OPERATION: &str = "claim webhook events";
    let mut pooled = db.connection(OPERATION).await?;
    let client = pooled.client();
    let result: Result<_, Failure> = async {
        let tx = client.transaction().await?;
        // Events another processor is claiming are skipped, not waited for.
        let rows = tx
            .query(
                "SELECT seq, order_id, created_at_ms, attempts FROM ecwid_sales_events
                 WHERE store_id = $1 AND state = 'waiting' AND next_attempt_at_ms <= $2
                   AND (claim_until_ms IS NULL OR claim_until_ms <= $2)
                 ORDER BY seq LIMIT $3
                 FOR UPDATE SKIP LOCKED",
                &[&store_id, &now, &max],
            )
            .await?;
        let claimed: Vec<Claimed> = rows
            .iter()
            .map(|row| {
                Ok(Claimed {
                    seq: row.try_get(0)?,
                    order_id: row.try_get(1)?,
                    created_ms: row.try_get(2)?,
                    attempts: i64::from(row.try_get::<_, i32>(3)?),
                })
            })
            .collect::<Result<_, tokio_postgres::Error>>()?;
        if !claimed.is_empty() {
            let seqs: Vec<i64> = claimed.iter().map(|c| c.seq).collect();
            tx.execute(
                "UPDATE ecwid_sales_events SET claimed_by = $1, claim_until_ms = $2
                 WHERE seq = ANY($3)",
                &[&worker, &until, &seqs],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(claimed)
    }
    .await;
    result.map_err(|f| db.error(OPERATION, f))
}

async fn order_row(
    tx: &Transaction<'_>,
    store: i64,
    order: &str,
) -> Result<Option<OrderRow>, tokio_postgres::Error> {
    let row = tx
        .query_opt(
            "SELECT updated_ms, deleted, payment_status, fulfillment_status
             FROM ecwid_sales_orders WHERE store_id = $1 AND order_id = $2",
            &[&store, &order],
        )
        .await?;
    row.map(|row| {
        Ok(OrderRow {
            updated_ms: row.try_get(0)?,
            deleted: row.try_get(1)?,
            payment_status: row.try_get(2)?,
            fulfillment_status: row.try_get(3)?,
        })
    })
    .transpose()
}

async fn line_rows(
    tx: &Transaction<'_>,
    store: i64,
    order: &str,
) -> Result<Vec<LineRow>, tokio_postgres::Error> {
    tx.query(
        "SELECT line_id, product_id, combination_id, sku, counted, placed, restocked
         FROM ecwid_sales_lines WHERE store_id = $1 AND order_id = $2 ORDER BY line_id",
        &[&store, &order],
    )
    .await?
    .iter()
    .map(|row| {
        Ok(LineRow {
            line_id: row.try_get(0)?,
            product_id: row.try_get(1)?,
            combination_id: row.try_get(2)?,
            sku: row.try_get(3)?,
            counted: row.try_get(4)?,
            placed: row.try_get(5)?,
            restocked: row.try_get(6)?,
        })
    })
    .collect()
}

async fn write(
    tx: &Transaction<'_>,
    store: i64,
    order_id: &str,
    done: &Reconciled,
    work: &Work,
) -> Result<(), tokio_postgres::Error> {
    tx.execute(
        "INSERT INTO ecwid_sales_orders (store_id, order_id, updated_ms, deleted, payment_status,
             fulfillment_status, reconciled_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (store_id, order_id) DO UPDATE SET updated_ms = excluded.updated_ms,
             deleted = excluded.deleted, payment_status = excluded.payment_status,
             fulfillment_status = excluded.fulfillment_status,
             reconciled_at_ms = excluded.reconciled_at_ms",
        &[
            &store,
            &order_id,
            &done.order.updated_ms,
            &done.order.deleted,
            &done.order.payment_status,
            &done.order.fulfillment_status,
            &work.now_ms,
        ],
    )
    .await?;
    for l in &done.lines {
        tx.execute(
            "INSERT INTO ecwid_sales_lines (store_id, order_id, line_id, product_id,
                 combination_id, sku, counted, placed, restocked)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (store_id, order_id, line_id) DO UPDATE SET
                 product_id = excluded.product_id, combination_id = excluded.combination_id,
                 sku = excluded.sku, counted = excluded.counted, placed = excluded.placed,
                 restocked = excluded.restocked",
            &[
                &store,
                &order_id,
                &l.line_id,
                &l.product_id,
                &l.combination_id,
                &l.sku,
                &l.counted,
                &l.placed,
                &l.restocked,
            ],
        )
        .await?;
    }
    for m in &done.movements {
        tx.execute(
            "INSERT INTO ecwid_sales_movements (store_id, movement_id, order_id, line_id, kind,
                 number, product_id, combination_id, sku, quantity, payment_status,
                 fulfillment_status, order_deleted, found_by, recorded_at_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
            &[
                &store,
                &m.movement_id,
                &m.order_id,
                &m.line_id,
                &m.kind.as_str(),
                &m.number,
                &m.product_id,
                &m.combination_id,
                &m.sku,
                &m.quantity,
                &m.payment_status,
                &m.fulfillment_status,
                &m.order_deleted,
                &work.found_by.as_str(),
                &work.now_ms,
            ],
        )
        .await?;
    }
    Ok(())
}

/// Reconciles each order of `work` and marks its done events processed, in one transaction;
/// returns how many movements it recorded.
pub(super) async fn reconcile(db: &Postgres, work: Work) -> Result<usize, JournalError> {
    const OPERATION: &str = "reconcile orders";
    let mut pooled = db.connection(OPERATION).await?;
    let client = pooled.client();
    let result: Result<_, Failure> = async {
        let tx = client.transaction().await?;
        let store = work.store.get() as i64;
        // Each order's lock, in the order of their keys: two transactions reconciling some of
        // the same orders take them in the same order, and never wait on each other in a
        // circle.
        let mut keys: Vec<i64> = work
            .observed
            .iter()
            .map(|o| lock_key(&format!("ecwid_sales order {store} {}", o.order_id())))
            .collect();
        keys.sort_unstable();
        keys.dedup();
        if !keys.is_empty() {
            tx.execute(
                "SELECT pg_advisory_xact_lock(k) FROM unnest($1::bigint[]) AS k",
                &[&keys],
            )
            .await?;
        }
        let mut decided = Vec::new();
        for observed in &work.observed {
            let order_id = observed.order_id();
            let stored = order_row(&tx, store, order_id).await?;
            let lines = line_rows(&tx, store, order_id).await?;
            if let Some(done) = decide(
                work.store,
                observed,
                work.now_ms,
                stored.as_ref(),
                &lines,
                &work.policy,
            ) {
                decided.push((order_id, done));
            }
        }
        let recorded: usize = decided.iter().map(|(_, d)| d.movements.len()).sum();
        if recorded > 0 {
            let key = lock_key(&format!("ecwid_sales movements {store}"));
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&key])
                .await?;
        }
        for (order_id, done) in &decided {
            write(&tx, store, order_id, done, &work).await?;
        }
        if !work.done_events.is_empty() {
            tx.execute(
                "UPDATE ecwid_sales_events SET state = $1, state_changed_at_ms = $2,
                     claimed_by = NULL, claim_until_ms = NULL
                 WHERE seq = ANY($3) AND state = $4",
                &[&PROCESSED, &work.now_ms, &work.done_events, &WAITING],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(recorded)
    }
    .await;
    result.map_err(|f| db.error(OPERATION, f))
}

/// Puts claimed events back, untouched, for the next call.
pub(super) async fn release(db: &Postgres, seqs: Vec<i64>) -> Result<(), JournalError> {
    const OPERATION: &str = "put webhook events back";
    let mut pooled = db.connection(OPERATION).await?;
    let client = pooled.client();
    let result: Result<_, Failure> = async {
        client
            .execute(
                "UPDATE ecwid_sales_events SET claimed_by = NULL, claim_until_ms = NULL
                 WHERE seq = ANY($1) AND state = 'waiting'",
                &[&seqs],
            )
            .await?;
        Ok(())
    }
    .await;
    result.map_err(|f| db.error(OPERATION, f))
}

pub(super) async fn fail(
    db: &Postgres,
    failed: Vec<FailedRead>,
    now: i64,
) -> Result<usize, JournalError> {
    const OPERATION: &str = "note failed order reads";
    let mut pooled = db.connection(OPERATION).await?;
    let client = pooled.client();
    let result: Result<_, Failure> = async {
        let tx = client.transaction().await?;
        let mut ended = 0;
        for f in &failed {
            let state = if f.last { FAILED } else { WAITING };
            let updated = tx
                .execute(
                    "UPDATE ecwid_sales_events SET attempts = attempts + 1, last_error = $1,
                         next_attempt_at_ms = $2, claimed_by = NULL, claim_until_ms = NULL,
                         state = $3::text,
                         state_changed_at_ms = CASE WHEN $3::text = 'waiting'
                                                    THEN state_changed_at_ms ELSE $4 END
                     WHERE seq = $5 AND state = 'waiting'",
                    &[&f.error, &f.next_attempt_ms, &state, &now, &f.seq],
                )
                .await?;
            if f.last && updated == 1 {
                ended += 1;
            }
        }
        tx.commit().await?;
        Ok(ended)
    }
    .await;
    result.map_err(|f| db.error(OPERATION, f))
}

fn movement_row(row: &Row) -> Result<MovementRow, tokio_postgres::Error> {
    Ok(MovementRow {
        seq: row.try_get(0)?,
        store_id: row.try_get(1)?,
        movement_id: row.try_get(2)?,
        order_id: row.try_get(3)?,
        line_id: row.try_get(4)?,
        kind: row.try_get(5)?,
        number: row.try_get(6)?,
        product_id: row.try_get(7)?,
        combination_id: row.try_get(8)?,
        sku: row.try_get(9)?,
        quantity: row.try_get(10)?,
        payment_status: row.try_get(11)?,
        fulfillment_status: row.try_get(12)?,
        order_deleted: row.try_get(13)?,
        found_by: row.try_get(14)?,
        recorded_at_ms: row.try_get(15)?,
    })
}

pub(super) async fn movements(
    db: &Postgres,
    store_id: i64,
    after: i64,
    limit: i64,
) -> Result<Vec<MovementRow>, JournalError> {
    const OPERATION: &str = "read stock movements";
    let mut pooled = db.connection(OPERATION).await?;
    let client = pooled.client();
    let result: Result<_, Failure> = async {
        let rows = client
            .query(
                &format!(
                    "SELECT {MOVEMENT_COLUMNS} FROM ecwid_sales_movements
                     WHERE store_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
                ),
                &[&store_id, &after, &limit],
            )
            .await?;
        Ok(rows
            .iter()
            .map(movement_row)
            .collect::<Result<_, tokio_postgres::Error>>()?)
    }
    .await;
    result.map_err(|f| db.error(OPERATION, f))
}

pub(super) async fn counts(
    db: &Postgres,
    store_id: i64,
) -> Result<Vec<(String, i64)>, JournalError> {
    const OPERATION: &str = "count webhook events";
    let mut pooled = db.connection(OPERATION).await?;
    let client = pooled.client();
    let result: Result<_, Failure> = async {
        let rows = client
            .query(
                "SELECT state, COUNT(*) FROM ecwid_sales_events WHERE store_id = $1
                 GROUP BY state",
                &[&store_id],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
            .collect::<Result<_, tokio_postgres::Error>>()?)
    }
    .await;
    result.map_err(|f| db.error(OPERATION, f))
}

pub(super) async fn retry_failed(
    db: &Postgres,
    store_id: i64,
    now: i64,
) -> Result<u64, JournalError> {
    const OPERATION: &str = "retry failed webhook events";
    let mut pooled = db.connection(OPERATION).await?;
    let client = pooled.client();
    let result: Result<_, Failure> = async {
        Ok(client
            .execute(
                "UPDATE ecwid_sales_events SET state = 'waiting', attempts = 0,
                     next_attempt_at_ms = $2, state_changed_at_ms = $2
                 WHERE store_id = $1 AND state = 'failed'",
                &[&store_id, &now],
            )
            .await?)
    }
    .await;
    result.map_err(|f| db.error(OPERATION, f))
}

pub(super) async fn cursor(db: &Postgres, store_id: i64) -> Result<Option<String>, JournalError> {
    const OPERATION: &str = "read the catch-up cursor";
    let mut pooled = db.connection(OPERATION).await?;
    let client = pooled.client();
    let result: Result<_, Failure> = async {
        let row = client
            .query_opt(
                "SELECT cursor FROM ecwid_sales_cursors WHERE store_id = $1",
                &[&store_id],
            )
            .await?;
        Ok(row.map(|row| row.try_get(0)).transpose()?)
    }
    .await;
    result.map_err(|f| db.error(OPERATION, f))
}

pub(super) async fn save_cursor(
    db: &Postgres,
    store_id: i64,
    cursor: String,
    now: i64,
) -> Result<(), JournalError> {
    const OPERATION: &str = "save the catch-up cursor";
    let mut pooled = db.connection(OPERATION).await?;
    let client = pooled.client();
    let result: Result<_, Failure> = async {
        client
            .execute(
                "INSERT INTO ecwid_sales_cursors (store_id, cursor, saved_at_ms)
                 VALUES ($1, $2, $3)
                 ON CONFLICT (store_id) DO UPDATE SET cursor = excluded.cursor,
                     saved_at_ms = excluded.saved_at_ms",
                &[&store_id, &cursor, &now],
            )
            .await?;
        Ok(())
    }
    .await;
    result.map_err(|f| db.error(OPERATION, f))
}

pub(super) async fn purge(db: &Postgres, cutoff: i64) -> Result<(u64, u64), JournalError> {
    const OPERATION: &str = "purge old sales events and movements";
    let mut pooled = db.connection(OPERATION).await?;
    let client = pooled.client();
    let result: Result<_, Failure> = async {
        let tx = client.transaction().await?;
        let events = tx
            .execute(
                "DELETE FROM ecwid_sales_events
                 WHERE state <> 'waiting' AND state_changed_at_ms < $1",
                &[&cutoff],
            )
            .await?;
        let movements = tx
            .execute(
                "DELETE FROM ecwid_sales_movements WHERE recorded_at_ms < $1",
                &[&cutoff],
            )
            .await?;
        tx.commit().await?;
        Ok((events, movements))
    }
    .await;
    result.map_err(|f| db.error(OPERATION, f))
}
