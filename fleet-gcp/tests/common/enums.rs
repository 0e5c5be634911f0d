//! Enums on the wire: the client sends and asks for numbers (`$alt=json;enum-encoding=int`),
//! GKE stores names. Numbers are the discovery document's enum positions, except where the
//! protocol buffer skips a number (listed in `NUMBERS`).

use serde_json::{Value, json};

use super::discovery;

/// Enum fields whose proto numbers are not their positions in the discovery document.
const NUMBERS: &[(&str, &str, &[i64])] = &[
    // `LoggingComponentConfig.Component` has no 6 (KCP_SSHD is 7).
    ("LoggingComponentConfig", "enableComponents", &[0, 1, 2, 3, 4, 5, 7, 8, 9, 10]),
];

/// `value` (of discovery schema `schema`) with every enum as its name.
pub fn to_names(mut value: Value, schema: &str) -> Value {
    convert(&mut value, schema, true);
    value
}

/// `value` (of discovery schema `schema`) with every enum as its number.
pub fn to_numbers(mut value: Value, schema: &str) -> Value {
    convert(&mut value, schema, false);
    value
}

fn convert(value: &mut Value, schema: &str, to_names: bool) {
    let Some(properties) = discovery()["schemas"][schema]["properties"].as_object() else { return };
    let Some(object) = value.as_object_mut() else { return };
    for (key, inner) in object.iter_mut() {
        let Some(property) = properties.get(key) else { continue };
        let numbers = NUMBERS.iter().find(|(s, f, _)| *s == schema && f == key).map(|(_, _, n)| *n);
        if let Some(names) = property["enum"].as_array() {
            one(inner, names, numbers, to_names);
        } else if let Some(names) = property["items"]["enum"].as_array() {
            for item in inner.as_array_mut().into_iter().flatten() {
                one(item, names, numbers, to_names);
            }
        } else if let Some(reference) = property["$ref"].as_str() {
            convert(inner, reference, to_names);
        } else if let Some(reference) = property["items"]["$ref"].as_str() {
            for item in inner.as_array_mut().into_iter().flatten() {
                convert(item, reference, to_names);
            }
        }
    }
}

fn one(value: &mut Value, names: &[Value], numbers: Option<&[i64]>, to_names: bool) {
    let number_at = |index: usize| numbers.map_or(index as i64, |n| n.get(index).copied().unwrap_or(-1));
    if to_names {
        if let Some(number) = value.as_i64() {
            let index = (0..names.len()).find(|i| number_at(*i) == number);
            if let Some(name) = index.and_then(|i| names.get(i)) {
                *value = name.clone();
            }
        }
    } else if let Some(index) = value.as_str().and_then(|name| names.iter().position(|n| n == name)) {
        *value = json!(number_at(index));
    }
}
