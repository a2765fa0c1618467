//! `skillet stats --authoring` with the real binary: what `skillet create`, `skillet test` and
//! `skillet dev` record, and what an author sees of it.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use common::World;
use serde_json::Value;

/// Sets the `stdout_equals` of the skill's first test (what `skillet create` wrote) to `expected`.
fn expect_stdout(w: &World, name: &str, expected: &str) {
    let path = w.path(&format!(".skillet/skills/{name}.json"));
    let mut skill: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    skill["tests"][0]["expect"]["stdout_equals"] = expected.into();
    std::fs::write(&path, serde_json::to_string_pretty(&skill).unwrap()).unwrap();
}

fn stats_json(w: &World, args: &[&str]) -> Value {
    let mut all = vec!["stats", "--authoring"];
    all.extend_from_slice(args);
    all.push("--json");
    let (code, out, err) = w.run(&all);
    assert_eq!(code, 0, "{out}{err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

fn skill<'a>(stats: &'a Value, name: &str) -> &'a Value {
    stats["skills"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["skill"] == name)
        .unwrap_or_else(|| panic!("no `{name}` in {stats:#}"))
}

#[test]
fn create_then_a_failing_and_a_passing_test_show_one_failure_of_two_runs() {
    let w = World::new();
    let (code, out, err) = w.run(&["create", "greet", "--description", "Greets"]);
    assert_eq!(code, 0, "{out}{err}");
    expect_stdout(&w, "greet", "Goodbye, skillet!\n");
    let (code, out, err) = w.run(&["test", "greet"]);
    assert_eq!(code, 1, "the test fails as written: {out}{err}");
    // Time passes between the two runs, so the create-to-pass time is measurably more than
    // the first (failing) run's.
    std::thread::sleep(Duration::from_millis(300));
    expect_stdout(&w, "greet", "Hello, skillet!\n");
    let (code, out, err) = w.run(&["test", "greet"]);
    assert_eq!(code, 0, "{out}{err}");

    let (code, out, err) = w.run(&["stats", "--authoring"]);
    assert_eq!(code, 0, "{out}{err}");
    let row = out
        .lines()
        .find(|l| l.starts_with("greet "))
        .unwrap_or_else(|| panic!("no row for greet:\n{out}"));
    assert!(row.contains("workspace"), "{row}");
    assert!(row.contains("1 of 2 (50%)"), "{row}");
    assert!(
        row.contains(" ms ") || row.contains(" s "),
        "a create-to-pass time: {row}"
    );
    assert!(out.contains("CREATE TO FIRST PASS"), "{out}");

    let stats = stats_json(&w, &[]);
    let ws = std::fs::canonicalize(&w.ws).unwrap();
    assert_eq!(stats["workspace"], ws.to_string_lossy().as_ref());
    let greet = skill(&stats, "greet");
    assert_eq!(greet["scope"], "workspace");
    assert_eq!(greet["test_runs"], 2);
    assert_eq!(greet["failed_runs"], 1);
    assert_eq!(greet["failure_rate"], 0.5);
    assert_eq!(
        (
            greet["tests_passed"].as_u64(),
            greet["tests_failed"].as_u64()
        ),
        (Some(1), Some(1))
    );
    let to_pass = greet["create_to_pass_ms"].as_i64().unwrap();
    assert!(to_pass >= 300, "from create to the second run: {greet:#}");
    for field in ["created_at", "first_pass_at", "last_activity"] {
        let text = greet[field].as_str().unwrap();
        assert!(text.ends_with('Z') && text.len() == 24, "{field}: {text}");
    }
    assert!(greet["first_pass_at"].as_str() > greet["created_at"].as_str());
    assert_eq!(greet["dev_reloads"], 0);
    assert!(greet["dev_median_ms"].is_null());

    // One skill asked for by name; the JSON holds only it.
    let only = stats_json(&w, &["greet"]);
    assert_eq!(only["skills"].as_array().unwrap().len(), 1);
}

