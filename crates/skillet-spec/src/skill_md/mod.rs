//! Agent Skills `SKILL.md` folders: YAML front matter (`name`, `description`, `license`,
//! `compatibility`, `metadata`, `allowed-tools`) and a Markdown body that becomes the prompt.
//!
//! Files in the wild are looser than the specification: names in Title Case ("PDF Tools"),
//! front matter keys of other tools (`version`, `model`, `argument-hint`), and descriptions with
//! an unquoted `: ` that strict YAML refuses. Each of these loads, with a warning that says what
//! skillet made of it; only a file with no usable front matter at all is an error.

mod arguments;

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::compat::{SkillFormat, coerce_version};
use crate::diagnostic::{Diagnostic, Position, did_you_mean};
use crate::json_source::LineIndex;
use crate::limits::{MAX_NESTING_DEPTH, MAX_SKILL_MD_BYTES, nesting_exceeds_limit};
use crate::load::{LoadedSkill, finish};
use crate::template;
use crate::validate::is_valid_skill_name;

const FORMAT: SkillFormat = SkillFormat::AgentSkill;

/// Front matter keys of the Agent Skills specification.
const KNOWN: &[&str] = &[
    "name",
    "description",
    "license",
    "compatibility",
    "metadata",
    "allowed-tools",
];

/// Loads an Agent Skills `SKILL.md`: YAML front matter (`name`, `description`, …) and a Markdown
/// body that becomes the prompt, with its braces escaped so they are never taken as placeholders.
pub fn load_skill_md(text: &str) -> LoadedSkill {
    load_skill_md_in(text, None)
}

