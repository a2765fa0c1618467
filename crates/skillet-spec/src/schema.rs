//! The JSON Schema (2020-12) of the skill file, generated from [`SkillSpec`](crate::SkillSpec).
//!
//! The schema has no `$id`. Nothing is published at a URL: editors load the file `skillet init`
//! and `skillet create` write (`.skillet/skill.schema.json`) by the path a skill file's
//! `$schema` or `.vscode/settings.json` gives, and every `$ref` in it points inside the document
//! (`#/$defs/…`). Without an `$id` the base URI is the file an editor loaded, so no editor tries
//! to fetch the schema from an address that does not serve it (VS Code's JSON service loads a
//! local schema's `$id` URL in some versions and then reports the schema as unloadable).

use std::sync::OnceLock;

use serde_json::Value;

/// The JSON Schema of a canonical skill file.
///
/// ```
/// let schema = skillet_spec::skill_json_schema();
/// assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
/// assert!(schema["properties"]["prompt_template"].is_object());
/// assert!(schema.get("$id").is_none());
/// ```
pub fn skill_json_schema() -> Value {
    cached().clone()
}

/// The schema as the binary carries it: the committed `schema/skill.schema.json`, parsed once
/// per process (the unknown-field check consults it for every file). Generating it from the
/// types with `schemars` took a one-shot `skillet run` ~0.3 ms of CPU before it could read its
/// skill; parsing the text takes a fraction of that. `generated_matches_the_committed_file`
/// keeps the two the same.
pub(crate) fn cached() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| match serde_json::from_str(COMMITTED) {
        Ok(schema) => schema,
        // Unreachable in a tested build; the types still give the right answer.
        Err(_) => generated(),
    })
}

/// `schema/skill.schema.json` at the root of the repository, as committed.
const COMMITTED: &str = include_str!("../../../schema/skill.schema.json");

/// The schema made from [`SkillSpec`](crate::SkillSpec) and the limits, as the committed file
/// must be.
pub(crate) fn generated() -> Value {
    let mut schema = schemars::schema_for!(crate::SkillSpec).to_value();
    crate::limits::annotate_schema(&mut schema);
    schema
}

#[cfg(test)]
mod tests {
    #[test]
    fn generated_matches_the_committed_file() {
        let generated = super::generated();
        let committed: serde_json::Value = serde_json::from_str(super::COMMITTED).unwrap();
        if generated != committed {
            let text = serde_json::to_string_pretty(&generated).unwrap() + "\n";
            let path = concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../schema/skill.schema.json"
            );
            if std::env::var_os("SKILLET_BLESS").is_some() {
                std::fs::write(path, text).unwrap();
            } else {
                panic!(
                    "schema/skill.schema.json differs from the schema the types make: run \
                     `SKILLET_BLESS=1 cargo test -p skillet-spec --lib schema` and commit it"
                );
            }
        }
    }
}
