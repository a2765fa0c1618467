//! Files skillet writes where a repository chose the name (`test --junit FILE`, `migrate
//! --write`'s skill file and its `.bak`) replace whatever link sits there and never write
//! through it: a cloned repository that ships `report.xml -> ~/.ssh/authorized_keys` must not
//! get the user's key file overwritten.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::fs;
use std::os::unix::fs::symlink;

use common::World;
use serde_json::json;

/// A file of the user's outside the workspace, and whether it still holds what it held.
fn victim(w: &World, name: &str) -> std::path::PathBuf {
    w.write(&format!("~/{name}"), "the user's own\n")
}

fn untouched(path: &std::path::Path) {
    assert_eq!(
        fs::read_to_string(path).unwrap(),
        "the user's own\n",
        "{} was written through a link",
        path.display()
    );
}

fn plain_file_holding(path: &std::path::Path, needle: &str) {
    let meta = fs::symlink_metadata(path).unwrap();
    assert!(
        meta.file_type().is_file(),
        "{} is not a plain file",
        path.display()
    );
    let text = fs::read_to_string(path).unwrap();
    assert!(text.contains(needle), "{}: {text}", path.display());
}

#[test]
fn a_junit_report_replaces_a_link_the_repository_ships() {
    let w = World::new();
    w.skill(
        "hello",
        json!({"name": "hello", "description": "d", "type": "code_inline",
               "command": "/bin/echo", "args": ["hi"],
               "tests": [{"expect": {"stdout_contains": "bye"}}]}),
    );
    let existing = victim(&w, "authorized_keys");
    symlink(&existing, w.path("report.xml")).unwrap();
    // A dangling link must not create the file it points at either.
    let absent = w.home.join(".bashrc");
    fs::create_dir_all(w.path("reports")).unwrap();
    symlink(&absent, w.path("reports/junit.xml")).unwrap();
    // Nor a link to a link.
    let inner = victim(&w, "gitconfig");
    symlink(&inner, w.path("hop")).unwrap();
    symlink(w.path("hop"), w.path("chain.xml")).unwrap();

    for (report, target) in [
        ("report.xml", Some(&existing)),
        ("reports/junit.xml", None),
        ("chain.xml", Some(&inner)),
    ] {
        let (code, out, err) = w.run(&["test", "--junit", report]);
        assert_eq!(
            code, 1,
            "the test fails, the report is still written: {out}{err}"
        );
        plain_file_holding(&w.path(report), "<testsuites");
        match target {
            Some(t) => untouched(t),
            None => assert!(!absent.exists(), "the dangling link's target was created"),
        }
    }
    untouched(&inner);
}

#[test]
fn migrate_write_replaces_links_at_the_skill_and_its_backup() {
    let w = World::new();
    let old = "{\"name\": \"old\",\n\"description\": \"legacy\",\n\"prompt\": \"hello\"}\n";
    w.write(".q-skills/old.json", old);
    let bashrc = victim(&w, ".bashrc");
    symlink(&bashrc, w.path(".q-skills/old.json.bak")).unwrap();
    let other = victim(&w, "victim2");
    symlink(&other, w.path(".q-skills/old.json.tmp")).unwrap();
    symlink(&other, w.path(".q-skills/old.tmp")).unwrap();

    let (code, out, err) = w.run(&["migrate", ".q-skills/old.json", "--write"]);
    assert_eq!(code, 0, "{out}{err}");
    untouched(&bashrc);
    untouched(&other);
    plain_file_holding(&w.path(".q-skills/old.json.bak"), "\"prompt\": \"hello\"");
    plain_file_holding(&w.path(".q-skills/old.json"), "prompt_inline");
}

#[test]
fn create_does_not_follow_a_linked_skillet_directory() {
    let w = World::new();
    let global = w.home.join(".config/skillet");
    fs::create_dir_all(global.join("skills")).unwrap();
    symlink(&global, w.path(".skillet")).unwrap();
    let (code, out, err) = w.run(&["create", "hello"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("is a symbolic link"), "{err}");
    assert!(!global.join("skills/hello.json").exists());

    fs::remove_file(w.path(".skillet")).unwrap();
    fs::create_dir(w.path(".skillet")).unwrap();
    symlink(global.join("skills"), w.path(".skillet/skills")).unwrap();
    let (code, out, err) = w.run(&["create", "hello"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        fs::read_dir(global.join("skills"))
            .unwrap()
            .next()
            .is_none()
    );
}
