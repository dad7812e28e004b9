//! The workspace's architecture rules (STYLE.md, "What must never be"), held by tests.
//!
//! - Crate edges follow the layering table below (`cargo metadata`).
//! - Core does no I/O.
//! - No crate has a circle between its source files.
//! - A field name, feed name or TLP spelling is written once, in core.
//!
//! Everything is read as plain text with std only: a wrong answer here is a false alarm or a
//! missed violation, never a changed build.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use firewatch_core::{TlpLevel, fields, telescope};

/// Which workspace crates each workspace crate may depend on (normal and build dependencies).
/// Every workspace crate must have a line: a new crate is placed in the layers deliberately.
const ALLOWED: &[(&str, &[&str])] = &[
    // The words: imports no Firewatch crate, every crate may import it.
    ("firewatch-core", &[]),
    // A parser: reads captures into core's words.
    ("firewatch-pcap", &["firewatch-core"]),
    // A computation over packets: needs the packet reader.
    ("firewatch-darknet", &["firewatch-core", "firewatch-pcap"]),
    // A computation: pure detectors over core's events.
    ("firewatch-detect", &["firewatch-core"]),
    // A computation: attribution and routing of events to teams.
    ("firewatch-enrich", &["firewatch-core"]),
    // Parsers of external feeds.
    ("firewatch-feeds", &["firewatch-core"]),
    // A computation: daily metrics over core's events.
    ("firewatch-metrics", &["firewatch-core"]),
    // A computation: X.1060 service maps (catalogue, assessments, views, SVG), pure.
    ("firewatch-assess", &["firewatch-core"]),
    // Generates captures: writes what pcap reads.
    ("firewatch-synth", &["firewatch-core", "firewatch-pcap"]),
    // The store keeps core's events and darknet's fact types, and derives nothing. X.1060
    // assessments and catalogues are kept as documents (JSON, TSV) with their scope and
    // metadata, so the store does not import firewatch-assess: the pipeline converts.
    ("firewatch-store", &["firewatch-core", "firewatch-darknet"]),
    // The only crate that sees both the parsers and aggregators and the store.
    (
        "firewatch-pipeline",
        &[
            "firewatch-core",
            "firewatch-pcap",
            "firewatch-darknet",
            "firewatch-detect",
            "firewatch-enrich",
            "firewatch-feeds",
            "firewatch-metrics",
            "firewatch-store",
            // X.1060: reads stored assessments back (the one conversion, for the CLI and the
            // web) and puts measured evidence beside them.
            "firewatch-assess",
            // Cases: the teams' times as parties, measured evidence beside X.1060's D.
            "firewatch-cases",
        ],
    ),
    // A round-2 domain: cross-border cases (issue 19). The model is pure; it reads and writes
    // cases only through the store's `CaseStore` trait and records, naming no backend.
    ("firewatch-cases", &["firewatch-core", "firewatch-store"]),
    // An output: reads the store, routes with enrich; never the pipeline.
    (
        "firewatch-notify",
        &["firewatch-core", "firewatch-enrich", "firewatch-store"],
    ),
    // An output: exports stored events (MISP, STIX) with feed and team vocabulary, and cases
    // as STIX incidents (the cases crate's model, read and replayed, not re-written).
    (
        "firewatch-share",
        &[
            "firewatch-core",
            "firewatch-enrich",
            "firewatch-feeds",
            "firewatch-store",
            "firewatch-cases",
        ],
    ),
    // The web front: serves the store, runs the pipeline, publishes through share; draws the
    // detector's baseline (a pure function) on its charts.
    (
        "firewatch-web",
        &[
            "firewatch-core",
            "firewatch-detect",
            "firewatch-enrich",
            "firewatch-feeds",
            "firewatch-metrics",
            "firewatch-store",
            "firewatch-pipeline",
            "firewatch-share",
            // The X.1060 pages and API: views and SVG heatmaps of the pure assessment crate.
            "firewatch-assess",
            // The cases API: each team's view is the pure cases crate's rule, not re-written.
            "firewatch-cases",
        ],
    ),
    // The binary wires everything together; nothing may depend on it.
    ("firewatch", &["*"]),
];

