//! Two shapes the Q CLI fork wrote that are neither its flat format nor the v1 design:
//!
//! - the `implementation` format: `{"name", "parameters": [...], "implementation": {"type":
//!   "command", "command": "wc -l {{file}} | awk '{print $1}'"}}`, a shell command line with
//!   parameters spliced in;
//! - the files its creation wizard wrote: a top-level `name` beside `skill_type`, the whole
//!   command line (code types) or the prompt (conversation and prompt types) in `command`, and a
//!   `security` block of `enabled`/`level`/`resource_limit`.

use serde_json::{Map, Value};

use super::{Conversion, canonical_order, rename, type_untyped_parameters};
use crate::diagnostic::Diagnostic;

/// The `implementation` format.
pub(super) fn convert_implementation(value: Value) -> Conversion {
    let mut conv = Conversion::default();
    let Value::Object(mut obj) = value else {
        conv.value = value;
        return conv;
    };
    rename(&mut obj, &mut conv, "skill_type", "type");
    let implementation = obj.shift_remove("implementation");
    let mut kind = obj.get("type").and_then(Value::as_str).map(str::to_owned);
    match implementation {
        Some(Value::Object(mut imp)) => {
            let imp_type = imp
                .shift_remove("type")
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_else(|| "command".into());
            if imp_type != "command" {
                conv.note(
                    "/implementation/type",
                    Diagnostic::error(format!(
                        "implementation type {imp_type:?} of the Q CLI `implementation` format is not supported"
                    ))
                    .with_hint("rewrite the skill with \"type\": \"code_inline\", \"command\" and \"args\" (see `skillet schema`)"),
                );
            }
            if let Some(command) = imp.shift_remove("command") {
                obj.insert("command".into(), command);
                conv.moved("/command", "/implementation/command");
            }
            if let Some(args) = imp.shift_remove("args") {
                obj.insert("args".into(), args);
                conv.moved("/args", "/implementation/args");
            }
            for (key, _) in imp {
                conv.note(
                    &format!("/implementation/{key}"),
                    Diagnostic::warning(format!(
                        "`implementation.{key}` has no equivalent and is dropped"
                    ))
                    .with_hint("see `skillet schema` for the fields of code skills"),
                );
            }
            if kind.is_none() {
                obj.insert("type".into(), Value::String("code_inline".into()));
                kind = Some("code_inline".into());
            }
        }
        Some(_) => conv.note(
            "/implementation",
            Diagnostic::error("`implementation` is not an object").with_hint(
                "write \"implementation\": {\"type\": \"command\", \"command\": \"...\"}",
            ),
        ),
        None => {}
    }
    if kind.as_deref() == Some("command") {
        obj.insert("type".into(), Value::String("code_inline".into()));
    }
    enum_parameters(&mut obj, &mut conv);
    type_untyped_parameters(&mut obj, &mut conv);
    conv.value = Value::Object(canonical_order(obj));
    conv
}

/// Files written by the Q CLI creation wizard.
pub(super) fn convert_wizard(value: Value) -> Conversion {
    let mut conv = Conversion::default();
    let Value::Object(mut obj) = value else {
        conv.value = value;
        return conv;
    };
    rename(&mut obj, &mut conv, "skill_type", "type");
    let kind = obj
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if matches!(kind.as_str(), "conversation" | "prompt_inline")
        && !obj.contains_key("prompt_template")
        && !obj.contains_key("prompt")
        && let Some(Value::String(text)) = obj.shift_remove("command")
    {
        let (prompt, names) = prompt_from_splices(&text);
        obj.insert("prompt_template".into(), Value::String(prompt));
        conv.moved("/prompt_template", "/command");
        conv.note(
            "/command",
            Diagnostic::warning(format!(
                "the Q CLI wizard put this {kind} skill's prompt in `command`; it is used as `prompt_template`"
            ))
            .with_hint("`skillet migrate --write` moves it"),
        );
        declare_strings(&mut obj, &mut conv, &names, "/command");
    }
    if let Some(Value::Object(security)) = obj.get_mut("security") {
        for key in ["enabled", "level", "resource_limit"] {
            if security.shift_remove(key).is_some() {
                conv.note(
                    &format!("/security/{key}"),
                    Diagnostic::warning(format!(
                        "`security.{key}` of the Q CLI wizard has no equivalent and is dropped"
                    ))
                    .with_hint("skillet's default policy applies; ask for more under \"security\" (see `skillet schema`)"),
                );
            }
        }
        if security.is_empty() {
            obj.shift_remove("security");
        }
    }
    if kind == "command" {
        obj.insert("type".into(), Value::String("code_inline".into()));
    }
    enum_parameters(&mut obj, &mut conv);
    type_untyped_parameters(&mut obj, &mut conv);
    conv.value = Value::Object(canonical_order(obj));
    conv
}

