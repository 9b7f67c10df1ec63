//! No file of a package's source imports itself through others: when two files need the same
//! piece, it goes down into a leaf module that both import, instead of each importing the
//! other. A circle makes neither file readable, testable or movable without the other.
//!
//! Files are the nodes. A file imports another when it names an item of it by path (`use
//! crate::a::b`, `crate::a::b(..)` in code, `super::x`, `self::child::x`, `child::x`); a
//! name that a module only re-exports (`pub use`) is followed to the file that defines it, so
//! `crate::Error` is an import of `error.rs`, not of `lib.rs`. Comments and strings are not
//! read. Test modules count: a circle through a test is a circle all the same.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::{Path, PathBuf},
};

/// A source root checked, relative to the package.
struct Root {
    path: &'static str,
    /// Folders under it left out, relative to it.
    excluded: &'static [&'static str],
    /// The circles there when this test was written, by their files (as the failure message
    /// names them), each to be taken apart under issue 22: listed so that no new one joins
    /// them meanwhile. The commit that takes one apart removes it here; the test fails until
    /// it does, so the list stays true.
    known: &'static [&'static str],
}

const CHECKED: &[Root] = &[
    Root {
        path: "src",
        excluded: &[],
        known: &[],
    },
    Root {
        path: "ecwid-stock/src",
        excluded: &[],
        known: &[],
    },
    Root {
        path: "ecwid-inventory-fake/src",
        excluded: &[],
        known: &[],
    },
];

