//! The journal's failures, and the one place they become the crate's [`Error`].

use std::fmt;

use crate::Error;

/// What went wrong in the journal. The drain matches on it (a lost lease means "stop", a
/// database failure means "try again later"); users see it as an [`Error`].
#[derive(Debug)]
pub(crate) enum JournalError {
    /// An argument is wrong. Nothing was written.
    InvalidInput(String),
    /// The database could not be reached, or failed the statement. Whatever the operation
    /// wrote is rolled back.
    Database {
        /// The database (a file, or PostgreSQL's host, port and database name: never a
        /// password).
        endpoint: String,
        /// What the journal was doing.
        operation: &'static str,
        /// The database's own words, with any password taken out.
        reason: String,
    },
    /// The database's schema is newer than this crate knows, or not the journal's. Made where
    /// the database is not known; [`JournalError::at`] names it.
    Schema(String),
    /// A run's lease was taken over by another worker (its holder was too slow, or thought
    /// dead): the former holder must stop, writing nothing more for that run.
    LeaseLost {
        /// The run.
        run_id: String,
        /// The database, once [`JournalError::at`] named it.
        endpoint: String,
        /// What the former holder was doing.
        operation: &'static str,
    },
    /// A stored row cannot be read back (edited by hand, or written by an unknown version).
    /// Made where the database is not known; [`JournalError::at`] names it.
    Corrupt(String),
    /// A claim's document could not be made from its events: nothing was claimed.
    Plan(Error),
}

impl JournalError {
    /// A lost lease, before [`at`](Self::at) says where.
    pub(super) fn lease_lost(run_id: &str) -> Self {
        JournalError::LeaseLost {
            run_id: run_id.to_owned(),
            endpoint: String::new(),
            operation: "",
        }
    }

    /// The same failure again: each caller of a group whose transaction failed is told it.
    pub(super) fn again(&self) -> Self {
        match self {
            JournalError::InvalidInput(why) => JournalError::InvalidInput(why.clone()),
            JournalError::Database {
                endpoint,
                operation,
                reason,
            } => JournalError::Database {
                endpoint: endpoint.clone(),
                operation,
                reason: reason.clone(),
            },
            JournalError::Schema(why) => JournalError::Schema(why.clone()),
            JournalError::LeaseLost {
                run_id,
                endpoint,
                operation,
            } => JournalError::LeaseLost {
                run_id: run_id.clone(),
                endpoint: endpoint.clone(),
                operation,
            },
            JournalError::Corrupt(why) => JournalError::Corrupt(why.clone()),
            // A plan is a claim's, never a group's; told as its words.
            JournalError::Plan(error) => JournalError::Corrupt(error.to_string()),
        }
    }

    /// Says in which database and while doing what a failure made without knowing either
    /// happened: the one place the backends' failures get their place.
    pub(super) fn at(self, database: &str, doing: &'static str) -> Self {
        match self {
            JournalError::Schema(_) | JournalError::Corrupt(_) => JournalError::Database {
                endpoint: database.to_owned(),
                operation: doing,
                reason: self.to_string(),
            },
            JournalError::LeaseLost { run_id, .. } => JournalError::LeaseLost {
                run_id,
                endpoint: database.to_owned(),
                operation: doing,
            },
            other => other,
        }
    }
}

impl fmt::Display for JournalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JournalError::InvalidInput(why) => write!(f, "{why}"),
            JournalError::Database {
                endpoint,
                operation,
                reason,
            } => write!(
                f,
                "the journal's database {endpoint} failed to {operation}: {reason}"
            ),
            JournalError::Schema(why) => write!(f, "{why}"),
            JournalError::LeaseLost { run_id, .. } => write!(f, "{}", lease_lost_text(run_id)),
            JournalError::Corrupt(why) => write!(f, "a journal row cannot be read: {why}"),
            JournalError::Plan(error) => write!(f, "no run was claimed: {error}"),
        }
    }
}

fn lease_lost_text(run_id: &str) -> String {
    format!(
        "the lease of journal run {run_id} was taken over by another worker (this one was too \
         slow, or thought dead), so this worker stopped working on it"
    )
}

