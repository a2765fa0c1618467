//! Finding every unknown field in a document, guided by the JSON Schema generated from the model.
//!
//! serde's `deny_unknown_fields` stops at the first unknown field and cannot say where it was.
//! Walking the schema finds all of them, with the list of fields that were expected there, which
//! is what a "did you mean" needs. The schema comes from the same types, so the two cannot drift.

use std::collections::{BTreeMap, HashSet};

use serde_json::Value;

use crate::json_source::escape_pointer_segment;

/// A field that the schema does not allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownField {
    /// JSON pointer of the field.
    pub pointer: String,
    /// The field's name.
    pub name: String,
    /// Fields allowed at that place.
    pub expected: Vec<String>,
}

/// Finds every field in `value` that `schema` (a root schema with `$defs`) does not allow.
pub fn unknown_fields(schema: &Value, value: &Value) -> Vec<UnknownField> {
    let mut out = Vec::new();
    walk(schema, schema, value, String::new(), &mut out);
    out
}

/// Removes the fields at `pointers` so the rest can still be deserialized.
pub fn remove_fields(value: &mut Value, pointers: &[String]) {
    // One pass per object: removing fields one at a time shifts the rest each time, which is
    // quadratic, and a hostile 1 MiB file holds some 90,000 unknown fields.
    let mut by_parent: BTreeMap<&str, HashSet<String>> = BTreeMap::new();
    for pointer in pointers {
        if let Some((parent, last)) = pointer.rsplit_once('/') {
            let key = last.replace("~1", "/").replace("~0", "~");
            by_parent.entry(parent).or_default().insert(key);
        }
    }
    for (parent, keys) in by_parent {
        if let Some(Value::Object(map)) = value.pointer_mut(parent) {
            map.retain(|k, _| !keys.contains(k));
        }
    }
}

/// `root.pointer(pointer)` without a string for every segment (`serde_json`'s unescapes each
/// one into a new string; the walk resolves a `$ref` for nearly every field of every file).
fn lookup<'a>(root: &'a Value, pointer: &str) -> Option<&'a Value> {
    if pointer.is_empty() {
        return Some(root);
    }
    let mut at = root;
    for token in pointer.strip_prefix('/')?.split('/') {
        let token: std::borrow::Cow<'_, str> = if token.contains('~') {
            token.replace("~1", "/").replace("~0", "~").into()
        } else {
            token.into()
        };
        at = match at {
            Value::Object(map) => map.get(token.as_ref())?,
            Value::Array(items) => items.get(token.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(at)
}

fn resolve<'a>(root: &'a Value, schema: &'a Value) -> &'a Value {
    let mut s = schema;
    // Bounded: the generated schema has no reference cycles that resolve to themselves.
    for _ in 0..16 {
        match s
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
        {
            Some(pointer) => match lookup(root, pointer) {
                Some(target) => s = target,
                None => break,
            },
            None => break,
        }
    }
    s
}

fn walk(root: &Value, schema: &Value, value: &Value, pointer: String, out: &mut Vec<UnknownField>) {
    let schema = resolve(root, schema);
    for key in ["anyOf", "oneOf"] {
        if let Some(branches) = schema.get(key).and_then(Value::as_array) {
            if let Some(branch) = branches.iter().find(|b| accepts_type(root, b, value)) {
                walk(root, branch, value, pointer, out);
            }
            return;
        }
    }
    match value {
        Value::Object(map) => {
            let properties = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties");
            for (name, child) in map {
                let child_pointer = format!("{pointer}/{}", escape_pointer_segment(name));
                if let Some(prop_schema) = properties.and_then(|p| p.get(name)) {
                    walk(root, prop_schema, child, child_pointer, out);
                } else if additional == Some(&Value::Bool(false)) {
                    out.push(UnknownField {
                        pointer: child_pointer,
                        name: name.clone(),
                        expected: properties
                            .map(|p| p.keys().cloned().collect())
                            .unwrap_or_default(),
                    });
                } else if let Some(extra) = additional.filter(|a| a.is_object()) {
                    walk(root, extra, child, child_pointer, out);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    walk(root, item_schema, item, format!("{pointer}/{i}"), out);
                }
            }
        }
        _ => {}
    }
}

/// Whether a branch of `anyOf` could describe `value`, judged by JSON type alone.
fn accepts_type(root: &Value, schema: &Value, value: &Value) -> bool {
    let schema = resolve(root, schema);
    let Some(ty) = schema.get("type") else {
        return true;
    };
    let names: Vec<&str> = match ty {
        Value::String(s) => vec![s.as_str()],
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        _ => return true,
    };
    names.iter().any(|n| match (*n, value) {
        ("object", Value::Object(_))
        | ("array", Value::Array(_))
        | ("string", Value::String(_)) => true,
        ("boolean", Value::Bool(_)) | ("null", Value::Null) => true,
        ("number", Value::Number(_)) => true,
        ("integer", Value::Number(n)) => n.is_i64() || n.is_u64(),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_all_unknown_fields_at_any_depth() {
        let schema = crate::schema::skill_json_schema();
        let doc = json!({
            "name": "x", "type": "code_inline", "prompt_templte": "a",
            "parameters": [{"name": "a", "typ": "string"}],
            "security": {"permissions": {"network_access": ["a:1"], "bogus": 1}},
            "env": {"ANY_NAME": "is fine"},
            "metadata": {"free": {"form": true}}
        });
        let found = unknown_fields(&schema, &doc);
        let pointers: Vec<_> = found.iter().map(|f| f.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            [
                "/prompt_templte",
                "/parameters/0/typ",
                "/security/permissions/bogus"
            ]
        );
        assert!(found[0].expected.contains(&"prompt_template".to_string()));
    }
}
