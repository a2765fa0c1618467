//! Consent before anything lands: what each skill asks for is shown, a terminal is asked y/N,
//! anything else is refused without --yes (nothing installed); an update names the
//! permissions it adds and removes.

#![allow(clippy::unwrap_used)]

mod common;
#[path = "install_support/mod.rs"]
mod support;

use std::fs;
use std::io::Write;
use std::process::Stdio;

use common::World;
use serde_json::{Value, json};
use support::{package, packages};

fn asks_network() -> Value {
    json!({"network_access": true, "file_write": ["./out"], "env_passthrough": ["GITHUB_TOKEN"]})
}

#[test]
fn without_a_terminal_and_without_yes_nothing_is_installed() {
    let w = World::new();
    package(
        &w.tmp.path().join("kit"),
        "kit",
        "1.0.0",
        2,
        asks_network(),
        &[],
    );
    let (code, out, err) = w.run(&["install", "../kit"]);
    assert_eq!(code, 1, "refused: {out}{err}");
    assert!(
        err.contains("no terminal") && err.contains("--yes"),
        "{err}"
    );
    // The summary was shown: what each skill asks for, and that installing grants nothing.
    assert!(out.contains("network: any host"), "{out}");
    assert!(out.contains("writes: ./out"), "{out}");
    assert!(out.contains("environment variable: GITHUB_TOKEN"), "{out}");
    assert!(out.contains("grants nothing"), "{out}");
    assert!(!packages(&w.ws).join("kit").exists());
    assert!(!w.ws.join(".skillet/skillet.lock").exists());

    let (code, out, err) = w.run(&["install", "../kit", "--json"]);
    assert_eq!(code, 1, "{out}{err}");
    let answer: Value = serde_json::from_str(&out).unwrap();
    // Nothing was shown in JSON: the error does not point at permissions "above".
    let message = answer["error"]["message"].as_str().unwrap();
    let hint = answer["error"]["hint"].as_str().unwrap();
    assert!(message.contains("--yes"), "{answer}");
    assert!(!hint.contains("above"), "{answer}");
    assert!(
        hint.contains("without --json") && hint.contains("--dry-run --json"),
        "{answer}"
    );
    assert!(!packages(&w.ws).join("kit").exists());

    let (code, out, err) = w.run(&["install", "../kit", "--dry-run", "--json"]);
    assert_eq!(code, 0, "{err}");
    let plan: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(plan["dry_run"], true);
    let asks = &plan["installed"][0]["skills"][0]["asks"];
    assert!(
        asks.as_array()
            .unwrap()
            .iter()
            .any(|a| a == "network: any host"),
        "{plan}"
    );
    assert!(!packages(&w.ws).join("kit").exists());
}

/// `skillet install ../kit` on a pseudo-terminal (the `script` program), answering `answer`.
fn on_terminal(w: &World, answer: &str) -> (i32, String) {
    let bin = assert_cmd::cargo::cargo_bin("skillet");
    let mut cmd = w.command(std::path::Path::new("script"));
    cmd.args([
        "-qec",
        &format!("{} install ../kit", bin.display()),
        "/dev/null",
    ])
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(answer.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn on_a_terminal_the_answer_decides_and_no_is_the_default() {
    let w = World::new();
    package(
        &w.tmp.path().join("kit"),
        "kit",
        "1.0.0",
        1,
        asks_network(),
        &[],
    );
    for answer in ["\n", "n\n", "whatever\n"] {
        let (code, out) = on_terminal(&w, answer);
        assert!(out.contains("[y/N]"), "asked: {out}");
        assert_eq!(code, 1, "answer {answer:?}: {out}");
        assert!(!packages(&w.ws).join("kit").exists(), "answer {answer:?}");
    }
    let (code, out) = on_terminal(&w, "y\n");
    assert_eq!(code, 0, "{out}");
    assert!(packages(&w.ws).join("kit/skillet-package.toml").is_file());
}

#[test]
fn an_update_shows_the_version_and_the_permissions_it_adds_and_removes() {
    let w = World::new();
    let src = w.tmp.path().join("kit");
    package(
        &src,
        "kit",
        "1.0.0",
        2,
        json!({"file_write": ["./out"]}),
        &[],
    );
    let (code, _, err) = w.run(&["install", "../kit", "--yes"]);
    assert_eq!(code, 0, "{err}");

    fs::remove_dir_all(&src).unwrap();
    package(
        &src,
        "kit",
        "1.1.0",
        2,
        json!({"network_access": true}),
        &[],
    );
    let (code, out, err) = w.run(&["update", "--dry-run"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("update kit 1.0.0 -> 1.1.0"), "{out}");
    assert!(out.contains("kit-s00: + network: any host"), "{out}");
    assert!(out.contains("kit-s00: - writes: ./out"), "{out}");
    let installed = fs::read_to_string(packages(&w.ws).join("kit/skillet-package.toml")).unwrap();
    assert!(installed.contains("1.0.0"), "dry run changed nothing");

    let (code, _, err) = w.run(&["update"]);
    assert_eq!(code, 1, "an update asks consent too: {err}");
    assert!(err.contains("--yes"), "{err}");

    let (code, out, err) = w.run(&["update", "kit", "--yes", "--json"]);
    assert_eq!(code, 0, "{err}");
    let answer: Value = serde_json::from_str(&out).unwrap();
    let updated = &answer["updated"][0];
    assert_eq!(updated["previous"], "1.0.0");
    assert_eq!(updated["version"], "1.1.0");
    let changes: Vec<&str> = updated["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        changes.contains(&"kit-s01: + network: any host"),
        "{changes:?}"
    );
    let installed = fs::read_to_string(packages(&w.ws).join("kit/skillet-package.toml")).unwrap();
    assert!(installed.contains("1.1.0"));

    let (code, out, err) = w.run(&["update", "--yes"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Nothing to change"), "{out}");
}
