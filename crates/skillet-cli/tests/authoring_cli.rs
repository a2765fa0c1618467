//! `skillet create` and `skillet test` end to end, with the real binary: what a skill author
//! types, and what they see.

#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;

use common::World;
use serde_json::{Value, json};

#[test]
fn every_template_is_created_valid_and_its_test_passes() {
    let w = World::new();
    let kinds = [
        ("inline", &["--type", "code_inline"][..]),
        ("session", &["--type", "code_session"]),
        ("prompt", &["--type", "prompt_inline"]),
        ("talk", &["--type", "conversation"]),
        ("py", &["--template", "python-script"]),
        ("shell", &["--template", "shell-script"]),
    ];
    for (name, flags) in kinds {
        let mut args = vec!["create", name, "--description", "A new skill"];
        args.extend_from_slice(flags);
        let (code, out, err) = w.run(&args);
        assert_eq!(code, 0, "{name}: {out}{err}");
    }
    assert!(w.path(".skillet/skills/py/skill.json").is_file());
    // A conversation's next step records its cassette.
    let (_, out, _) = w.run(&["create", "talk2", "--type", "conversation"]);
    assert!(out.contains("skillet test talk2 --record"), "{out}");
    assert!(w.path(".skillet/skills/py/scripts/main.py").is_file());
    assert!(w.path(".skillet/skills/shell/scripts/main.sh").is_file());
    let (code, out, err) = w.run(&["validate"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("7 valid"), "{out}");
    let (code, out, err) = w.run(&["test"]);
    assert_eq!(code, 1, "{out}{err}");
    for name in ["inline", "session", "prompt", "py", "shell"] {
        assert!(out.contains(&format!("PASS  {name} #1")), "{name}: {out}");
    }
    // Never counted as a pass: a conversation's test needs its recorded cassette first
    // (tests/test_cassettes.rs records and replays one).
    assert!(
        out.contains("FAIL  talk #1 answers: cassette: no cassette recorded yet"),
        "{out}"
    );
    assert!(out.contains("skillet test --record talk"), "{out}");
    assert!(
        out.contains("5 passed, 2 failed, 0 errors, 0 skipped; 7 tests"),
        "{out}"
    );
}

#[test]
fn create_refuses_to_overwrite_and_bad_names() {
    let w = World::new();
    let (code, _, _) = w.run(&["create", "mine"]);
    assert_eq!(code, 0);
    let before = std::fs::read_to_string(w.path(".skillet/skills/mine.json")).unwrap();
    for args in [
        &["create", "mine"][..],
        &["create", "mine", "--template", "shell-script"],
    ] {
        let (code, out, err) = w.run(args);
        assert_eq!(code, 1, "{out}{err}");
        assert!(
            err.contains("already exists") && err.contains("never overwrites"),
            "{err}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(w.path(".skillet/skills/mine.json")).unwrap(),
        before
    );
    for bad in ["Mine", "../escape", "a b", "-x"] {
        let (code, out, err) = w.run(&["create", "--", bad]);
        assert_eq!(code, 2, "{bad}: {out}{err}");
        assert!(err.contains("not a valid skill name"), "{err}");
        assert!(
            err.contains("lowercase letters"),
            "says what to write: {err}"
        );
    }
    assert!(!w.tmp.path().join("escape.json").exists());
    let (code, _, err) = w.run(&[
        "create",
        "p",
        "--type",
        "prompt_inline",
        "--template",
        "python-script",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--type code_inline"), "{err}");
}

#[test]
fn create_global_writes_the_global_skills_dir() {
    let w = World::new();
    let (code, out, err) = w.run(&["create", "everywhere", "--global", "--json"]);
    assert_eq!(code, 0, "{out}{err}");
    let created: Value = serde_json::from_str(&out).unwrap();
    let file = w.path("~/.config/skillet/skills/everywhere.json");
    assert_eq!(created["skill_file"], json!(file.display().to_string()));
    assert!(file.is_file());
    let (code, out, err) = w.run(&["test", "everywhere"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("PASS  everywhere #1"), "{out}");
}

fn echo_skill(w: &World, name: &str, tests: Value) {
    w.skill(
        name,
        json!({"name": name, "description": "d", "type": "code_inline", "command": "printf",
               "args": ["%s\\n", "{word}"],
               "parameters": [{"name": "word", "type": "string", "default": "hello"}],
               "tests": tests}),
    );
}

#[test]
fn a_failing_expectation_shows_the_diff_and_exits_1() {
    let w = World::new();
    echo_skill(
        &w,
        "say",
        json!([
            {"name": "right", "params": {"word": "one"}, "expect": {"stdout_equals": "one\n"}},
            {"name": "wrong", "params": {"word": "two"}, "expect": {"stdout_equals": "three\n"}}
        ]),
    );
    let (code, out, err) = w.run(&["test"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("PASS  say #1 right"), "{out}");
    assert!(out.contains("FAIL  say #2 wrong: stdout_equals"), "{out}");
    assert!(
        out.contains("-three") && out.contains("+two"),
        "the diff: {out}"
    );
    assert!(
        out.contains("test result: FAILED. 1 passed, 1 failed"),
        "{out}"
    );
}

#[test]
fn every_expectation_field_is_checked() {
    let w = World::new();
    w.skill(
        "js",
        json!({"name": "js", "description": "d", "type": "code_inline", "command": "sh",
        "args": ["-c", "printf '{\"n\": 3, \"items\": [\"a\"]}'; echo warn >&2; exit 3"],
        "tests": [
          {"name": "all hold", "expect": {"exit_code": 3, "status": "failed",
            "stdout_contains": "items", "stdout_regex": "^\\{.*\\}$",
            "stderr_equals": "warn\n", "stderr_contains": "war", "stderr_regex": "w.rn",
            "json_path_equals": {"/n": 3, "$.items[0]": "a"}}},
          {"name": "json off", "expect": {"exit_code": 3, "json_path_equals": {"$.n": 4}}},
          {"name": "regex off", "expect": {"exit_code": 3, "stderr_regex": "^nope"}},
          {"name": "no status given", "expect": {"stdout_contains": "n"}}
        ]}),
    );
    let (code, out, err) = w.run(&["test", "js"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("PASS  js #1 all hold"), "{out}");
    assert!(
        out.contains("FAIL  js #2 json off: json_path_equals.$.n"),
        "{out}"
    );
    assert!(out.contains("-4") && out.contains("+3"), "{out}");
    assert!(out.contains("FAIL  js #3 regex off: stderr_regex"), "{out}");
    assert!(
        out.contains("FAIL  js #4 no status given: status: the run ended `failed`, not `ok`"),
        "{out}"
    );
}

#[test]
fn a_missing_snapshot_fails_until_it_is_written() {
    let w = World::new();
    echo_skill(
        &w,
        "snap",
        json!([{"params": {"word": "stable"}, "expect": {"snapshot": true}}]),
    );
    let (code, out, err) = w.run(&["test", "snap"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("no snapshot stored yet"), "{out}");
    assert!(
        out.contains("skillet test snap --update-snapshots"),
        "{out}"
    );

    let (code, out, err) = w.run(&["test", "snap", "--update-snapshots"]);
    assert_eq!(code, 0, "{out}{err}");
    let stored = w.path(".skillet/skills/__snapshots__/snap-1.txt");
    assert!(out.contains("snapshot written"), "{out}");
    assert_eq!(std::fs::read_to_string(&stored).unwrap(), "stable\n");

    let (code, out, err) = w.run(&["test", "snap"]);
    assert_eq!(code, 0, "{out}{err}");
    // The snapshot folder is not mistaken for a skill.
    let (code, out, err) = w.run(&["validate"]);
    assert_eq!(code, 0, "{out}{err}");

    // The output changes: the diff against the snapshot, and what to run if it is intended.
    std::fs::write(&stored, "old\n").unwrap();
    let (code, out, _) = w.run(&["test", "snap"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL  snap #1 test 1: snapshot"), "{out}");
    assert!(out.contains("-old") && out.contains("+stable"), "{out}");
}

#[test]
fn junit_is_parsed_by_python_with_the_right_counts() {
    let w = World::new();
    echo_skill(
        &w,
        "say",
        json!([
            {"name": "ok", "params": {"word": "a"}, "expect": {"stdout_equals": "a\n"}},
            {"name": "bad <&>", "params": {"word": "\u{1b}[31mred"}, "expect": {"stdout_equals": "x"}}
        ]),
    );
    w.skill(
        "talk",
        json!({"name": "talk", "description": "d", "type": "conversation",
               "prompt_template": "hi", "tests": [{"expect": {"status": "ok"}}]}),
    );
    let (code, out, err) = w.run(&["test", "--junit", "report.xml"]);
    assert_eq!(code, 1, "{out}{err}");
    let script = "import sys, xml.etree.ElementTree as ET\n\
        root = ET.parse(sys.argv[1]).getroot()\n\
        print(root.tag, root.get('tests'), root.get('failures'), root.get('errors'), root.get('skipped'))\n\
        for s in root.iter('testsuite'):\n\
        \x20   print(s.get('name'), s.get('tests'), len(s.findall('testcase/failure')), len(s.findall('testcase/skipped')))\n";
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(w.path("report.xml"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(text, "testsuites 3 2 0 0\nsay 2 1 0\ntalk 1 1 0\n");
}

#[test]
fn json_output_has_the_summary_and_each_test() {
    let w = World::new();
    echo_skill(
        &w,
        "say",
        json!([
            {"params": {"word": "a"}, "expect": {"stdout_equals": "a\n"}},
            {"params": {"word": "b"}, "expect": {"stdout_equals": "a\n"}}
        ]),
    );
    let (code, out, err) = w.run(&["test", "--json", "--jobs", "2"]);
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    assert_eq!(code, 1, "{v}");
    assert_eq!(
        v["summary"],
        json!({"total": 2, "passed": 1, "failed": 1, "errors": 0, "skipped": 0,
               "duration_ms": v["summary"]["duration_ms"]})
    );
    let tests = v["tests"].as_array().unwrap();
    assert_eq!(tests[0]["outcome"], "passed");
    assert_eq!(tests[0]["skill"], "say");
    assert_eq!(tests[0]["index"], 1);
    assert!(tests[0]["execution_id"].is_string(), "{v}");
    assert_eq!(tests[1]["outcome"], "failed");
    assert_eq!(tests[1]["mismatches"][0]["field"], "stdout_equals");
    assert_eq!(tests[1]["observed"]["stdout"], "b\n");
}

#[test]
fn no_tests_is_said() {
    let w = World::new();
    w.skill(
        "plain",
        json!({"name": "plain", "description": "d", "type": "code_inline", "command": "true"}),
    );
    let (code, out, err) = w.run(&["test"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("no tests to run"), "{out}");
    let (code, out, err) = w.run(&["test", "plain"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("`plain` has no tests"), "{err}");
    let (code, out, _) = w.run(&["test", "nosuch"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("ERROR nosuch: no skill `nosuch`"), "{out}");
}

#[test]
fn tests_run_in_the_sandbox_of_a_real_run() {
    let w = World::new();
    let outside = w.tmp.path().join("outside.txt");
    let target = w.path("escaped.txt");
    w.skill(
        "escape",
        json!({"name": "escape", "description": "d", "type": "code_inline", "command": "sh",
               "args": ["-c", "echo x > \"$SKILLET_WORKSPACE/escaped.txt\" && echo x > \"$OUT\""],
               "env": {"OUT": outside.display().to_string()},
               "tests": [{"name": "writes the workspace", "expect": {"exit_code": 0}}]}),
    );
    let (code, out, err) = w.run(&["test", "escape"]);
    let (run_code, _, _) = w.run(&["run", "escape"]);
    assert_ne!(run_code, 0, "a real run is refused the write");
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("FAIL  escape #1 writes the workspace: exit_code"),
        "{out}"
    );
    assert!(!target.exists(), "nothing was written in the workspace");
    assert!(!outside.exists(), "nothing was written outside");
}

#[test]
fn a_test_past_its_timeout_is_stopped_and_fails() {
    let w = World::new();
    w.skill(
        "slow",
        json!({"name": "slow", "description": "d", "type": "code_inline", "command": "sleep",
               "args": ["30"], "timeout": 60,
               "tests": [{"timeout": 1, "expect": {"exit_code": 0}}]}),
    );
    let started = std::time::Instant::now();
    let (code, out, err) = w.run(&["test", "slow"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    assert!(out.contains("FAIL  slow #1 test 1: timeout"), "{out}");
}

#[test]
fn prompt_skills_test_their_rendered_text() {
    let w = World::new();
    w.skill(
        "ask",
        json!({"name": "ask", "description": "d", "type": "prompt_inline",
               "prompt_template": "Explain {topic}.",
               "parameters": [{"name": "topic", "type": "string", "required": true}],
               "tests": [{"params": {"topic": "lifetimes"},
                          "expect": {"stdout_equals": "Explain lifetimes."}},
                         {"params": {"topic": "traits"},
                          "expect": {"stdout_equals": "Explain lifetimes."}}]}),
    );
    let (code, out, _) = w.run(&["test", "ask"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("PASS  ask #1"), "{out}");
    assert!(
        out.contains("FAIL  ask #2") && out.contains("+Explain traits."),
        "{out}"
    );
}
