//! How much of a skill skillet reads: the size of a file, the depth of its nesting and the
//! length of each string in it.
//!
//! A skill file may come from a repository the user only cloned. Without bounds one file could
//! make every command slow (a 2 GB `skill.json`), crash a recursive walk (`[[[[…` ten thousand
//! deep) or flood a terminal (a description of 100,000 characters). Each bound is reported as a
//! diagnostic that names the limit and what the file holds; docs/limits.md lists them all.

use std::fmt::Write as _;

use serde_json::Value;

use crate::diagnostic::Diagnostic;
use crate::json_source::{display_path, escape_pointer_segment};

/// Largest skill JSON file read, in bytes. Real skills are a few KiB.
pub const MAX_SKILL_FILE_BYTES: usize = 1024 * 1024;
/// Largest `SKILL.md` read, in bytes. Real ones are a few KiB of Markdown.
pub const MAX_SKILL_MD_BYTES: usize = 1024 * 1024;
/// Deepest nesting of arrays and objects (JSON, or a `SKILL.md`'s YAML front matter).
pub const MAX_NESTING_DEPTH: usize = 64;
/// Longest name, in characters: a skill's `name`, an alias, a parameter's name, a `fallback`.
pub const MAX_NAME_CHARS: usize = 64;
/// Longest `version`, in characters.
pub const MAX_VERSION_CHARS: usize = 128;
/// Longest description, in characters (the skill's and each parameter's, guided questions).
pub const MAX_DESCRIPTION_CHARS: usize = 4 * 1024;
/// Longest prompt or template body, in characters (`prompt_template`, a `SKILL.md` body, …).
pub const MAX_TEMPLATE_CHARS: usize = 256 * 1024;
/// Longest string anywhere else, in characters (`command`, an argument, an `env` value, …).
pub const MAX_STRING_CHARS: usize = 64 * 1024;
/// Longest key of a free-form map (`env`, `metadata`, `dependencies`), in characters.
pub const MAX_KEY_CHARS: usize = 256;
/// Most entries of any one list or map (`parameters`, `args`, `env`, enum `values`, …). Real
/// skills have tens; checks that compare entries with each other stay fast within this.
pub const MAX_ITEMS: usize = 1_000;

/// Most aliases of one skill. Every alias is kept for every listed skill and indexed across all
/// of them, so a few thousand skills of a cloned repository with 1,000 aliases each would cost
/// gigabytes; real skills have one or two.
pub const MAX_ALIASES: usize = 32;
/// Most entries of `dependencies`. Each is resolved against every skill at every listing.
pub const MAX_DEPENDENCIES: usize = 64;

/// Lists and maps with a bound of their own below [`MAX_ITEMS`], as JSON pointers into the
/// canonical form.
const COUNT_LIMITS: &[(&str, usize)] = &[
    ("/aliases", MAX_ALIASES),
    ("/dependencies", MAX_DEPENDENCIES),
];

/// Free-form maps whose keys have a bound of their own below [`MAX_KEY_CHARS`]: `dependencies`
/// is keyed by skill name.
const KEY_LIMITS: &[(&str, usize)] = &[("/dependencies", MAX_NAME_CHARS)];

/// At most this many length problems are reported for one file; the rest are counted.
const MAX_LENGTH_FINDINGS: usize = 20;

/// Fields with a limit of their own, as JSON pointers into the canonical form (`*` is any
/// array index). Every other string is held to [`MAX_STRING_CHARS`].
const FIELD_LIMITS: &[(&str, usize)] = &[
    ("/name", MAX_NAME_CHARS),
    ("/aliases/*", MAX_NAME_CHARS),
    ("/parameters/*/name", MAX_NAME_CHARS),
    ("/fallback", MAX_NAME_CHARS),
    ("/version", MAX_VERSION_CHARS),
    ("/description", MAX_DESCRIPTION_CHARS),
    ("/parameters/*/description", MAX_DESCRIPTION_CHARS),
    ("/guided_questions/*", MAX_DESCRIPTION_CHARS),
    ("/completion/summary_format", MAX_DESCRIPTION_CHARS),
    ("/prompt_template", MAX_TEMPLATE_CHARS),
    ("/prompt", MAX_TEMPLATE_CHARS),
    ("/session_config/prompt", MAX_TEMPLATE_CHARS),
    ("/completion/summary_prompt", MAX_TEMPLATE_CHARS),
    ("/tests/*/stdin", MAX_TEMPLATE_CHARS),
    ("/tests/*/expect/stdout_equals", MAX_TEMPLATE_CHARS),
    ("/tests/*/expect/stderr_equals", MAX_TEMPLATE_CHARS),
    // A semver requirement, such as "^1.2".
    ("/dependencies/%", MAX_VERSION_CHARS),
];

