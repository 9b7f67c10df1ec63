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
    /// The database's schema is newer than this crate knows, or not the journal's.
    Schema(String),
    /// A run's lease was taken over by another worker (its holder was too slow, or thought
    /// dead): the former holder must stop, writing nothing more for that run.
    LeaseLost {
        /// The run.
        run_id: String,
    },
    /// A stored row cannot be read back (edited by hand, or written by an unknown version).
    Corrupt(String),
    /// A claim's document could not be made from its events: nothing was claimed.
    Plan(Error),
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
            JournalError::LeaseLost { run_id } => write!(
                f,
                "the lease of journal run {run_id} was taken over by another worker; this \
                 worker must stop working on it"
            ),
            JournalError::Corrupt(why) => write!(f, "a journal row cannot be read: {why}"),
            JournalError::Plan(error) => write!(f, "no run was claimed: {error}"),
        }
    }
}

/// The crate's [`Error`] has no variant for the journal yet: bad input is
/// [`Error::InvalidInput`], and everything else is, for now, [`Error::Config`] with a message
/// starting `journal:`. Nothing is sent to Ecwid by the journal, so none of them may have
/// applied anything.
impl From<JournalError> for Error {
    fn from(error: JournalError) -> Self {
        match error {
            JournalError::InvalidInput(why) => Error::InvalidInput(why),
            JournalError::Plan(error) => error,
            other => Error::Config(format!("journal: {other}")),
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
        let text = Error::from(error).to_string();
        assert!(
            text.contains("journal: the journal's database 127.0.0.1:5432/shop failed to record an event: error connecting to server: refused"),
            "{text}"
        );
        assert!(!text.contains("hunter2"), "{text}");
        let bad: Error = JournalError::InvalidInput("the event id is empty".into()).into();
        assert!(matches!(bad, Error::InvalidInput(_)));
        assert!(!bad.may_have_been_applied());
    }
}
