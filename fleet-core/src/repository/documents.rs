//! Parsing one YAML document of a repository into a typed document, with precise errors.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::SpecError;
use crate::blueprint::{Layer, Owner, VariableDecl};
use crate::fleet_spec::{EnvironmentRequest, FleetSpec, TeamPolicy};

/// The kinds of document a repository holds.
pub const KINDS: [&str; 5] = ["Blueprint", "Layer", "FleetSpec", "EnvironmentRequest", "TeamPolicy"];

/// A blueprint as written: layers are inline or `use:` a `Layer` document by name.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct BlueprintFile {
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) variables: BTreeMap<String, VariableDecl>,
    pub(crate) layers: Vec<LayerEntry>,
}

/// One entry of a blueprint's `layers`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct LayerEntry {
    #[serde(rename = "use", default)]
    pub(crate) uses: Option<String>,
    #[serde(default)]
    pub(crate) name: Option<String>,
    #[serde(default)]
    pub(crate) owner: Option<Owner>,
    #[serde(default)]
    pub(crate) set: Option<Map<String, Value>>,
    #[serde(default)]
    pub(crate) lock: Option<Vec<String>>,
}

/// A typed document.
#[derive(Debug, Clone)]
pub(crate) enum Document {
    Blueprint(BlueprintFile),
    Layer(Layer),
    FleetSpec(FleetSpec),
    EnvironmentRequest(EnvironmentRequest),
    TeamPolicy(TeamPolicy),
}

