//! Loading one skill file: read, parse, recognise the format, convert, check, deserialize, validate.

use std::path::Path;

use serde_json::Value;

use crate::compat::{self, SkillFormat};
use crate::diagnostic::{Diagnostic, Position, Severity, did_you_mean};
use crate::fields::{remove_fields, unknown_fields};
use crate::json_source::{JsonDocument, display_path};
use crate::limits::{MAX_KEY_CHARS, check_lengths};
use crate::model::SkillSpec;
use crate::validate::validate;

mod file;

pub(crate) use file::load_path;
pub use file::{
    load_file, load_file_identified, load_file_within, load_skill_text, read_skill_file,
};

/// File name of a skill inside a package directory.
pub const PACKAGE_SKILL_FILE: &str = "skill.json";
/// File name of an Agent Skills folder's manifest.
pub const AGENT_SKILL_FILE: &str = "SKILL.md";

/// The outcome of loading one skill file.
#[derive(Debug, Clone)]
pub struct LoadedSkill {
    /// The skill, when it has no errors.
    pub spec: Option<SkillSpec>,
    /// The format the file was written in.
    pub format: SkillFormat,
    /// The skill in canonical JSON, when the file could be read and converted (even with errors).
    pub canonical: Option<Value>,
    /// Every problem found, errors and warnings, in file order.
    pub diagnostics: Vec<Diagnostic>,
}

impl LoadedSkill {
    pub(crate) fn failed(format: SkillFormat, d: Diagnostic) -> Self {
        LoadedSkill {
            spec: None,
            format,
            canonical: None,
            diagnostics: vec![d],
        }
    }

    /// Whether the skill loaded without errors.
    pub fn is_valid(&self) -> bool {
        self.spec.is_some()
    }

    /// The name the file declares, even when the skill has errors.
    pub fn declared_name(&self) -> Option<&str> {
        match &self.spec {
            Some(spec) => Some(&spec.name),
            // A name past the limit is no name: the file's own name stands in for it.
            None => self.canonical.as_ref()?.get("name")?.as_str().filter(|n| {
                n.len() <= crate::limits::MAX_NAME_CHARS
                    || n.chars().count() <= crate::limits::MAX_NAME_CHARS
            }),
        }
    }
}

/// Whether a file is loaded to be used, or to be rewritten by `skillet migrate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// Used as it is: what only a migration may change is an error.
    Use,
    /// Rewritten: what a migration changes is a note.
    Migrate,
}

/// Loads a JSON skill from text. `skill_dir` resolves `file://` references of the v1 format.
pub fn load_json(text: &str, skill_dir: Option<&Path>) -> LoadedSkill {
    load_json_for(text, skill_dir, Purpose::Use)
}

fn load_json_for(text: &str, skill_dir: Option<&Path>, purpose: Purpose) -> LoadedSkill {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut doc = match JsonDocument::parse(text) {
        Ok(doc) => doc,
        Err(d) => return LoadedSkill::failed(SkillFormat::Canonical, d),
    };
    if !doc.value.is_object() {
        return LoadedSkill::failed(
            SkillFormat::Canonical,
            Diagnostic::error("a skill file must contain a JSON object").at(doc.value_position("")),
        );
    }
    let q_folder = skill_dir.is_some_and(|d| d.components().any(|c| c.as_os_str() == ".q-skills"));
    let format = compat::detect_in(&doc.value, q_folder);
    let mut conv = compat::convert(format, std::mem::take(&mut doc.value), skill_dir);
    let value = std::mem::take(&mut conv.value);
    let locate = |pointer: &str, at_key: bool| {
        let original = conv.original_pointer(pointer);
        if at_key {
            doc.key_position(&original)
        } else {
            doc.value_position(&original)
        }
    };
    let mut notes: Vec<Diagnostic> = conv
        .notes
        .iter()
        .map(|(p, d)| d.clone().at(doc.key_position(p)))
        .collect();
    notes.extend(conv.migrate_only.iter().map(|(p, refusal, done)| {
        let d = match purpose {
            Purpose::Use => refusal,
            Purpose::Migrate => done,
        };
        d.clone().at(doc.key_position(p))
    }));
    finish(value, format, notes, &locate)
}

