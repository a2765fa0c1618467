//! The v1 design format: `skill_type`, `metadata`, `executor`, `session`, `conversation`,
//! `completion`, parameters as an object, times in milliseconds, and `file://` references.

use std::path::{Component, Path};

use serde_json::{Map, Value};

use super::{Conversion, canonical_order, ms_to_s};
use crate::diagnostic::Diagnostic;
use crate::template::PARAMS_JSON_PLACEHOLDER;

/// Largest file a `file://` prompt reference may inline.
const MAX_REFERENCED_BYTES: u64 = 256 * 1024;

pub(super) fn convert(value: Value, skill_dir: Option<&Path>) -> Conversion {
    let mut conv = Conversion::default();
    let Value::Object(mut old) = value else {
        conv.value = value;
        return conv;
    };
    let mut out = Map::new();
    old.shift_remove("$schema");

    if let Some(Value::Object(mut meta)) = old.shift_remove("metadata") {
        for key in ["name", "description", "version", "aliases"] {
            if let Some(v) = meta.shift_remove(key) {
                out.insert(key.into(), v);
                conv.moved(&format!("/{key}"), &format!("/metadata/{key}"));
            }
        }
        if !meta.is_empty() {
            out.insert("metadata".into(), Value::Object(meta));
        }
    }
    if let Some(kind) = old.shift_remove("skill_type") {
        out.insert("type".into(), kind);
        conv.moved("/type", "/skill_type");
    }
    if let Some(Value::Object(exec)) = old.shift_remove("executor") {
        convert_executor(exec, &mut out, &mut conv, skill_dir);
    }
    if let Some(Value::Object(params)) = old.shift_remove("parameters") {
        out.insert(
            "parameters".into(),
            Value::Array(convert_parameters(params, &mut conv)),
        );
    }
    if let Some(Value::Object(mut session)) = old.shift_remove("session") {
        let mut cfg = Map::new();
        if let Some(ms) = session
            .shift_remove("max_duration")
            .as_ref()
            .and_then(ms_to_s)
        {
            cfg.insert("session_timeout".into(), ms);
            conv.moved("/session_config/session_timeout", "/session/max_duration");
        }
        if let Some(v) = session.shift_remove("cleanup_on_exit") {
            cfg.insert("cleanup_on_exit".into(), v);
        }
        for (key, _) in session {
            conv.note(
                &format!("/session/{key}"),
                Diagnostic::warning(format!("`session.{key}` has no equivalent and is dropped"))
                    .with_hint("skillet keeps session state in its own store"),
            );
        }
        conv.moved("/session_config", "/session");
        out.insert("session_config".into(), Value::Object(cfg));
    }
    if let Some(Value::Object(mut talk)) = old.shift_remove("conversation") {
        if let Some(p) = talk.shift_remove("initial_prompt") {
            out.insert(
                "prompt_template".into(),
                resolve_text(p, "/conversation/initial_prompt", &mut conv, skill_dir),
            );
            conv.moved("/prompt_template", "/conversation/initial_prompt");
        }
        for key in ["max_turns", "guided_questions"] {
            if let Some(v) = talk.shift_remove(key) {
                out.insert(key.into(), v);
                conv.moved(&format!("/{key}"), &format!("/conversation/{key}"));
            }
        }
        let mut completion = Map::new();
        if let Some(p) = talk.shift_remove("context_summary_prompt") {
            completion.insert(
                "summary_prompt".into(),
                resolve_text(
                    p,
                    "/conversation/context_summary_prompt",
                    &mut conv,
                    skill_dir,
                ),
            );
        }
        if let Some(Value::Object(mut done)) = old.shift_remove("completion") {
            if let Some(f) = done.shift_remove("summary_format") {
                completion.insert("summary_format".into(), f);
            }
            for (key, _) in done {
                conv.note(
                    &format!("/completion/{key}"),
                    Diagnostic::warning(format!(
                        "`completion.{key}` has no equivalent and is dropped"
                    ))
                    .with_hint("skillet always returns the summary to the caller"),
                );
            }
        }
        if !completion.is_empty() {
            out.insert("completion".into(), Value::Object(completion));
        }
        for (key, _) in talk {
            conv.note(
                &format!("/conversation/{key}"),
                Diagnostic::warning(format!(
                    "`conversation.{key}` is not recognised and is dropped"
                ))
                .with_hint("see `skillet schema` for the conversation fields"),
            );
        }
    }
    if let Some(Value::Object(prompts)) = old.shift_remove("prompt") {
        // Code skills of v1 carried prompts for an LLM to massage input and output. skillet runs
        // code directly, so they are kept as metadata rather than silently lost.
        let meta = out
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(meta) = meta {
            meta.insert("v1_prompts".into(), Value::Object(prompts));
        }
        conv.note("/prompt", Diagnostic::warning("v1 input/output prompts are not used by code skills; kept under metadata.v1_prompts").with_hint("remove them once you no longer need them"));
    }
    // Anything left is either already canonical (e.g. `security`) or unknown; the canonical checks
    // report the unknown ones as warnings for this format.
    out.extend(old);
    conv.value = Value::Object(canonical_order(out));
    conv
}

