//! What the limit tests share: a valid skill with extra fields, and the errors of a load.

use skillet_spec::LoadedSkill;

/// The error messages of `loaded`.
pub fn errors(loaded: &LoadedSkill) -> Vec<String> {
    loaded
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.message.clone())
        .collect()
}

/// A valid prompt skill, its JSON object closed after `extra` (`, "key": value`).
pub fn skill_with(extra: &str) -> String {
    format!(
        r#"{{"name": "s", "description": "d", "type": "prompt_inline", "prompt_template": "hi"{extra}}}"#
    )
}
