//! The lists kept for every listed skill have bounds of their own (docs/limits.md): `aliases`
//! at most 32, `dependencies` at most 64 entries keyed by a skill name (64 characters) with a
//! semver requirement (128). A cloned repository of a few thousand skills with 1,000 aliases or
//! dependencies each made `skillet list` take gigabytes and minutes (red team 4, F3).

use serde_json::{Value, json};
use skillet_spec::limits::{MAX_ALIASES, MAX_DEPENDENCIES, MAX_NAME_CHARS, MAX_VERSION_CHARS};
use skillet_spec::load_json;

fn errors_of(extra: Value) -> Vec<String> {
    let mut skill = json!({"name": "s", "description": "d", "type": "code_inline",
                           "command": "echo", "args": ["x"]});
    if let (Some(skill), Some(extra)) = (skill.as_object_mut(), extra.as_object()) {
        skill.extend(extra.clone());
    }
    load_json(&skill.to_string(), None)
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.message.clone())
        .collect()
}

fn aliases(n: usize) -> Value {
    json!({"aliases": (0..n).map(|i| format!("alias-{i}")).collect::<Vec<_>>()})
}

fn dependencies(n: usize, key_chars: usize, req_chars: usize) -> Value {
    let deps: serde_json::Map<String, Value> = (0..n)
        .map(|i| {
            let key = format!("dep-{i}-");
            let key = format!("{key}{}", "k".repeat(key_chars.saturating_sub(key.len())));
            // A valid requirement, padded with spaces (which semver allows) to the length asked.
            let req = format!("^1.2{}", " ".repeat(req_chars.saturating_sub(4)));
            (key, Value::String(req))
        })
        .collect();
    json!({"dependencies": deps})
}

#[test]
fn aliases_past_their_bound_are_refused_and_at_it_load() {
    assert_eq!(errors_of(aliases(MAX_ALIASES)), Vec::<String>::new());
    let errors = errors_of(aliases(MAX_ALIASES + 1));
    assert!(
        errors
            .iter()
            .any(|e| e.contains("has 33 entries; the limit is 32")),
        "{errors:?}"
    );
    // Far past it (the red team's 1,000), one error, not one per alias.
    let errors = errors_of(aliases(1_000));
    assert_eq!(errors.len(), 1, "{errors:?}");
}

#[test]
fn dependencies_are_bounded_in_count_key_and_requirement() {
    assert_eq!(
        errors_of(dependencies(MAX_DEPENDENCIES, 10, 5)),
        Vec::<String>::new()
    );
    let errors = errors_of(dependencies(MAX_DEPENDENCIES + 1, 10, 5));
    assert!(
        errors.iter().any(|e| e.contains("the limit is 64")),
        "{errors:?}"
    );
    let errors = errors_of(dependencies(1, MAX_NAME_CHARS + 1, 5));
    assert!(
        errors
            .iter()
            .any(|e| e.contains("a key of `dependencies`") && e.contains("the limit is 64")),
        "{errors:?}"
    );
    let errors = errors_of(dependencies(1, 10, MAX_VERSION_CHARS + 1));
    assert!(
        errors.iter().any(|e| e.contains("the limit is 128")),
        "{errors:?}"
    );
}

#[test]
fn the_schema_states_the_same_bounds() {
    let schema = skillet_spec::skill_json_schema();
    let props = &schema["properties"];
    assert_eq!(props["aliases"]["maxItems"], MAX_ALIASES);
    assert_eq!(props["dependencies"]["maxProperties"], MAX_DEPENDENCIES);
    assert_eq!(
        props["dependencies"]["propertyNames"]["maxLength"],
        MAX_NAME_CHARS
    );
    assert_eq!(
        props["dependencies"]["additionalProperties"]["maxLength"],
        MAX_VERSION_CHARS
    );
}
