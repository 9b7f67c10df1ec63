//! The journal's tables, as numbered migrations run by the crate when a journal is opened.
//!
//! Both backends hold the same tables with the same meaning; only the column types differ
//! (SQLite's `INTEGER` is PostgreSQL's `BIGINT`, a boolean is 0 or 1 in SQLite). Every table
//! is named `ecwid_journal_*`, so the journal can live in a database of the user's own.
//!
//! - `ecwid_journal_migrations`: one row per migration applied (`version`, `description`,
//!   `applied_at_ms`).
//! - `ecwid_journal_runs`: one row per run, a batch of events claimed together: the worker
//!   holding it, its lease (`lease_id`, a fresh UUID per holder, and `lease_until_ms`), its
//!   saved JSON `document` (the drain's bulk plan), and, once closed, when and how
//!   (`finished`, or `released` back unsent).
//! - `ecwid_journal_events`: one row per `(store_id, event_id)`: the event (item, change,
//!   low-stock flag, when it occurred), when it was recorded, its state (`state`, the tag, and
//!   `state_detail`, the whole [`EventState`](super::EventState) as JSON) and when that last
//!   changed, and the run holding it with its position there (`run_id`, `run_position`; none
//!   while it waits to be claimed).
//!
//! Recording inserts a row into `ecwid_journal_events` and an entry into each index that holds
//! it, so the events' indexes hold only the rows their queries look for (migration 3): the
//! primary key (`seq`: claims and state updates name events by it), the unique
//! `(store_id, event_id)` (recording each event once rests on it), the events waiting for a
//! claim (`run_id` null, by store, then when they occurred), those of a run (`run_id` not
//! null, by position), the failed and unknown ones (listed by
//! [`Journal::failed`](super::Journal::failed) and [`Journal::unknown`](super::Journal::unknown)),
//! and the final ones by when their state became final (for purging).
//! A recorded event is in the first three only. In SQLite a check or an index's condition
//! that lists more than two values (`state IN ('a', 'b', 'c')`) builds a table of those values
//! for every row written, which cost more than the row itself; there they are written as
//! `state = 'a' OR state = 'b' OR ...`, and so are the queries that use those indexes (a
//! query uses a partial index only where its own condition is the index's, or implies it).
//!
//! The sales module (`ecwid_inventory::sales`, feature `sales`) keeps Ecwid's own sales in the
//! same database, in tables named `ecwid_sales_*` (migration 2), created whether or not the
//! feature is on:
//!
//! - `ecwid_sales_events`: one row per verified webhook event, by `(store_id, event_id)`: its
//!   type, the order it names (`order_id`, a hint), when Ecwid created it and when it was
//!   recorded; its state (`waiting`, `processed`, `skipped` for events that never move stock,
//!   `failed` after too many failed order reads) and when that last changed; the failed reads
//!   so far (`attempts`, `last_error`, `next_attempt_at_ms`); and the claim of the processor
//!   working on it (`claimed_by`, `claim_until_ms`).
//! - `ecwid_sales_orders`: one row per order reconciled, by `(store_id, order_id)`: the
//!   `updateTimestamp` of the state last reconciled (`updated_ms`; for a deleted order, when
//!   the deletion was seen), whether it was deleted, and its statuses then.
//! - `ecwid_sales_lines`: one row per order line, by `(store_id, order_id, line_id)`: the stock
//!   item and quantity counted out of Ecwid's stock so far (`counted`), and how many placed and
//!   restocked movements the line has had (`placed`, `restocked`), which number the next ones.
//! - `ecwid_sales_movements`: the log of stock movements, numbered by `seq` in the order they
//!   were committed, each with its stable `movement_id`, unique within its store.
//! - `ecwid_sales_cursors`: one catch-up cursor per store, as its JSON.
//!
//! Every time is milliseconds since the Unix epoch, from the journal's clock (never the
//! database's `now()`), but an order's `updated_ms`, which is Ecwid's.

use super::error::JournalError;

/// The journal's schema version that this crate writes: the number of its last migration. A
/// database at a higher version (written by a newer release of this crate) is refused.
pub const SCHEMA_VERSION: u32 = 3;

