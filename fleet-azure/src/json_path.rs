//! Paths into JSON documents, written as the API description's property paths are (shared
//! with the tests' local ARM, which includes this file).

use serde_json::Value;

/// Removes the property at `path` wherever it occurs in `value`: `a.b` is property `b` of
/// object `a`, `a[].b` of each item of array `a`, `a{}.b` of each value of map `a`.
pub(crate) fn remove_path(value: &mut Value, path: &str) {
    let (step, rest) = match path.split_once('.') {
        Some((step, rest)) => (step, Some(rest)),
        None => (path, None),
    };
    let (name, each) = match (step.strip_suffix("[]"), step.strip_suffix("{}")) {
        (Some(name), _) => (name, "[]"),
        (_, Some(name)) => (name, "{}"),
        _ => (step, ""),
    };
    let Some(object) = value.as_object_mut() else { return };
    let Some(rest) = rest else {
        object.remove(name);
        return;
    };
    let Some(inner) = object.get_mut(name) else { return };
    match (each, inner) {
        ("[]", Value::Array(items)) => items.iter_mut().for_each(|item| remove_path(item, rest)),
        ("{}", Value::Object(entries)) => entries.values_mut().for_each(|entry| remove_path(entry, rest)),
        ("", inner) => remove_path(inner, rest),
        _ => {}
    }
}
