//! `skillet history`: every execution leaves a record, kept across processes.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use common::World;
use serde_json::json;

fn history(w: &World, args: &[&str]) -> Vec<serde_json::Value> {
    let mut all = vec!["history", "--json"];
    all.extend_from_slice(args);
    let (code, stdout, stderr) = w.run(&all);
    assert_eq!(code, 0, "{stderr}");
    serde_json::from_str(&stdout).unwrap()
}

#[test]
fn every_execution_is_recorded_with_hashed_parameters() {
    let w = World::new();
    w.skill("echo", json!({"name": "echo", "description": "d", "type": "code_inline", "command": "sh",
        "args": ["-c", "echo \"$SKILL_PARAM_WORD\"; exit \"$SKILL_PARAM_CODE\""],
        "parameters": [{"name": "word", "type": "string"}, {"name": "code", "type": "integer", "default": 0}]}));
    let (_, ok) = w.run_json(&["echo", "-p", "word=secret-value"]);
    let (_, failed) = w.run_json(&["echo", "-p", "word=x", "-p", "code=3"]);
    w.run_json(&["no-such-skill"]);
    w.run_json(&["echo", "-p", "code=abc"]);

    let all = history(&w, &[]);
    let statuses: Vec<&str> = all.iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(
        statuses,
        ["invalid_params", "not_found", "failed", "ok"],
        "newest first"
    );
    let first = &all[3];
    assert_eq!(first["id"], ok["execution_id"]);
    assert_eq!(
        (
            first["skill"].as_str(),
            first["scope"].as_str(),
            first["version"].as_str()
        ),
        (Some("echo"), Some("workspace"), Some("0.0.0"))
    );
    assert!(
        first["params_hash"]
            .as_str()
            .unwrap()
            .starts_with("hmac-sha256:")
    );
    assert!(first["params"].is_null(), "values are not kept by default");
    assert!(
        !serde_json::to_string(&all)
            .unwrap()
            .contains("secret-value")
    );
    assert_eq!(all[2]["exit_code"], 3);
    assert!(all[2]["cpu_time_ms"].is_number());

    // Filters, and one execution by a prefix of its id.
    assert_eq!(history(&w, &["echo", "--status", "failed"]).len(), 1);
    assert_eq!(history(&w, &["--since", "1h"]).len(), 4);
    let id = failed["execution_id"].as_str().unwrap();
    let (code, stdout, _) = w.run(&["history", "show", &id[..30]]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains(&format!("id:          {id}")) && stdout.contains("exit code:   3"),
        "{stdout}"
    );
    let (code, _, stderr) = w.run(&["history", "--since", "soon"]);
    assert_eq!(code, 2, "a malformed option is a usage error");
    assert!(stderr.contains("expected a number and a unit"), "{stderr}");
}

#[test]
fn parameter_values_are_kept_only_when_the_user_asks() {
    let w = World::new();
    w.write(
        "~/.config/skillet/skillet.toml",
        "[history]\nstore_params = true\n",
    );
    w.skill(
        "p",
        json!({"name": "p", "description": "d", "type": "prompt_inline", "prompt_template": "{x}",
        "parameters": [{"name": "x", "type": "string"}]}),
    );
    w.run_json(&["p", "-p", "x=kept"]);
    let all = history(&w, &[]);
    assert_eq!(all[0]["params"], "{\"x\":\"kept\"}");
}

#[test]
fn an_unusable_database_never_stops_a_run() {
    let w = World::new();
    // The data directory is a file: the database cannot be created.
    w.write("~/.local/share/skillet", "not a directory");
    w.skill(
        "p",
        json!({"name": "p", "description": "d", "type": "prompt_inline", "prompt_template": "hi"}),
    );
    let (code, stdout, stderr) = w.run(&["run", "p"]);
    assert_eq!((code, stdout.as_str()), (0, "hi"));
    assert!(stderr.contains("executions are not recorded"), "{stderr}");
    let (code, _, stderr) = w.run(&["history"]);
    assert_eq!(code, 125);
    assert!(stderr.contains("cannot open the database"), "{stderr}");
}

/// A parameter's value cannot be guessed back from its hash: the hash is keyed with a key the
/// user alone can read (a plain SHA-256 of a PIN is found by hashing 10,000 guesses), equal
/// parameters still hash equally, and a skill cannot read the key.
#[test]
fn parameter_hashes_are_keyed_with_a_key_no_skill_can_read() {
    use sha2::{Digest, Sha256};
    use std::os::unix::fs::PermissionsExt as _;
    let w = World::new();
    w.skill(
        "pin",
        json!({"name": "pin", "description": "d", "type": "code_inline", "command": "true",
        "parameters": [{"name": "pin", "type": "string"}]}),
    );
    let key_file = w.path("~/.local/share/skillet/params.key");
    w.skill(
        "peek",
        json!({"name": "peek", "description": "d", "type": "code_inline", "command": "cat",
        "args": [key_file.to_str().unwrap()]}),
    );
    w.run_json(&["pin", "-p", "pin=1234"]);
    w.run_json(&["pin", "-p", "pin=1234"]);
    w.run_json(&["pin", "-p", "pin=9999"]);
    let hashes: Vec<String> = history(&w, &["pin"])
        .iter()
        .map(|r| r["params_hash"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(hashes.len(), 3, "{hashes:?}");
    assert_ne!(hashes[0], hashes[1], "different values, different hashes");
    assert_eq!(hashes[1], hashes[2], "equal values, equal hashes");
    // Not a hash anyone can repeat without the key.
    let plain = format!("{:x}", Sha256::digest(br#"{"pin":"1234"}"#));
    assert!(hashes.iter().all(|h| !h.contains(&plain)), "{hashes:?}");
    let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let key = std::fs::read(&key_file).unwrap();
    assert_eq!(key.len(), 32);
    // skillet's data directory is not a skill's to read.
    let (_, peek) = w.run_json(&["peek"]);
    assert_ne!(peek["status"], "ok", "{peek}");
    let shown = peek.to_string();
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    assert!(!shown.contains(&hex), "{peek}");
}