/// SQLite's condition of the index of final events (`ecwid_journal_events_final`), which
/// [`purge`](super::Journal::purge) repeats word for word so that SQLite uses the index.
pub(super) const SQLITE_FINAL: &str =
    "(state = 'applied' OR state = 'failed' OR state = 'unknown')";

/// One change of the schema, in each backend's SQL.
#[derive(Debug)]
pub(super) struct Migration {
    pub version: u32,
    pub description: &'static str,
    pub sqlite: &'static str,
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub postgres: &'static str,
}

/// Every migration, in order; the last one's version is [`SCHEMA_VERSION`].
pub(super) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "events and runs",
        sqlite: "
        CREATE TABLE ecwid_journal_runs (
            run_id TEXT PRIMARY KEY,
            store_id INTEGER NOT NULL,
            worker TEXT NOT NULL,
            lease_id TEXT NOT NULL,
            lease_until_ms INTEGER NOT NULL,
            document TEXT NOT NULL,
            created_at_ms INTEGER NOT NULL,
            saved_at_ms INTEGER NOT NULL,
            closed_at_ms INTEGER,
            closed_as TEXT CHECK (closed_as IN ('finished', 'released'))
        );
        CREATE INDEX ecwid_journal_runs_open
            ON ecwid_journal_runs (store_id, lease_until_ms) WHERE closed_at_ms IS NULL;
        CREATE INDEX ecwid_journal_runs_closed
            ON ecwid_journal_runs (closed_at_ms) WHERE closed_at_ms IS NOT NULL;
        CREATE TABLE ecwid_journal_events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            store_id INTEGER NOT NULL,
            event_id TEXT NOT NULL,
            product_id INTEGER NOT NULL,
            combination_id INTEGER,
            change_kind TEXT NOT NULL CHECK (change_kind IN ('delta', 'set', 'unlimited')),
            change_value INTEGER,
            check_low_stock INTEGER CHECK (check_low_stock IN (0, 1)),
            occurred_at_ms INTEGER NOT NULL,
            recorded_at_ms INTEGER NOT NULL,
            state TEXT NOT NULL
                CHECK (state IN ('recorded', 'sending', 'sent', 'applied', 'failed', 'unknown')),
            state_detail TEXT NOT NULL,
            state_changed_at_ms INTEGER NOT NULL,
            run_id TEXT REFERENCES ecwid_journal_runs (run_id),
            run_position INTEGER,
            UNIQUE (store_id, event_id)
        );
        CREATE INDEX ecwid_journal_events_waiting
            ON ecwid_journal_events (store_id, occurred_at_ms, seq) WHERE run_id IS NULL;
        CREATE INDEX ecwid_journal_events_run ON ecwid_journal_events (run_id, run_position);
        CREATE INDEX ecwid_journal_events_state ON ecwid_journal_events (store_id, state, seq);
        CREATE INDEX ecwid_journal_events_final
            ON ecwid_journal_events (state_changed_at_ms)
            WHERE state IN ('applied', 'failed', 'unknown');
    ",
        postgres: "
        CREATE TABLE ecwid_journal_runs (
            run_id TEXT PRIMARY KEY,
            store_id BIGINT NOT NULL,
            worker TEXT NOT NULL,
            lease_id TEXT NOT NULL,
            lease_until_ms BIGINT NOT NULL,
            document TEXT NOT NULL,
            created_at_ms BIGINT NOT NULL,
            saved_at_ms BIGINT NOT NULL,
            closed_at_ms BIGINT,
            closed_as TEXT CHECK (closed_as IN ('finished', 'released'))
        );
        CREATE INDEX ecwid_journal_runs_open
            ON ecwid_journal_runs (store_id, lease_until_ms) WHERE closed_at_ms IS NULL;
        CREATE INDEX ecwid_journal_runs_closed
            ON ecwid_journal_runs (closed_at_ms) WHERE closed_at_ms IS NOT NULL;
        CREATE TABLE ecwid_journal_events (
            seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            store_id BIGINT NOT NULL,
            event_id TEXT NOT NULL,
            product_id BIGINT NOT NULL,
            combination_id BIGINT,
            change_kind TEXT NOT NULL CHECK (change_kind IN ('delta', 'set', 'unlimited')),
            change_value BIGINT,
            check_low_stock BOOLEAN,
            occurred_at_ms BIGINT NOT NULL,
            recorded_at_ms BIGINT NOT NULL,
            state TEXT NOT NULL
                CHECK (state IN ('recorded', 'sending', 'sent', 'applied', 'failed', 'unknown')),
            state_detail TEXT NOT NULL,
            state_changed_at_ms BIGINT NOT NULL,
            run_id TEXT REFERENCES ecwid_journal_runs (run_id),
            run_position INTEGER,
            UNIQUE (store_id, event_id)
        );
        CREATE INDEX ecwid_journal_events_waiting
            ON ecwid_journal_events (store_id, occurred_at_ms, seq) WHERE run_id IS NULL;
        CREATE INDEX ecwid_journal_events_run ON ecwid_journal_events (run_id, run_position);
        CREATE INDEX ecwid_journal_events_state ON ecwid_journal_events (store_id, state, seq);
        CREATE INDEX ecwid_journal_events_final
            ON ecwid_journal_events (state_changed_at_ms)
            WHERE state IN ('applied', 'failed', 'unknown');
    ",
    },
    Migration {
        version: 2,
        description: "Ecwid's own sales: webhook events, order lines counted, stock movements",
        sqlite: "
        CREATE TABLE ecwid_sales_events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            store_id INTEGER NOT NULL,
            event_id TEXT NOT NULL,
            event_type TEXT NOT NULL,
            order_id TEXT,
            created_at_ms INTEGER NOT NULL,
            recorded_at_ms INTEGER NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('waiting', 'processed', 'skipped', 'failed')),
            state_changed_at_ms INTEGER NOT NULL,
            attempts INTEGER NOT NULL,
            next_attempt_at_ms INTEGER NOT NULL,
            last_error TEXT,
            claimed_by TEXT,
            claim_until_ms INTEGER,
            UNIQUE (store_id, event_id)
        );
        CREATE INDEX ecwid_sales_events_waiting
            ON ecwid_sales_events (store_id, next_attempt_at_ms, seq) WHERE state = 'waiting';
        CREATE INDEX ecwid_sales_events_final
            ON ecwid_sales_events (state_changed_at_ms) WHERE state <> 'waiting';
        CREATE TABLE ecwid_sales_orders (
            store_id INTEGER NOT NULL,
            order_id TEXT NOT NULL,
            updated_ms INTEGER,
            deleted INTEGER NOT NULL CHECK (deleted IN (0, 1)),
            payment_status TEXT,
            fulfillment_status TEXT,
            reconciled_at_ms INTEGER NOT NULL,
            PRIMARY KEY (store_id, order_id)
        );
        CREATE TABLE ecwid_sales_lines (
            store_id INTEGER NOT NULL,
            order_id TEXT NOT NULL,
            line_id INTEGER NOT NULL,
            product_id INTEGER,
            combination_id INTEGER,
            sku TEXT,
            counted INTEGER NOT NULL,
            placed INTEGER NOT NULL,
            restocked INTEGER NOT NULL,
            PRIMARY KEY (store_id, order_id, line_id)
        );
        CREATE TABLE ecwid_sales_movements (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            store_id INTEGER NOT NULL,
            movement_id TEXT NOT NULL,
            order_id TEXT NOT NULL,
            line_id INTEGER NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('placed', 'restocked')),
            number INTEGER NOT NULL,
            product_id INTEGER NOT NULL,
            combination_id INTEGER,
            sku TEXT,
            quantity INTEGER NOT NULL CHECK (quantity > 0),
            payment_status TEXT,
            fulfillment_status TEXT,
            order_deleted INTEGER NOT NULL CHECK (order_deleted IN (0, 1)),
            found_by TEXT NOT NULL CHECK (found_by IN ('webhook', 'catch-up')),
            recorded_at_ms INTEGER NOT NULL,
            UNIQUE (store_id, movement_id)
        );
        CREATE INDEX ecwid_sales_movements_store ON ecwid_sales_movements (store_id, seq);
        CREATE INDEX ecwid_sales_movements_recorded ON ecwid_sales_movements (recorded_at_ms);
        CREATE TABLE ecwid_sales_cursors (
            store_id INTEGER PRIMARY KEY,
            cursor TEXT NOT NULL,
            saved_at_ms INTEGER NOT NULL
        );
    ",
        postgres: "
        CREATE TABLE ecwid_sales_events (
            seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            store_id BIGINT NOT NULL,
            event_id TEXT NOT NULL,
            event_type TEXT NOT NULL,
            order_id TEXT,
            created_at_ms BIGINT NOT NULL,
            recorded_at_ms BIGINT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('waiting', 'processed', 'skipped', 'failed')),
            state_changed_at_ms BIGINT NOT NULL,
            attempts INTEGER NOT NULL,
            next_attempt_at_ms BIGINT NOT NULL,
            last_error TEXT,
            claimed_by TEXT,
            claim_until_ms BIGINT,
            UNIQUE (store_id, event_id)
        );
        CREATE INDEX ecwid_sales_events_waiting
            ON ecwid_sales_events (store_id, next_attempt_at_ms, seq) WHERE state = 'waiting';
        CREATE INDEX ecwid_sales_events_final
            ON ecwid_sales_events (state_changed_at_ms) WHERE state <> 'waiting';
        CREATE TABLE ecwid_sales_orders (
            store_id BIGINT NOT NULL,
            order_id TEXT NOT NULL,
            updated_ms BIGINT,
            deleted BOOLEAN NOT NULL,
            payment_status TEXT,
            fulfillment_status TEXT,
            reconciled_at_ms BIGINT NOT NULL,
            PRIMARY KEY (store_id, order_id)
        );
        CREATE TABLE ecwid_sales_lines (
            store_id BIGINT NOT NULL,
            order_id TEXT NOT NULL,
            line_id BIGINT NOT NULL,
            product_id BIGINT,
            combination_id BIGINT,
            sku TEXT,
            counted BIGINT NOT NULL,
            placed BIGINT NOT NULL,
            restocked BIGINT NOT NULL,
            PRIMARY KEY (store_id, order_id, line_id)
        );
        CREATE TABLE ecwid_sales_movements (
            seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            store_id BIGINT NOT NULL,
            movement_id TEXT NOT NULL,
            order_id TEXT NOT NULL,
            line_id BIGINT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('placed', 'restocked')),
            number BIGINT NOT NULL,
            product_id BIGINT NOT NULL,
            combination_id BIGINT,
            sku TEXT,
            quantity BIGINT NOT NULL CHECK (quantity > 0),
            payment_status TEXT,
            fulfillment_status TEXT,
            order_deleted BOOLEAN NOT NULL,
            found_by TEXT NOT NULL CHECK (found_by IN ('webhook', 'catch-up')),
            recorded_at_ms BIGINT NOT NULL,
            UNIQUE (store_id, movement_id)
        );
        CREATE INDEX ecwid_sales_movements_store ON ecwid_sales_movements (store_id, seq);
        CREATE INDEX ecwid_sales_movements_recorded ON ecwid_sales_movements (recorded_at_ms);
        CREATE TABLE ecwid_sales_cursors (
            store_id BIGINT PRIMARY KEY,
            cursor TEXT NOT NULL,
            saved_at_ms BIGINT NOT NULL
        );
    ",
    },
    Migration {
        version: 3,
        description: "events' indexes only where their queries look; SQLite's checks without \
                      lists of values",
        // SQLite cannot change a table's checks in place: the table is made anew, its rows
        // copied with their numbers, and its AUTOINCREMENT counter carried over (it may be
        // past the last row's, the newest events purged), so that no number is used twice.
        // Renaming the old table renames its counter with it.
        sqlite: "
        ALTER TABLE ecwid_journal_events RENAME TO ecwid_journal_events_v2;
        CREATE TABLE ecwid_journal_events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            store_id INTEGER NOT NULL,
            event_id TEXT NOT NULL,
            product_id INTEGER NOT NULL,
            combination_id INTEGER,
            change_kind TEXT NOT NULL
                CHECK (change_kind = 'delta' OR change_kind = 'set' OR change_kind = 'unlimited'),
            change_value INTEGER,
            check_low_stock INTEGER CHECK (check_low_stock IN (0, 1)),
            occurred_at_ms INTEGER NOT NULL,
            recorded_at_ms INTEGER NOT NULL,
            state TEXT NOT NULL
                CHECK (state = 'recorded' OR state = 'sending' OR state = 'sent'
                       OR state = 'applied' OR state = 'failed' OR state = 'unknown'),
            state_detail TEXT NOT NULL,
            state_changed_at_ms INTEGER NOT NULL,
            run_id TEXT REFERENCES ecwid_journal_runs (run_id),
            run_position INTEGER,
            UNIQUE (store_id, event_id)
        );
        INSERT INTO ecwid_journal_events SELECT * FROM ecwid_journal_events_v2;
        DELETE FROM sqlite_sequence WHERE name = 'ecwid_journal_events';
        UPDATE sqlite_sequence SET name = 'ecwid_journal_events'
            WHERE name = 'ecwid_journal_events_v2';
        DROP TABLE ecwid_journal_events_v2;
        CREATE INDEX ecwid_journal_events_waiting
            ON ecwid_journal_events (store_id, occurred_at_ms, seq) WHERE run_id IS NULL;
        CREATE INDEX ecwid_journal_events_run
            ON ecwid_journal_events (run_id, run_position) WHERE run_id IS NOT NULL;
        CREATE INDEX ecwid_journal_events_state ON ecwid_journal_events (store_id, state, seq)
            WHERE (state = 'failed' OR state = 'unknown');
        CREATE INDEX ecwid_journal_events_final ON ecwid_journal_events (state_changed_at_ms)
            WHERE (state = 'applied' OR state = 'failed' OR state = 'unknown');
    ",
        postgres: "
        DROP INDEX ecwid_journal_events_run;
        CREATE INDEX ecwid_journal_events_run
            ON ecwid_journal_events (run_id, run_position) WHERE run_id IS NOT NULL;
        DROP INDEX ecwid_journal_events_state;
        CREATE INDEX ecwid_journal_events_state ON ecwid_journal_events (store_id, state, seq)
            WHERE state IN ('failed', 'unknown');
    ",
    },
];