/// The steps every format shares once it is canonical JSON.
pub(crate) fn finish(
    mut value: Value,
    format: SkillFormat,
    mut diagnostics: Vec<Diagnostic>,
    locate: &dyn Fn(&str, bool) -> Position,
) -> LoadedSkill {
    let severity = if format == SkillFormat::Canonical {
        Severity::Error
    } else {
        Severity::Warning
    };
    let unknown = unknown_fields(crate::schema::cached(), &value);
    if unknown.len() > MAX_UNKNOWN_REPORTED {
        let more = unknown.len() - MAX_UNKNOWN_REPORTED;
        let message = format!(
            "{more} more unknown fields (only the first {MAX_UNKNOWN_REPORTED} are listed)"
        );
        let at = locate(&unknown[MAX_UNKNOWN_REPORTED].pointer, true);
        diagnostics.push(
            Diagnostic::new(severity, message)
                .with_hint("`skillet schema` lists every field a skill may have")
                .at(at),
        );
    }
    for field in unknown.iter().take(MAX_UNKNOWN_REPORTED) {
        // A hostile key can be most of a megabyte: comparing it with every field name would be
        // slow, and quoting it would flood the terminal.
        if field.name.len() > MAX_KEY_CHARS {
            let chars = field.name.chars().count();
            let parent = field.pointer.rsplit_once('/').map_or("", |(p, _)| p);
            let mut d = Diagnostic::new(
                severity,
                format!(
                    "unknown field with a name {chars} characters long; the limit for a key is {MAX_KEY_CHARS}"
                ),
            )
            .with_hint("`skillet schema` lists every field a skill may have");
            d.path = Some(display_path(parent)).filter(|p| !p.is_empty());
            diagnostics.push(d.at(locate(&field.pointer, true)));
            continue;
        }
        let mut d = match severity {
            Severity::Error => Diagnostic::error(format!("unknown field `{}`", field.name)),
            Severity::Warning => {
                Diagnostic::warning(format!("unknown field `{}` is ignored", field.name))
            }
        };
        d.path = Some(display_path(&field.pointer));
        let hint = match did_you_mean(&field.name, field.expected.iter().map(String::as_str)) {
            Some(close) => format!("did you mean `{close}`?"),
            None if field.pointer.matches('/').count() == 1
                && OLD_FORMAT_FIELDS.contains(&field.name.as_str()) =>
            {
                "this field belongs to an older skill format; `skillet migrate` rewrites the file"
                    .to_owned()
            }
            None if field.expected.len() <= 8 => {
                format!("expected one of: {}", field.expected.join(", "))
            }
            None => "`skillet schema` lists every field a skill may have".to_owned(),
        };
        diagnostics.push(d.with_hint(hint).at(locate(&field.pointer, true)));
    }
    let pointers: Vec<String> = unknown.into_iter().map(|f| f.pointer).collect();
    remove_fields(&mut value, &pointers);
    let too_long = check_lengths(&value);
    let over_limit = !too_long.is_empty();
    for finding in too_long {
        diagnostics.push(
            finding
                .diagnostic
                .at(locate(&finding.pointer, finding.at_key)),
        );
    }
    if over_limit {
        // Validation would quote the oversized values back in its own messages: the length
        // errors say enough, and the skill is not used.
        return sorted(LoadedSkill {
            spec: None,
            format,
            canonical: Some(value),
            diagnostics,
        });
    }

    let spec = match serde_path_to_error::deserialize::<_, SkillSpec>(&value) {
        Ok(spec) => spec,
        Err(e) => {
            let pointer = error_pointer(e.path());
            let mut d = Diagnostic::error(describe_serde_error(&e.inner().to_string(), &pointer));
            d.path = Some(display_path(&pointer)).filter(|p| !p.is_empty());
            if let Some(hint) = type_error_hint(&pointer) {
                d = d.with_hint(hint);
            }
            diagnostics.push(d.at(locate(&pointer, false)));
            return sorted(LoadedSkill {
                spec: None,
                format,
                canonical: Some(value),
                diagnostics,
            });
        }
    };
    for finding in validate(&spec) {
        let mut d = finding.diagnostic;
        d.path = Some(display_path(&finding.pointer)).filter(|p| !p.is_empty());
        diagnostics.push(d.at(locate(&finding.pointer, finding.at_key)));
    }
    let valid = !diagnostics.iter().any(Diagnostic::is_error);
    sorted(LoadedSkill {
        spec: valid.then_some(spec),
        format,
        canonical: Some(value),
        diagnostics,
    })
}

/// Sorts the diagnostics into file order and keeps the first [`MAX_DIAGNOSTICS`].
fn sorted(mut loaded: LoadedSkill) -> LoadedSkill {
    loaded.diagnostics.sort_by_key(|d| d.position);
    let total = loaded.diagnostics.len();
    if total > MAX_DIAGNOSTICS {
        let errors = loaded.diagnostics.iter().filter(|d| d.is_error()).count();
        loaded.diagnostics.truncate(MAX_DIAGNOSTICS);
        let shown_errors = loaded.diagnostics.iter().filter(|d| d.is_error()).count();
        let summary = format!(
            "{} more problems ({} errors) are not listed; only the first {MAX_DIAGNOSTICS} are",
            total - MAX_DIAGNOSTICS,
            errors - shown_errors
        );
        let d = if errors > shown_errors {
            Diagnostic::error(summary)
        } else {
            Diagnostic::warning(summary)
        };
        loaded
            .diagnostics
            .push(d.with_hint("fix these, and `skillet validate` shows the rest"));
    }
    loaded
}

