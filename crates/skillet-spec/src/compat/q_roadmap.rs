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