/// [`load_skill_md`] for a file in the folder named `folder`: the folder name is the skill's id
/// when the front matter's `name` is not one (a title such as "PDF Tools", or none at all).
pub fn load_skill_md_in(text: &str, folder: Option<&str>) -> LoadedSkill {
    if text.len() > MAX_SKILL_MD_BYTES {
        return LoadedSkill::failed(FORMAT, too_large(text.len() as u64));
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines = LineIndex::new(text);
    let Some((front, body, body_offset)) = split_front_matter(text) else {
        if let Some(loaded) = without_front_matter(text, folder) {
            return loaded;
        }
        return LoadedSkill::failed(
            FORMAT,
            Diagnostic::error("SKILL.md has no YAML front matter")
                .at(Position::START)
                .with_hint("start the file with a `---` line, then `name:` and `description:`, then another `---` line"),
        );
    };
    let mut notes = Vec::new();
    // The file's line the front matter starts on (the one after `---`, which blank lines may
    // precede): every position below counts from it.
    let front_line = lines
        .position(front.as_ptr() as usize - text.as_ptr() as usize)
        .line;
    // The line of each top-level key, found once: searching the front matter for every key
    // would be quadratic, and a hostile one has tens of thousands.
    let mut key_lines: HashMap<&str, usize> = HashMap::new();
    for (i, line) in front.lines().enumerate() {
        if let Some((key, _)) = line.split_once(':') {
            key_lines.entry(key.trim_end()).or_insert(i);
        }
    }
    let key_line = |key: &str| {
        key_lines.get(key).map_or(Position::START, |&i| Position {
            line: i + front_line,
            column: 1,
        })
    };
    let yaml: Value = match parse_front_matter(front, front_line) {
        Ok((v, None)) => v,
        Ok((v, Some(lenient))) => {
            notes.push(lenient);
            v
        }
        Err(d) => return LoadedSkill::failed(FORMAT, d),
    };
    if nesting_exceeds_limit(&yaml) {
        return LoadedSkill::failed(FORMAT, too_deep(Position { line: 2, column: 1 }));
    }
    let Value::Object(mut fm) = yaml else {
        return LoadedSkill::failed(
            FORMAT,
            Diagnostic::error("the front matter must be a YAML mapping").at(Position::START),
        );
    };
    let mut out = Map::new();
    let mut metadata = match fm.shift_remove("metadata") {
        Some(Value::Object(m)) => m,
        Some(_) => {
            notes.push(
                Diagnostic::warning("`metadata` is not a mapping; ignored")
                    .at(key_line("metadata")),
            );
            Map::new()
        }
        None => Map::new(),
    };
    let declared = fm.shift_remove("name");
    if let Some(id) = skill_id(
        declared.as_ref(),
        folder,
        &mut metadata,
        &mut notes,
        &key_line,
    ) {
        out.insert("name".into(), Value::String(id));
    }
    if let Some(v) = fm.shift_remove("description") {
        out.insert("description".into(), v);
    }
    if let Some(v) = fm.shift_remove("version") {
        version(v, &mut out, &mut metadata, &mut notes, key_line("version"));
    } else if let Some(full) = metadata.get("version").and_then(full_version) {
        // Agent Skills keep a version under `metadata`; it is the skill's version too.
        out.insert("version".into(), Value::String(full));
    }
    out.insert("type".into(), Value::String("prompt_inline".into()));
    let template = template::escape(body.trim_start_matches(['\r', '\n'])).into_owned();
    let template = match arguments::take_arguments(&template, fm.get("argument-hint")) {
        Some((template, parameter)) => {
            out.insert("parameters".into(), Value::Array(vec![parameter]));
            // Used now: kept under `metadata` for other tools, without a warning.
            if let Some(hint) = fm.shift_remove("argument-hint") {
                metadata.entry("argument-hint").or_insert(hint);
            }
            template
        }
        None => template,
    };
    out.insert("prompt_template".into(), Value::String(template));
    if let Some(v) = fm.shift_remove("license") {
        out.insert("license".into(), v);
    }
    for key in ["compatibility", "allowed-tools"] {
        if let Some(v) = fm.shift_remove(key) {
            metadata.insert(key.into(), v);
        }
    }
    // Keys of other tools (Claude Code's `model`, `argument-hint`, …) are kept, not lost: an
    // agent reading the folder still finds them, and `skillet migrate` carries them over.
    for (key, v) in fm {
        let mut d = Diagnostic::warning(format!(
            "front matter field `{key}` is not part of Agent Skills; kept under `metadata`"
        ))
        .at(key_line(&key));
        d = match did_you_mean(&key, KNOWN.iter().copied()) {
            Some(close) => d.with_hint(format!("did you mean `{close}`?")),
            None => d.with_hint("skillet does not use it; other tools reading the folder may"),
        };
        notes.push(d);
        metadata.entry(key).or_insert(v);
    }
    if !metadata.is_empty() {
        out.insert("metadata".into(), Value::Object(metadata));
    }
    let body_position = lines.position(body_offset);
    let locate =
        move |pointer: &str, _at_key: bool| match pointer.split('/').nth(1).unwrap_or_default() {
            "" => Position::START,
            "prompt_template" => body_position,
            key => key_line(key),
        };
    finish(Value::Object(out), FORMAT, notes, &locate)
}

/// The skill's id: the front matter's `name` when it is one; else the folder's name (or the
/// `name`) in kebab-case, with the `name` kept as the display title under `metadata.title`.
fn skill_id(
    declared: Option<&Value>,
    folder: Option<&str>,
    metadata: &mut Map<String, Value>,
    notes: &mut Vec<Diagnostic>,
    key_line: &dyn Fn(&str) -> Position,
) -> Option<String> {
    let title = match declared {
        Some(Value::String(s)) if is_valid_skill_name(s) => return Some(s.clone()),
        Some(Value::String(s)) => Some(s.trim().to_owned()),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::Null) | None => None,
        Some(_) => None,
    };
    let from_folder = folder.map(kebab).filter(|id| is_valid_skill_name(id));
    let from_title = title
        .as_deref()
        .map(kebab)
        .filter(|id| is_valid_skill_name(id));
    let id = from_folder.clone().or(from_title)?;
    let source = if from_folder.is_some() {
        "its folder"
    } else {
        "its name"
    };
    let d = match &title {
        Some(t) => {
            metadata
                .entry("title")
                .or_insert_with(|| Value::String(t.clone()));
            Diagnostic::warning(format!(
                "name {t:?} is not a skill id; the skill is `{id}` (from {source}), titled {t:?}"
            ))
            .at(key_line("name"))
            .with_hint(format!(
                "write `name: {id}` (lowercase letters, digits and `-`, as the folder is named)"
            ))
        }
        None => Diagnostic::warning(format!("no `name`; the skill is `{id}` (from {source})"))
            .at(Position::START)
            .with_hint(format!("add `name: {id}` to the front matter")),
    };
    notes.push(d);
    Some(id)
}

