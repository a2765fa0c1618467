//! How deep and how large a value in a skill file may be (issue 18): nesting of JSON and of a
//! `SKILL.md`'s YAML front matter past the limit, deep flow collections refused before the YAML
//! parser runs, alias expansion bounded, and numbers past the range of a double. Each is a
//! diagnostic at its place; none overflows a stack or runs long.

#![allow(clippy::unwrap_used)] // a test: a failed setup step should panic loudly

mod common;

use std::sync::mpsc;
use std::time::Duration;

use common::{errors, skill_with};
use skillet_spec::limits::MAX_NESTING_DEPTH;
use skillet_spec::{load_json, load_skill_md};

// ---- nesting ----

/// `{"metadata": {"a": [[…]]}}` nested `depth` levels in all (the skill object is level 1).
fn nested(depth: usize) -> String {
    let inner = depth - 2;
    skill_with(&format!(
        r#", "metadata": {{"a": {}{}}}"#,
        "[".repeat(inner),
        "]".repeat(inner)
    ))
}

#[test]
fn nesting_at_the_limit_loads_and_one_level_more_is_refused() {
    let at = load_json(&nested(MAX_NESTING_DEPTH), None);
    assert!(at.is_valid(), "{:?}", at.diagnostics);
    let over = load_json(&nested(MAX_NESTING_DEPTH + 1), None);
    assert_eq!(
        errors(&over),
        ["arrays and objects are nested 65 levels deep; the limit is 64"]
    );
}

#[test]
fn ten_thousand_levels_of_nesting_are_a_diagnostic_not_a_stack_overflow() {
    let arrays = load_json(&"[".repeat(10_000), None);
    assert_eq!(
        errors(&arrays),
        ["arrays and objects are nested 10000 levels deep; the limit is 64"]
    );
    let objects = load_json(&r#"{"a":"#.repeat(10_000), None);
    assert_eq!(
        errors(&objects),
        ["arrays and objects are nested 10000 levels deep; the limit is 64"]
    );
    let closed = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    assert_eq!(errors(&load_json(&closed, None)).len(), 1);
}

#[test]
fn front_matter_nesting_is_limited_too() {
    let md = |depth: usize| {
        // The front matter is level 1, `metadata` level 2; each `[` adds one.
        format!(
            "---\nname: s\ndescription: d\nmetadata:\n  a: {}{}\n---\nBody\n",
            "[".repeat(depth - 2),
            "]".repeat(depth - 2)
        )
    };
    let at = load_skill_md(&md(MAX_NESTING_DEPTH));
    assert!(at.is_valid(), "{:?}", at.diagnostics);
    let over = load_skill_md(&md(MAX_NESTING_DEPTH + 1));
    assert_eq!(
        errors(&over),
        ["the front matter nests more than 64 levels deep, the limit"]
    );
    let deep = load_skill_md(&format!(
        "---\nname: s\ndescription: {}\n---\nBody\n",
        "[".repeat(10_000)
    ));
    assert_eq!(
        errors(&deep),
        ["the front matter nests more than 64 levels deep, the limit"]
    );
}

#[test]
fn a_number_past_a_double_is_an_error_at_its_place_never_a_missing_value() {
    // Read as `null`, `"timeout": 1e400` was a timeout left unset (the default) and a bound of
    // 1e400 no bound at all; both are refused now, as state documents refuse them.
    for (field, line) in [
        ("\"timeout\": 1e400", 2),
        (
            "\"parameters\": [{\"name\": \"n\", \"type\": \"number\",\n  \"max\": -1e999999}]",
            3,
        ),
        ("\"args\": [\"a\", 1E+400]", 2),
    ] {
        let text = format!(
            "{{\"name\": \"s\", \"description\": \"d\", \"type\": \"code_inline\",\n{field},\n\"command\": \"echo\"}}"
        );
        let loaded = load_json(&text, None);
        let errors = errors(&loaded);
        assert_eq!(errors.len(), 1, "{field}: {errors:?}");
        assert!(
            errors[0].contains("is past the range of a double"),
            "{errors:?}"
        );
        let at = loaded.diagnostics[0].position.unwrap();
        assert_eq!(at.line, line, "{field}");
    }
    // Large numbers a double holds are read as before.
    let ok = load_json(
        r#"{"name": "s", "description": "d", "type": "code_inline", "command": "echo", "args": ["a"], "metadata": {"big": 1e300}}"#,
        None,
    );
    assert!(errors(&ok).is_empty(), "{:?}", ok.diagnostics);
}

#[test]
fn deep_flow_nesting_is_refused_where_it_goes_past_the_limit() {
    // Flow collections of 100,000 levels (a 300 KB file) took the YAML parser 19 s each time
    // the skill was listed; they are refused before it runs, at the bracket past the limit.
    for open in ["[", "{a: ", "[{b: "] {
        let close: String = open
            .chars()
            .filter(|c| matches!(c, '[' | '{'))
            .map(|c| if c == '[' { ']' } else { '}' })
            .collect();
        let text = format!(
            "---\nname: s\nmetadata:\n  k: x\ndescription: {}1{}\n---\nBody\n",
            open.repeat(100_000),
            close.repeat(100_000)
        );
        let loaded = load_skill_md(&text);
        assert_eq!(
            errors(&loaded),
            ["the front matter nests more than 64 levels deep, the limit"],
            "{open}"
        );
        let at = loaded.diagnostics[0].position.unwrap();
        assert_eq!(at.line, 5, "{open}: the line of `description`");
        assert!(at.column > 64, "{open}: {at:?}");
    }
}

#[test]
fn yaml_aliases_cannot_expand_the_front_matter_without_bound() {
    // The "billion laughs": nine levels of nine aliases each.
    let mut front = String::from("---\nname: s\ndescription: d\nmetadata:\n  a0: &a0 [\"lol\"]\n");
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 9].join(", ");
        front.push_str(&format!("  a{i}: &a{i} [{refs}]\n"));
    }
    front.push_str("---\nBody\n");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(errors(&load_skill_md(&front)));
    });
    let errs = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the front matter's aliases were expanded without bound");
    assert_eq!(
        errs,
        ["invalid YAML front matter: repetition limit exceeded"]
    );
}
