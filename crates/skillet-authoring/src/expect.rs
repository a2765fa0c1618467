//! Comparing what a run produced with what a test expects.

use serde::Serialize;
use serde_json::Value;
use skillet_spec::TestExpectation;

/// What one test's call produced.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Observed {
    /// The execution status (`ok`, `failed`, `timeout`, …).
    pub status: String,
    /// The process's exit code, when it exited.
    pub exit_code: Option<i32>,
    /// Standard output (a prompt skill: the rendered text).
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// What skillet said about the run (refused, stopped, sandbox), when it said anything.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One expectation that did not hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    /// The expectation's field (`stdout_equals`, `json_path_equals./count`, `snapshot`).
    pub field: String,
    /// What was wrong, in one line.
    pub message: String,
    /// Expected against actual as a unified diff, for text that differs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
}

impl Mismatch {
    pub(crate) fn new(field: impl Into<String>, message: impl Into<String>) -> Mismatch {
        Mismatch {
            field: field.into(),
            message: message.into(),
            diff: None,
        }
    }

    /// A mismatch of two texts, with their diff.
    pub(crate) fn differs(field: &str, what: &str, expected: &str, actual: &str) -> Mismatch {
        Mismatch {
            field: field.to_owned(),
            message: format!("{what} differs from what `{field}` expects"),
            diff: Some(unified_diff(expected, actual)),
        }
    }
}

/// `expected` against `actual`, as `-expected` / `+actual` lines with some context.
pub(crate) fn unified_diff(expected: &str, actual: &str) -> String {
    labeled_diff(expected, actual, ("expected", "actual"))
}

/// [`unified_diff`] with the two sides named `names`.
pub(crate) fn labeled_diff(expected: &str, actual: &str, names: (&str, &str)) -> String {
    let diff = similar::TextDiff::from_lines(expected, actual);
    let mut text = diff
        .unified_diff()
        .context_radius(3)
        .header(names.0, names.1)
        .to_string();
    // A missing final newline is the difference people miss most: say it in words.
    if expected.trim_end_matches('\n') == actual.trim_end_matches('\n') {
        text.push_str(&format!(
            "(only the line endings differ: expected {} trailing newline(s), got {})\n",
            trailing_newlines(expected),
            trailing_newlines(actual)
        ));
    }
    text
}

fn trailing_newlines(s: &str) -> usize {
    s.len() - s.trim_end_matches('\n').len()
}

/// Every expectation of `expect` that `observed` breaks, in the order the fields are
/// documented (the first one is what a report shows). Snapshots are compared by the runner.
pub fn check(expect: &TestExpectation, observed: &Observed) -> Vec<Mismatch> {
    let mut found = Vec::new();
    match (&expect.status, expect.exit_code) {
        (None, None) if observed.status != "ok" => found.push(Mismatch::new(
            "status",
            format!(
                "the run ended `{}`, not `ok` (set expect.status or expect.exit_code when that \
                 is intended)",
                observed.status
            ),
        )),
        _ => {}
    }
    if let Some(status) = expect.status.as_deref().filter(|s| *s != observed.status) {
        found.push(Mismatch::new(
            "status",
            format!("expected status `{status}`, got `{}`", observed.status),
        ));
    }
    if let Some(code) = expect.exit_code.filter(|c| Some(*c) != observed.exit_code) {
        let got = observed.exit_code.map_or_else(
            || format!("no exit code (status `{}`)", observed.status),
            |c| c.to_string(),
        );
        found.push(Mismatch::new(
            "exit_code",
            format!("expected exit code {code}, got {got}"),
        ));
    }
    let streams = [
        (
            "stdout",
            &observed.stdout,
            &expect.stdout_equals,
            &expect.stdout_contains,
            &expect.stdout_regex,
        ),
        (
            "stderr",
            &observed.stderr,
            &expect.stderr_equals,
            &expect.stderr_contains,
            &expect.stderr_regex,
        ),
    ];
    for (stream, actual, equals, contains, pattern) in streams {
        if let Some(want) = equals.as_deref().filter(|w| *w != actual.as_str()) {
            found.push(Mismatch::differs(
                &format!("{stream}_equals"),
                stream,
                want,
                actual,
            ));
        }
        if let Some(want) = contains.as_deref().filter(|w| !actual.contains(*w)) {
            let mut m = Mismatch::new(
                format!("{stream}_contains"),
                format!("{stream} does not contain {want:?}"),
            );
            m.diff = Some(format!("{stream} was:\n{}", indent(actual)));
            found.push(m);
        }
        if let Some(pattern) = pattern {
            match regex::Regex::new(pattern) {
                Ok(re) if re.is_match(actual) => {}
                Ok(_) => {
                    let mut m = Mismatch::new(
                        format!("{stream}_regex"),
                        format!("{stream} does not match /{pattern}/"),
                    );
                    m.diff = Some(format!("{stream} was:\n{}", indent(actual)));
                    found.push(m);
                }
                Err(e) => found.push(Mismatch::new(
                    format!("{stream}_regex"),
                    format!(
                        "invalid regular expression: {e}; fix it (skillet validate shows where)"
                    ),
                )),
            }
        }
    }
    if !expect.json_path_equals.is_empty() {
        check_json(expect, &observed.stdout, &mut found);
    }
    found
}