/// A `SKILL.md` with no front matter, in a folder whose name can be an id: the whole file is the
/// prompt, its first line of text the description, with a warning.
fn without_front_matter(text: &str, folder: Option<&str>) -> Option<LoadedSkill> {
    let id = folder.map(kebab).filter(|id| is_valid_skill_name(id))?;
    let description = text
        .lines()
        .map(|l| l.trim().trim_start_matches('#').trim())
        .find(|l| !l.is_empty())?
        .to_owned();
    let mut out = Map::new();
    out.insert("name".into(), Value::String(id.clone()));
    out.insert("description".into(), Value::String(description));
    out.insert("type".into(), Value::String("prompt_inline".into()));
    out.insert(
        "prompt_template".into(),
        Value::String(template::escape(text).into_owned()),
    );
    let note = Diagnostic::warning(format!(
        "SKILL.md has no YAML front matter; the skill is `{id}` (from its folder), described by its first line"
    ))
    .at(Position::START)
    .with_hint(format!(
        "start the file with `---`, `name: {id}`, `description: ...` and another `---` line"
    ));
    let locate = |_: &str, _: bool| Position::START;
    Some(finish(Value::Object(out), FORMAT, vec![note], &locate))
}

/// `version:` is not an Agent Skills field, but many files carry one: a usable version becomes
/// the skill's version, anything else is kept under `metadata.version`.
fn version(
    v: Value,
    out: &mut Map<String, Value>,
    metadata: &mut Map<String, Value>,
    notes: &mut Vec<Diagnostic>,
    at: Position,
) {
    let d = match full_version(&v) {
        Some(full) => {
            out.insert("version".into(), Value::String(full.clone()));
            Diagnostic::warning(format!(
                "`version` is not an Agent Skills field; used as the skill's version {full}"
            ))
        }
        None => {
            metadata.entry("version").or_insert(v);
            Diagnostic::warning(
                "`version` is not an Agent Skills field nor a semantic version; kept under `metadata`",
            )
        }
    };
    notes.push(
        d.at(at)
            .with_hint("Agent Skills keep a version under `metadata`; skillet reads either"),
    );
}

/// A version as written (`"1.2.0"`, `"1.0"`, `1`) as a full semantic version, when it is one.
fn full_version(v: &Value) -> Option<String> {
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    if semver::Version::parse(&text).is_ok() {
        Some(text)
    } else {
        coerce_version(&text)
    }
}

/// The diagnostic for a `SKILL.md` of `size` bytes, over [`MAX_SKILL_MD_BYTES`].
pub(crate) fn too_large(size: u64) -> Diagnostic {
    Diagnostic::error(format!(
        "SKILL.md is {size} bytes; the limit for a SKILL.md is {MAX_SKILL_MD_BYTES} bytes (1 MiB)"
    ))
    .at(Position::START)
    .with_hint("keep the instructions short and move reference material into files in the folder")
}

