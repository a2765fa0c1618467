//! Claude Code's `$ARGUMENTS`: a `SKILL.md` (or command) body that says `$ARGUMENTS` gets what
//! the user typed after the skill's name there. skillet gives such a skill an optional string
//! parameter `arguments`, described by the front matter's `argument-hint` when it has one, and
//! puts its value where the body says `$ARGUMENTS`. Without it, the body was served with a
//! literal `$ARGUMENTS` and `--param ARGUMENTS=…` was refused.

use serde_json::{Map, Value, json};

/// The placeholder in the body, as Claude Code spells it.
const PLACEHOLDER: &str = "$ARGUMENTS";

/// The parameter it becomes.
pub(super) const PARAMETER: &str = "arguments";

/// `template` (already escaped for skillet's `{name}` placeholders) with each `$ARGUMENTS` made
/// a placeholder of [`PARAMETER`], and the parameter's declaration; `None` when the body does
/// not use it.
pub(super) fn take_arguments(template: &str, hint: Option<&Value>) -> Option<(String, Value)> {
    if !template.contains(PLACEHOLDER) {
        return None;
    }
    let description = match hint.and_then(Value::as_str) {
        Some(hint) => format!("what follows the skill's name, as in Claude Code: {hint}"),
        None => "what follows the skill's name, as in Claude Code ($ARGUMENTS)".to_owned(),
    };
    let mut parameter = Map::new();
    parameter.insert("name".into(), json!(PARAMETER));
    parameter.insert("type".into(), json!("string"));
    parameter.insert("required".into(), json!(false));
    parameter.insert("default".into(), json!(""));
    parameter.insert("description".into(), json!(description));
    Some((
        template.replace(PLACEHOLDER, &format!("{{{PARAMETER}}}")),
        Value::Object(parameter),
    ))
}
