//! Progress on stderr, with indicatif: shown only to a person at a terminal, never with
//! `--json` or `--quiet` (a program reads the output), nor with `-v` (log lines would tear it).

use std::{io::IsTerminal, time::Duration};

use indicatif::{ProgressBar, ProgressStyle};

use crate::output::Output;

/// Whether progress is drawn: stderr is a terminal, and no flag asks for plain output.
pub fn shown(out: &Output, verbose: u8, stderr_is_terminal: bool) -> bool {
    stderr_is_terminal && !out.json && !out.quiet && verbose == 0
}

/// A spinner saying what is being waited for, or a hidden one when progress is not
/// [`shown`]. Clear it with `finish_and_clear` once done.
pub fn spinner(out: &Output, verbose: u8, message: &'static str) -> ProgressBar {
    if !shown(out, verbose, std::io::stderr().is_terminal()) {
        return ProgressBar::hidden();
    }
    let spinner = ProgressBar::new_spinner().with_message(message);
    spinner.set_style(
        ProgressStyle::with_template("{spinner} {msg} {elapsed}").expect("a valid template"),
    );
    spinner.enable_steady_tick(Duration::from_millis(120));
    spinner
}

/// A bar of `completed` of `total` with what is counted, or a hidden one when progress is not
/// [`shown`]. Its length is set as the total becomes known.
pub fn bar(out: &Output, verbose: u8, counted: &'static str) -> ProgressBar {
    if !shown(out, verbose, std::io::stderr().is_terminal()) {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(0).with_message(counted);
    bar.set_style(
        ProgressStyle::with_template("{wide_bar} {pos}/{len} {msg} {elapsed}")
            .expect("a valid template"),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_is_for_a_person_at_a_terminal_only() {
        let person = Output {
            json: false,
            quiet: false,
        };
        assert!(shown(&person, 0, true));
        assert!(!shown(&person, 0, false), "not in a pipe or a file");
        assert!(!shown(&person, 1, true), "not between log lines");
        for out in [
            Output {
                json: true,
                quiet: false,
            },
            Output {
                json: false,
                quiet: true,
            },
        ] {
            assert!(!shown(&out, 0, true), "{out:?}");
        }
    }
}
