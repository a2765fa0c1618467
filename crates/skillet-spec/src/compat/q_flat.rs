//! The later Q CLI flat format: `"type": "command"` for code_inline, `prompt` as an alias, and
//! permissions written as `allow_network`, `allow_file_write`, `allowed_paths`.

use serde_json::{Map, Value};

use super::{Conversion, canonical_order, rename, type_untyped_parameters};
use crate::diagnostic::Diagnostic;

pub(super) fn convert(value: Value) -> Conversion {
    let mut conv = Conversion::default();
    let Value::Object(mut obj) = value else {
        conv.value = value;
        return conv;
    };
    if obj.get("type").and_then(Value::as_str) == Some("command") {
        obj.insert("type".into(), Value::String("code_inline".into()));
    }
    if !obj.contains_key("prompt_template") {
        rename(&mut obj, &mut conv, "prompt", "prompt_template");
    }
    if let Some(Value::Object(perms)) = obj
        .get_mut("security")
        .and_then(|s| s.get_mut("permissions"))
    {
        convert_permissions(perms, &mut conv);
    }
    type_untyped_parameters(&mut obj, &mut conv);
    conv.value = Value::Object(canonical_order(obj));
    conv
}

fn convert_permissions(perms: &mut Map<String, Value>, conv: &mut Conversion) {
    const AT: &str = "/security/permissions";
    if let Some(net) = perms.shift_remove("allow_network") {
        perms.insert("network_access".into(), net);
        conv.moved(
            &format!("{AT}/network_access"),
            &format!("{AT}/allow_network"),
        );
    }
    let write = perms.shift_remove("allow_file_write");
    if let Some(paths) = perms.shift_remove("allowed_paths") {
        perms.insert("file_read".into(), paths.clone());
        conv.moved(&format!("{AT}/file_read"), &format!("{AT}/allowed_paths"));
        if write == Some(Value::Bool(true)) {
            perms.insert("file_write".into(), paths);
            conv.moved(&format!("{AT}/file_write"), &format!("{AT}/allowed_paths"));
        }
    } else if write == Some(Value::Bool(true)) {
        conv.note(
            &format!("{AT}/allow_file_write"),
            Diagnostic::warning("`allow_file_write` without `allowed_paths` grants nothing")
                .with_hint("list the writable paths under \"file_write\""),
        );
    }
}
