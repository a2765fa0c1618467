//! A skill's `dependencies`: a missing, broken or wrong-version dependency is reported by
//! `validate` and `list` and refused by `run`; a satisfied one runs.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use common::World;
use serde_json::{Value, json};

fn code_skill(name: &str, version: &str, deps: Value) -> Value {
    json!({"name": name, "description": "d", "version": version, "type": "code_inline",
        "command": "/bin/echo", "args": [format!("{name} ran")], "dependencies": deps})
}

/// `lint` 1.2.0; `review` needs `lint ^1` (met), `fresh` needs `lint ^2` (too old), `pdf`
/// needs `pdf-tools` (absent), `chain` needs `fresh` (broken by its own dependency) and
/// `shaky` needs `bad` (a file with errors).
fn world() -> World {
    let w = World::new();
    w.skill("lint", code_skill("lint", "1.2.0", json!({})));
    w.skill(
        "review",
        code_skill("review", "1.0.0", json!({"lint": "^1"})),
    );
    w.skill("fresh", code_skill("fresh", "1.0.0", json!({"lint": "^2"})));
    w.skill(
        "pdf",
        code_skill("pdf", "1.0.0", json!({"pdf-tools": "^1"})),
    );
    w.skill("chain", code_skill("chain", "1.0.0", json!({"fresh": "*"})));
    w.skill("shaky", code_skill("shaky", "1.0.0", json!({"bad": "^1"})));
    w.write(".skillet/skills/bad.json", "{\"name\": \"bad\"");
    w
}

#[test]
fn validate_names_each_unmet_dependency_and_what_to_do() {
    let w = world();
    let (code, stdout, stderr) = w.run(&["validate"]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    for expected in [
        "fresh.json: error: dependency `lint` is version 1.2.0, but this skill needs ^2\n  \
         hint: install a version of `lint` that matches ^2",
        "pdf.json: error: dependency `pdf-tools` (^1) is missing: no skill of that name was \
         found\n  hint: add skill `pdf-tools` at a version matching ^1 (install the package \
         that has it, or create it), or remove it from `dependencies`",
        "chain.json: error: dependency `fresh` (*) is broken: ",
        "shaky.json: error: dependency `bad` (^1) is broken: ",
        "hint: fix it (`skillet validate bad` shows what is wrong)",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in:\n{stderr}"
        );
    }
    assert!(!stderr.contains("review.json: error"), "{stderr}");
    assert!(
        !stderr.contains("not yet enforced"),
        "dependencies are enforced now: {stderr}"
    );
    // 7 skills: lint and review hold; the other five are broken.
    assert!(
        stdout.contains("checked 7 skills: 2 valid, 5 invalid"),
        "{stdout}"
    );

    let (code, stdout, stderr) = w.run(&["validate", "review"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let (code, _, stderr) = w.run(&["validate", "fresh"]);
    assert_eq!(code, 1, "{stderr}");

    // A file named on the command line is judged against the skills discovered from here.
    let outside = w.write(
        "elsewhere/needs.json",
        &serde_json::to_string(&code_skill("needs", "1.0.0", json!({"lint": ">=1.3"}))).unwrap(),
    );
    let (code, _, stderr) = w.run(&["validate", outside.to_str().unwrap()]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("error: dependency `lint` is version 1.2.0, but this skill needs >=1.3"),
        "{stderr}"
    );
}

#[test]
fn list_shows_the_skills_with_unmet_dependencies_as_broken() {
    let w = world();
    let (code, stdout, stderr) = w.run(&["list", "--json"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let rows: Value = serde_json::from_str(&stdout).unwrap();
    let row = |name: &str| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no row for {name}: {rows}"))
    };
    for name in ["lint", "review"] {
        assert_eq!(row(name)["valid"], true, "{name}: {rows}");
    }
    for name in ["fresh", "pdf", "chain", "shaky"] {
        assert_eq!(row(name)["valid"], false, "{name}: {rows}");
        assert_eq!(row(name)["availability"], "broken", "{name}: {rows}");
    }
    let (_, stdout, _) = w.run(&["list"]);
    let line = stdout.lines().find(|l| l.contains("fresh")).unwrap();
    assert!(line.contains("BROKEN"), "{stdout}");
}

#[test]
fn run_refuses_an_unmet_dependency_and_runs_a_met_one() {
    let w = world();
    let (code, stdout, stderr) = w.run(&["run", "review"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(stdout, "review ran\n");

    for (name, says) in [
        (
            "fresh",
            "dependency `lint` is version 1.2.0, but this skill needs ^2",
        ),
        ("pdf", "dependency `pdf-tools` (^1) is missing"),
        ("chain", "dependency `fresh` (*) is broken"),
        ("shaky", "dependency `bad` (^1) is broken"),
    ] {
        let (code, stdout, stderr) = w.run(&["run", name]);
        assert_ne!(code, 0, "{name} must not run: {stdout}{stderr}");
        assert!(!stdout.contains("ran"), "{name} ran: {stdout}");
        assert!(
            stderr.contains(&format!("skill `{name}` is broken")),
            "{stderr}"
        );
        assert!(stderr.contains(says), "{name}: {stderr}");

        let (code, result) = w.run_json(&[name]);
        assert_ne!(code, 0, "{result}");
        assert_eq!(result["status"], "error", "{result}");
        assert!(result["error"].as_str().unwrap().contains(says), "{result}");
    }

    // Updating the dependency to a matching version makes the skill run.
    w.skill("lint", code_skill("lint", "2.0.0", json!({})));
    let (code, stdout, stderr) = w.run(&["run", "fresh"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(stdout, "fresh ran\n");
    let (code, _, stderr) = w.run(&["run", "review"]);
    assert_ne!(code, 0, "review needs lint ^1, now 2.0.0: {stderr}");
    assert!(
        stderr.contains("dependency `lint` is version 2.0.0, but this skill needs ^1"),
        "{stderr}"
    );
}
