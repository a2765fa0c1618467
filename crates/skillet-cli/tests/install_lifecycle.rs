//! After an install: a file edited behind skillet's back (run refuses, verify names it),
//! `install --locked` on a second machine-like home reproducing the first, and uninstall
//! refused while another package depends on the one removed.

#![allow(clippy::unwrap_used)]

mod common;
#[path = "install_support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::fs;

use common::World;
use serde_json::{Value, json};
use support::{git_publish, package, packages, snapshot};

/// The installed files of a workspace, receipts left out (they hold this machine's times).
fn installed_files(w: &World) -> BTreeMap<String, Vec<u8>> {
    snapshot(&packages(&w.ws))
        .into_iter()
        .filter(|(p, _)| !p.ends_with(".skillet-receipt.json") && !p.starts_with('.'))
        .collect()
}

#[test]
fn a_file_edited_after_install_is_refused_by_run_and_named_by_verify() {
    let w = World::new();
    package(&w.tmp.path().join("kit"), "kit", "1.0.0", 2, json!({}), &[]);
    let (code, _, err) = w.run(&["install", "../kit", "--yes"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = w.run(&["run", "kit-s00"]);
    assert_eq!(code, 0, "runs as installed: {out}{err}");
    assert!(out.contains("hello from kit-s00"), "{out}");

    let edited = packages(&w.ws).join("kit/skills/kit-s00/skill.json");
    let text = fs::read_to_string(&edited)
        .unwrap()
        .replace("hello from", "tampered");
    fs::write(&edited, text).unwrap();

    let (code, out, err) = w.run(&["run", "kit-s00"]);
    assert_ne!(code, 0, "an edited skill is not run: {out}");
    assert!(!out.contains("tampered"), "{out}");
    assert!(err.contains("skills/kit-s00/skill.json"), "{err}");

    let (code, out, err) = w.run(&["verify"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("kit: changed skills/kit-s00/skill.json"),
        "{out}"
    );
    let (code, out, _) = w.run(&["verify", "--json"]);
    assert_eq!(code, 1);
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["clean"], false);
    assert_eq!(
        report["packages"][0]["changed"][0],
        "skills/kit-s00/skill.json"
    );

    let (code, _, err) = w.run(&["verify", "--accept"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = w.run(&["verify"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = w.run(&["run", "kit-s00"]);
    assert_eq!(code, 0, "accepted: {out}{err}");
    assert!(out.contains("tampered"), "{out}");
}

#[test]
fn install_locked_in_a_second_home_reproduces_the_first_file_for_file() {
    let first = World::new();
    package(
        &first.tmp.path().join("kit"),
        "kit",
        "1.0.0",
        3,
        json!({}),
        &[],
    );
    let work = first.tmp.path().join("gitkit");
    package(&work, "gitkit", "0.2.0", 2, json!({}), &[]);
    let url = git_publish(&work, "v0.2.0");
    let kit = first.tmp.path().join("kit");
    let kit = kit.to_str().unwrap();
    for what in [kit.to_owned(), format!("git+{url}#v0.2.0")] {
        let (code, _, err) = first.run(&["install", &what, "--yes"]);
        assert_eq!(code, 0, "{err}");
    }
    // The repository moves on: --locked still gets the commit the lock names.
    package(&work, "gitkit", "0.3.0", 2, json!({}), &[]);
    git_publish(&work, "v0.3.0");

    let lock = fs::read_to_string(first.ws.join(".skillet/skillet.lock")).unwrap();
    let second = World::new();
    second.write(".skillet/skillet.lock", &lock);
    let (code, out, err) = second.run(&["install", "--locked", "--yes"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        fs::read_to_string(second.ws.join(".skillet/skillet.lock")).unwrap(),
        lock,
        "the lock is unchanged"
    );
    assert!(
        installed_files(&second) == installed_files(&first),
        "the same files"
    );
    let (code, out, err) = second.run(&["verify"]);
    assert_eq!(code, 0, "{out}{err}");

    // Run again: nothing to do.
    let (code, out, err) = second.run(&["install", "--locked", "--yes"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("as skillet.lock says"), "{out}");

    // A source that changed since the lock was written fails, naming the file.
    fs::write(first.tmp.path().join("kit/skills/kit-s01/skill.json"), "{}").unwrap();
    let third = World::new();
    third.write(".skillet/skillet.lock", &lock);
    let (code, out, err) = third.run(&["install", "--locked", "--yes"]);
    assert_ne!(code, 0, "{out}");
    assert!(
        err.contains("kit") && err.contains("skills/kit-s01/skill.json"),
        "{err}"
    );
    assert!(!packages(&third.ws).join("kit").exists());

    // A name not in the lock would change it: refused under --locked.
    let (code, _, err) = second.run(&["install", "other", "--locked", "--yes"]);
    assert_ne!(code, 0);
    assert!(err.contains("would change skillet.lock"), "{err}");
}

#[test]
fn uninstall_is_refused_while_another_package_depends_on_it() {
    let w = World::new();
    package(
        &w.tmp.path().join("base"),
        "base",
        "1.4.0",
        1,
        json!({}),
        &[],
    );
    package(
        &w.tmp.path().join("app"),
        "app",
        "2.0.0",
        1,
        json!({}),
        &[("base", "^1.2")],
    );
    // app needs base: with base missing, installing app says what to do.
    let (code, _, err) = w.run(&["install", "../app", "--yes"]);
    assert_ne!(code, 0);
    assert!(err.contains("app 2.0.0 needs base ^1.2"), "{err}");
    for p in ["../base", "../app"] {
        let (code, _, err) = w.run(&["install", p, "--yes"]);
        assert_eq!(code, 0, "{err}");
    }
    let (code, _, err) = w.run(&["uninstall", "base"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("base is needed by app"), "{err}");
    assert!(packages(&w.ws).join("base").is_dir());

    let (code, out, err) = w.run(&["uninstall", "app", "--prune", "--json"]);
    assert_eq!(code, 0, "{err}");
    let answer: Value = serde_json::from_str(&out).unwrap();
    let removed: Vec<&str> = answer["removed"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    // base was asked for by the user: --prune keeps it.
    assert_eq!(removed, ["app"]);
    assert!(!packages(&w.ws).join("app").exists());
    let (code, _, err) = w.run(&["uninstall", "base"]);
    assert_eq!(code, 0, "{err}");
    assert!(!packages(&w.ws).join("base").exists());
    let lock = fs::read_to_string(w.ws.join(".skillet/skillet.lock")).unwrap();
    assert!(!lock.contains("[[package]]"), "{lock}");
}

#[test]
fn a_dependency_cycle_is_uninstalled_together_unless_something_outside_needs_it() {
    let w = World::new();
    let root = w.tmp.path();
    package(
        &root.join("cyc-a"),
        "cyc-a",
        "1.0.0",
        1,
        json!({}),
        &[("cyc-b", "^1")],
    );
    package(
        &root.join("cyc-b"),
        "cyc-b",
        "1.0.0",
        1,
        json!({}),
        &[("cyc-a", "^1")],
    );
    package(
        &root.join("user"),
        "user",
        "1.0.0",
        1,
        json!({}),
        &[("cyc-b", "^1")],
    );
    let (code, _, err) = w.run(&["install", "../cyc-a", "../cyc-b", "../user", "--yes"]);
    assert_eq!(code, 0, "{err}");

    // user, outside the cycle, needs cyc-b: the cycle stays, and the error says who needs it.
    let (code, _, err) = w.run(&["uninstall", "cyc-a"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("cyc-a (with cyc-b, in a dependency cycle with it) is needed by user"),
        "{err}"
    );
    assert!(packages(&w.ws).join("cyc-a").is_dir());
    let (code, _, err) = w.run(&["uninstall", "user"]);
    assert_eq!(code, 0, "{err}");

    // Only the cycle's own members need each other: both go, and the output names both.
    let (code, out, err) = w.run(&["uninstall", "cyc-a"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains("cyc-a is in a dependency cycle with cyc-b: removing them together"),
        "{err}"
    );
    assert!(
        out.contains("Removed cyc-a.") && out.contains("Removed cyc-b."),
        "{out}"
    );
    assert!(!packages(&w.ws).join("cyc-a").exists());
    assert!(!packages(&w.ws).join("cyc-b").exists());
    let lock = fs::read_to_string(w.ws.join(".skillet/skillet.lock")).unwrap();
    assert!(!lock.contains("[[package]]"), "{lock}");
}

#[test]
fn uninstall_takes_yes_like_install_and_update() {
    let w = World::new();
    package(&w.tmp.path().join("kit"), "kit", "1.0.0", 1, json!({}), &[]);
    let (code, _, err) = w.run(&["install", "../kit", "--yes"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = w.run(&["uninstall", "kit", "--yes"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(!packages(&w.ws).join("kit").exists());
}

#[test]
fn verify_names_a_package_folder_swapped_for_a_link_never_an_empty_path() {
    let w = World::new();
    package(&w.tmp.path().join("kit"), "kit", "1.0.0", 1, json!({}), &[]);
    let (code, _, err) = w.run(&["install", "../kit", "--yes"]);
    assert_eq!(code, 0, "{err}");
    let dir = packages(&w.ws).join("kit");
    let elsewhere = w.tmp.path().join("elsewhere");
    fs::rename(&dir, &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &dir).unwrap();
    let (code, out, err) = w.run(&["verify"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("is a symbolic link") && out.contains(&dir.display().to_string()),
        "{out}"
    );
    assert!(
        !out.lines().any(|l| l.trim_end().ends_with("added")),
        "{out}"
    );
    let (_, out, _) = w.run(&["verify", "--json"]);
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["packages"][0]["added"], json!([]), "{report}");
}

/// Renames the first skill of the package at `dir` to `name` (its folder stays).
fn rename_first_skill(dir: &std::path::Path, package_name: &str, name: &str) {
    let file = dir.join(format!("skills/{package_name}-s00/skill.json"));
    let mut spec: Value = serde_json::from_str(&fs::read_to_string(&file).unwrap()).unwrap();
    spec["name"] = json!(name);
    spec["args"] = json!([format!("{package_name} answers as {name}")]);
    fs::write(&file, spec.to_string()).unwrap();
}

#[test]
fn a_package_cannot_take_a_skill_name_another_installed_package_answers_to() {
    let w = World::new();
    let root = w.tmp.path();
    package(&root.join("zeta"), "zeta", "1.0.0", 1, json!({}), &[]);
    let (code, _, err) = w.run(&["install", "../zeta", "--yes"]);
    assert_eq!(code, 0, "{err}");
    // A package whose folder sorts first, with a skill of the same name.
    package(&root.join("aaa"), "aaa", "1.0.0", 2, json!({}), &[]);
    rename_first_skill(&root.join("aaa"), "aaa", "zeta-s00");
    // A later version of a package already installed that takes the name.
    package(&root.join("mid1"), "mid", "1.0.0", 1, json!({}), &[]);
    package(&root.join("mid2"), "mid", "2.0.0", 1, json!({}), &[]);
    rename_first_skill(&root.join("mid2"), "mid", "zeta-s00");
    let (code, _, err) = w.run(&["install", "../mid1", "--yes"]);
    assert_eq!(code, 0, "{err}");

    for args in [
        vec!["install", "../aaa", "--yes"],
        vec!["install", "../mid2", "--yes"],
        vec!["install", "../aaa", "--yes", "--dry-run"],
    ] {
        let (code, out, err) = w.run(&args);
        assert_ne!(code, 0, "{args:?}: {out}");
        assert!(
            err.contains("answers to `zeta-s00` (a skill's name or alias), and so does package zeta, installed in this scope"),
            "{args:?}: {err}"
        );
        let (code, out, err) = w.run(&["run", "zeta-s00"]);
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("hello from zeta-s00"), "{args:?}: {out}");
    }
    assert!(!packages(&w.ws).join("aaa").exists());
    assert_eq!(version_of(&w, "mid"), "1.0.0");

    // Two packages in one command that clash with each other are refused together.
    package(&root.join("p1"), "p1", "1.0.0", 1, json!({}), &[]);
    package(&root.join("p2"), "p2", "1.0.0", 1, json!({}), &[]);
    rename_first_skill(&root.join("p2"), "p2", "p1-s00");
    let (code, _, err) = w.run(&["install", "../p1", "../p2", "--yes"]);
    assert_ne!(code, 0);
    assert!(
        err.contains("answers to `p1-s00` (a skill's name or alias), and so does package p1, installed by this same command"),
        "{err}"
    );
    assert!(!packages(&w.ws).join("p1").exists());
}

/// Gives the first skill of the package at `dir` the aliases `aliases`.
fn alias_first_skill(dir: &std::path::Path, package_name: &str, aliases: &[&str]) {
    let file = dir.join(format!("skills/{package_name}-s00/skill.json"));
    let mut spec: Value = serde_json::from_str(&fs::read_to_string(&file).unwrap()).unwrap();
    spec["aliases"] = json!(aliases);
    fs::write(&file, spec.to_string()).unwrap();
}

#[test]
fn an_alias_is_a_name_no_later_package_may_take_either_way() {
    let w = World::new();
    let root = w.tmp.path();
    // Installed: `tools`, whose skill answers to `ship` too.
    package(&root.join("zz-tools"), "tools", "1.0.0", 1, json!({}), &[]);
    alias_first_skill(&root.join("zz-tools"), "tools", &["ship"]);
    let (code, _, err) = w.run(&["install", "../zz-tools", "--yes"]);
    assert_eq!(code, 0, "{err}");
    // A skill named like the alias, an alias like the alias, an alias like the skill's name.
    package(&root.join("a1"), "aone", "1.0.0", 1, json!({}), &[]);
    rename_first_skill(&root.join("a1"), "aone", "ship");
    package(&root.join("a2"), "atwo", "1.0.0", 1, json!({}), &[]);
    alias_first_skill(&root.join("a2"), "atwo", &["ship"]);
    package(&root.join("a3"), "athree", "1.0.0", 1, json!({}), &[]);
    alias_first_skill(&root.join("a3"), "athree", &["tools-s00"]);
    for (folder, name) in [("../a1", "ship"), ("../a2", "ship"), ("../a3", "tools-s00")] {
        let (code, out, err) = w.run(&["install", folder, "--yes"]);
        assert_ne!(code, 0, "{folder}: {out}");
        assert!(
            err.contains(&format!("answers to `{name}`")) && err.contains("package tools"),
            "{folder}: {err}"
        );
        let (code, out, err) = w.run(&["run", "ship"]);
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("hello from tools-s00"), "{folder}: {out}");
    }
}

fn version_of(w: &World, name: &str) -> String {
    let (_, out, _) = w.run(&["list", "--installed", "--json"]);
    let list: Value = serde_json::from_str(&out).unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .map(|r| r["version"].as_str().unwrap().to_owned())
        .unwrap_or_default()
}
