//! Older skill formats, recognised and rewritten into the canonical one.
//!
//! Each converter takes the parsed JSON of an old file and returns canonical JSON, notes about what
//! changed, and a map from canonical paths back to the original ones so that errors in the result
//! still point at the right line of the file the author wrote.

mod command_line;
mod q_flat;
mod q_roadmap;
mod q_wizard;
mod shell_script;
mod v1_design;

use std::path::Path;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::diagnostic::Diagnostic;

/// The format a skill file was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkillFormat {
    /// skillet's own format.
    Canonical,
    /// Q CLI roadmap-era: `prompt`, top-level `session_timeout`, `context_files` as a list,
    /// untyped parameters.
    QRoadmap,
    /// Q CLI flat format: `"type": "command"`, `allow_network`-style permissions.
    QFlat,
    /// v1 design: `skill_type`, `metadata`, `executor`, `session`, `conversation`, `file://`.
    V1Design,
    /// An Agent Skills `SKILL.md` folder.
    AgentSkill,
    /// Q CLI `implementation` format: `"implementation": {"type": "command", "command": "..."}`.
    QImplementation,
    /// Files of the Q CLI creation wizard: top-level `name` beside `skill_type`, the command line
    /// or the prompt in `command`.
    QWizard,
}

impl SkillFormat {
    /// A short human name.
    pub fn label(self) -> &'static str {
        match self {
            SkillFormat::Canonical => "canonical",
            SkillFormat::QRoadmap => "Q CLI roadmap-era",
            SkillFormat::QFlat => "Q CLI flat",
            SkillFormat::V1Design => "v1 design",
            SkillFormat::AgentSkill => "Agent Skills SKILL.md",
            SkillFormat::QImplementation => "Q CLI implementation",
            SkillFormat::QWizard => "Q CLI wizard",
        }
    }
}

/// The result of rewriting an old format.
#[derive(Debug, Clone, Default)]
pub struct Conversion {
    /// Canonical JSON.
    pub value: Value,
    /// What was changed or dropped, as warnings (errors when the old file cannot be converted).
    pub notes: Vec<(String, Diagnostic)>,
    /// `(canonical prefix, original prefix)` pairs, most specific first.
    pub path_map: Vec<(String, String)>,
    /// What only `skillet migrate` may do: `(original pointer, error when loading, note when
    /// migrating)`. A file that needs one of these does not load as it is.
    pub migrate_only: Vec<(String, Diagnostic, Diagnostic)>,
}

impl Conversion {
    pub(crate) fn note(&mut self, original_pointer: &str, d: Diagnostic) {
        self.notes.push((original_pointer.to_owned(), d));
    }

    pub(crate) fn needs_migrate(
        &mut self,
        original_pointer: &str,
        refusal: Diagnostic,
        done: Diagnostic,
    ) {
        self.migrate_only
            .push((original_pointer.to_owned(), refusal, done));
    }

    pub(crate) fn moved(&mut self, canonical: &str, original: &str) {
        self.path_map
            .push((canonical.to_owned(), original.to_owned()));
    }

    /// The original path of a canonical path.
    pub fn original_pointer(&self, canonical: &str) -> String {
        let best = self
            .path_map
            .iter()
            .filter(|(c, _)| canonical == c || canonical.starts_with(&format!("{c}/")))
            .max_by_key(|(c, _)| c.len());
        match best {
            Some((c, o)) => format!("{o}{}", &canonical[c.len()..]),
            None => canonical.to_owned(),
        }
    }
}

/// Which format a parsed JSON skill file is in.
pub fn detect(value: &Value) -> SkillFormat {
    detect_in(value, false)
}

