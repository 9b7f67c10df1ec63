//! The [`Journal`] handle: which database it is in, its clock and retention, shared by its
//! clones. A leaf under the journal's other files, so that the drain can name it without
//! importing the file that imports the drain.

use std::{sync::Arc, time::Duration};

use super::group::{Arrival, GroupCommit, Stored};
#[cfg(feature = "postgres")]
use super::postgres;
use super::sqlite;
use crate::time::TimeSource;

/// A durable journal of stock events, in SQLite or PostgreSQL. Cheap to clone: clones share
/// the database connection(s). See the [module docs](super).
#[derive(Clone)]
pub struct Journal {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) backend: Backend,
    pub(super) clock: TimeSource,
    pub(super) retention: Duration,
    /// Concurrent records waiting for their group's commit; `None` with a group size of 1.
    pub(super) group: Option<Arc<GroupCommit<Arrival, Stored>>>,
}

/// The journal's database. The sales module (`crate::sales`) keeps its own tables in it, with
/// the same connections, clock and retention.
pub(crate) enum Backend {
    Sqlite(sqlite::Sqlite),
    #[cfg(feature = "postgres")]
    Postgres(Box<postgres::Postgres>),
}
