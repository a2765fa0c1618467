//! The older formats: they load and run as they are, and `skillet migrate` rewrites each into a
//! canonical file that validates cleanly and behaves the same.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::fs;
use std::path::Path;

use common::{World, examples_dir};

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A workspace holding the four compatibility examples where discovery looks for them.
fn compat_world() -> World {
    let w = World::new();
    let compat = examples_dir().join("compat");
    fs::create_dir_all(w.path(".q-skills")).unwrap();
    fs::copy(
        compat.join("q-roadmap.json"),
        w.path(".q-skills/explain-error.json"),
    )
    .unwrap();
    fs::copy(
        compat.join("q-flat.json"),
        w.path(".q-skills/disk-usage.json"),
    )
    .unwrap();
    copy_dir(
        &compat.join("v1-design"),
        &w.path(".skillet/skills/calculator"),
    );
    copy_dir(
        &compat.join("agent-skill"),
        &w.path(".claude/skills/agent-skill"),
    );
    w
}

#[test]
fn every_old_format_loads_and_runs_as_is() {
    let w = compat_world();
    let (_, stdout, _) = w.run(&["list", "--json"]);
    let list: Vec<serde_json::Value> = serde_json::from_str(&stdout).unwrap();
    let formats: Vec<(&str, &str, bool)> = list
        .iter()
        .map(|v| {
            (
                v["name"].as_str().unwrap(),
                v["format"].as_str().unwrap(),
                v["valid"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        formats,
        [
            ("agent-skill", "Agent Skills SKILL.md", true),
            ("calculator", "v1 design", true),
            ("disk-usage", "Q CLI flat", true),
            ("explain-error", "Q CLI roadmap-era", true),
        ]
    );
    let (code, r) = w.run_json(&[
        "calc",
        "-p",
        "operation=add",
        "-p",
        "operand1=2",
        "-p",
        "operand2=3.5",
    ]);
    assert_eq!(
        (code, r["stdout"].as_str()),
        (0, Some("2 add 3.5 = 5.5\n")),
        "{r}"
    );
    // `dir` is a string, not a path, so it is taken as given: pass an absolute one.
    let git = format!("dir={}", w.path(".git").display());
    let (code, r) = w.run_json(&["disk-usage", "-p", &git]);
    assert_eq!(code, 0, "{r}");
    assert!(r["stdout"].as_str().unwrap().ends_with("/.git\n"), "{r}");
    let (code, r) = w.run_json(&["agent-skill"]);
    assert_eq!(code, 0);
    assert!(
        r["stdout"]
            .as_str()
            .unwrap()
            .contains("`unsafe { }` blocks"),
        "braces in SKILL.md stay literal: {r}"
    );
    let (_, stdout, _) = w.run(&["info", "agent-skill"]);
    assert!(stdout.contains("Agent Skills SKILL.md format"), "{stdout}");
}

#[test]
fn unknown_fields_are_warnings_in_old_formats_and_errors_in_canonical() {
    let w = World::new();
    w.write(
        ".q-skills/old.json",
        r#"{"name": "old", "type": "command", "command": "true", "extra_thing": 1}"#,
    );
    w.write(".skillet/skills/new.json", r#"{"name": "new", "description": "d", "type": "code_inline", "command": "true", "extra_thing": 1}"#);
    let (code, _, stderr) = w.run(&["validate"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("old.json:1:55: warning: unknown field `extra_thing` is ignored"),
        "{stderr}"
    );
    assert!(
        stderr.contains("new.json:1:79: error: unknown field `extra_thing`"),
        "{stderr}"
    );
}

#[test]
fn migrate_previews_then_writes_canonical_files_that_behave_the_same() {
    let w = compat_world();
    for (path, format) in [
        (".q-skills/explain-error.json", "Q CLI roadmap-era"),
        (".q-skills/disk-usage.json", "Q CLI flat"),
        (".skillet/skills/calculator/calculator.json", "v1 design"),
        (".claude/skills/agent-skill", "Agent Skills SKILL.md"),
    ] {
        let before = fs::read_dir(w.path(path).parent().unwrap())
            .unwrap()
            .count();
        let (code, stdout, stderr) = w.run(&["migrate", path]);
        assert_eq!(code, 0, "{stderr}");
        assert!(
            stdout.starts_with("--- ") && stdout.contains("+++ b/"),
            "{path}: {stdout}"
        );
        assert!(
            stderr.contains(&format!("{format} format; run again with --write")),
            "{stderr}"
        );
        assert_eq!(
            fs::read_dir(w.path(path).parent().unwrap())
                .unwrap()
                .count(),
            before,
            "preview wrote something"
        );

        let (code, stdout, stderr) = w.run(&["migrate", path, "--write"]);
        assert_eq!(code, 0, "{stderr}");
        assert!(stdout.starts_with("wrote "), "{stdout}");
        let written = if path.ends_with("agent-skill") {
            w.path(&format!("{path}/skill.json"))
        } else {
            w.path(path)
        };
        let (code, stdout, stderr) = w.run(&["validate", written.to_str().unwrap(), "--json"]);
        let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(
            (code, report[0]["format"].as_str()),
            (0, Some("canonical")),
            "{path}: {stderr} {report}"
        );
        assert_eq!(report[0]["diagnostics"], serde_json::json!([]), "{path}");
        let (_, stdout, _) = w.run(&["migrate", path]);
        assert!(
            stdout.contains("already canonical"),
            "{path}: migrating twice changes nothing: {stdout}"
        );
    }
    assert!(
        w.path(".q-skills/disk-usage.json.bak").exists(),
        "the old file is kept"
    );
    let (code, r) = w.run_json(&[
        "calc",
        "-p",
        "operation=multiply",
        "-p",
        "operand1=4",
        "-p",
        "operand2=2.5",
    ]);
    assert_eq!(
        (code, r["stdout"].as_str()),
        (0, Some("4 multiply 2.5 = 10\n")),
        "{r}"
    );
    let (code, r) = w.run_json(&["agent-skill"]);
    assert_eq!(code, 0);
    assert!(
        r["stdout"]
            .as_str()
            .unwrap()
            .contains("`unsafe { }` blocks"),
        "{r}"
    );
}

#[test]
fn migrate_refuses_a_file_it_cannot_make_valid() {
    let w = World::new();
    let file = w.write("bad.json", r#"{"skill_type": "code_inline", "metadata": {"name": "x"}, "executor": {"type": "mcp", "server": "s"}}"#);
    let original = fs::read_to_string(&file).unwrap();
    let (code, _, stderr) = w.run(&["migrate", "bad.json", "--write"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("executor type \"mcp\" is not supported yet")
            && stderr.contains("nothing written"),
        "{stderr}"
    );
    assert_eq!(fs::read_to_string(&file).unwrap(), original);
}