#[derive(Deserialize)]
struct Header {
    kind: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope<T> {
    #[allow(dead_code)] // checked by the header pass
    kind: String,
    spec: T,
}

/// Parser options: no source snippets in messages, and limits sized for Fleet's documents
/// (a few kilobytes each), far below the parser's general defaults, so that a hostile file
/// (an alias bomb, a flood of nodes) is refused before it costs memory.
fn options() -> serde_saphyr::Options {
    let mut options = serde_saphyr::Options::default();
    options.with_snippet = false;
    let mut budget = serde_saphyr::Budget::default();
    budget.max_aliases = 1_000;
    budget.max_anchors = 1_000;
    budget.max_recorded_anchor_events = 10_000;
    budget.max_recorded_anchor_bytes = 1 << 20;
    budget.max_events = 200_000;
    budget.max_nodes = 100_000;
    budget.max_total_scalar_bytes = 8 << 20;
    options.budget = Some(budget);
    options
}

/// Parses `text` as `T`, reporting the serde path, and line and column shifted by `line_offset`.
fn parse<T: DeserializeOwned>(text: &str, line_offset: u64) -> Result<T, SpecError> {
    let mut path = None;
    let result = serde_saphyr::with_deserializer_from_str_with_options(text, options(), |deserializer| {
        serde_path_to_error::deserialize(deserializer).map_err(|err| {
            path = Some(err.path().to_string());
            err.into_inner()
        })
    });
    result.map_err(|err| {
        let message = err.without_snippet().to_string();
        let message = match message.rfind(" at line ") {
            Some(cut) => message[..cut].to_owned(),
            None => message,
        };
        let message = plain_duplicate_key(message);
        // The path ends in `?` where the parser had not yet read the key it stopped at.
        let path = path.map(|p| p.trim_end_matches('?').trim_end_matches('.').to_owned());
        let path = path.filter(|p| !p.is_empty()).unwrap_or_default();
        let error = SpecError::new(path, message);
        match err.location() {
            Some(location) if location.line() > 0 => error.at(location.line() + line_offset, location.column()),
            _ => error,
        }
    })
}

/// The parser's duplicate-key message, without its advice to change the parser's options.
fn plain_duplicate_key(message: String) -> String {
    match message.strip_prefix("duplicate mapping key: ") {
        Some(rest) => {
            let key = rest.split(", set DuplicateKeyPolicy").next().unwrap_or(rest);
            format!("duplicate key `{key}`: a key may appear once in a mapping")
        }
        None => message,
    }
}

/// Where each template's variable values are written in a fleet spec document (whose first
/// line is line `line_offset + 1` of its file): line and column by template index and
/// variable name, so that a value a blueprint refuses is blamed where it is written.
fn variable_places(text: &str, line_offset: u64) -> BTreeMap<(usize, String), (u64, u64)> {
    #[derive(Deserialize)]
    struct Document {
        spec: Spec,
    }
    #[derive(Deserialize)]
    struct Spec {
        #[serde(default)]
        templates: Vec<Template>,
    }
    #[derive(Deserialize)]
    struct Template {
        #[serde(default)]
        variables: BTreeMap<String, serde_saphyr::Spanned<serde::de::IgnoredAny>>,
    }
    // The document parsed already as a fleet spec: this second reading cannot fail but for
    // the parser's limits, and then no place is known.
    let Ok(document) = parse::<Document>(text, line_offset) else { return BTreeMap::new() };
    let mut places = BTreeMap::new();
    for (index, template) in document.spec.templates.into_iter().enumerate() {
        for (name, value) in template.variables {
            let at = value.referenced;
            if at.line() > 0 {
                places.insert((index, name), (at.line() + line_offset, at.column()));
            }
        }
    }
    places
}

/// Parses one document (its first line is line `line_offset + 1` of its file); `None` for an
/// empty document.
pub(crate) fn parse_document(text: &str, line_offset: u64) -> Result<Option<Document>, SpecError> {
    if text.lines().all(|line| line.trim().is_empty() || line.trim_start().starts_with('#')) {
        return Ok(None);
    }
    let header: Header = parse(text, line_offset)?;
    let Some(kind) = header.kind else {
        return Err(SpecError::new("kind", format!("missing field `kind`, expected one of {}", KINDS.join(", "))));
    };
    let document = match kind.as_str() {
        "Blueprint" => Document::Blueprint(parse::<Envelope<_>>(text, line_offset)?.spec),
        "Layer" => Document::Layer(parse::<Envelope<_>>(text, line_offset)?.spec),
        "FleetSpec" => {
            let mut spec: FleetSpec = parse::<Envelope<_>>(text, line_offset)?.spec;
            spec.variable_places = variable_places(text, line_offset);
            Document::FleetSpec(spec)
        }
        "EnvironmentRequest" => Document::EnvironmentRequest(parse::<Envelope<_>>(text, line_offset)?.spec),
        "TeamPolicy" => Document::TeamPolicy(parse::<Envelope<_>>(text, line_offset)?.spec),
        other => {
            let shown: String = other.chars().take(64).collect();
            return Err(SpecError::new(
                "kind",
                format!("unknown kind `{shown}`, expected one of {}", KINDS.join(", ")),
            ));
        }
    };
    Ok(Some(document))
}

/// Splits a file into its YAML documents at `---` lines, with the line each starts after.
pub(crate) fn split_documents(text: &str) -> Vec<(u64, String)> {
    let mut documents = Vec::new();
    let mut current = String::new();
    let mut start = 0u64;
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let is_marker = |marker: &str| {
            line.strip_prefix(marker).is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r', '\n']))
        };
        if is_marker("---") || is_marker("...") {
            documents.push((start, std::mem::take(&mut current)));
            // The document after `--- ` may begin on the marker line itself.
            let rest = line.trim_start_matches(['-', '.']);
            current.push_str(if is_marker("---") && !rest.trim().is_empty() { rest } else { "\n" });
            start = index as u64;
            continue;
        }
        current.push_str(line);
    }
    documents.push((start, current));
    documents
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_carry_path_line_and_column() {
        let text = "kind: TeamPolicy\nspec:\n  team: payments\n  quota:\n    clusters: many\n    nodes: 3\n";
        let err = parse_document(text, 10).unwrap_err();
        assert_eq!(err.path, "spec.quota.clusters");
        assert_eq!((err.line, err.column), (Some(15), Some(15)));
        assert!(err.message.contains("u32") || err.message.contains("integer"), "{}", err.message);
    }

    #[test]
    fn unknown_fields_and_kinds_are_named() {
        let err =
            parse_document("kind: TeamPolicy\nspec:\n  team: a\n  quota: {clusters: 1, nodes: 1}\n  colour: red\n", 0)
                .unwrap_err();
        assert!(err.message.contains("unknown field `colour`"), "{}", err.message);
        assert_eq!(err.line, Some(5));
        let err = parse_document("kind: Cluster\nspec: {}\n", 0).unwrap_err();
        assert!(err.message.contains("unknown kind `Cluster`"));
        let err = parse_document("spec: {}\n", 0).unwrap_err();
        assert!(err.message.contains("missing field `kind`"));
    }

    #[test]
    fn documents_split_at_markers_keeping_line_numbers() {
        let docs = split_documents("a: 1\n---\nb: 2\n--- c: 3\n...\n");
        let texts: Vec<_> = docs.iter().map(|(start, text)| (*start, text.trim().to_owned())).collect();
        assert_eq!(texts, [(0, "a: 1".to_owned()), (1, "b: 2".to_owned()), (3, "c: 3".to_owned()), (4, String::new())]);
    }
}