/// Parses the front matter as YAML. Front matter that strict YAML refuses only because a
/// plain value holds `: ` (as in `description: Use when: ...`) is read with such values taken
/// as text, and the returned warning says so.
fn parse_front_matter(
    front: &str,
    front_line: usize,
) -> Result<(Value, Option<Diagnostic>), Diagnostic> {
    // Lines of the front matter, counted from 1, are the file's lines this far down.
    let below = front_line.saturating_sub(1);
    if let Some(at) = crate::limits::flow_nesting_over_limit(front) {
        return Err(too_deep(Position {
            line: at.line + below,
            ..at
        }));
    }
    let strict = match serde_yaml_ng::from_str::<Value>(front) {
        Ok(v) => return Ok((v, None)),
        Err(e) => e,
    };
    let at = strict.location().map_or(Position::START, |l| Position {
        line: l.line() + below,
        column: l.column(),
    });
    let strict = in_file_lines(&strict.to_string(), below);
    if let Some(quoted) = quote_plain_values(front)
        && let Ok(v) = serde_yaml_ng::from_str::<Value>(&quoted)
    {
        let d = Diagnostic::warning(format!(
            "the front matter is not valid YAML ({strict}); values with `: ` were read as plain text"
        ))
        .at(at)
        .with_hint("quote values that contain `: `, e.g. description: \"Use when: ...\"");
        return Ok((v, Some(d)));
    }
    // The YAML parser stops at its own recursion limit (deeper than ours): say which limit.
    if strict.starts_with("recursion limit exceeded") {
        return Err(too_deep(at));
    }
    Err(Diagnostic::error(format!("invalid YAML front matter: {strict}")).at(at))
}

/// The YAML parser's message with its line numbers made the file's: it counts from the front
/// matter's first line, `below` lines down the file, while the diagnostic's own position
/// counts from the file's first line.
fn in_file_lines(message: &str, below: usize) -> String {
    static LINE: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(r"\bline (\d+)").expect("a valid pattern"));
    LINE.replace_all(message, |c: &regex::Captures<'_>| {
        match c[1].parse::<usize>() {
            Ok(n) => format!("line {}", n + below),
            Err(_) => c[0].to_owned(),
        }
    })
    .into_owned()
}

fn too_deep(at: Position) -> Diagnostic {
    Diagnostic::error(format!(
        "the front matter nests more than {MAX_NESTING_DEPTH} levels deep, the limit"
    ))
    .at(at)
    .with_hint("front matter is a flat list of fields; flatten the structure")
}

/// Quotes the value of each top-level `key: value` line whose plain value holds `: `.
fn quote_plain_values(front: &str) -> Option<String> {
    let mut changed = false;
    let mut out = String::with_capacity(front.len() + 16);
    for line in front.split_inclusive('\n') {
        let content = line.trim_end_matches(['\n', '\r']);
        let ending = &line[content.len()..];
        let top_level = !content.starts_with([' ', '\t', '#', '-']);
        match content.split_once(": ") {
            Some((key, value))
                if top_level
                    && !key.contains(char::is_whitespace)
                    && value.contains(": ")
                    && !value
                        .trim_start()
                        .starts_with(['"', '\'', '|', '>', '[', '{']) =>
            {
                let escaped = value.trim().replace('\\', "\\\\").replace('"', "\\\"");
                out.push_str(&format!("{key}: \"{escaped}\"{ending}"));
                changed = true;
            }
            _ => out.push_str(line),
        }
    }
    changed.then_some(out)
}

/// `PDF Tools` → `pdf-tools`; `agent_dev` stays; runs of other characters become one `-`.
fn kebab(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.trim().chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed = out.trim_matches(['-', '_']);
    trimmed
        .chars()
        .take(64)
        .collect::<String>()
        .trim_end_matches('-')
        .to_owned()
}

/// Splits `---\nYAML\n---\nBODY`, returning the YAML, the body and the body's byte offset.
/// The fences may carry trailing spaces.
fn split_front_matter(text: &str) -> Option<(&str, &str, usize)> {
    // Blank lines before the opening fence are tolerated; editors and generators leave them.
    let lead = text.len() - text.trim_start_matches(['\n', '\r']).len();
    let first = text[lead..].split_inclusive('\n').next()?;
    if first.trim_end() != "---" {
        return None;
    }
    let start = lead + first.len();
    let rest = &text[start..];
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "---" {
            let body_offset = start + offset + line.len();
            return Some((&rest[..offset], &text[body_offset..], body_offset));
        }
        offset += line.len();
    }
    None
}

#[cfg(test)]
mod tests;