/// The binary: a type another crate needs does not live here.
const BINARY: &str = "firewatch";

/// Paths core must not name: the file system, the network, processes, the environment.
const CORE_FORBIDDEN_PATHS: &[&str] =
    &["std::fs", "std::net::TcpStream", "std::process", "std::env"];

/// Calls core must not make, matched as text.
const CORE_FORBIDDEN_TEXT: &[&str] = &["File::open", "stdin()", "stdout()"];

/// Spellings only core may write as string literals: the darknet feed and the TLP 2.0 labels.
const SPELLED_IN_CORE: &[&str] = &[
    "Firewatch-Darknet",
    "TLP:CLEAR",
    "TLP:GREEN",
    "TLP:AMBER",
    "TLP:AMBER+STRICT",
    "TLP:RED",
];

/// Field names `firewatch_core::fields` already has: no other crate defines a constant for one.
const CORE_FIELD_NAMES: &[&str] = &[
    fields::EXTRA_TEAM,
    fields::EXTRA_OWNER,
    fields::EXTRA_RECIPIENTS,
    fields::FEED_NAME,
];

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

/// Each crate imports only the layers below it, so a parser cannot reach the store, an output
/// cannot reach the pipeline, and nothing can reach the binary.
#[test]
fn crate_edges_follow_the_layering_table() {
    let edges = workspace_edges();
    let mut violations = Vec::new();
    for (krate, deps) in &edges {
        let Some(allowed) = allowed_for(krate) else {
            violations.push(format!("{krate}: not in ALLOWED; place it in the layers"));
            continue;
        };
        for dep in deps {
            if dep == BINARY {
                violations.push(format!(
                    "{krate} -> {dep}: nothing may depend on the binary"
                ));
            } else if !allowed.contains(&"*") && !allowed.contains(&dep.as_str()) {
                violations.push(format!("{krate} -> {dep}: not allowed by ALLOWED"));
            }
        }
    }
    assert_none(
        "crate edges outside the layering table (tests/layering.rs ALLOWED)",
        &violations,
    );
}

/// Core is the words only: reading files, sockets, processes or the environment belongs to the
/// crates that do I/O, so core stays usable from anywhere and testable without a machine.
#[test]
fn core_does_no_io() {
    let src = workspace_root().join("crates/firewatch-core/src");
    let mut violations = Vec::new();
    for file in rust_files(&src) {
        let code = code_only(non_test_part(&read(&file)));
        for (offset, what) in io_mentions(&code) {
            let line = line_of(&code, offset);
            violations.push(format!("{}:{line}: {what}", relative(&file)));
        }
    }
    assert_none("I/O in firewatch-core", &violations);
}

/// A circle between two files of a crate means neither can be understood, tested or moved
/// alone; the modules of a crate form layers too.
#[test]
fn no_file_circles() {
    let mut violations = Vec::new();
    for krate in crate_dirs() {
        let graph = file_graph(&krate.join("src"));
        for cycle in cycles(&graph) {
            violations.push(describe_cycle(&krate, &graph, &cycle));
        }
    }
    assert_none("file circles (strongly connected files)", &violations);
}

/// A field name, the darknet feed name and the TLP spellings live once in core, so a rename
/// cannot leave a second spelling behind that silently stops matching.
#[test]
fn names_are_spelled_once() {
    let core_src = workspace_root().join("crates/firewatch-core/src");
    let mut violations = Vec::new();
    for krate in crate_dirs() {
        for file in rust_files(&krate.join("src")) {
            if !file.starts_with(&core_src) {
                violations.extend(second_spellings(&file));
            }
        }
    }
    assert_none(
        "names spelled outside firewatch-core (use firewatch_core's constants)",
        &violations,
    );
}

