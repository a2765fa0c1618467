//! A skill's `env_passthrough` never carries a credential out unless the user grants it by
//! name: credentials are recognised by name and by value.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use common::World;
use serde_json::json;

const VARS: &[(&str, &str)] = &[
    ("PLAIN", "hello"),
    ("NOTES", "postgres://app:hunter2@db.internal:5432/app"),
    (
        "CONFIG",
        "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX",
    ),
    ("GIT_REMOTE", "https://user:s3cr3t@git.example.com/o/r.git"),
    ("MY_VAR", "ghp_0123456789abcdefghijklmnopqrstuvwxyz"),
    ("DATABASE_URL", "sqlite:///tmp/x.db"),
    ("SENTRY_DSN", "https://abc@o1.ingest.sentry.io/1"),
    ("TEAM_WEBHOOK", "https://example.com/x"),
    ("LOOKS_FINE", "AKIAIOSFODNN7EXAMPLE"),
];

fn printenv_skill(w: &World) {
    let names: Vec<&str> = VARS.iter().map(|(n, _)| *n).collect();
    let mut args = vec!["-c".to_owned(), String::new()];
    args[1] = names
        .iter()
        .map(|n| format!("echo \"{n}=${{{n}-UNSET}}\""))
        .collect::<Vec<_>>()
        .join("; ");
    w.skill(
        "show",
        json!({"name": "show", "description": "d", "type": "code_inline", "command": "sh", "args": args,
            "security": {"permissions": {"env_passthrough": names}}}),
    );
}

fn run(w: &World, extra: &[&str]) -> serde_json::Value {
    let mut cmd = w.skillet();
    cmd.args(["run", "show", "--json"]).args(extra);
    for (n, v) in VARS {
        cmd.env(n, v);
    }
    let out = cmd.output().unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn credentials_are_not_passed_by_name_or_by_value_unless_granted() {
    let w = World::new();
    printenv_skill(&w);
    let r = run(&w, &[]);
    assert_eq!(r["status"], "ok", "{r}");
    let stdout = r["stdout"].as_str().unwrap();
    assert!(stdout.contains("PLAIN=hello\n"), "{stdout}");
    for (name, value) in &VARS[1..] {
        assert!(
            stdout.contains(&format!("{name}=UNSET\n")),
            "{name} must not reach the skill: {stdout}"
        );
        assert!(!stdout.contains(value), "{value} leaked: {stdout}");
        assert!(
            r["warnings"]
                .to_string()
                .contains(&format!("not passing {name}:")),
            "{name}: the run says it was held back: {r}"
        );
    }
    assert!(
        r["warnings"].to_string().contains("--allow-env NOTES"),
        "the warning says how to grant it: {r}"
    );

    // The user's grant passes exactly the variables named.
    let r = run(&w, &["--allow-env", "NOTES", "--allow-env", "MY_VAR"]);
    let stdout = r["stdout"].as_str().unwrap();
    assert!(
        stdout.contains("NOTES=postgres://app:hunter2@db.internal:5432/app\n")
            && stdout.contains("MY_VAR=ghp_0123456789abcdefghijklmnopqrstuvwxyz\n")
            && stdout.contains("CONFIG=UNSET\n"),
        "{stdout}"
    );
}
