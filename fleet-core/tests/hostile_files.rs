//! Hostile files: every document kind (blueprints, layers, fleet specs, requests, team
//! policies) fed mutated bytes, values of the wrong type at every field, duplicate keys and
//! invalid UTF-8 gives errors (with their place), never a panic.

use std::path::PathBuf;

use fleet_core::conformance::hostile::mutants;
use fleet_core::repository::Repository;
use proptest::prelude::*;
use serde_json::{Value, json};

/// One valid document of every kind, as JSON (YAML's subset), so that any value in it can be
/// swapped for one of another type.
fn valid_documents() -> Vec<Value> {
    vec![
        json!({"kind": "Layer", "spec": {"name": "base", "owner": "ops",
            "set": {"kubernetesVersion": "1.31", "auditLogging": true, "labels": {"tier": "web"},
                    "nodePools": {"workers": {"size": "small", "minCount": 1, "maxCount": 3}}},
            "lock": ["kubernetesVersion"]}}),
        json!({"kind": "Blueprint", "spec": {"name": "dev",
            "variables": {"workers": {"type": "integer", "default": 2, "min": 1, "max": 8},
                          "tier": {"type": "enum", "default": "web", "allowed": ["web", "batch"]}},
            "layers": [{"use": "base"}, {"name": "team", "owner": "payments",
                "set": {"labels": {"tier": "${tier}"}, "nodePools": {"workers": {"maxCount": "${workers}"}}}}]}}),
        json!({"kind": "FleetSpec", "spec": {"name": "prod", "templates": [{"name": "web", "blueprint": "dev",
            "team": "payments", "variables": {"workers": 3},
            "placements": [{"provider": "sim", "regions": ["east"], "count": 2, "priority": 1}]}]}}),
        json!({"kind": "EnvironmentRequest", "spec": {"name": "alice", "team": "payments", "blueprint": "dev",
            "provider": "sim", "region": "east", "size": "small", "ttl": "2h", "variables": {"workers": 1}}}),
        json!({"kind": "TeamPolicy", "spec": {"team": "payments", "quota": {"clusters": 3, "nodes": 12},
            "allowedProviders": ["sim"], "allowedRegions": ["east"], "allowedSizes": ["small"], "maxTtl": "8h"}}),
    ]
}

fn load(text: &str) -> Result<(), String> {
    Repository::from_sources(&[(PathBuf::from("hostile.yaml"), text)]).map(|_| ()).map_err(|e| e.to_string())
}

/// Every path to a value in `value`.
fn paths(value: &Value, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    out.push(prefix.clone());
    match value {
        Value::Object(map) => map.iter().for_each(|(k, v)| paths(v, [prefix.clone(), vec![k.clone()]].concat(), out)),
        Value::Array(items) => {
            items.iter().enumerate().for_each(|(i, v)| paths(v, [prefix.clone(), vec![i.to_string()]].concat(), out))
        }
        _ => {}
    }
}

fn at<'a>(value: &'a mut Value, path: &[String]) -> &'a mut Value {
    path.iter().fold(value, |v, key| match v {
        Value::Array(items) => &mut items[key.parse::<usize>().unwrap()],
        other => &mut other[key.as_str()],
    })
}

/// A value of another JSON type than `value`.
fn other_type(value: &Value, pick: usize) -> Value {
    let candidates =
        [json!(null), json!(true), json!(-7), json!(1.5e300), json!("text"), json!([1, "two"]), json!({"x": {}})];
    let different: Vec<&Value> =
        candidates.iter().filter(|c| std::mem::discriminant(*c) != std::mem::discriminant(value)).collect();
    different[pick % different.len()].clone()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn a_value_of_the_wrong_type_anywhere_is_an_error_or_harmless(document in 0usize..5, choice in any::<usize>(), pick in any::<usize>()) {
        let mut value = valid_documents().swap_remove(document);
        let mut all = Vec::new();
        paths(&value, Vec::new(), &mut all);
        let path = all[choice % all.len()].clone();
        let target = at(&mut value, &path);
        *target = other_type(target, pick);
        // No panic; an error says where. (A few swaps stay valid: a variable's value may be
        // of any type.)
        if let Err(errors) = load(&value.to_string()) {
            prop_assert!(errors.contains("hostile.yaml"), "{errors}");
        }
    }

    #[test]
    fn mutated_documents_never_panic(document in 0usize..5, seed in any::<u64>()) {
        let text = serde_json::to_string_pretty(&valid_documents()[document]).unwrap();
        for mutant in mutants(text.as_bytes(), 16, seed) {
            let _ = load(&String::from_utf8_lossy(&mutant.bytes));
        }
    }
}

#[test]
fn the_valid_documents_load() {
    let text: Vec<String> = valid_documents().iter().map(Value::to_string).collect();
    load(&text.join("\n---\n")).unwrap();
}

#[test]
fn a_duplicate_key_is_an_error_naming_the_key_and_where() {
    for (text, key, place) in [
        ("kind: TeamPolicy\nspec:\n  team: a\n  team: b\n  quota: {clusters: 1, nodes: 1}\n", "team", ":4:3: `spec`"),
        ("kind: TeamPolicy\nkind: Layer\nspec: {}\n", "kind", ":2:1"),
        ("kind: TeamPolicy\nspec:\n  team: a\n  quota: {clusters: 1, nodes: 1, nodes: 5}\n", "nodes", "`spec.quota`"),
        ("kind: Layer\nspec:\n  name: l\n  owner: ops\n  set: {labels: {a: x, a: y}}\n", "a", "`spec.set.labels`"),
    ] {
        let errors = load(text).unwrap_err();
        assert!(errors.contains(&format!("duplicate key `{key}`")), "{errors}");
        assert!(errors.contains(place), "{errors}");
        assert!(!errors.contains("DuplicateKeyPolicy"), "no advice about the parser's options: {errors}");
    }
}

#[test]
fn a_file_that_is_not_utf8_is_an_error_naming_the_file() {
    let dir = std::env::temp_dir().join(format!("fleet-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("good.yaml"), "kind: TeamPolicy\nspec: {team: a, quota: {clusters: 1, nodes: 1}}\n")
        .unwrap();
    std::fs::write(dir.join("bad.yaml"), b"kind: TeamPolicy\nspec: {team: \xff\xfe, quota: {clusters: 1, nodes: 1}}\n")
        .unwrap();
    let errors = Repository::load_dir(&dir).unwrap_err().to_string();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(errors.contains("bad.yaml") && errors.contains("not UTF-8"), "{errors}");
    assert!(!errors.contains("good.yaml"), "{errors}");
}
