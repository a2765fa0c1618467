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

/// The schema, generated once per process (the unknown-field check consults it for every file).
pub(crate) fn cached() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let mut schema = schemars::schema_for!(crate::SkillSpec).to_value();
        crate::limits::annotate_schema(&mut schema);
        schema
    })
}
