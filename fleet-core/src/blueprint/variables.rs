//! Typed blueprint variables: declarations with defaults and constraints, checking of given
//! values, and substitution of `${name}` references into settings.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The type of a variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
#[allow(missing_docs)] // each is the type of its name
pub enum VariableType {
    String,
    Integer,
    Boolean,
    Enum,
    List,
}

/// A declared variable of a blueprint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[non_exhaustive]
pub struct VariableDecl {
    /// Its type.
    #[serde(rename = "type")]
    pub kind: VariableType,
    /// The value used when none is given; without one the variable is required.
    #[serde(default)]
    pub default: Option<Value>,
    /// Smallest integer allowed.
    #[serde(default)]
    pub min: Option<i64>,
    /// Largest integer allowed (for lists: most items).
    #[serde(default)]
    pub max: Option<i64>,
    /// A regular expression every string (or list item) must match whole.
    #[serde(default)]
    pub pattern: Option<String>,
    /// The values an enum (or string, or list item) may take.
    #[serde(default)]
    pub allowed: Option<Vec<String>>,
    /// What the variable is for.
    #[serde(default)]
    pub description: Option<String>,
}

impl VariableDecl {
    /// Checks the declaration itself: enums list their values, patterns compile, bounds order,
    /// and the default satisfies the declaration.
    pub fn check_declaration(&self) -> Result<(), String> {
        if self.kind == VariableType::Enum && self.allowed.as_ref().is_none_or(Vec::is_empty) {
            return Err("an enum variable needs a non-empty `allowed` list".into());
        }
        if let Some(pattern) = &self.pattern {
            regex_lite::Regex::new(pattern)
                .map_err(|err| format!("`pattern` is not a valid regular expression: {err}"))?;
        }
        if let (Some(min), Some(max)) = (self.min, self.max)
            && min > max
        {
            return Err(format!("`min` {min} is greater than `max` {max}"));
        }
        if let Some(default) = &self.default {
            self.check_value(default).map_err(|err| format!("the default is invalid: {err}"))?;
        }
        Ok(())
    }

    /// Checks a value against the type and constraints.
    pub fn check_value(&self, value: &Value) -> Result<(), String> {
        match (self.kind, value) {
            (VariableType::String | VariableType::Enum, Value::String(text)) => self.check_text(text),
            (VariableType::Integer, Value::Number(number)) => {
                let n = number.as_i64().ok_or_else(|| format!("{number} is not a whole number"))?;
                if let Some(min) = self.min.filter(|min| n < *min) {
                    return Err(format!("{n} is less than the minimum {min}"));
                }
                if let Some(max) = self.max.filter(|max| n > *max) {
                    return Err(format!("{n} is greater than the maximum {max}"));
                }
                Ok(())
            }
            (VariableType::Boolean, Value::Bool(_)) => Ok(()),
            (VariableType::List, Value::Array(items)) => {
                if let Some(max) = self.max.filter(|max| items.len() as i64 > *max) {
                    return Err(format!("{} items, at most {max} allowed", items.len()));
                }
                if let Some(min) = self.min.filter(|min| (items.len() as i64) < *min) {
                    return Err(format!("{} items, at least {min} needed", items.len()));
                }
                for (index, item) in items.iter().enumerate() {
                    let Value::String(text) = item else {
                        return Err(format!("item {index} is {}, expected a string", type_name(item)));
                    };
                    self.check_text(text).map_err(|err| format!("item {index}: {err}"))?;
                }
                Ok(())
            }
            (kind, other) => Err(format!("expected {}, found {}", expected_name(kind), type_name(other))),
        }
    }