/// [`detect`], for a file found in a Q CLI skills folder (`.q-skills/`) when `q_folder`: there
/// every file is read as a Q CLI file.
pub fn detect_in(value: &Value, q_folder: bool) -> SkillFormat {
    let Some(obj) = value.as_object() else {
        return SkillFormat::Canonical;
    };
    if obj.contains_key("implementation") {
        return SkillFormat::QImplementation;
    }
    if obj.contains_key("skill_type")
        && obj.contains_key("name")
        && !obj.contains_key("metadata")
        && !obj.contains_key("executor")
    {
        return SkillFormat::QWizard;
    }
    if obj.contains_key("skill_type")
        || obj.contains_key("executor")
        || (obj.contains_key("metadata") && !obj.contains_key("name"))
    {
        return SkillFormat::V1Design;
    }
    let permissions = obj
        .get("security")
        .and_then(|s| s.get("permissions"))
        .and_then(Value::as_object);
    let old_permissions = permissions.is_some_and(|p| {
        ["allow_network", "allow_file_write", "allowed_paths"]
            .iter()
            .any(|k| p.contains_key(*k))
    });
    let keyed_parameters = obj.get("parameters").is_some_and(Value::is_object);
    if obj.get("type").and_then(Value::as_str) == Some("command")
        || old_permissions
        || keyed_parameters
    {
        return SkillFormat::QFlat;
    }
    let untyped_param = obj
        .get("parameters")
        .and_then(Value::as_array)
        .is_some_and(|ps| ps.iter().any(|p| p.is_object() && p.get("type").is_none()));
    if obj.contains_key("session_timeout")
        || obj.get("context_files").is_some_and(Value::is_array)
        || untyped_param
        || !obj.contains_key("type")
    {
        return SkillFormat::QRoadmap;
    }
    // A whole command line and no `args`: written for a shell, as Q CLI files were. An absolute
    // program path may hold spaces, so it alone does not mark a file.
    let command_line = obj
        .get("command")
        .and_then(Value::as_str)
        .is_some_and(|c| command_line::is_command_line(c) && !c.trim_start().starts_with('/'))
        && obj
            .get("args")
            .is_none_or(|a| a.as_array().is_some_and(Vec::is_empty));
    if command_line || (q_folder && !strictly_canonical(obj)) {
        return SkillFormat::QFlat;
    }
    SkillFormat::Canonical
}

/// Whether a file has no field the canonical format lacks and a full version. In a Q CLI skills
/// folder, a file that is not is a Q CLI file: its unknown fields are those of the tool that
/// wrote it, not typos, and its short version is that tool's habit.
fn strictly_canonical(obj: &Map<String, Value>) -> bool {
    let version_ok = obj.get("version").is_none_or(|v| {
        v.as_str()
            .is_some_and(|s| semver::Version::parse(s).is_ok())
    });
    let value = Value::Object(obj.clone());
    version_ok && crate::fields::unknown_fields(crate::schema::cached(), &value).is_empty()
}

/// Rewrites an old-format JSON skill. `skill_dir` resolves `file://` references.
pub fn convert(format: SkillFormat, value: Value, skill_dir: Option<&Path>) -> Conversion {
    let mut conv = match format {
        SkillFormat::Canonical | SkillFormat::AgentSkill => {
            return Conversion {
                value,
                ..Default::default()
            };
        }
        SkillFormat::QRoadmap => q_roadmap::convert(value),
        SkillFormat::QFlat => q_flat::convert(value),
        SkillFormat::V1Design => v1_design::convert(value, skill_dir),
        SkillFormat::QImplementation => q_wizard::convert_implementation(value),
        SkillFormat::QWizard => q_wizard::convert_wizard(value),
    };
    // What every older format may hold, repaired once here.
    if let Value::Object(mut obj) = std::mem::take(&mut conv.value) {
        // Parameters keyed by name, as the v1 design wrote them, in any older format.
        if let Some(Value::Object(params)) = obj.get_mut("parameters") {
            let params = std::mem::take(params);
            let list = v1_design::convert_parameters(params, &mut conv);
            obj.insert("parameters".into(), Value::Array(list));
        }
        repair_version(&mut obj, &mut conv);
        command_line::repair(&mut obj, &mut conv);
        conv.value = Value::Object(canonical_order(obj));
    }
    conv
}

/// `"1.0"`, `"1"` or `"v1.2"` as the semantic version it abbreviates; `None` for a full version
/// or one that is not a version at all.
pub(crate) fn coerce_version(text: &str) -> Option<String> {
    let t = text.trim();
    let t = t.strip_prefix(['v', 'V']).unwrap_or(t);
    if semver::Version::parse(t).is_ok() && t == text {
        return None;
    }
    if semver::Version::parse(t).is_ok() {
        return Some(t.to_owned());
    }
    let parts: Vec<&str> = t.split('.').collect();
    let numeric = |p: &&str| !p.is_empty() && p.len() <= 9 && p.bytes().all(|b| b.is_ascii_digit());
    if parts.is_empty() || parts.len() > 2 || !parts.iter().all(numeric) {
        return None;
    }
    let n = |i: usize| parts.get(i).map_or(0, |p| p.parse::<u64>().unwrap_or(0));
    Some(format!("{}.{}.0", n(0), n(1)))
}

