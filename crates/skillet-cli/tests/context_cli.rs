//! `skillet context`: which project files a skill reads, in which order, and what changed.

#![allow(clippy::unwrap_used)]

mod common;

use common::World;
use serde_json::{Value, json};

fn context(w: &World, args: &[&str]) -> Value {
    let mut all = vec!["context"];
    all.extend_from_slice(args);
    all.push("--json");
    let (code, out, err) = w.run(&all);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

fn paths(v: &Value) -> Vec<String> {
    v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn chooses_in_order_of_relevance_and_tracks_changes() {
    let w = World::new();
    w.skill(
        "explain",
        json!({"name": "explain", "type": "conversation", "prompt": "Explain {file}.",
               "parameters": [{"name": "file", "type": "string", "default": ""}],
               "context_files": {"patterns": ["NOTES.md", "src/**/*.rs"],
                                 "exclude": ["src/generated/**"], "max_files": 4,
                                 "max_file_size_kb": 1}}),
    );
    w.write("NOTES.md", "notes\n");
    w.write("src/lib.rs", "lib\n");
    w.write("src/a/b/deep.rs", "deep\n");
    w.write("src/ignored.rs", "ignored\n");
    w.write(".gitignore", "src/ignored.rs\n");
    w.write("src/generated/x.rs", "x\n");
    w.write("src/big.rs", &"x".repeat(4096));
    w.write("src/bin.rs", "\0\u{1}");

    let first = context(&w, &["explain", "--param", "file=src/a/b/deep.rs"]);
    assert_eq!(paths(&first), ["NOTES.md", "src/a/b/deep.rs", "src/lib.rs"]);
    let whys: Vec<&str> = first["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["why"].as_str().unwrap())
        .collect();
    assert_eq!(whys, ["explicit", "named", "recent"]);
    let skipped: Vec<(&str, &str)> = first["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["path"].as_str().unwrap(), s["reason"].as_str().unwrap()))
        .collect();
    assert!(
        skipped.contains(&("src/big.rs", "too_large")),
        "{skipped:?}"
    );
    assert!(skipped.contains(&("src/bin.rs", "binary")), "{skipped:?}");
    assert!(
        !skipped
            .iter()
            .any(|(p, _)| p.contains("ignored") || p.contains("generated"))
    );
    assert_eq!(
        first["changes"],
        json!([null, null, null]),
        "no history yet"
    );

    // Same bytes saved again, a real change, and a file gone.
    std::fs::write(w.path("NOTES.md"), "notes\n").unwrap();
    std::fs::write(w.path("src/lib.rs"), "lib changed\n").unwrap();
    std::fs::remove_file(w.path("src/a/b/deep.rs")).unwrap();
    w.write("src/new.rs", "new\n");
    let second = context(&w, &["explain"]);
    let changes: Vec<(String, Value)> = paths(&second)
        .into_iter()
        .zip(second["changes"].as_array().unwrap().iter().cloned())
        .collect();
    assert!(
        changes.contains(&("src/lib.rs".into(), json!("changed"))),
        "{changes:?}"
    );
    assert!(
        changes.contains(&("src/new.rs".into(), json!("new"))),
        "{changes:?}"
    );
    let notes = changes.iter().find(|(p, _)| p == "NOTES.md").unwrap();
    assert!(
        notes.1 == json!("touched") || notes.1 == json!("unchanged"),
        "{notes:?}"
    );
    assert_eq!(second["dropped"], json!(["src/a/b/deep.rs"]));

    let third = context(&w, &["explain"]);
    assert!(
        third["changes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c == "unchanged"),
        "{third}"
    );

    let (code, table, _) = w.run(&["context", "explain"]);
    assert_eq!(code, 0);
    assert!(
        table.contains("FILE") && table.contains("unchanged") && table.contains("tokens"),
        "{table}"
    );
}

#[test]
fn a_skill_without_context_files_says_so() {
    let w = World::new();
    w.skill(
        "plain",
        json!({"name": "plain", "type": "code_inline", "command": "true"}),
    );
    let (code, _, err) = w.run(&["context", "plain"]);
    assert_ne!(code, 0);
    assert!(err.contains("`plain` has no context_files"), "{err}");
}

#[test]
fn files_that_hold_credentials_are_never_chosen() {
    let w = World::new();
    w.skill(
        "leak",
        json!({"name": "leak", "type": "conversation", "prompt": "x",
               "context_files": {"patterns": ["config/*", "deploy/prod.env", "**/*.pem", ".env"]}}),
    );
    w.write(".env", "API_KEY=one\n");
    w.write("config/credentials", "aws_secret_access_key=two\n");
    w.write("config/settings.toml", "debug = true\n");
    w.write("deploy/prod.env", "TOKEN=three\n");
    w.write("certs/server.pem", "-----BEGIN PRIVATE KEY-----\n");
    let chosen = context(&w, &["leak"]);
    assert_eq!(paths(&chosen), ["config/settings.toml"]);
    let secret: Vec<&str> = chosen["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["reason"] == "secret")
        .map(|s| s["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        secret.len(),
        3,
        "config/credentials, deploy/prod.env, certs/server.pem: {chosen}"
    );
}