#[test]
fn a_skill_never_tested_and_one_never_recorded() {
    let w = World::new();
    let (code, out, err) = w.run(&["create", "fresh", "--description", "New"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, _) = w.run(&["stats", "--authoring"]);
    assert_eq!(code, 0);
    let row = out.lines().find(|l| l.starts_with("fresh ")).unwrap();
    assert!(row.contains("- (never tested)"), "{row}");
    assert!(row.contains(" 0 "), "no test runs: {row}");
    let fresh = skill(&stats_json(&w, &[]), "fresh").clone();
    assert_eq!(fresh["test_runs"], 0);
    assert!(fresh["create_to_pass_ms"].is_null() && fresh["failure_rate"].is_null());
    assert!(fresh["created_at"].is_string());

    // Written by hand and never tested: nothing recorded, and it says what records it.
    w.skill(
        "hand",
        serde_json::json!({"name": "hand", "description": "By hand", "type": "code_inline",
                           "aliases": ["hd"], "command": "true", "tests": [{"expect": {"exit_code": 0}}]}),
    );
    let (code, out, err) = w.run(&["stats", "--authoring", "hand"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("no authoring activity recorded for `hand`") && out.contains("skillet create"),
        "{out}"
    );
    assert_eq!(stats_json(&w, &["hand"])["skills"], serde_json::json!([]));
    // A skill made by hand but tested has runs and no create-to-pass time.
    let (code, _, _) = w.run(&["test", "hand"]);
    assert_eq!(code, 0);
    let (_, out, _) = w.run(&["stats", "--authoring", "hand"]);
    assert!(out.contains("- (not made by create)"), "{out}");
    // An alias names the same skill.
    let by_alias = stats_json(&w, &["hd"]);
    assert_eq!(by_alias["skills"][0]["skill"], "hand", "{by_alias:#}");
    assert_eq!(by_alias["skills"][0]["test_runs"], 1);
}

#[test]
fn authoring_events_go_with_the_history_they_are_older_than() {
    let w = World::new();
    let (code, out, err) = w.run(&["create", "old", "--description", "Old"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = w.run(&["history", "prune", "--before", "2100-01-01", "--json"]);
    assert_eq!(code, 0, "{out}{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["authoring"], 1, "{report:#}");
    assert_eq!(stats_json(&w, &[])["skills"], serde_json::json!([]));
}

#[test]
fn other_workspaces_are_kept_apart_and_global_skills_are_shown_everywhere() {
    let w = World::new();
    let (code, out, err) = w.run(&["create", "mine", "--description", "Here"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = w.run(&["create", "everywhere", "--global", "--description", "All"]);
    assert_eq!(code, 0, "{out}{err}");
    let other = w.tmp.path().join("other");
    std::fs::create_dir_all(other.join(".git")).unwrap();
    let run_in = |dir: &std::path::Path, args: &[&str]| {
        let out = w
            .command(&assert_cmd::cargo::cargo_bin("skillet"))
            .current_dir(dir)
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let there = run_in(&other, &["stats", "--authoring", "--json"]);
    let names: Vec<&str> = there["skills"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["skill"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["everywhere"], "{there:#}");
    assert_eq!(there["skills"][0]["scope"], "global");
    let here = stats_json(&w, &[]);
    assert_eq!(skill(&here, "mine")["scope"], "workspace");
    assert_eq!(skill(&here, "everywhere")["scope"], "global");
}

#[test]
fn stats_without_authoring_shows_runs_and_says_where_they_come_from() {
    let w = World::new();
    // Without runs: an answer, not an error, and where runs come from.
    let (code, out, err) = w.run(&["stats"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("no runs of any skill"), "{out}");
    let (code, out, _) = w.run(&["stats", "greet"]);
    assert_eq!(code, 0);
    assert!(out.contains("no runs of `greet`"), "{out}");
    // --since is for runs: with --authoring it is refused.
    let (code, _, err) = w.run(&["stats", "--authoring", "--since", "1h"]);
    assert_eq!(code, 2, "{err}");
    let (code, out, _) = w.run(&["stats", "--help"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("--authoring") && out.contains("keep_days"),
        "{out}"
    );
    assert!(
        out.contains("skillet stats --authoring count-lines"),
        "{out}"
    );
}

#[test]
fn each_dev_reload_after_a_save_is_timed() {
    let w = World::new();
    let (code, out, err) = w.run(&["create", "greet", "--description", "Greets"]);
    assert_eq!(code, 0, "{out}{err}");
    let mut child = w
        .command(&assert_cmd::cargo::cargo_bin("skillet"))
        .args(["dev", "greet", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    let (tx, lines) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let mut next_reload = |number: u64| -> Value {
        loop {
            let line = lines
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|_| panic!("no reload {number}; seen:\n{}", seen.join("\n")));
            seen.push(line.clone());
            if let Ok(v) = serde_json::from_str::<Value>(&line)
                && v["number"] == number
            {
                return v;
            }
        }
    };
    next_reload(0);
    let path = w.path(".skillet/skills/greet.json");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("Hello, {who}!", "Hi, {who}!")).unwrap();
    let reload = next_reload(1);
    assert_eq!(reload["run"]["stdout"], "Hi, world!\n", "{reload:#}");
    // The end of input stops `skillet dev` after the run in progress.
    drop(stdin);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "skillet dev did not stop"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");

    let greet = skill(&stats_json(&w, &[]), "greet").clone();
    // The first run is no save: one reload, timed as `skillet dev` reported it.
    assert_eq!(greet["dev_reloads"], 1, "{greet:#}");
    assert_eq!(greet["dev_median_ms"], reload["reload_ms"]);
    assert_eq!(greet["dev_p90_ms"], reload["reload_ms"]);
    let (_, out, _) = w.run(&["stats", "--authoring"]);
    let row = out.lines().find(|l| l.starts_with("greet ")).unwrap();
    assert!(
        row.contains(&format!("1: median {} ms", reload["reload_ms"])),
        "{row}"
    );
}
