//! Helpers for the tests that attack skillet's path rules: a world with planted credentials,
//! skills that try to read or write past their policy, and what a user sees of the outcome.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::World;

/// What a planted secret contains: a run's output must never show it.
pub const SECRET: &str = "SECRET-8c1f";

/// A world with credentials planted in its home, as a developer's machine has.
pub fn world() -> World {
    let w = World::new();
    w.write("~/.ssh/id_rsa", SECRET);
    w.write(
        "~/.cargo/credentials.toml",
        &format!("token = \"{SECRET}\""),
    );
    w.write("~/.aws/credentials", SECRET);
    w
}

/// A workspace skill running `sh -c script` (with `args` after it).
pub fn sh(w: &World, name: &str, script: &str) {
    w.skill(
        name,
        json!({"name": name, "description": "d", "type": "code_inline",
            "command": super::interpreter("sh"), "args": ["-c", script]}),
    );
}

pub fn s(p: &Path) -> String {
    p.display().to_string()
}

/// Asserts the run's output shows no planted secret.
pub fn no_secret(r: &Value) {
    assert!(!r.to_string().contains(SECRET), "a secret leaked: {r}");
}

/// Asserts the skill really ran (so "nothing leaked" is not "nothing happened").
pub fn ran(r: &Value) {
    assert!(
        r["stdout"].as_str().unwrap_or("").contains("RAN"),
        "the skill did not run: {r}"
    );
}

/// Asserts the run was refused before anything ran, with a message containing `want`.
pub fn refused(code: i32, r: &Value, want: &str) {
    assert_ne!(code, 0, "{r}");
    assert_eq!(r["status"], "error", "{r}");
    let error = r["error"].as_str().unwrap_or("");
    assert!(error.contains(want), "expected {want:?} in: {error}");
    assert_eq!(r["stdout"], "", "{r}");
}

/// The policy `skillet run --dry-run --json` would give.
pub fn dry_policy(w: &World, args: &[&str]) -> Value {
    let mut all = vec!["run"];
    all.extend_from_slice(args);
    all.extend(["--dry-run", "--json"]);
    let (code, stdout, stderr) = w.run(&all);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    v["policy"].clone()
}

pub fn paths(v: &Value) -> Vec<PathBuf> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(PathBuf::from)
                .collect()
        })
        .unwrap_or_default()
}