/// A string or key longer than its limit, or a list or map with too many entries.
#[derive(Debug, Clone)]
pub(crate) struct LengthFinding {
    /// JSON pointer of the field.
    pub pointer: String,
    /// Whether the key, not the value, is too long.
    pub at_key: bool,
    /// The problem.
    pub diagnostic: Diagnostic,
}

/// The smallest of `limits` and `default`: anything within it is within every limit of the
/// table, so the walk looks up which limit applies only for what is longer. Most of a skill is
/// short, and the lookup (a pattern match per table row) was the largest cost of reading one.
const fn smallest(limits: &[(&str, usize)], default: usize) -> usize {
    let mut min = default;
    let mut i = 0;
    while i < limits.len() {
        if limits[i].1 < min {
            min = limits[i].1;
        }
        i += 1;
    }
    min
}

const SHORTEST_STRING_LIMIT: usize = smallest(FIELD_LIMITS, MAX_STRING_CHARS);
const SMALLEST_COUNT_LIMIT: usize = smallest(COUNT_LIMITS, MAX_ITEMS);
const SHORTEST_KEY_LIMIT: usize = smallest(KEY_LIMITS, MAX_KEY_CHARS);

/// The limit of the string at `pointer` (canonical form).
pub(crate) fn string_limit(pointer: &str) -> usize {
    FIELD_LIMITS
        .iter()
        .find(|(pattern, _)| matches_pattern(pattern, pointer))
        .map_or(MAX_STRING_CHARS, |&(_, limit)| limit)
}

fn matches_pattern(pattern: &str, pointer: &str) -> bool {
    let mut p = pattern.split('/');
    let mut v = pointer.split('/');
    loop {
        match (p.next(), v.next()) {
            (None, None) => return true,
            (Some("*"), Some(seg))
                if !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) => {}
            // Any key of a map.
            (Some("%"), Some(seg)) if !seg.is_empty() => {}
            (Some(a), Some(b)) if a == b => {}
            _ => return false,
        }
    }
}

/// Every string and free-form key of `value` (a skill in canonical form) longer than its limit,
/// and every list and map with more than [`MAX_ITEMS`] entries.
pub(crate) fn check_lengths(value: &Value) -> Vec<LengthFinding> {
    let mut findings = Findings::default();
    walk(value, &mut String::new(), 0, &mut findings);
    let Findings { mut found, more } = findings;
    if more > 0 {
        found.push(LengthFinding {
            pointer: String::new(),
            at_key: false,
            diagnostic: Diagnostic::error(format!(
                "{more} more field(s) are over their length limits"
            ))
            .with_hint("see docs/limits.md for every limit"),
        });
    }
    found
}

/// The first findings, and how many more there were.
#[derive(Default)]
struct Findings {
    found: Vec<LengthFinding>,
    more: usize,
}

impl Findings {
    fn push(&mut self, finding: LengthFinding) {
        if self.found.len() < MAX_LENGTH_FINDINGS {
            self.found.push(finding);
        } else {
            self.more += 1;
        }
    }
}

fn walk(value: &Value, pointer: &mut String, depth: usize, findings: &mut Findings) {
    // The parsers have already bounded the depth; this keeps the walk safe for any caller.
    if depth > MAX_NESTING_DEPTH * 2 {
        return;
    }
    match value {
        // Bytes bound characters from above: only a long string is counted.
        Value::String(s) if s.len() > SHORTEST_STRING_LIMIT => {
            let limit = string_limit(pointer);
            if s.len() > limit {
                let chars = s.chars().count();
                if chars > limit {
                    findings.push(too_long(pointer, chars, limit));
                }
            }
        }
        Value::Array(items)
            if items.len() > SMALLEST_COUNT_LIMIT && items.len() > count_limit(pointer) =>
        {
            findings.push(too_many(pointer, items.len()));
        }
        Value::Object(map)
            if map.len() > SMALLEST_COUNT_LIMIT && map.len() > count_limit(pointer) =>
        {
            findings.push(too_many(pointer, map.len()));
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = pointer.len();
                let _ = write!(pointer, "/{i}");
                walk(item, pointer, depth + 1, findings);
                pointer.truncate(len);
            }
        }
        Value::Object(map) => {
            // Looked up once per map, and only when a key is long enough to need it.
            let mut key_limit = None;
            for (key, item) in map {
                let len = pointer.len();
                let over = if key.len() > SHORTEST_KEY_LIMIT {
                    let limit = *key_limit.get_or_insert_with(|| {
                        KEY_LIMITS
                            .iter()
                            .find(|(pattern, _)| matches_pattern(pattern, pointer))
                            .map_or(MAX_KEY_CHARS, |&(_, limit)| limit)
                    });
                    let chars = key.chars().count();
                    (chars > limit).then_some((chars, limit))
                } else {
                    None
                };
                pointer.push('/');
                pointer.push_str(&escape_pointer_segment(key));
                match over {
                    Some((chars, limit)) => findings.push(key_too_long(pointer, chars, limit)),
                    None => walk(item, pointer, depth + 1, findings),
                }
                pointer.truncate(len);
            }
        }
        _ => {}
    }
}