/// The store keeps records and answers queries; labels, attacks, attributions and alerts reach
/// it through the `Derivation` trait and the pipeline, so a second backend copies no rule.
#[test]
fn the_store_calls_no_derivation() {
    const DERIVATIONS: &[&str] = &["classify(", "derive_attacks(", "detect(", "baseline("];
    let mut violations = Vec::new();
    for file in rust_files(&workspace_root().join("crates/firewatch-store/src")) {
        let code = code_only(non_test_part(&read(&file)));
        for call in DERIVATIONS {
            if code.contains(call) {
                violations.push(format!("{}: calls {call}", relative(&file)));
            }
        }
    }
    assert_none("derivation in the store", &violations);
}

/// Only the store crate names its SQLite backend: everything else holds a `dyn Backend`
/// (`firewatch_store::open`), so a second backend needs no change above the store.
#[test]
fn only_the_store_names_its_backend() {
    let mut violations = Vec::new();
    for dir in crate_dirs() {
        if dir.ends_with("firewatch-store") {
            continue;
        }
        for file in rust_files(&dir.join("src")) {
            let code = code_only(non_test_part(&read(&file)));
            for backend in ["SqliteStore", "PgStore"] {
                if code.contains(backend) {
                    violations.push(format!("{}: names {backend}", relative(&file)));
                }
            }
        }
    }
    assert_none("the backend named outside the store", &violations);
}

/// A command module of the binary owns its arguments and printing and imports no other
/// command module, nor the command line's shape (`cli.rs` names the commands' arguments, not
/// the other way round): what two commands share lives in a module of its own (args, tables,
/// charts, progress) or in a library crate.
#[test]
fn command_modules_import_no_other_command() {
    let dir = workspace_root().join("crates/firewatch/src/commands");
    let mut violations = Vec::new();
    for file in rust_files(&dir) {
        if file.file_name().is_some_and(|n| n == "mod.rs") {
            continue;
        }
        let code = code_only(non_test_part(&read(&file)));
        for reach in ["super::", "crate::commands", "crate::cli"] {
            if code.contains(reach) {
                violations.push(format!("{}: uses {reach}", relative(&file)));
            }
        }
    }
    assert_none("command modules importing each other", &violations);
}

