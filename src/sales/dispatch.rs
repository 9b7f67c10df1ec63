//! The one place that picks the backend: a call to the function of the same name in
//! `sqlite.rs` or `postgres.rs`, whichever database the journal has.

/// Calls the function of the same name, with the same arguments, in whichever backend the
/// journal has.
macro_rules! on_backend {
    ($journal:expr, $f:ident ( $($arg:expr),* $(,)? )) => {
        match $journal.backend() {
            $crate::journal::Backend::Sqlite(db) => $crate::sales::sqlite::$f(db, $($arg),*).await,
            #[cfg(feature = "postgres")]
            $crate::journal::Backend::Postgres(db) => $crate::sales::postgres::$f(db, $($arg),*).await,
        }
    };
}
pub(super) use on_backend;