/// Problems listed for one file. A real skill has a handful; thousands mean the file is not a
/// skill at all, and listing each would bury the other files' problems.
const MAX_DIAGNOSTICS: usize = 200;

/// Unknown fields reported one by one; past this, a file is not a skill with typos but noise,
/// and one line says how many more there are.
const MAX_UNKNOWN_REPORTED: usize = 50;

/// Fields that mark a file as written in an older format.
const OLD_FORMAT_FIELDS: &[&str] = &[
    "skill_type",
    "executor",
    "session",
    "conversation",
    "session_timeout",
];

fn error_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut pointer = String::new();
    for seg in path.iter() {
        match seg {
            Segment::Seq { index } => pointer.push_str(&format!("/{index}")),
            Segment::Map { key } => pointer.push_str(&format!(
                "/{}",
                crate::json_source::escape_pointer_segment(key)
            )),
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    pointer
}

/// serde's messages are precise but terse; say where and in the skill's terms.
fn describe_serde_error(message: &str, pointer: &str) -> String {
    let path = display_path(pointer);
    if path.is_empty() {
        message.to_owned()
    } else {
        format!("`{path}`: {message}")
    }
}

fn type_error_hint(pointer: &str) -> Option<String> {
    let last = pointer.rsplit('/').next().unwrap_or_default();
    Some(match last {
        "type" if pointer == "/type" => {
            "one of code_inline, code_session, conversation, prompt_inline".into()
        }
        "type" => "one of string, number, integer, boolean, enum, path".into(),
        "network_access" => "true, false, or a list of \"host:port\" strings".into(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(loaded: &LoadedSkill) -> Vec<String> {
        loaded
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.message.clone())
            .collect()
    }

    #[test]
    fn a_good_skill_loads() {
        let l = load_json(
            r#"{"name": "hi", "description": "d", "type": "code_inline", "command": "echo", "args": ["{who}"],
            "parameters": [{"name": "who", "type": "string", "default": "you"}]}"#,
            None,
        );
        assert!(l.is_valid(), "{:?}", l.diagnostics);
        assert_eq!(l.format, SkillFormat::Canonical);
    }

    #[test]
    fn all_problems_are_reported_with_positions() {
        let text = "{\n  \"name\": \"Bad Name\",\n  \"type\": \"prompt_inline\",\n  \"prompt_templte\": \"x\",\n  \"prompt\": \"{nope}\"\n}";
        let l = load_json(text, None);
        assert!(!l.is_valid());
        let msgs = errors(&l);
        assert!(
            msgs.iter().any(|m| m == "unknown field `prompt_templte`"),
            "{msgs:?}"
        );
        assert!(
            msgs.iter().any(|m| m.starts_with("invalid skill name")),
            "{msgs:?}"
        );
        assert!(
            msgs.iter()
                .any(|m| m.contains("`{nope}` names no declared parameter")),
            "{msgs:?}"
        );
        let typo = l
            .diagnostics
            .iter()
            .find(|d| d.message.contains("prompt_templte"))
            .unwrap();
        assert_eq!(typo.position, Some(Position { line: 4, column: 3 }));
        assert_eq!(
            typo.hint.as_deref(),
            Some("did you mean `prompt_template`?")
        );
    }

    #[test]
    fn type_errors_point_at_the_value() {
        let l = load_json(
            "{\"name\": \"a\",\n \"type\": \"code_inline\", \"command\": \"x\",\n \"timeout\": \"soon\"}",
            None,
        );
        let d = &l.diagnostics.iter().find(|d| d.is_error()).unwrap();
        assert!(
            d.message.starts_with("`timeout`: invalid type"),
            "{}",
            d.message
        );
        assert_eq!(d.position.unwrap().line, 3);
    }

    #[test]
    fn params_json_is_a_whole_argument_and_a_reserved_name() {
        let skill = |args: &str, params: &str| {
            load_json(
                &format!(
                    r#"{{"name": "a", "description": "d", "type": "code_inline", "command": "tool",
                    "args": {args}, "parameters": {params}}}"#
                ),
                None,
            )
        };
        assert!(skill(r#"["-", "{params_json}"]"#, "[]").is_valid());
        let l = skill(r#"["--json={params_json}"]"#, "[]");
        assert_eq!(errors(&l), ["`{params_json}` must be a whole argument"]);
        let l = skill("[]", r#"[{"name": "params_json", "type": "string"}]"#);
        assert_eq!(
            errors(&l),
            ["`params_json` is reserved: `{params_json}` is every parameter as one JSON object"]
        );
    }
}