/// The lists above are core's own spellings, so a typo in them cannot switch a check off.
#[test]
fn spelling_lists_match_core() {
    assert!(SPELLED_IN_CORE.contains(&telescope::DARKNET_FEED));
    for level in TlpLevel::ALL {
        assert!(
            SPELLED_IN_CORE.contains(&level.label()),
            "{}",
            level.label()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The workspace
// ---------------------------------------------------------------------------------------------

/// The workspace root, reached from this crate so the test runs in any checkout.
fn workspace_root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// Every crate directory under `crates/` (the workspace's members), in name order.
fn crate_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(workspace_root().join("crates"))
        .expect("cannot list crates/")
        .map(|entry| entry.expect("cannot list crates/").path())
        .filter(|dir| dir.join("Cargo.toml").is_file() && dir.join("src").is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// Every `.rs` file under `dir`, sorted, so reports are stable.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.expect("cannot list a directory").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
    files
}

/// A file's text; a file we cannot read is a broken checkout, not a pass.
fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// A path as written from the workspace root, for messages.
fn relative(path: &Path) -> String {
    let root = workspace_root().join("crates");
    let rel = path.strip_prefix(&root).unwrap_or(path);
    rel.display().to_string()
}

/// Fails with every violation, one a line, so the message is the whole to-do list.
fn assert_none(what: &str, violations: &[String]) {
    assert!(
        violations.is_empty(),
        "{what}: {} violation(s)\n  {}\n",
        violations.len(),
        violations.join("\n  ")
    );
}

// ---------------------------------------------------------------------------------------------
// Crate edges, from `cargo metadata`
// ---------------------------------------------------------------------------------------------

/// The ALLOWED line of a crate, if it has one.
fn allowed_for(krate: &str) -> Option<&'static [&'static str]> {
    ALLOWED
        .iter()
        .find(|(name, _)| *name == krate)
        .map(|(_, deps)| *deps)
}

/// `cargo metadata` of the workspace members; offline, no dependency resolution.
fn cargo_metadata() -> serde_json::Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(workspace_root())
        .output()
        .expect("cannot run cargo metadata");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("cargo metadata printed no JSON")
}

/// Each `firewatch*` workspace crate and the workspace crates it uses in its code or build
/// script; dev-dependencies only reach tests and are left free.
fn workspace_edges() -> BTreeMap<String, BTreeSet<String>> {
    let metadata = cargo_metadata();
    let packages = metadata["packages"].as_array().expect("no packages");
    let mut edges = BTreeMap::new();
    for package in packages {
        let name = package["name"].as_str().expect("a package without a name");
        if name.starts_with("firewatch") {
            edges.insert(name.to_owned(), firewatch_dependencies(package));
        }
    }
    edges
}

/// The normal and build dependencies of one package that are Firewatch crates.
fn firewatch_dependencies(package: &serde_json::Value) -> BTreeSet<String> {
    let deps = package["dependencies"].as_array().expect("no dependencies");
    deps.iter()
        .filter(|dep| matches!(dep["kind"].as_str(), None | Some("build")))
        .filter_map(|dep| dep["name"].as_str())
        .filter(|name| name.starts_with("firewatch"))
        .map(str::to_owned)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Reading source as text
// ---------------------------------------------------------------------------------------------

/// The part of a file before its unit tests (a `#[cfg(test)]` line at column 0): tests may
/// reach anywhere and do anything.
fn non_test_part(src: &str) -> &str {
    let mut end = 0;
    for line in src.split_inclusive('\n') {
        if line.trim_end() == "#[cfg(test)]" {
            break;
        }
        end += line.len();
    }
    &src[..end]
}

/// The code with comments and string and char literals blanked to spaces (newlines and byte
/// offsets kept), so a path in a doc comment or a message is not taken for a use.
fn code_only(src: &str) -> String {
    let bytes = src.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let after_ident = i > 0 && is_ident(bytes[i - 1]);
        match blank_len(&bytes[i..], after_ident) {
            Some(len) => {
                let end = (i + len).min(bytes.len());
                out.extend(
                    bytes[i..end]
                        .iter()
                        .map(|&b| if b == b'\n' { b'\n' } else { b' ' }),
                );
                i = end;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8(out).expect("blanking keeps UTF-8")
}

/// How many bytes at the start of `rest` are a comment or a literal, if one starts there.
fn blank_len(rest: &[u8], after_ident: bool) -> Option<usize> {
    if rest.starts_with(b"//") {
        return Some(rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len()));
    }
    if rest.starts_with(b"/*") {
        return Some(block_comment_len(rest));
    }
    match rest[0] {
        b'"' => Some(string_len(rest)),
        b'\'' => char_literal_len(rest),
        b'r' | b'b' | b'c' if !after_ident => raw_string_len(rest),
        _ => None,
    }
}

/// The length of a (nested) block comment.
fn block_comment_len(rest: &[u8]) -> usize {
    let (mut depth, mut i) = (0, 0);
    while i < rest.len() {
        if rest[i..].starts_with(b"/*") {
            depth += 1;
            i += 2;
        } else if rest[i..].starts_with(b"*/") {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    rest.len()
}

/// The length of a `"..."` literal, escapes included.
fn string_len(rest: &[u8]) -> usize {
    let mut i = 1;
    while i < rest.len() {
        match rest[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    rest.len()
}

/// The length of a char literal (`'a'`, `'\n'`, `'é'`); `None` for a lifetime (`'a`).
fn char_literal_len(rest: &[u8]) -> Option<usize> {
    if rest.get(1) == Some(&b'\\') {
        let close = rest.iter().skip(3).position(|&b| b == b'\'')?;
        return Some(close + 4);
    }
    let text = std::str::from_utf8(&rest[1..rest.len().min(6)]).unwrap_or_else(|e| {
        std::str::from_utf8(&rest[1..1 + e.valid_up_to()]).expect("valid prefix")
    });
    let c = text.chars().next()?;
    (rest.get(1 + c.len_utf8()) == Some(&b'\'')).then_some(c.len_utf8() + 2)
}

/// The length of a raw or byte string (`r#"..."#`, `b"..."`, `br"..."`), if one starts here.
fn raw_string_len(rest: &[u8]) -> Option<usize> {
    let prefix = rest
        .iter()
        .take_while(|&&b| matches!(b, b'r' | b'b' | b'c'))
        .count();
    let raw = rest[..prefix].contains(&b'r');
    if prefix > 2 || !raw {
        return (prefix == 1 && rest.get(1) == Some(&b'"')).then(|| 1 + string_len(&rest[1..]));
    }
    let hashes = rest[prefix..].iter().take_while(|&&b| b == b'#').count();
    let open = prefix + hashes;
    if rest.get(open) != Some(&b'"') {
        return None;
    }
    let close: Vec<u8> = std::iter::once(b'"')
        .chain(std::iter::repeat_n(b'#', hashes))
        .collect();
    let body = &rest[open + 1..];
    let end = body
        .windows(close.len())
        .position(|w| w == close.as_slice());
    Some(end.map_or(rest.len(), |end| open + 1 + end + close.len()))
}

/// A byte that can be part of an identifier.
fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The 1-based line of a byte offset.
fn line_of(code: &str, offset: usize) -> usize {
    code[..offset].matches('\n').count() + 1
}

// ---------------------------------------------------------------------------------------------
// Paths in code
// ---------------------------------------------------------------------------------------------

/// Every path that starts with the keyword `first` (`crate`, `super`, `std`), with its byte
/// offset; a use list is expanded (`crate::{a, b::{c, d}}` gives `crate::a`, `crate::b::c`, ...).
fn paths_from(code: &str, first: &str) -> Vec<(usize, Vec<String>)> {
    let bytes = code.as_bytes();
    let mut found = Vec::new();
    for (start, _) in code.match_indices(first) {
        let end = start + first.len();
        let starts_path = start == 0 || !(is_ident(bytes[start - 1]) || bytes[start - 1] == b':');
        let ident_ends = bytes.get(end).is_none_or(|&b| !is_ident(b));
        if starts_path && ident_ends && bytes[end..].starts_with(b"::") {
            let mut i = start;
            found.extend(
                use_tree(bytes, &mut i)
                    .into_iter()
                    .map(|path| (start, path)),
            );
        }
    }
    found
}

/// The paths one use tree at `*i` names: `a::b`, `a::{b, c::d}`, `a::*`, `a::{self, b}`.
fn use_tree(code: &[u8], i: &mut usize) -> Vec<Vec<String>> {
    while code.get(*i).is_some_and(u8::is_ascii_whitespace) {
        *i += 1;
    }
    if code.get(*i) == Some(&b'{') {
        *i += 1;
        return use_list(code, i);
    }
    let start = *i;
    while code.get(*i).copied().is_some_and(is_ident) {
        *i += 1;
    }
    if start == *i {
        return vec![Vec::new()];
    }
    let ident = String::from_utf8_lossy(&code[start..*i]).into_owned();
    if !code[*i..].starts_with(b"::") {
        return vec![vec![ident]];
    }
    *i += 2;
    let mut paths = use_tree(code, i);
    for path in &mut paths {
        path.insert(0, ident.clone());
    }
    paths
}

/// The paths of a `{...}` use list, `*i` just after the `{`.
fn use_list(code: &[u8], i: &mut usize) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    while let Some(&b) = code.get(*i) {
        match b {
            b'}' => {
                *i += 1;
                break;
            }
            b',' => *i += 1,
            _ => {
                let before = *i;
                paths.extend(use_tree(code, i));
                *i = (*i).max(before + 1);
            }
        }
    }
    paths
}

/// Where core's code names I/O: a forbidden path (also through a use list such as
/// `std::{fs, io}`) or a forbidden call.
fn io_mentions(code: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (offset, path) in paths_from(code, "std") {
        let written = path.join("::");
        for forbidden in CORE_FORBIDDEN_PATHS {
            if written == *forbidden || written.starts_with(&format!("{forbidden}::")) {
                found.push((offset, format!("{forbidden} (in `{written}`)")));
            }
        }
    }
    for text in CORE_FORBIDDEN_TEXT {
        found.extend(
            code.match_indices(text)
                .map(|(at, _)| (at, (*text).to_owned())),
        );
    }
    found.sort();
    found.dedup();
    found
}

// ---------------------------------------------------------------------------------------------
// File graphs
// ---------------------------------------------------------------------------------------------

/// Module path (`["a", "b"]` for `a::b`) to its file, and the modules each file imports.
struct FileGraph {
    files: BTreeMap<Vec<String>, PathBuf>,
    edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
}

/// The file graph of one crate's `src`: an edge from a file to each module file it names with
/// `crate::` or `super::`, the crate root and the file itself left out.
fn file_graph(src: &Path) -> FileGraph {
    let files: BTreeMap<Vec<String>, PathBuf> = rust_files(src)
        .into_iter()
        .filter_map(|file| Some((module_path(src, &file)?, file)))
        .collect();
    let mut edges = BTreeMap::new();
    for (module, file) in &files {
        let code = code_only(non_test_part(&read(file)));
        let targets: BTreeSet<Vec<String>> = imported_modules(&code, module)
            .into_iter()
            .filter_map(|path| module_file(&files, &path))
            .filter(|target| !target.is_empty() && target != module)
            .collect();
        edges.insert(module.clone(), targets);
    }
    FileGraph { files, edges }
}

/// The module a file holds: `a.rs` and `a/mod.rs` are `a`, `a/b.rs` is `a::b`, the crate root is
/// empty; `src/bin/` holds other crate roots and is left out.
fn module_path(src: &Path, file: &Path) -> Option<Vec<String>> {
    let rel = file.strip_prefix(src).ok()?.with_extension("");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if parts.first().is_some_and(|p| p == "bin") && parts.len() > 1 {
        return None;
    }
    if parts.len() == 1 && (parts[0] == "lib" || parts[0] == "main") {
        return Some(Vec::new());
    }
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    Some(parts)
}

/// The longest prefix of a module path that has a file (`crate::a::b::Item` is in `a/b.rs` or,
/// without one, in `a.rs`); `None` when only the crate root holds it.
fn module_file(files: &BTreeMap<Vec<String>, PathBuf>, path: &[String]) -> Option<Vec<String>> {
    (1..=path.len())
        .rev()
        .map(|len| path[..len].to_vec())
        .find(|prefix| files.contains_key(prefix))
}

/// The absolute module paths a file's code names through `crate::` and `super::`, `super`
/// resolved from the (inline) module it is written in.
fn imported_modules(code: &str, module: &[String]) -> Vec<Vec<String>> {
    let inline = inline_modules(code);
    let mut paths = Vec::new();
    for (offset, path) in paths_from(code, "crate")
        .into_iter()
        .chain(paths_from(code, "super"))
    {
        let mut here = module.to_vec();
        here.extend(
            inline
                .iter()
                .filter(|(start, end, _)| (*start..*end).contains(&offset))
                .map(|(_, _, name)| name.clone()),
        );
        paths.push(resolve(&path, here));
    }
    paths
}

/// A relative path made absolute: `crate` starts at the root, `super` goes up, `self` stays.
fn resolve(path: &[String], mut here: Vec<String>) -> Vec<String> {
    for segment in path {
        match segment.as_str() {
            "crate" => here.clear(),
            "super" => {
                here.pop();
            }
            "self" => {}
            name => here.push(name.to_owned()),
        }
    }
    here
}

/// The inline modules (`mod name { ... }`) of a file as byte ranges, outermost first, so a
/// `super::` inside one resolves from it.
fn inline_modules(code: &str) -> Vec<(usize, usize, String)> {
    let bytes = code.as_bytes();
    let mut found = Vec::new();
    for (at, _) in code.match_indices("mod ") {
        if at > 0 && is_ident(bytes[at - 1]) {
            continue;
        }
        let rest = &code[at + 4..];
        let name: String = rest
            .trim_start()
            .chars()
            .take_while(|&c| c.is_ascii_alphanumeric() || c == '_')
            .collect();
        let after = rest.trim_start()[name.len()..].trim_start();
        if !name.is_empty() && after.starts_with('{') {
            let open = code.len() - after.len();
            found.push((open, matching_brace(bytes, open), name));
        }
    }
    found
}

/// The offset just past the `}` that closes the `{` at `open`.
fn matching_brace(code: &[u8], open: usize) -> usize {
    let mut depth = 0usize;
    for (i, &b) in code.iter().enumerate().skip(open) {
        match b {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
    }
    code.len()
}

/// Every strongly connected set of more than one file: the files that reach each other.
fn cycles(graph: &FileGraph) -> Vec<BTreeSet<Vec<String>>> {
    let reach: BTreeMap<&Vec<String>, BTreeSet<Vec<String>>> = graph
        .files
        .keys()
        .map(|module| (module, reachable(graph, module)))
        .collect();
    let mut seen = BTreeSet::new();
    let mut found = Vec::new();
    for (module, from) in &reach {
        if seen.contains(*module) {
            continue;
        }
        let component: BTreeSet<Vec<String>> = from
            .iter()
            .filter(|other| reach[other].contains(*module))
            .cloned()
            .collect();
        seen.extend(component.iter().cloned());
        if component.len() > 1 {
            found.push(component);
        }
    }
    found
}

/// The modules reachable from `start` (itself included when it lies on a circle).
fn reachable(graph: &FileGraph, start: &[String]) -> BTreeSet<Vec<String>> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![start.to_vec()];
    while let Some(module) = todo.pop() {
        for next in graph.edges.get(&module).into_iter().flatten() {
            if seen.insert(next.clone()) {
                todo.push(next.clone());
            }
        }
    }
    seen
}

/// One circle for the report: its crate, its files, and the edges between them.
fn describe_cycle(krate: &Path, graph: &FileGraph, cycle: &BTreeSet<Vec<String>>) -> String {
    let src = krate.join("src");
    let name = |module: &Vec<String>| {
        let file = &graph.files[module];
        file.strip_prefix(&src)
            .unwrap_or(file)
            .display()
            .to_string()
    };
    let files: Vec<String> = cycle.iter().map(name).collect();
    let edges: Vec<String> = cycle
        .iter()
        .flat_map(|from| {
            graph.edges[from]
                .iter()
                .filter(|to| cycle.contains(*to))
                .map(move |to| format!("{} -> {}", name(from), name(to)))
        })
        .collect();
    let krate = krate.file_name().unwrap_or_default().to_string_lossy();
    format!(
        "{krate}: {} (edges: {})",
        files.join(", "),
        edges.join(", ")
    )
}

// ---------------------------------------------------------------------------------------------
// Names spelled once
// ---------------------------------------------------------------------------------------------

/// The second spellings in one file outside core: a literal only core may write, or a constant
/// re-defining a field name core has.
fn second_spellings(file: &Path) -> Vec<String> {
    let text = read(file);
    let mut found = Vec::new();
    for (index, line) in non_test_part(&text).lines().enumerate() {
        if line.trim_start().starts_with("//") {
            continue;
        }
        let at = format!("{}:{}", relative(file), index + 1);
        for name in SPELLED_IN_CORE {
            if line.contains(&format!("\"{name}\"")) {
                found.push(format!("{at}: \"{name}\""));
            }
        }
        if let Some(value) = str_constant_value(line).filter(|v| CORE_FIELD_NAMES.contains(v)) {
            found.push(format!("{at}: constant for field \"{value}\""));
        }
    }
    found
}

/// The value of a `const NAME: &str = "value"` (or `&'static str`, or a `static`) on one line.
fn str_constant_value(line: &str) -> Option<&str> {
    let start = ["const ", "static "]
        .iter()
        .filter_map(|keyword| line.find(keyword).map(|at| at + keyword.len()))
        .min()?;
    let (_, rest) = line[start..].split_once(':')?;
    let (ty, value) = rest.split_once('=')?;
    if !matches!(ty.trim(), "&str" | "&'static str") {
        return None;
    }
    let value = value.trim().strip_prefix('"')?;
    value.split_once('"').map(|(value, _)| value)
}
