//! The modules of `fleet-core` form layers: no module reaches, through the others, back to
//! itself, and the engine needs nothing of failover, which drives it from above.
//!
//! Checked on the source: every `crate::<module>` path (and `super::<module>` in a file at the
//! crate's root) in code outside comments and unit tests is an edge from the file's top-level
//! module to that module; items the crate root re-exports (`crate::Location`) count for the
//! module that defines them, as `lib.rs` and that module's `mod.rs` name them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn source_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            source_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The code of a file: no comment lines, no `#[cfg(test)] mod tests` at its end.
fn code(text: &str) -> String {
    let mut lines: Vec<&str> = text.lines().collect();
    if let Some(at) = lines.windows(2).position(|w| w[0].trim() == "#[cfg(test)]" && w[1].starts_with("mod tests")) {
        lines.truncate(at);
    }
    lines.into_iter().filter(|line| !line.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}

/// The identifiers following `prefix` in `code` (`crate::engine::X` gives `engine`).
fn after<'a>(code: &'a str, prefix: &str) -> Vec<&'a str> {
    code.match_indices(prefix)
        .filter(|(at, _)| code[..*at].chars().last().is_none_or(|c| !c.is_alphanumeric() && c != '_'))
        .map(|(at, _)| {
            let rest = &code[at + prefix.len()..];
            let end = rest.find(|c: char| !c.is_alphanumeric() && c != '_').unwrap_or(rest.len());
            &rest[..end]
        })
        .collect()
}

/// The names a `pub use module::{...}` or `pub use module::Name` line of `text` exports, by
/// the module they come from.
fn reexports(text: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let joined = code(text);
    for statement in joined.split(';') {
        let statement = statement.trim();
        let Some(path) = statement.strip_prefix("pub use ").or_else(|| statement.strip_prefix("pub(crate) use "))
        else {
            continue;
        };
        let Some((module, names)) = path.split_once("::") else { continue };
        let names = names.trim_start_matches('{').trim_end_matches('}');
        for name in names.split(',') {
            let name = name.trim().rsplit("::").next().unwrap_or_default().trim();
            let name = name.split(" as ").last().unwrap_or(name).trim();
            if !name.is_empty() {
                found.push((name.to_owned(), module.to_owned()));
            }
        }
    }
    found
}

#[test]
fn the_modules_of_fleet_core_form_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    source_files(&src, &mut files);
    let top = |path: &Path| -> String {
        let relative = path.strip_prefix(&src).unwrap();
        let first = relative.components().next().unwrap().as_os_str().to_string_lossy().into_owned();
        first.trim_end_matches(".rs").to_owned()
    };
    let modules: BTreeSet<String> = files.iter().map(|f| top(f)).filter(|m| m != "lib").collect();

    // Root items by the module that defines them: `pub use model::*` takes `model`'s exports.
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let mut owner: BTreeMap<String, String> = BTreeMap::new();
    for (name, module) in reexports(&lib) {
        if name == "*" {
            let inner = std::fs::read_to_string(src.join(&module).join("mod.rs")).unwrap_or_default();
            for (name, _) in reexports(&inner) {
                owner.insert(name, module.clone());
            }
        } else if modules.contains(&module) {
            owner.insert(name, module);
        }
    }

    let mut edges: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for file in &files {
        let from = top(file);
        if from == "lib" {
            continue;
        }
        let text = code(&std::fs::read_to_string(file).unwrap());
        let at_root = file.parent() == Some(src.as_path());
        let mut targets = after(&text, "crate::");
        if at_root {
            targets.extend(after(&text, "super::"));
        }
        for target in targets {
            let to = if modules.contains(target) { Some(target.to_owned()) } else { owner.get(target).cloned() };
            if let Some(to) = to.filter(|to| *to != from) {
                let place = file.strip_prefix(&src).unwrap().display().to_string();
                edges.entry(from.clone()).or_default().entry(to).or_insert(place);
            }
        }
    }
    assert!(edges.len() > 10, "the check reads the modules: {edges:?}");

    // A cycle is an edge whose target reaches back to its source.
    let reaches = |from: &str, to: &str| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.to_owned()];
        while let Some(at) = stack.pop() {
            for next in edges.get(&at).into_iter().flat_map(BTreeMap::keys) {
                if next == to {
                    return true;
                }
                if seen.insert(next.clone()) {
                    stack.push(next.clone());
                }
            }
        }
        false
    };
    let cycles: Vec<String> = edges
        .iter()
        .flat_map(|(from, targets)| targets.iter().map(move |(to, place)| (from, to, place)))
        .filter(|(from, to, _)| reaches(to, from))
        .map(|(from, to, place)| format!("{from} -> {to} (first in {place})"))
        .collect();
    assert!(cycles.is_empty(), "modules that reach back to themselves:\n{}", cycles.join("\n"));
    for lower in ["engine", "store", "provider", "model", "fleet_spec", "plan", "sim", "health", "observe"] {
        let uses = edges.get(lower).and_then(|targets| targets.get("failover"));
        assert!(uses.is_none(), "`{lower}` uses `failover`, which is above it ({uses:?})");
    }
}