fn too_long(pointer: &str, chars: usize, limit: usize) -> LengthFinding {
    let path = display_path(pointer);
    let hint = match limit {
        MAX_NAME_CHARS => "use a short name: at most 64 characters".to_owned(),
        MAX_VERSION_CHARS => "write a semantic version such as 1.2.0".to_owned(),
        MAX_DESCRIPTION_CHARS => {
            "keep a description to a paragraph; put the details in the prompt or a README beside the skill".to_owned()
        }
        _ => "move long text or data into a file beside the skill and read it from there"
            .to_owned(),
    };
    let mut diagnostic = Diagnostic::error(format!(
        "`{path}` is {chars} characters long; the limit is {limit}"
    ))
    .with_hint(hint);
    diagnostic.path = Some(path);
    LengthFinding {
        pointer: pointer.to_owned(),
        at_key: false,
        diagnostic,
    }
}

/// The most entries the list or map at `pointer` may have.
fn count_limit(pointer: &str) -> usize {
    COUNT_LIMITS
        .iter()
        .find(|(pattern, _)| matches_pattern(pattern, pointer))
        .map_or(MAX_ITEMS, |&(_, limit)| limit)
}

fn too_many(pointer: &str, count: usize) -> LengthFinding {
    let limit = count_limit(pointer);
    let path = display_path(pointer);
    let place = if path.is_empty() {
        "the skill".to_owned()
    } else {
        format!("`{path}`")
    };
    let mut diagnostic = Diagnostic::error(format!(
        "{place} has {count} entries; the limit is {limit}"
    ))
    .with_hint("a skill needs far fewer; move long lists of data into a file beside the skill");
    diagnostic.path = Some(path).filter(|p| !p.is_empty());
    LengthFinding {
        pointer: pointer.to_owned(),
        at_key: false,
        diagnostic,
    }
}

fn key_too_long(pointer: &str, chars: usize, limit: usize) -> LengthFinding {
    let parent = pointer.rsplit_once('/').map_or("", |(p, _)| p);
    let parent_path = display_path(parent);
    let place = if parent_path.is_empty() {
        "the skill".to_owned()
    } else {
        format!("`{parent_path}`")
    };
    let mut diagnostic = Diagnostic::error(format!(
        "a key of {place} is {chars} characters long; the limit is {limit}"
    ))
    .with_hint("use a short key");
    diagnostic.path = Some(parent_path).filter(|p| !p.is_empty());
    LengthFinding {
        pointer: pointer.to_owned(),
        at_key: true,
        diagnostic,
    }
}

/// Whether arrays and objects in `value` nest more than [`MAX_NESTING_DEPTH`] levels (the value
/// itself is level 1). The walk never goes more than one level past the limit.
pub(crate) fn nesting_exceeds_limit(value: &Value) -> bool {
    fn deeper_than(value: &Value, budget: usize) -> bool {
        match value {
            Value::Array(a) => budget == 0 || a.iter().any(|c| deeper_than(c, budget - 1)),
            Value::Object(o) => budget == 0 || o.values().any(|c| deeper_than(c, budget - 1)),
            _ => false,
        }
    }
    deeper_than(value, MAX_NESTING_DEPTH)
}

