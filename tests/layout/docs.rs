//! The docs say one thing: the errors table lives in the crate docs only (src/lib.rs), so the
//! README, which links to them, cannot drift from it.

/// The rows of the first table whose header starts with `| variant |`, each line trimmed, or
/// none when there is no such table.
fn find_errors_table(text: &str) -> Vec<String> {
    let mut rows = Vec::new();
    for line in text.lines() {
        let line = line.trim_start_matches("//!").trim();
        if rows.is_empty() && !line.starts_with("| variant |") {
            continue;
        }
        if !line.starts_with('|') {
            break;
        }
        rows.push(without_links(line));
    }
    rows
}

/// The errors table of `text`, which must have one.
fn errors_table(text: &str) -> Vec<String> {
    let rows = find_errors_table(text);
    assert!(rows.len() > 2, "no errors table found");
    rows
}

/// `[text](target)` as `text`.
fn without_links(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(open) = rest.find('[') {
        let Some(close) = rest[open..].find("](").map(|at| open + at) else {
            break;
        };
        let Some(end) = rest[close..].find(')').map(|at| close + at) else {
            break;
        };
        out.push_str(&rest[..open]);
        out.push_str(&rest[open + 1..close]);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

#[test]
fn the_errors_table_is_in_the_crate_docs_and_not_in_the_readme() {
    let crate_docs = errors_table(include_str!("../../src/lib.rs"));
    assert!(crate_docs
        .iter()
        .any(|row| row.starts_with("| `OutcomeUnknown` |")));
    assert_eq!(
        find_errors_table(include_str!("../../README.md")),
        Vec::<String>::new()
    );
}

#[test]
fn links_are_taken_out_of_a_row() {
    assert_eq!(
        without_links("| [`Closed`](Error::Closed) | the client was [closed](Client::close) |"),
        "| `Closed` | the client was closed |"
    );
}