#[test]
fn no_source_file_imports_itself_through_others() {
    let package = Path::new(env!("CARGO_MANIFEST_DIR"));
    for root in CHECKED {
        let found = circles(&package.join(root.path), root.excluded);
        let files = |circle: &String| {
            let first = circle.lines().next().unwrap_or_default();
            first.trim_start_matches("circle: ").to_owned()
        };
        let new: Vec<&String> = found
            .iter()
            .filter(|circle| !root.known.contains(&files(circle).as_str()))
            .collect();
        let gone: Vec<&&str> = root
            .known
            .iter()
            .filter(|known| !found.iter().any(|circle| files(circle) == **known))
            .collect();
        assert!(
            new.is_empty() && gone.is_empty(),
            "import circles under {}/ (break each by moving what the files share into a \
             module that imports none of them):\n{}\n\
             known circles no longer found as they are listed (update `known`): {gone:?}",
            root.path,
            new.iter()
                .map(|circle| circle.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

/// A crate written to a fresh folder: `(path under src/, text)` for each file.
fn fixture(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("import_circles")
        .join(name);
    let _ = fs::remove_dir_all(&root);
    for (path, text) in files {
        let path = root.join(path);
        fs::create_dir_all(path.parent().expect("a folder")).expect("a fixture folder");
        fs::write(path, text).expect("a fixture file");
    }
    root
}

#[test]
fn a_circle_through_crate_paths_is_found_with_what_ties_it() {
    let root = fixture(
        "crate_paths",
        &[
            ("lib.rs", "mod a;\nmod b;\nmod c;\npub use c::C;\n"),
            ("a.rs", "use crate::{b::B, C};\npub fn a() {}\n"),
            ("b.rs", "pub struct B;\nfn f() { crate::a::a() }\n"),
            ("c.rs", "pub struct C;\n"),
        ],
    );
    assert_eq!(
        circles(&root, &[]),
        ["circle: a.rs, b.rs\n  a.rs -> b.rs: B\n  b.rs -> a.rs: a"]
    );
}

#[test]
fn a_circle_through_super_and_a_reexport_is_found() {
    let root = fixture(
        "super_paths",
        &[
            ("lib.rs", "mod bulk;\n"),
            ("bulk/mod.rs", "mod plan;\nmod run;\npub use plan::Plan;\n"),
            (
                "bulk/plan.rs",
                "use super::run::{self, Run};\npub struct Plan;\n",
            ),
            // `super::Plan` is plan.rs's, which bulk/mod.rs only re-exports.
            ("bulk/run.rs", "pub struct Run(super::Plan);\n"),
        ],
    );
    assert_eq!(
        circles(&root, &[]),
        [
            "circle: bulk/plan.rs, bulk/run.rs\n  bulk/plan.rs -> bulk/run.rs: Run, run\n  \
             bulk/run.rs -> bulk/plan.rs: Plan"
        ]
    );
}

#[test]
fn names_reexported_at_the_root_comments_strings_and_left_out_folders_tie_nothing() {
    let root = fixture(
        "reexports",
        &[
            (
                "lib.rs",
                "mod error;\nmod client;\nmod fake;\npub use client::Client;\n\
                 pub use error::Error;\n",
            ),
            // Through the root's re-export, `crate::Error` is error.rs's, not lib.rs's; its
            // test module's `super::` is client.rs itself.
            (
                "client.rs",
                "use crate::Error;\npub struct Client;\n\
                 #[cfg(test)]\nmod tests { use super::*; fn f() -> Client { Client } }\n",
            ),
            (
                "error.rs",
                "//! Made by [`crate::client::Client`].\n\
                 pub enum Error {}\n\
                 const NOTE: &str = \"see crate::client::Client\";\n\
                 /* crate::client::Client */\n\
                 fn f<'a>(x: &'a str) -> char { let _ = crate::fake::Fake; 'c' }\n",
            ),
            ("fake/mod.rs", "pub struct Fake(crate::Client);\n"),
        ],
    );
    assert_eq!(circles(&root, &["fake"]), Vec::<String>::new());
    assert_eq!(
        circles(&root, &[]),
        [
            "circle: client.rs, error.rs, fake/mod.rs\n  client.rs -> error.rs: Error\n  \
          error.rs -> fake/mod.rs: Fake\n  fake/mod.rs -> client.rs: Client"
        ]
    );
}

/// The import circles among the `.rs` files under `root` (a crate's source folder, holding its
/// `lib.rs` or `main.rs`), leaving out the folders `excluded` names (relative to `root`): each
/// circle's files and what ties them, `a.rs -> b.rs: Name, Other` a line.
fn circles(root: &Path, excluded: &[&str]) -> Vec<String> {
    let modules = Modules::read(root, excluded);
    let mut edges: BTreeMap<usize, BTreeMap<usize, BTreeSet<String>>> = BTreeMap::new();
    for (from, file) in modules.files.iter().enumerate() {
        for (scope, path) in &file.paths {
            if let Some((to, name)) = modules.resolve(from, scope, path, 0) {
                if to != from {
                    edges
                        .entry(from)
                        .or_default()
                        .entry(to)
                        .or_default()
                        .insert(name);
                }
            }
        }
    }
    let next = |node: usize| -> Vec<usize> {
        edges
            .get(&node)
            .map(|to| to.keys().copied().collect())
            .unwrap_or_default()
    };
    strongly_connected(modules.files.len(), next)
        .into_iter()
        .filter(|component| component.len() > 1)
        .map(|component| {
            let name = |node: usize| modules.files[node].relative.clone();
            let mut lines = vec![format!(
                "circle: {}",
                component
                    .iter()
                    .map(|&node| name(node))
                    .collect::<Vec<_>>()
                    .join(", ")
            )];
            for &from in &component {
                for (to, names) in &edges[&from] {
                    if component.contains(to) {
                        let names: Vec<_> = names.iter().map(String::as_str).collect();
                        lines.push(format!(
                            "  {} -> {}: {}",
                            name(from),
                            name(*to),
                            names.join(", ")
                        ));
                    }
                }
            }
            lines.join("\n")
        })
        .collect()
}

/// The crate's files by module path.
struct Modules {
    files: Vec<File>,
    /// Module path (`["bulk", "plan"]`) to file; `None` for a module in an excluded folder.
    by_path: BTreeMap<Vec<String>, Option<usize>>,
}

struct File {
    /// The path below the root, for messages.
    relative: String,
    module: Vec<String>,
    /// Every path the file names that may lead to another file, with the module it is named
    /// in (the file's, or an inline module's inside it).
    paths: Vec<(Vec<String>, Vec<String>)>,
    /// What its `use` items bring in: the name in scope, the module it is in scope in, and the
    /// path it stands for.
    imports: Vec<(String, Vec<String>, Vec<String>)>,
    /// Modules whose every name its `use ...::*` items bring in, with the module they are in
    /// scope in.
    globs: Vec<(Vec<String>, Vec<String>)>,
    /// The names it defines at its top level.
    defines: BTreeSet<String>,
}

impl Modules {
    fn read(root: &Path, excluded: &[&str]) -> Self {
        let mut found = Vec::new();
        walk(root, root, excluded, &mut found);
        let crate_root = ["lib.rs", "main.rs"]
            .into_iter()
            .find(|name| root.join(name).is_file())
            .unwrap_or_else(|| panic!("{} holds no lib.rs or main.rs", root.display()));
        let mut modules = Modules {
            files: Vec::new(),
            by_path: BTreeMap::new(),
        };
        for dir in excluded {
            modules
                .by_path
                .insert(dir.split('/').map(str::to_owned).collect(), None);
        }
        for path in found {
            let relative = path
                .strip_prefix(root)
                .expect("under the root")
                .to_string_lossy()
                .replace('\\', "/");
            let module = module_path(&relative, crate_root);
            let Some(module) = module else { continue };
            let text = fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            let parsed = parse(&tokens(&code_only(&text)), &module);
            modules
                .by_path
                .insert(module.clone(), Some(modules.files.len()));
            modules.files.push(File {
                relative,
                module,
                ..parsed
            });
        }
        modules
    }

    /// The file that defines what `path`, named in module `scope` of file `from`, stands
    /// for, and the name taken from it; `None` for a path outside the checked files.
    fn resolve(
        &self,
        from: usize,
        scope: &[String],
        path: &[String],
        depth: usize,
    ) -> Option<(usize, String)> {
        // A re-export that leads back to itself.
        if depth > 16 {
            return None;
        }
        let mut segments = path.iter().map(String::as_str).peekable();
        let mut at: Vec<String> = match *segments.peek()? {
            "crate" | "$crate" => {
                segments.next();
                Vec::new()
            }
            "self" | "super" => {
                let mut at = scope.to_vec();
                while let Some(&segment) = segments.peek() {
                    match segment {
                        "self" => {}
                        "super" => {
                            at.pop()?;
                        }
                        _ => break,
                    }
                    segments.next();
                }
                at
            }
            first => {
                let file = &self.files[from];
                let mut child = file.module.clone();
                child.push(first.to_owned());
                if scope == file.module && self.by_path.contains_key(&child) {
                    // A child module of the file's own, named without `self::`.
                    file.module.clone()
                } else {
                    // A name a `use` brought in (`use crate::retry::{self, ..}`, then
                    // `retry::decide`), seen in its module and the inline ones inside it.
                    let (_, within, imported) = file
                        .imports
                        .iter()
                        .find(|(alias, within, _)| alias == first && scope.starts_with(within))?;
                    let mut full = imported.clone();
                    full.extend(path[1..].iter().cloned());
                    return self.resolve(from, within, &full, depth + 1);
                }
            }
        };
        let mut name = None;
        for segment in segments {
            let mut deeper = at.clone();
            deeper.push(segment.to_owned());
            if self.by_path.contains_key(&deeper) {
                at = deeper;
            } else {
                name = Some(segment.to_owned());
                break;
            }
        }
        let file = (*self.by_path.get(&at)?)?;
        let Some(name) = name else {
            // The module itself (`use crate::bulk;`, `crate::bulk::{self, ..}`).
            return Some((file, at.last().cloned().unwrap_or_default()));
        };
        Some(self.reexported(file, &name, depth).unwrap_or((file, name)))
    }

    /// Where `name`, which module `file` brings in by `use` rather than defines, comes from.
    fn reexported(&self, file: usize, name: &str, depth: usize) -> Option<(usize, String)> {
        let module = &self.files[file];
        if module.defines.contains(name) {
            return None;
        }
        let top = |scope: &Vec<String>| *scope == module.module;
        if let Some((_, scope, path)) = module
            .imports
            .iter()
            .find(|(alias, scope, _)| alias == name && top(scope))
        {
            return self.resolve(file, scope, path, depth + 1);
        }
        module
            .globs
            .iter()
            .filter(|(scope, _)| top(scope))
            .find_map(|(scope, path)| {
                let mut path = path.clone();
                path.push(name.to_owned());
                let (to, found) = self.resolve(file, scope, &path, depth + 1)?;
                self.files[to]
                    .defines
                    .contains(&found)
                    .then_some((to, found))
            })
    }
}

fn walk(dir: &Path, root: &Path, excluded: &[&str], found: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let relative = path.strip_prefix(root).expect("under the root");
        if excluded.iter().any(|dir| relative == Path::new(dir)) {
            continue;
        }
        if path.is_dir() {
            walk(&path, root, excluded, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
}

/// `bulk/plan.rs` is `["bulk", "plan"]`, `bulk/mod.rs` is `["bulk"]`, the crate root `[]`;
/// `None` for a file that is not a module of the crate (another binary's root).
fn module_path(relative: &str, crate_root: &str) -> Option<Vec<String>> {
    if relative == crate_root {
        return Some(Vec::new());
    }
    if !relative.contains('/') && ["lib.rs", "main.rs"].contains(&relative) {
        return None;
    }
    let mut parts: Vec<String> = relative
        .trim_end_matches(".rs")
        .split('/')
        .map(str::to_owned)
        .collect();
    if parts.last().is_some_and(|last| last == "mod") {
        parts.pop();
    }
    Some(parts)
}

/// The text with comments, strings and character literals blanked out, so that only code
/// is read.
fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth: usize = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if let Some(hashes) = raw_string_start(&chars, i) {
            // r"..", r#".."#, br#".."#: no escapes, closed by a quote and as many hashes.
            i += chars[i..].iter().position(|&c| c == '"').expect("a quote") + 1;
            let close: Vec<char> = std::iter::once('"')
                .chain(std::iter::repeat_n('#', hashes))
                .collect();
            while i < chars.len() && !chars[i..].starts_with(&close) {
                i += 1;
            }
            i += close.len();
            out.push_str("\"\"");
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' && is_char_literal(&chars, i) {
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("' '");
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// The number of `#` of a raw string literal starting at `i`, if one does.
fn raw_string_start(chars: &[char], i: usize) -> Option<usize> {
    let before = i.checked_sub(1).map(|b| chars[b]);
    if before.is_some_and(|b| b.is_alphanumeric() || b == '_') {
        return None;
    }
    let mut j = i;
    if chars.get(j) == Some(&'b') || chars.get(j) == Some(&'c') {
        j += 1;
    }
    if chars.get(j) != Some(&'r') {
        return None;
    }
    j += 1;
    let hashes = chars[j..].iter().take_while(|&&c| c == '#').count();
    (chars.get(j + hashes) == Some(&'"')).then_some(hashes)
}

/// Whether the `'` at `i` opens a character literal (`'a'`, `'\n'`) rather than a lifetime.
fn is_char_literal(chars: &[char], i: usize) -> bool {
    match chars.get(i + 1) {
        Some('\\') => true,
        Some(_) => chars.get(i + 2) == Some(&'\''),
        None => false,
    }
}

/// Identifiers (with `$crate` as one), `::`, and every other character as a token of its own.
fn tokens(code: &str) -> Vec<String> {
    let chars: Vec<char> = code.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_alphanumeric() || c == '_' || (c == '$' && chars.get(i + 1) == Some(&'c')) {
            let start = i;
            i += 1;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            // A raw identifier (`r#type`) names the same item as the plain one.
            if i == start + 1
                && c == 'r'
                && chars.get(i) == Some(&'#')
                && chars
                    .get(i + 1)
                    .is_some_and(|c| c.is_alphabetic() || *c == '_')
            {
                i += 1;
                continue;
            }
            tokens.push(chars[start..i].iter().collect());
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            tokens.push("::".to_owned());
            i += 2;
        } else {
            tokens.push(c.to_string());
            i += 1;
        }
    }
    tokens
}

/// What a file names, imports and defines, from its tokens; `module` is its module path.
fn parse(tokens: &[String], module: &[String]) -> File {
    let mut file = File {
        relative: String::new(),
        module: module.to_vec(),
        paths: Vec::new(),
        imports: Vec::new(),
        globs: Vec::new(),
        defines: BTreeSet::new(),
    };
    // The inline modules the parser is in, each with the brace depth it opened at.
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth: usize = 0;
    let scope = |inline: &[(String, usize)]| -> Vec<String> {
        module
            .iter()
            .cloned()
            .chain(inline.iter().map(|(name, _)| name.clone()))
            .collect()
    };
    let is_ident = |token: &str| {
        token
            .chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_' || c == '$')
    };
    let mut i = 0;
    while i < tokens.len() {
        let token = tokens[i].as_str();
        match token {
            "{" => depth += 1,
            "}" => {
                depth = depth.saturating_sub(1);
                if inline.last().is_some_and(|(_, at)| *at == depth) {
                    inline.pop();
                }
            }
            "use" => {
                let end = tokens[i..]
                    .iter()
                    .position(|t| t == ";")
                    .map_or(tokens.len(), |at| i + at);
                let here = scope(&inline);
                for (path, alias) in use_tree(&tokens[i + 1..end]) {
                    match alias {
                        Some(alias) => file.imports.push((alias, here.clone(), path.clone())),
                        None => file.globs.push((here.clone(), path.clone())),
                    }
                    file.paths.push((here.clone(), path));
                }
                i = end;
            }
            "mod" if tokens.get(i + 2).is_some_and(|t| t == "{") => {
                if inline.is_empty() && depth == 0 {
                    file.defines.insert(tokens[i + 1].clone());
                }
                inline.push((tokens[i + 1].clone(), depth));
            }
            "fn" | "struct" | "enum" | "trait" | "type" | "const" | "static" | "union" | "mod"
                if depth == 0 && tokens.get(i + 1).is_some_and(|t| is_ident(t)) =>
            {
                file.defines.insert(tokens[i + 1].clone());
            }
            "macro_rules" if depth == 0 => {
                if let Some(name) = tokens.get(i + 2) {
                    file.defines.insert(name.clone());
                }
            }
            _ if is_ident(token)
                && tokens.get(i + 1).is_some_and(|t| t == "::")
                && (i == 0 || tokens[i - 1] != "::")
                // `pub(in crate::a)` limits where an item is seen; it imports nothing.
                && !(i >= 1 && tokens[i - 1] == "in" && i >= 2 && tokens[i - 2] == "(") =>
            {
                let mut path = vec![token.to_owned()];
                let mut j = i + 1;
                while tokens.get(j).is_some_and(|t| t == "::")
                    && tokens.get(j + 1).is_some_and(|t| is_ident(t))
                {
                    path.push(tokens[j + 1].clone());
                    j += 2;
                }
                file.paths.push((scope(&inline), path));
                i = j;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    file
}

/// The paths a `use` tree (the tokens between `use` and `;`) brings in, each with the name it
/// is known by in scope (`None` for a glob).
fn use_tree(tokens: &[String]) -> Vec<(Vec<String>, Option<String>)> {
    let mut out = Vec::new();
    let mut at = 0;
    use_subtree(tokens, &mut at, &[], &mut out);
    out
}

fn use_subtree(
    tokens: &[String],
    at: &mut usize,
    prefix: &[String],
    out: &mut Vec<(Vec<String>, Option<String>)>,
) {
    let mut path = prefix.to_vec();
    // `{self, ..}`: the module the braces follow.
    let mut itself = false;
    while let Some(token) = tokens.get(*at) {
        match token.as_str() {
            "," | "}" => break,
            "::" => *at += 1,
            "{" => {
                *at += 1;
                loop {
                    if tokens.get(*at).is_some_and(|t| t == "}") {
                        *at += 1;
                        return;
                    }
                    use_subtree(tokens, at, &path, out);
                    match tokens.get(*at).map(String::as_str) {
                        Some(",") => *at += 1,
                        Some("}") => {
                            *at += 1;
                            return;
                        }
                        _ => return,
                    }
                }
            }
            "*" => {
                *at += 1;
                out.push((path, None));
                return;
            }
            "as" => {
                let alias = tokens.get(*at + 1).cloned().unwrap_or_default();
                *at += 2;
                out.push((path, Some(alias)));
                return;
            }
            "self" if !path.is_empty() => {
                itself = true;
                *at += 1;
            }
            segment => {
                path.push(segment.to_owned());
                *at += 1;
            }
        }
    }
    if path.len() > prefix.len() || itself {
        let name = path.last().cloned().unwrap_or_default();
        out.push((path, Some(name)));
    }
}

/// Tarjan's strongly connected components of the graph of `nodes` nodes whose edges `next`
/// gives.
fn strongly_connected(nodes: usize, next: impl Fn(usize) -> Vec<usize>) -> Vec<Vec<usize>> {
    struct State {
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on_stack: Vec<bool>,
        stack: Vec<usize>,
        counter: usize,
        components: Vec<Vec<usize>>,
    }
    fn visit(node: usize, next: &dyn Fn(usize) -> Vec<usize>, state: &mut State) {
        state.index[node] = Some(state.counter);
        state.low[node] = state.counter;
        state.counter += 1;
        state.stack.push(node);
        state.on_stack[node] = true;
        for to in next(node) {
            match state.index[to] {
                None => {
                    visit(to, next, state);
                    state.low[node] = state.low[node].min(state.low[to]);
                }
                Some(index) if state.on_stack[to] => {
                    state.low[node] = state.low[node].min(index);
                }
                Some(_) => {}
            }
        }
        if Some(state.low[node]) == state.index[node] {
            let mut component = Vec::new();
            loop {
                let top = state.stack.pop().expect("on the stack");
                state.on_stack[top] = false;
                component.push(top);
                if top == node {
                    break;
                }
            }
            component.sort();
            state.components.push(component);
        }
    }
    let mut state = State {
        index: vec![None; nodes],
        low: vec![0; nodes],
        on_stack: vec![false; nodes],
        stack: Vec::new(),
        counter: 0,
        components: Vec::new(),
    };
    for node in 0..nodes {
        if state.index[node].is_none() {
            visit(node, &next, &mut state);
        }
    }
    state.components
}