/// Writes the length limits into the JSON Schema as `maxLength`, so an editor using the schema
/// flags what loading refuses.
pub(crate) fn annotate_schema(schema: &mut Value) {
    for &(pattern, limit) in FIELD_LIMITS {
        if let Some(pointer) = schema_pointer(schema, pattern)
            && let Some(Value::Object(node)) = schema.pointer_mut(&pointer)
        {
            node.insert("maxLength".into(), Value::from(limit));
        }
    }
    default_limits(schema, 0);
    for &(pattern, limit) in COUNT_LIMITS {
        if let Some(pointer) = schema_pointer(schema, pattern)
            && let Some(Value::Object(node)) = schema.pointer_mut(&pointer)
        {
            let key = if node.contains_key("maxItems") {
                "maxItems"
            } else {
                "maxProperties"
            };
            node.insert(key.into(), Value::from(limit));
        }
    }
    for &(pattern, limit) in KEY_LIMITS {
        if let Some(pointer) = schema_pointer(schema, pattern)
            && let Some(Value::Object(node)) = schema.pointer_mut(&pointer)
        {
            node.insert(
                "propertyNames".into(),
                serde_json::json!({"maxLength": limit}),
            );
        }
    }
}

/// Every string schema without a limit of its own gets [`MAX_STRING_CHARS`], every list
/// [`MAX_ITEMS`] as `maxItems`, every free-form map [`MAX_ITEMS`] as `maxProperties`.
fn default_limits(node: &mut Value, depth: usize) {
    if depth > 32 {
        return;
    }
    match node {
        Value::Object(map) => {
            let is_string = match map.get("type") {
                Some(Value::String(t)) => t == "string",
                Some(Value::Array(ts)) => ts.iter().any(|t| t == "string"),
                _ => false,
            };
            if is_string
                && !map.contains_key("enum")
                && !map.contains_key("const")
                && !map.contains_key("maxLength")
            {
                map.insert("maxLength".into(), Value::from(MAX_STRING_CHARS));
            }
            let has_type = |name: &str| match map.get("type") {
                Some(Value::String(t)) => t == name,
                Some(Value::Array(ts)) => ts.iter().any(|t| t == name),
                _ => false,
            };
            let (is_array, is_object) = (has_type("array"), has_type("object"));
            if is_array {
                map.insert("maxItems".into(), Value::from(MAX_ITEMS));
            }
            // Objects with named fields are bounded by their fields; maps with any keys are not.
            if is_object && map.get("additionalProperties") != Some(&Value::Bool(false)) {
                map.insert("maxProperties".into(), Value::from(MAX_ITEMS));
            }
            for child in map.values_mut() {
                default_limits(child, depth + 1);
            }
        }
        Value::Array(items) => {
            for child in items {
                default_limits(child, depth + 1);
            }
        }
        _ => {}
    }
}

/// The pointer, within the schema, of the schema describing the canonical value at `pattern`.
fn schema_pointer(root: &Value, pattern: &str) -> Option<String> {
    let mut at = String::new();
    for seg in pattern.split('/').skip(1) {
        at = resolve(root, at)?;
        at.push_str(match seg {
            "*" => "/items",
            "%" => "/additionalProperties",
            _ => "/properties/",
        });
        if seg != "*" && seg != "%" {
            at.push_str(&escape_pointer_segment(seg));
        }
    }
    resolve(root, at)
}

/// Follows `$ref`s and the non-null branch of an `anyOf` (how an `Option` is written).
fn resolve(root: &Value, mut at: String) -> Option<String> {
    for _ in 0..16 {
        let node = root.pointer(&at)?;
        if let Some(target) = node.get("$ref").and_then(Value::as_str) {
            at = target.strip_prefix('#')?.to_owned();
        } else if let Some(branches) = node.get("anyOf").and_then(Value::as_array) {
            let i = branches
                .iter()
                .position(|b| b.get("type") != Some(&Value::String("null".into())))?;
            at = format!("{at}/anyOf/{i}");
        } else {
            return Some(at);
        }
    }
    None
}

/// Where YAML `text` first opens a flow collection (`[` or `{`) more than
/// [`MAX_NESTING_DEPTH`] deep (its line and column in `text`): checked before the YAML parser runs, which
/// takes quadratic time on deep flow nesting (100,000 levels: 19 s). Quotes are not followed
/// (an apostrophe in a plain value is no quote), so a bracket inside a string counts too: only
/// front matter with more than 64 brackets open at once is refused, which no real one has.
pub(crate) fn flow_nesting_over_limit(text: &str) -> Option<crate::diagnostic::Position> {
    let mut depth = 0usize;
    for (offset, byte) in text.bytes().enumerate() {
        match byte {
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_NESTING_DEPTH {
                    let before = &text[..offset];
                    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
                    return Some(crate::diagnostic::Position {
                        line: before.matches('\n').count() + 1,
                        column: before[line_start..].chars().count() + 1,
                    });
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests;