    fn check_text(&self, text: &str) -> Result<(), String> {
        if let Some(allowed) = &self.allowed
            && !allowed.iter().any(|a| a == text)
        {
            return Err(format!("`{}` is not one of {}", shorten(text), allowed.join(", ")));
        }
        if let Some(pattern) = &self.pattern {
            let regex = regex_lite::Regex::new(&format!("^(?:{pattern})$"))
                .map_err(|err| format!("`pattern` is not a valid regular expression: {err}"))?;
            if !regex.is_match(text) {
                return Err(format!("`{}` does not match the pattern `{pattern}`", shorten(text)));
            }
        }
        Ok(())
    }
}

fn shorten(text: &str) -> String {
    text.chars().take(64).collect()
}

fn expected_name(kind: VariableType) -> &'static str {
    match kind {
        VariableType::String => "a string",
        VariableType::Enum => "one of the allowed strings",
        VariableType::Integer => "an integer",
        VariableType::Boolean => "a boolean",
        VariableType::List => "a list of strings",
    }
}

/// The name of a JSON value's type, for messages.
pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// Problems found while binding or substituting variables: `(field path, what is wrong)`.
pub type VariableProblems = Vec<(String, String)>;

/// Binds given values to declarations: every given name must be declared, every declared name
/// without a default must be given, and every value must check. Returns all problems found.
pub fn bind_variables(
    declared: &BTreeMap<String, VariableDecl>,
    given: &BTreeMap<String, Value>,
) -> Result<BTreeMap<String, Value>, VariableProblems> {
    let mut problems = Vec::new();
    for name in given.keys().filter(|name| !declared.contains_key(*name)) {
        let known = declared.keys().cloned().collect::<Vec<_>>().join(", ");
        problems.push((format!("variables.{name}"), format!("unknown variable, declared are: {known}")));
    }
    let mut bound = BTreeMap::new();
    for (name, decl) in declared {
        match given.get(name).or(decl.default.as_ref()) {
            None => problems.push((format!("variables.{name}"), "required variable has no value".into())),
            Some(value) => match decl.check_value(value) {
                Ok(()) => {
                    bound.insert(name.clone(), value.clone());
                }
                Err(err) => problems.push((format!("variables.{name}"), err)),
            },
        }
    }
    if problems.is_empty() { Ok(bound) } else { Err(problems) }
}

/// Replaces `${name}` references in every string of `value`. A string that is exactly one
/// reference takes the variable's typed value; references inside longer strings are replaced
/// by the text of scalar values.
pub fn substitute(value: &Value, variables: &BTreeMap<String, Value>, path: &str) -> Result<Value, VariableProblems> {
    let mut problems = Vec::new();
    let result = substitute_into(value, variables, path, &mut problems);
    if problems.is_empty() { Ok(result) } else { Err(problems) }
}