fn convert_executor(
    mut exec: Map<String, Value>,
    out: &mut Map<String, Value>,
    conv: &mut Conversion,
    skill_dir: Option<&Path>,
) {
    let kind = exec
        .shift_remove("type")
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "command".into());
    match kind.as_str() {
        "command" => {
            if let Some(c) = exec.shift_remove("command") {
                out.insert("command".into(), c);
                conv.moved("/command", "/executor/command");
            }
            if let Some(Value::Array(args)) = exec.shift_remove("args") {
                let args = args
                    .into_iter()
                    .enumerate()
                    .map(|(i, a)| {
                        file_ref_to_path(a, &format!("/executor/args/{i}"), conv, skill_dir)
                    })
                    .collect();
                out.insert("args".into(), Value::Array(args));
                conv.moved("/args", "/executor/args");
            }
        }
        "inline" => {
            let language = exec
                .shift_remove("language")
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            let (program, flag) = match language.as_str() {
                "python" | "python3" => ("python3", "-c"),
                "javascript" | "node" | "js" => ("node", "-e"),
                "bash" => ("bash", "-c"),
                "sh" | "shell" => ("sh", "-c"),
                other => {
                    conv.note(
                        "/executor/language",
                        Diagnostic::error(format!(
                            "inline executor language {other:?} is not supported"
                        ))
                        .with_hint(
                            "use python, javascript, bash or sh, or rewrite as a command executor",
                        ),
                    );
                    return;
                }
            };
            out.insert("command".into(), Value::String(program.into()));
            conv.moved("/command", "/executor/language");
            // The v1 design handed a script its parameters as one JSON object in `argv[1]`.
            let params = Value::String(format!("{{{PARAMS_JSON_PLACEHOLDER}}}"));
            match exec.shift_remove("code") {
                Some(Value::String(code)) if code.starts_with("file://") => {
                    let script =
                        file_ref_to_path(Value::String(code), "/executor/code", conv, skill_dir);
                    out.insert("args".into(), Value::Array(vec![script, params]));
                }
                Some(Value::String(code)) => {
                    let mut args = vec![
                        Value::String(flag.into()),
                        Value::String(super::command_line::literal(&code)),
                    ];
                    if flag == "-c" && program.ends_with("sh") {
                        // `sh -c CODE NAME ARG`: NAME is `$0`, so the JSON is `$1`.
                        args.push(Value::String(program.into()));
                    }
                    args.push(params);
                    out.insert("args".into(), Value::Array(args));
                }
                Some(code) => {
                    out.insert(
                        "args".into(),
                        Value::Array(vec![Value::String(flag.into()), code]),
                    );
                }
                None => conv.note(
                    "/executor",
                    Diagnostic::error("inline executor has no `code`")
                        .with_hint("add \"code\": \"file://./scripts/tool.py\""),
                ),
            }
            conv.moved("/args", "/executor/code");
        }
        other => {
            conv.note(
                "/executor/type",
                Diagnostic::error(format!("executor type {other:?} is not supported yet"))
                    .with_hint("rewrite the skill as a command executor"),
            );
            return;
        }
    }
    if let Some(ms) = exec.shift_remove("timeout").as_ref().and_then(ms_to_s) {
        out.insert("timeout".into(), ms);
        conv.moved("/timeout", "/executor/timeout");
    }
    if let Some(dir) = exec.shift_remove("working_directory") {
        out.insert("working_dir".into(), dir);
        conv.moved("/working_dir", "/executor/working_directory");
    }
    if let Some(env) = exec.shift_remove("env") {
        out.insert("env".into(), env);
        conv.moved("/env", "/executor/env");
    }
    for (key, _) in exec {
        conv.note(
            &format!("/executor/{key}"),
            Diagnostic::warning(format!("`executor.{key}` is not recognised and is dropped"))
                .with_hint("see `skillet schema` for the fields of code skills"),
        );
    }
}