/// Older formats wrote short versions (`"1.0"`) and numbers (`1.0`); the canonical format
/// takes only full semantic versions, so these are completed, with a warning.
fn repair_version(obj: &mut Map<String, Value>, conv: &mut Conversion) {
    let Some(v) = obj.get("version") else { return };
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return,
    };
    let fixed = match v {
        Value::Number(_) if semver::Version::parse(&text).is_ok() => Some(text.clone()),
        _ => coerce_version(&text),
    };
    if let Some(fixed) = fixed {
        let at = conv.original_pointer("/version");
        conv.note(
            &at,
            Diagnostic::warning(format!(
                "version {v} is not a full semantic version; read as \"{fixed}\""
            ))
            .with_hint(format!(
                "write \"version\": \"{fixed}\" (`skillet migrate --write` does it)"
            )),
        );
        obj.insert("version".into(), Value::String(fixed));
    }
}

/// Moves `from` to `to` in `obj` (if present), recording the move.
pub(crate) fn rename(obj: &mut Map<String, Value>, conv: &mut Conversion, from: &str, to: &str) {
    if let Some(v) = obj.shift_remove(from) {
        obj.insert(to.to_owned(), v);
        conv.moved(&format!("/{to}"), &format!("/{from}"));
    }
}

/// Orders top-level fields the way canonical files are written, so migrated files read naturally.
pub(crate) fn canonical_order(obj: Map<String, Value>) -> Map<String, Value> {
    const ORDER: &[&str] = &[
        "$schema",
        "name",
        "description",
        "version",
        "aliases",
        "type",
        "command",
        "args",
        "working_dir",
        "env",
        "timeout",
        "parameters",
        "prompt_template",
        "prompt",
        "context_files",
        "guided_questions",
        "max_turns",
        "completion",
        "model",
        "session_config",
        "security",
        "retry",
        "circuit_breaker",
        "fallback",
        "cache",
        "state",
        "dependencies",
        "license",
        "metadata",
        "tests",
    ];
    let mut rest = obj;
    let mut out = Map::new();
    for key in ORDER {
        if let Some(v) = rest.shift_remove(*key) {
            out.insert((*key).to_owned(), v);
        }
    }
    out.extend(rest);
    out
}

/// Parameters of old formats may lack a type: infer the closest canonical one.
pub(crate) fn type_untyped_parameters(obj: &mut Map<String, Value>, conv: &mut Conversion) {
    let Some(Value::Array(params)) = obj.get_mut("parameters") else {
        return;
    };
    for (i, p) in params.iter_mut().enumerate() {
        let Some(p) = p.as_object_mut() else { continue };
        if p.contains_key("type") {
            continue;
        }
        let kind = if p.contains_key("values") {
            "enum"
        } else {
            match p.get("default") {
                Some(Value::Bool(_)) => "boolean",
                Some(Value::Number(n)) if n.is_i64() => "integer",
                Some(Value::Number(_)) => "number",
                _ => "string",
            }
        };
        // Rebuilt so `type` sits right after `name`, where a person would write it.
        let rest = std::mem::take(p);
        for (k, v) in rest {
            let is_name = k == "name";
            p.insert(k, v);
            if is_name {
                p.insert("type".into(), Value::String(kind.into()));
            }
        }
        p.entry("type")
            .or_insert_with(|| Value::String(kind.into()));
        conv.note(
            &format!("/parameters/{i}"),
            Diagnostic::warning(format!("parameter has no type; treated as {kind}"))
                .with_hint("add \"type\" (`skillet migrate --write` does it)"),
        );
    }
}

/// Seconds from milliseconds, rounded up so a limit never shrinks.
pub(crate) fn ms_to_s(v: &Value) -> Option<Value> {
    v.as_u64().map(|ms| Value::from(ms.div_ceil(1000).max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn detects_each_format() {
        assert_eq!(
            detect(&json!({"name": "a", "type": "code_inline"})),
            SkillFormat::Canonical
        );
        assert_eq!(
            detect(&json!({"skill_type": "code_inline", "metadata": {"name": "a"}})),
            SkillFormat::V1Design
        );
        assert_eq!(
            detect(&json!({"name": "a", "type": "command"})),
            SkillFormat::QFlat
        );
        assert_eq!(
            detect(&json!({"name": "a", "type": "prompt_inline", "session_timeout": 3})),
            SkillFormat::QRoadmap
        );
        assert_eq!(
            detect(&json!({"name": "a", "type": "prompt_inline", "parameters": [{"name": "x"}]})),
            SkillFormat::QRoadmap
        );
    }

    #[test]
    fn original_pointer_follows_the_longest_move() {
        let mut c = Conversion::default();
        c.moved("/session_config/session_timeout", "/session_timeout");
        c.moved("/prompt_template", "/prompt");
        assert_eq!(
            c.original_pointer("/session_config/session_timeout"),
            "/session_timeout"
        );
        assert_eq!(c.original_pointer("/prompt_template"), "/prompt");
        assert_eq!(c.original_pointer("/name"), "/name");
    }
}