/// `{{name}}` in a wizard prompt meant a parameter: it becomes `{name}`; other braces stay
/// literal. Returns the prompt and the names found, in order.
fn prompt_from_splices(text: &str) -> (String, Vec<String>) {
    let mut out = String::with_capacity(text.len());
    let mut names: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(['{', '}']) {
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        if rest.starts_with("{{")
            && let Some(end) = rest.find("}}")
            && is_identifier(rest[2..end].trim())
        {
            let name = rest[2..end].trim();
            out.push_str(&format!("{{{name}}}"));
            if !names.iter().any(|n| n == name) {
                names.push(name.to_owned());
            }
            rest = &rest[end + 2..];
        } else {
            // Any other brace is text: doubled so the template keeps it literal.
            let c = &rest[..1];
            out.push_str(c);
            out.push_str(c);
            rest = &rest[1..];
        }
    }
    out.push_str(rest);
    (out, names)
}

fn is_identifier(s: &str) -> bool {
    s.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Declares each of `names` that is not yet a parameter, as an optional string.
pub(super) fn declare_strings(
    obj: &mut Map<String, Value>,
    conv: &mut Conversion,
    names: &[String],
    at: &str,
) {
    let params = obj
        .entry("parameters")
        .or_insert_with(|| Value::Array(Vec::new()));
    let Value::Array(params) = params else { return };
    for name in names {
        let declared = params
            .iter()
            .any(|p| p.get("name").and_then(Value::as_str) == Some(name));
        if declared {
            continue;
        }
        let mut p = Map::new();
        p.insert("name".into(), Value::String(name.clone()));
        p.insert("type".into(), Value::String("string".into()));
        params.push(Value::Object(p));
        conv.note(
            at,
            Diagnostic::warning(format!(
                "`{{{{{name}}}}}` names no declared parameter; declared `{name}` as an optional string"
            ))
            .with_hint("declare it under \"parameters\" with its type and description"),
        );
    }
    if params.is_empty() {
        obj.shift_remove("parameters");
    }
}

/// Parameters written with `"enum": [...]` (the JSON Schema word) rather than `"values"`.
fn enum_parameters(obj: &mut Map<String, Value>, conv: &mut Conversion) {
    let Some(Value::Array(params)) = obj.get_mut("parameters") else {
        return;
    };
    for (i, p) in params.iter_mut().enumerate() {
        let Some(p) = p.as_object_mut() else { continue };
        if p.contains_key("values") {
            continue;
        }
        if let Some(values) = p.shift_remove("enum") {
            p.insert("type".into(), Value::String("enum".into()));
            p.insert("values".into(), values);
            conv.moved(
                &format!("/parameters/{i}/values"),
                &format!("/parameters/{i}/enum"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wizard_prompt_splices_become_placeholders() {
        let (p, names) = prompt_from_splices("Hi {{name}}, {x} and {{ input }} {{name}}");
        assert_eq!(p, "Hi {name}, {{x}} and {input} {name}");
        assert_eq!(names, ["name", "input"]);
    }
}