/// `state`, checked to be one of those the index of failed and unknown events holds, for a
/// query that names it in its text (where the index can be seen to serve it).
pub(super) fn listed_state(state: &'static str) -> Result<&'static str, JournalError> {
    match state {
        "failed" | "unknown" => Ok(state),
        other => Err(JournalError::InvalidInput(format!(
            "events are listed by state failed or unknown, not {other}"
        ))),
    }
}

/// Creates the migrations table where it is missing; run before reading it.
pub(super) const MIGRATIONS_TABLE: &str = "
    CREATE TABLE IF NOT EXISTS ecwid_journal_migrations (
        version INTEGER PRIMARY KEY,
        description TEXT NOT NULL,
        applied_at_ms BIGINT NOT NULL
    )";

/// The migration to apply next to a database at `current` (its highest applied version, 0
/// for none), or none when it is up to date. A database newer than this crate is refused.
pub(super) fn next(current: i64) -> Result<Option<&'static Migration>, JournalError> {
    if current > i64::from(SCHEMA_VERSION) {
        return Err(JournalError::Schema(format!(
            "the journal's database is at schema version {current}, newer than this version of \
             ecwid-inventory knows (schema version {SCHEMA_VERSION}): upgrade ecwid-inventory, \
             or give this one a database of its own"
        )));
    }
    Ok(MIGRATIONS.iter().find(|m| i64::from(m.version) > current))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_one_by_one_up_to_the_schema_version() {
        for (n, migration) in MIGRATIONS.iter().enumerate() {
            assert_eq!(migration.version as usize, n + 1);
        }
        assert_eq!(MIGRATIONS.last().unwrap().version, SCHEMA_VERSION);
        assert_eq!(next(0).unwrap().unwrap().version, 1);
        assert!(next(i64::from(SCHEMA_VERSION)).unwrap().is_none());
        let error = next(i64::from(SCHEMA_VERSION) + 1).unwrap_err().to_string();
        assert!(
            error.contains(&format!("schema version {}", SCHEMA_VERSION + 1))
                && error.contains(&format!("(schema version {SCHEMA_VERSION})")),
            "{error}"
        );
    }
}