/// Bad input is [`Error::InvalidInput`], a claim's refused plan is its own error, and
/// everything else is [`Error::Journal`], naming the database and the operation. The journal
/// sends nothing to Ecwid, so none of them may have applied anything.
impl From<JournalError> for Error {
    fn from(error: JournalError) -> Self {
        match error {
            JournalError::InvalidInput(why) => Error::InvalidInput(why),
            JournalError::Plan(error) => error,
            JournalError::Database {
                endpoint,
                operation,
                reason,
            } => Error::Journal {
                database: endpoint,
                operation: operation.to_owned(),
                reason,
            },
            JournalError::LeaseLost {
                run_id,
                endpoint,
                operation,
            } => Error::Journal {
                database: endpoint,
                operation: operation.to_owned(),
                reason: lease_lost_text(&run_id),
            },
            // Every backend names the database with `at`; reaching here is a bug, still told
            // as a journal failure.
            unplaced @ (JournalError::Schema(_) | JournalError::Corrupt(_)) => Error::Journal {
                database: "(not named)".to_owned(),
                operation: "use the journal".to_owned(),
                reason: unplaced.to_string(),
            },
        }
    }
}

/// Builds a [`JournalError::Database`] from a database's error, with its whole chain of causes,
/// and `secret` (a password), when given, taken out of the text.
pub(super) fn database(
    endpoint: &str,
    operation: &'static str,
    error: &(dyn std::error::Error + 'static),
    secret: Option<&str>,
) -> JournalError {
    let mut reason = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause = cause.to_string();
        if !reason.contains(&cause) {
            reason.push_str(": ");
            reason.push_str(&cause);
        }
        source = error_source(source);
    }
    if let Some(secret) = secret.filter(|s| !s.is_empty()) {
        reason = reason.replace(secret, "[redacted]");
    }
    JournalError::Database {
        endpoint: endpoint.to_owned(),
        operation,
        reason,
    }
}

fn error_source<'a>(
    error: Option<&'a (dyn std::error::Error + 'static)>,
) -> Option<&'a (dyn std::error::Error + 'static)> {
    error.and_then(|e| e.source())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Outer(std::io::Error);
    impl fmt::Display for Outer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("error connecting to server")
        }
    }
    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn database_errors_carry_their_causes_without_the_password() {
        let error = Outer(std::io::Error::other(
            "refused for user with password hunter2",
        ));
        let error = database(
            "127.0.0.1:5432/shop",
            "record an event",
            &error,
            Some("hunter2"),
        );
        let error = Error::from(error);
        let text = error.to_string();
        assert_eq!(
            text,
            "the journal's database 127.0.0.1:5432/shop failed to record an event: error \
             connecting to server: refused for user with password [redacted]"
        );
        let Error::Journal {
            database,
            operation,
            reason,
            ..
        } = &error
        else {
            panic!("{error:?}")
        };
        assert_eq!(
            (database.as_str(), operation.as_str()),
            ("127.0.0.1:5432/shop", "record an event")
        );
        assert!(reason.starts_with("error connecting"), "{reason}");
        assert!(!error.may_have_been_applied());
        let bad: Error = JournalError::InvalidInput("the event id is empty".into()).into();
        assert!(matches!(bad, Error::InvalidInput(_)));
        assert!(!bad.may_have_been_applied());
    }

    #[test]
    fn failures_made_without_the_database_are_told_with_it_once_placed() {
        let placed = |error: JournalError| Error::from(error.at("sqlite:/x.db", "save a run"));
        let lost = placed(JournalError::lease_lost("run-1"));
        assert!(
            matches!(&lost, Error::Journal { database, operation, reason, .. }
                if database == "sqlite:/x.db" && operation == "save a run"
                    && reason.contains("run-1 was taken over by another worker")),
            "{lost:?}"
        );
        let corrupt = placed(JournalError::Corrupt("the state {}".into()));
        assert_eq!(
            corrupt.to_string(),
            "the journal's database sqlite:/x.db failed to save a run: a journal row cannot be \
             read: the state {}"
        );
        let schema = placed(JournalError::Schema("at schema version 9".into()));
        assert!(schema
            .to_string()
            .ends_with("save a run: at schema version 9"));
        assert!(!schema.may_have_been_applied());
    }
}