pub(super) fn convert_parameters(params: Map<String, Value>, conv: &mut Conversion) -> Vec<Value> {
    params
        .into_iter()
        .enumerate()
        .map(|(i, (name, decl))| {
            let mut p = Map::new();
            p.insert("name".into(), Value::String(name.clone()));
            let original = format!(
                "/parameters/{}",
                crate::json_source::escape_pointer_segment(&name)
            );
            conv.moved(&format!("/parameters/{i}"), &original);
            if let Value::Object(mut decl) = decl {
                if let Some(values) = decl.shift_remove("enum") {
                    decl.insert("type".into(), Value::String("enum".into()));
                    decl.insert("values".into(), values);
                    conv.moved(
                        &format!("/parameters/{i}/values"),
                        &format!("{original}/enum"),
                    );
                }
                p.extend(decl);
            }
            if !p.contains_key("type") {
                p.insert("type".into(), Value::String("string".into()));
            }
            Value::Object(p)
        })
        .collect()
}

/// A `file://` reference relative to the skill, as a path inside the skill directory.
fn reference_path(uri: &str) -> Option<&str> {
    let rest = uri.strip_prefix("file://")?;
    Some(rest.strip_prefix("./").unwrap_or(rest))
}

/// Whether a relative reference stays inside the skill directory.
fn stays_inside(rel: &str) -> bool {
    let p = Path::new(rel);
    !p.is_absolute()
        && p.components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

/// `file://./scripts/x.py` in an argument becomes `scripts/x.py` (the working directory is the
/// skill's own unless the skill says otherwise).
fn file_ref_to_path(v: Value, at: &str, conv: &mut Conversion, skill_dir: Option<&Path>) -> Value {
    let Some(uri) = v.as_str() else { return v };
    let Some(rel) = reference_path(uri) else {
        return v;
    };
    if !stays_inside(rel) {
        conv.note(
            at,
            Diagnostic::error(format!("{uri} points outside the skill's directory"))
                .with_hint("reference files beside the skill, e.g. file://./scripts/tool.py"),
        );
        return v;
    }
    if let Some(dir) = skill_dir.filter(|d| !d.join(rel).exists()) {
        conv.note(
            at,
            Diagnostic::warning(format!("{uri} does not exist in {}", dir.display()))
                .with_hint("create the file or fix the reference"),
        );
    }
    Value::String(rel.to_owned())
}

/// A prompt given as `file://…` is read and inlined; plain text is kept.
fn resolve_text(v: Value, at: &str, conv: &mut Conversion, skill_dir: Option<&Path>) -> Value {
    let Some(uri) = v.as_str() else { return v };
    let Some(rel) = reference_path(uri) else {
        return v;
    };
    if !stays_inside(rel) {
        conv.note(
            at,
            Diagnostic::error(format!("{uri} points outside the skill's directory"))
                .with_hint("keep referenced prompts beside the skill"),
        );
        return v;
    }
    let Some(dir) = skill_dir else { return v };
    // Opened beneath the skill's folder by the kernel: a link, `..` or a credential file never
    // gets a file the skill could not read itself into the prompt (this runs unsandboxed).
    let read =
        crate::files::read_reference(dir, Path::new(rel), MAX_REFERENCED_BYTES).and_then(|bytes| {
            String::from_utf8(bytes).map_err(|_| std::io::Error::other("is not UTF-8 text").into())
        });
    match read {
        Ok(text) => Value::String(text),
        Err(e) => {
            conv.note(
                at,
                Diagnostic::error(format!("cannot read {uri}: it {e}")).with_hint(
                    "keep the prompt as a regular file beside the skill, or write the text inline",
                ),
            );
            v
        }
    }
}
