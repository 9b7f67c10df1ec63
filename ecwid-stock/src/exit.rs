//! How the process ends: exit codes 0, 1 and 2, and the one-line error that goes with 1 and 2.

use std::process::ExitCode;

use ecwid_inventory::Error;

/// The exit code's meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// 0: every change was applied, or none was needed.
    Done,
    /// 1: a change failed or its outcome is unknown (or a read failed).
    Failed,
    /// 2: bad input or configuration; nothing was sent.
    BadInput,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(match exit {
            Exit::Done => 0,
            Exit::Failed => 1,
            Exit::BadInput => 2,
        })
    }
}

/// A command that stopped: its exit code and a one-line message for stderr. Messages never
/// hold the token: they are made from the library's errors (which never carry it) and from
/// the command line's own words.
#[derive(Debug)]
pub struct Fail {
    pub exit: Exit,
    pub message: String,
}

impl Fail {
    /// Bad input or configuration, found before anything was sent.
    pub fn bad_input(message: impl Into<String>) -> Fail {
        Fail {
            exit: Exit::BadInput,
            message: message.into(),
        }
    }

    /// Something failed after a request was sent.
    pub fn failed(message: impl Into<String>) -> Fail {
        Fail {
            exit: Exit::Failed,
            message: message.into(),
        }
    }
}

/// The library refuses bad input and configuration before sending anything: exit 2. Every
/// other error came from a request: exit 1.
impl From<Error> for Fail {
    fn from(error: Error) -> Fail {
        match error {
            Error::Config(_) | Error::InvalidInput(_) => Fail::bad_input(error.to_string()),
            _ => Fail::failed(error.to_string()),
        }
    }
}

/// Output that cannot be written (a closed pipe, a full disk).
impl From<std::io::Error> for Fail {
    fn from(error: std::io::Error) -> Fail {
        Fail::failed(format!("cannot write the output: {error}"))
    }
}

/// CSV output that cannot be written.
impl From<csv::Error> for Fail {
    fn from(error: csv::Error) -> Fail {
        Fail::failed(format!("cannot write the output: {error}"))
    }
}
