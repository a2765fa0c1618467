//! The JSON Schema (2020-12) of the skill file, generated from [`SkillSpec`](crate::SkillSpec).

use std::sync::OnceLock;

use serde_json::Value;

/// The `$id` the schema is published under.
pub const SCHEMA_ID: &str = "https://skillet.dev/schema/skill.schema.json";

/// The JSON Schema of a canonical skill file.
///
/// ```
/// let schema = skillet_spec::skill_json_schema();
/// assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
/// assert!(schema["properties"]["prompt_template"].is_object());
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
