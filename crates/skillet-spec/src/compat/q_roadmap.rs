//! The Q CLI roadmap-era format: `prompt`, `args`, `working_dir`, top-level `session_timeout`,
//! `context_files` as a list of globs, and parameters with `description`/`default` but no `type`.

use serde_json::{Map, Value};

use super::{Conversion, canonical_order, rename, type_untyped_parameters};
use crate::diagnostic::Diagnostic;

pub(super) fn convert(value: Value) -> Conversion {
    let mut conv = Conversion::default();
    let Value::Object(mut obj) = value else {
        conv.value = value;
        return conv;
    };
    instructions(&mut obj, &mut conv);
    if !obj.contains_key("type") {
        let kind = if obj.contains_key("command") {
            if obj.contains_key("session_timeout") {
                "code_session"
            } else {
                "code_inline"
            }
        } else if obj.contains_key("context_files") {
            "conversation"
        } else {
            "prompt_inline"
        };
        obj.insert("type".into(), Value::String(kind.into()));
        conv.note(
            "",
            Diagnostic::warning(format!("no `type`; inferred {kind}"))
                .with_hint("add \"type\" (`skillet migrate --write` does it)"),
        );
    }
    if !obj.contains_key("prompt_template") {
        rename(&mut obj, &mut conv, "prompt", "prompt_template");
    }
    if let Some(timeout) = obj.shift_remove("session_timeout") {
        let mut session = Map::new();
        session.insert("session_timeout".into(), timeout);
        obj.insert("session_config".into(), Value::Object(session));
        conv.moved("/session_config/session_timeout", "/session_timeout");
        conv.moved("/session_config", "/session_timeout");
    }
    if let Some(Value::Array(patterns)) = obj.get("context_files").cloned() {
        let mut ctx = Map::new();
        ctx.insert("patterns".into(), Value::Array(patterns));
        obj.insert("context_files".into(), Value::Object(ctx));
        conv.moved("/context_files/patterns", "/context_files");
    }
    type_untyped_parameters(&mut obj, &mut conv);
    conv.value = Value::Object(canonical_order(obj));
    conv
}

/// Files that hold `instructions` for the assistant (and, often, a list of named `commands` it
/// may run) are prompts: the instructions become the prompt, the commands are kept as metadata.
fn instructions(obj: &mut Map<String, Value>, conv: &mut Conversion) {
    if obj.contains_key("prompt") || obj.contains_key("prompt_template") {
        return;
    }
    if !obj.get("instructions").is_some_and(Value::is_string) {
        return;
    }
    rename(obj, conv, "instructions", "prompt_template");
    if let Some(commands) = obj.shift_remove("commands") {
        let meta = obj
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(meta) = meta {
            meta.insert("commands".into(), commands);
        }
        conv.note(
            "/commands",
            Diagnostic::warning(
                "`commands` (named command lines for the assistant) has no equivalent; kept under `metadata.commands`",
            )
            .with_hint("make each command a code skill of its own if it should run through skillet"),
        );
    }
}
