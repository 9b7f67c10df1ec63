//! The crate root re-exports what every user needs (the client and its builder, the ids, the
//! error, the stock values, the per-call settings) and nothing else: the rest is reached through
//! its module, whose docs teach its job. A root that grows one name per feature becomes a list
//! nobody reads, so the count is held here.

use std::fs;

/// The most names `src/lib.rs` may re-export.
const MAX_ROOT_NAMES: usize = 25;

/// The names `pub use` statements of `source` bring into the module, in order: the last segment
/// of each path, or its `as` alias. `pub(crate) use` re-exports nothing and is not counted;
/// comments are skipped.
fn root_names(source: &str) -> Vec<String> {
    let code: String = source
        .lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let mut names = Vec::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("pub use ") {
        let statement = &rest[at + "pub use ".len()..];
        let end = statement.find(';').expect("a `pub use` ends with `;`");
        leaves(&statement[..end], &mut names);
        rest = &statement[end..];
    }
    names
}

/// The leaf names of one use tree (`a::b::{C, d::{E, F as G}}` gives C, E, G).
fn leaves(tree: &str, names: &mut Vec<String>) {
    let tree = tree.trim();
    if let Some(open) = tree.find('{') {
        let close = tree.rfind('}').expect("a `{` of a use tree is closed");
        let mut depth = 0;
        let mut start = open + 1;
        for (i, c) in tree.char_indices().take(close).skip(open + 1) {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    leaves(&tree[start..i], names);
                    start = i + 1;
                }
                _ => {}
            }
        }
        leaves(&tree[start..close], names);
    } else if !tree.is_empty() {
        let last = tree.rsplit("::").next().unwrap_or(tree);
        let name = last.rsplit(" as ").next().unwrap_or(last).trim();
        if name != "self" {
            names.push(name.to_owned());
        }
    }
}

#[test]
fn the_root_reexports_at_most_25_names() {
    let lib = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/lib.rs"))
        .expect("src/lib.rs is readable");
    let names = root_names(&lib);
    assert!(
        names.contains(&"Client".to_owned()),
        "the count reads src/lib.rs's re-exports: {names:?}"
    );
    assert!(
        names.len() <= MAX_ROOT_NAMES,
        "src/lib.rs re-exports {} names, at most {MAX_ROOT_NAMES} are allowed: move the ones \
         not every user needs to their module ({names:?})",
        names.len()
    );
}

#[test]
fn every_name_of_a_use_tree_is_counted() {
    let source = "pub use a::{B, c::{D, E as F}, self};\n\
                  // pub use commented::Out;\n\
                  pub(crate) use hidden::H;\n\
                  #[cfg(feature = \"x\")]\npub use g::H as I;\n";
    assert_eq!(root_names(source), ["B", "D", "F", "I"]);
}