fn check_json(expect: &TestExpectation, stdout: &str, found: &mut Vec<Mismatch>) {
    let document: Value = match serde_json::from_str(stdout) {
        Ok(v) => v,
        Err(e) => {
            let mut m = Mismatch::new(
                "json_path_equals",
                format!("stdout is not JSON ({e}), so no path can be checked"),
            );
            m.diff = Some(format!("stdout was:\n{}", indent(stdout)));
            found.push(m);
            return;
        }
    };
    for (path, want) in &expect.json_path_equals {
        let field = format!("json_path_equals.{path}");
        let Some(pointer) = skillet_spec::json_pointer_of(path) else {
            found.push(Mismatch::new(
                field,
                format!("`{path}` is not a JSON path; write `/a/0/b` or `$.a[0].b`"),
            ));
            continue;
        };
        match document.pointer(&pointer) {
            Some(got) if got == want => {}
            Some(got) => found.push(Mismatch::differs(
                &field,
                &format!("the value at {path}"),
                &pretty(want),
                &pretty(got),
            )),
            None => found.push(Mismatch::new(
                field,
                format!("stdout has no value at {path}"),
            )),
        }
    }
}

fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string());
    s.push('\n');
    s
}

fn indent(text: &str) -> String {
    if text.is_empty() {
        return "  (empty)\n".to_owned();
    }
    let mut out: String = text.lines().map(|l| format!("  {l}\n")).collect();
    if !text.ends_with('\n') {
        out.push_str("  (no newline at the end)\n");
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn ok(stdout: &str) -> Observed {
        Observed {
            status: "ok".into(),
            exit_code: Some(0),
            stdout: stdout.into(),
            stderr: String::new(),
            error: None,
        }
    }

    fn expect(json: Value) -> TestExpectation {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn each_field_is_checked() {
        let e = expect(serde_json::json!({
            "exit_code": 0, "stdout_equals": "a\nb\n", "stdout_contains": "b",
            "stdout_regex": "^a$", "stderr_equals": ""
        }));
        // `^a$` without (?m) does not match "a\nb\n".
        let found = check(&e, &ok("a\nb\n"));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].field, "stdout_regex");
        let found = check(&e, &ok("a\nc\n"));
        assert_eq!(found[0].field, "stdout_equals");
        let diff = found[0].diff.as_deref().unwrap();
        assert!(diff.contains("-b") && diff.contains("+c"), "{diff}");
    }

    #[test]
    fn a_failed_run_fails_a_test_that_names_no_status() {
        let e = expect(serde_json::json!({"stdout_contains": "x"}));
        let mut o = ok("x");
        o.status = "failed".into();
        o.exit_code = Some(1);
        assert_eq!(check(&e, &o)[0].field, "status");
        let e = expect(serde_json::json!({"exit_code": 1}));
        assert!(check(&e, &o).is_empty());
    }

    #[test]
    fn json_paths_compare_values() {
        let e = expect(serde_json::json!({
            "json_path_equals": {"$.items[1].n": 2, "/name": "x"}
        }));
        assert!(check(&e, &ok(r#"{"name":"x","items":[{"n":1},{"n":2}]}"#)).is_empty());
        let found = check(&e, &ok(r#"{"name":"y","items":[{"n":1}]}"#));
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].message.contains("no value at $.items[1].n"));
        assert!(found[1].diff.as_deref().unwrap().contains("+\"y\""));
        let found = check(&e, &ok("not json"));
        assert!(found[0].message.contains("not JSON"));
    }

    #[test]
    fn a_missing_final_newline_is_said_in_words() {
        let e = expect(serde_json::json!({"stdout_equals": "hi\n"}));
        let found = check(&e, &ok("hi"));
        assert!(
            found[0]
                .diff
                .as_deref()
                .unwrap()
                .contains("only the line endings differ")
        );
    }
}
