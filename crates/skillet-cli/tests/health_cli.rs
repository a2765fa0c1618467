//! `skillet health` as a user runs it: the checks, each skill's verdict from the same figures as
//! `skillet stats`, the LLM endpoint reached by a connection, and `--smoke` running every
//! skill's tests.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use common::World;
use common::observe::{json_of, world};
use serde_json::{Value, json};

#[test]
fn health_names_the_failing_skill_and_fails() {
    let w = world();
    assert_eq!(w.run(&["run", "ok"]).0, 0);
    let (code, report) = json_of(&w, &["health", "--json"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["healthy"], true);
    let checks: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    assert_eq!(checks, ["daemon", "store", "sandbox", "llm"]);
    assert_eq!(report["checks"][1]["state"], "ok", "{report}");

    for _ in 0..3 {
        w.run(&["run", "fails"]);
    }
    let (code, report) = json_of(&w, &["health", "--json"]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["healthy"], false);
    let fails = report["skills"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["skill"] == "fails")
        .unwrap();
    assert_eq!(fails["state"], "failing");
    assert_eq!(fails["runs"], 3);
    assert_eq!(fails["last_error"]["status"], "failed");
    let (code, text, _) = w.run(&["health"]);
    assert_eq!(code, 1);
    assert!(
        text.lines()
            .any(|l| l.starts_with("fails") && l.contains("failing")),
        "{text}"
    );
    // Out of the window, nothing is failing any more.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let (code, report) = json_of(&w, &["health", "--since", "1s", "--json"]);
    assert_eq!(code, 0, "{report}");
}

/// `health --smoke` runs every skill's tests as `skillet test` does: a failing test fails it.
#[test]
fn health_smoke_runs_every_skills_tests() {
    let w = World::new();
    w.skill(
        "good",
        json!({"name": "good", "description": "d", "type": "code_inline", "command": "echo",
               "args": ["fine"], "tests": [{"name": "says fine", "expect": {"stdout_contains": "fine"}}]}),
    );
    let (code, report) = json_of(&w, &["health", "--smoke", "--json"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["smoke"]["summary"]["passed"], 1, "{report}");
    let smoke = |r: &Value| {
        r["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["check"] == "smoke tests")
            .cloned()
            .unwrap()
    };
    assert_eq!(smoke(&report)["state"], "ok");
    w.skill(
        "bad",
        json!({"name": "bad", "description": "d", "type": "code_inline", "command": "echo",
               "args": ["oops"], "tests": [{"name": "wants fine", "expect": {"stdout_contains": "fine"}}]}),
    );
    let (code, report) = json_of(&w, &["health", "--smoke", "--json"]);
    assert_eq!(code, 1, "{report}");
    let check = smoke(&report);
    assert_eq!(check["state"], "fail");
    assert!(
        check["detail"]
            .as_str()
            .unwrap()
            .contains("bad #1 wants fine"),
        "{check}"
    );
    let (code, text, _) = w.run(&["health", "--smoke"]);
    assert_eq!(code, 1);
    assert!(
        text.contains("smoke tests") && text.contains("fail"),
        "{text}"
    );
}

#[test]
fn health_checks_the_llm_endpoint_by_connecting() {
    let w = world();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let config = |port: u16| {
        format!(
            "[llm]\nprovider = \"openai\"\nbase_url = \"http://127.0.0.1:{port}/v1\"\nmodel = \"m\"\n"
        )
    };
    w.write("~/.config/skillet/skillet.toml", &config(port));
    let (code, report) = json_of(&w, &["health", "--json"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["checks"][3]["state"], "ok", "{report}");
    drop(listener);
    let (code, report) = json_of(&w, &["health", "--json"]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["checks"][3]["state"], "fail", "{report}");
    assert!(
        report["checks"][3]["detail"]
            .as_str()
            .unwrap()
            .contains("cannot connect"),
        "{report}"
    );
}
