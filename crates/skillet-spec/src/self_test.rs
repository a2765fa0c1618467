//! A skill's self-tests (`tests`), which `skillet test` runs: the call and what it must produce.
//!
//! Every field is optional and older files (with only `exit_code`, `status`,
//! `stdout_contains`, `stdout_equals` and `stderr_contains`) mean what they meant before.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One self-test of a skill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SkillTest {
    /// Test name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Parameters of the call.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub params: serde_json::Map<String, serde_json::Value>,
    /// Standard input of the call (a `code_session` skill: the input sent to its session).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdin: Option<String>,
    /// Seconds the test may take before it is stopped and fails (default: the skill's own
    /// time limit plus a margin). It can only shorten a run, never lift the skill's limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub timeout: Option<u64>,
    /// What the call must produce.
    #[serde(default)]
    pub expect: TestExpectation,
}

/// Expected outcome of a skill test. With neither `status` nor `exit_code` given, the call must
/// end with status `ok`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestExpectation {
    /// Exact exit code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// Execution status (`ok`, `failed`, `timeout`, `resource_limit`, `sandbox_denied`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Text standard output must contain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdout_contains: Option<String>,
    /// Exact standard output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdout_equals: Option<String>,
    /// A regular expression (Rust `regex` syntax) standard output must match somewhere; anchor
    /// it with `^…$` (and `(?m)` for lines) to match all of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdout_regex: Option<String>,
    /// Text standard error must contain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stderr_contains: Option<String>,
    /// Exact standard error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stderr_equals: Option<String>,
    /// A regular expression standard error must match somewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stderr_regex: Option<String>,
    /// Standard output is JSON, and the value at each path equals the one given. A path is a
    /// JSON pointer (`/items/0/name`) or a simple JSONPath (`$.items[0].name`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub json_path_equals: BTreeMap<String, serde_json::Value>,
    /// Standard output equals the snapshot stored beside the skill
    /// (`__snapshots__/<skill>-<n>.txt`, `n` counting tests from 1); `skillet test
    /// --update-snapshots` writes it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub snapshot: bool,
}

/// The JSON pointer a `json_path_equals` key names: a pointer is kept, a JSONPath of names and
/// indices (`$.a.b[0]`, `$['a b']`) is turned into one. `None` when it is neither.
///
/// ```
/// assert_eq!(skillet_spec::json_pointer_of("$.items[0].name").as_deref(), Some("/items/0/name"));
/// assert_eq!(skillet_spec::json_pointer_of("/a~1b").as_deref(), Some("/a~1b"));
/// assert_eq!(skillet_spec::json_pointer_of("$").as_deref(), Some(""));
/// assert!(skillet_spec::json_pointer_of("items").is_none());
/// ```
pub fn json_pointer_of(path: &str) -> Option<String> {
    if path.is_empty() || path.starts_with('/') {
        return Some(path.to_owned());
    }
    let mut rest = path.strip_prefix('$')?;
    let mut pointer = String::new();
    let mut push = |segment: &str| {
        pointer.push('/');
        pointer.push_str(&segment.replace('~', "~0").replace('/', "~1"));
    };
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            if end == 0 {
                return None;
            }
            push(&after[..end]);
            rest = &after[end..];
        } else if let Some(after) = rest.strip_prefix("['") {
            let end = after.find("']")?;
            push(&after[..end]);
            rest = &after[end + 2..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let end = after.find(']')?;
            let index = &after[..end];
            if index.is_empty() || !index.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            push(index);
            rest = &after[end + 1..];
        } else {
            return None;
        }
    }
    Some(pointer)
}
