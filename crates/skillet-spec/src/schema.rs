//! The JSON Schema (2020-12) of the skill file, generated from [`SkillSpec`](crate::SkillSpec).

use std::sync::OnceLock;

use serde_json::Value;

/// The schema's `$id`: a name, not an address. Nothing is published at a URL; editors load the
/// file `skillet init` and `skillet create` write (`.skillet/skill.schema.json`) by the path a
/// skill file's `$schema` or `.vscode/settings.json` gives, and its `$ref`s are all inside the
/// document (`#/$defs/…`), so they resolve against this id as they would against the file.
pub const SCHEMA_ID: &str = "urn:skillet:schema:skill";

/// The JSON Schema of a canonical skill file.
///
/// ```
/// let schema = skillet_spec::skill_json_schema();
/// assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
/// assert!(schema["properties"]["prompt_template"].is_object());
/// assert_eq!(schema["$id"], "urn:skillet:schema:skill");
/// ```
pub fn skill_json_schema() -> Value {
    cached().clone()
}

/// The schema, generated once per process (the unknown-field check consults it for every file).
pub(crate) fn cached() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let mut schema = schemars::schema_for!(crate::SkillSpec).to_value();
        if let Value::Object(map) = &mut schema {
            map.insert("$id".into(), Value::String(SCHEMA_ID.into()));
        }
        crate::limits::annotate_schema(&mut schema);
        schema
    })
}
