//! An installed package's skill runs as installed, and is refused by `skillet run` (and shown
//! broken by `list`, `info` and `validate`) as soon as one of its files changes, is removed or
//! is added.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::fs;
use std::path::PathBuf;

use common::{World, interpreter};
use serde_json::json;
use skillet_registry::packages::{PACKAGES_DIR, PackageReceipt};

/// Installs package `kit` by hand, as `skillet install` leaves it: its files, then its receipt.
/// `~/` for the global scope, else the workspace.
fn install_kit(w: &World, scope_dir: &str) -> PathBuf {
    let base = format!("{scope_dir}/{PACKAGES_DIR}/kit");
    w.write(
        &format!("{base}/skills/greet/skill.json"),
        &json!({"name": "greet", "description": "say hello", "type": "code_inline",
            "command": interpreter("sh"), "args": ["scripts/greet.sh"]})
        .to_string(),
    );
    w.write(
        &format!("{base}/skills/greet/scripts/greet.sh"),
        "echo hello from kit\n",
    );
    let dir = w.path(&base);
    PackageReceipt::for_tree("kit", "1.0.0", vec!["skills/greet".into()], &dir)
        .unwrap()
        .write(&dir)
        .unwrap();
    dir
}

fn assert_refused(w: &World, file: &std::path::Path, what: &str) {
    let (code, stdout, stderr) = w.run(&["run", "greet"]);
    assert_eq!(code, 125, "stdout: {stdout}\nstderr: {stderr}");
    assert!(!stdout.contains("hello from kit"), "{stdout}");
    let all = format!("{stdout}{stderr}");
    for needle in [
        file.display().to_string().as_str(),
        what,
        "run `skillet verify` to see every change",
        "skillet verify --accept",
    ] {
        assert!(all.contains(needle), "{needle:?} not in:\n{all}");
    }
    let (_, stdout, _) = w.run(&["list"]);
    let line = stdout.lines().find(|l| l.starts_with("greet")).unwrap();
    assert!(
        line.contains("BROKEN") && line.contains("package:kit"),
        "{stdout}"
    );
    let (_, stdout, _) = w.run(&["list", "--json"]);
    let rows: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(rows[0]["valid"], false);
    assert!(
        rows[0]["errors"][0].as_str().unwrap().contains(what),
        "{rows}"
    );
    let (code, _, _) = w.run(&["validate"]);
    assert_ne!(code, 0);
}

#[test]
fn an_installed_skill_runs_until_a_file_changes_then_is_refused() {
    let w = World::new();
    let dir = install_kit(&w, ".skillet");
    let (code, stdout, stderr) = w.run(&["run", "greet"]);
    assert_eq!(code, 0, "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.contains("hello from kit"), "{stdout}");

    let (_, stdout, _) = w.run(&["list"]);
    let line = stdout.lines().find(|l| l.starts_with("greet")).unwrap();
    assert!(
        line.contains("package:kit") && !line.contains("BROKEN"),
        "{stdout}"
    );
    let (_, stdout, _) = w.run(&["list", "--json"]);
    let rows: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(rows[0]["scope"], "package");
    assert_eq!(rows[0]["package"]["name"], "kit");
    assert_eq!(rows[0]["package"]["version"], "1.0.0");
    assert_eq!(rows[0]["package"]["scope"], "workspace");
    let (_, stdout, _) = w.run(&["info", "greet"]);
    assert!(
        stdout.contains("package:     kit 1.0.0 (workspace scope)"),
        "{stdout}"
    );

    let script = dir.join("skills/greet/scripts/greet.sh");
    fs::write(&script, "echo pwned\n").unwrap();
    assert_refused(&w, &script, "was modified");
}

#[test]
fn a_planted_or_removed_file_in_a_global_package_is_refused_too() {
    let w = World::new();
    let dir = install_kit(&w, "~/.config/skillet");
    let (code, stdout, stderr) = w.run(&["run", "greet"]);
    assert_eq!(code, 0, "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.contains("hello from kit"), "{stdout}");

    let planted = dir.join("skills/greet/scripts/extra.sh");
    fs::write(&planted, "echo extra\n").unwrap();
    assert_refused(&w, &planted, "was added");
    fs::remove_file(&planted).unwrap();
    let (code, _, stderr) = w.run(&["run", "greet"]);
    assert_eq!(code, 0, "{stderr}");

    let script = dir.join("skills/greet/scripts/greet.sh");
    fs::remove_file(&script).unwrap();
    assert_refused(&w, &script, "was removed");
}