fn substitute_into(
    value: &Value,
    variables: &BTreeMap<String, Value>,
    path: &str,
    problems: &mut VariableProblems,
) -> Value {
    match value {
        Value::String(text) => substitute_text(text, variables, path, problems),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(index, item)| substitute_into(item, variables, &format!("{path}[{index}]"), problems))
                .collect(),
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, item)| (key.clone(), substitute_into(item, variables, &join_path(path, key), problems)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// `a.b` from `a` and `b`; just `b` at the root.
pub(crate) fn join_path(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") }
}

fn substitute_text(
    text: &str,
    variables: &BTreeMap<String, Value>,
    path: &str,
    problems: &mut VariableProblems,
) -> Value {
    if let Some(name) = text.strip_prefix("${").and_then(|rest| rest.strip_suffix('}'))
        && !name.contains("${")
        && !name.contains('}')
    {
        return match variables.get(name) {
            Some(value) => value.clone(),
            None => {
                problems.push((path.to_owned(), format!("unknown variable `${{{}}}`", shorten(name))));
                Value::String(text.to_owned())
            }
        };
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            problems.push((path.to_owned(), "unclosed `${` in a string".into()));
            return Value::String(text.to_owned());
        };
        let name = &after[..end];
        match variables.get(name) {
            Some(Value::String(s)) => out.push_str(s),
            Some(Value::Number(n)) => out.push_str(&n.to_string()),
            Some(Value::Bool(b)) => out.push_str(&b.to_string()),
            Some(other) => {
                problems.push((
                    path.to_owned(),
                    format!("variable `{name}` is {}, which cannot go inside a string", type_name(other)),
                ));
            }
            None => problems.push((path.to_owned(), format!("unknown variable `${{{}}}`", shorten(name)))),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Value::String(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decl(value: Value) -> VariableDecl {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn values_are_checked_against_type_and_constraints() {
        let workers = decl(json!({"type": "integer", "min": 1, "max": 10}));
        assert!(workers.check_value(&json!(3)).is_ok());
        assert!(workers.check_value(&json!(11)).unwrap_err().contains("maximum 10"));
        assert!(workers.check_value(&json!("3")).unwrap_err().contains("expected an integer"));
        let tier = decl(json!({"type": "enum", "allowed": ["gold", "silver"]}));
        assert!(tier.check_value(&json!("gold")).is_ok());
        assert!(tier.check_value(&json!("bronze")).unwrap_err().contains("not one of gold, silver"));
        let team = decl(json!({"type": "string", "pattern": "[a-z]+"}));
        assert!(team.check_value(&json!("payments")).is_ok());
        assert!(team.check_value(&json!("pay ments")).unwrap_err().contains("does not match"));
        let cidrs = decl(json!({"type": "list", "max": 2, "pattern": "[0-9./]+"}));
        assert!(cidrs.check_value(&json!(["10.0.0.0/8"])).is_ok());
        assert!(cidrs.check_value(&json!(["a"])).unwrap_err().contains("item 0"));
        assert!(cidrs.check_value(&json!(["1", "2", "3"])).unwrap_err().contains("at most 2"));
    }

    #[test]
    fn declarations_are_checked() {
        assert!(decl(json!({"type": "enum"})).check_declaration().is_err());
        assert!(decl(json!({"type": "string", "pattern": "("})).check_declaration().is_err());
        assert!(decl(json!({"type": "integer", "min": 5, "max": 1})).check_declaration().is_err());
        assert!(decl(json!({"type": "integer", "default": "x"})).check_declaration().is_err());
    }

    #[test]
    fn binding_reports_every_problem() {
        let declared = BTreeMap::from([
            ("a".to_owned(), decl(json!({"type": "integer"}))),
            ("b".to_owned(), decl(json!({"type": "boolean", "default": true}))),
        ]);
        let given = BTreeMap::from([("zz".to_owned(), json!(1))]);
        let problems = bind_variables(&declared, &given).unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems.iter().any(|(p, m)| p == "variables.zz" && m.contains("unknown")));
        assert!(problems.iter().any(|(p, m)| p == "variables.a" && m.contains("required")));
        let bound = bind_variables(&declared, &BTreeMap::from([("a".to_owned(), json!(2))])).unwrap();
        assert_eq!(bound["b"], json!(true));
    }

    #[test]
    fn substitution_keeps_types_and_interpolates_text() {
        let vars = BTreeMap::from([
            ("n".to_owned(), json!(3)),
            ("team".to_owned(), json!("pay")),
            ("l".to_owned(), json!(["x"])),
        ]);
        let out = substitute(&json!({"a": "${n}", "b": "team-${team}-${n}", "c": ["${l}"]}), &vars, "").unwrap();
        assert_eq!(out, json!({"a": 3, "b": "team-pay-3", "c": [["x"]]}));
        let problems =
            substitute(&json!({"x": {"y": "${nope}"}, "z": "a-${l}", "w": "${open"}), &vars, "").unwrap_err();
        assert!(problems.iter().any(|(p, m)| p == "x.y" && m.contains("unknown variable `${nope}`")));
        assert!(problems.iter().any(|(p, m)| p == "z" && m.contains("cannot go inside a string")));
        assert!(problems.iter().any(|(p, m)| p == "w" && m.contains("unclosed")));
    }
}
