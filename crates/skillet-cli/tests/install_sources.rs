//! `skillet install` from each kind of source, through the real binary: a folder of 20 skills,
//! a bare git repository over file:// at a tag, and an archive from an HTTP server on loopback
//! checked against its sha256. Then `list --installed`, `info PACKAGE`, `verify`.

#![allow(clippy::unwrap_used)]

mod common;
#[path = "install_support/mod.rs"]
mod support;

use std::fs;

use common::World;
use serde_json::{Value, json};
use support::{archive, git_publish, package, packages, serve};

fn installed(w: &World) -> Value {
    let (code, out, err) = w.run(&["list", "--installed", "--json"]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[test]
fn a_folder_of_twenty_skills_installs_and_every_skill_is_found() {
    let w = World::new();
    package(
        &w.tmp.path().join("kit"),
        "kit",
        "1.2.0",
        20,
        json!({}),
        &[],
    );
    let (code, out, err) = w.run(&["install", "../kit", "--yes", "--json"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let answer: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(answer["installed"][0]["name"], "kit");
    assert_eq!(answer["installed"][0]["version"], "1.2.0");
    assert_eq!(
        answer["installed"][0]["skills"].as_array().unwrap().len(),
        20
    );
    assert_eq!(answer["scope"], "workspace");

    let dir = packages(&w.ws).join("kit");
    assert!(dir.join("skills/kit-s19/skill.json").is_file());
    assert!(dir.join(".skillet-receipt.json").is_file());
    let lock = fs::read_to_string(w.ws.join(".skillet/skillet.lock")).unwrap();
    assert!(lock.contains("name = \"kit\""), "{lock}");
    assert!(lock.contains("skills/kit-s07/skill.json"), "{lock}");
    // Nothing left in staging, no journal.
    assert_eq!(
        fs::read_dir(packages(&w.ws).join(".staging"))
            .unwrap()
            .count(),
        0
    );
    assert!(!packages(&w.ws).join(".install-journal.json").exists());

    let list = installed(&w);
    assert_eq!(list[0]["name"], "kit");
    assert_eq!(list[0]["version"], "1.2.0");
    let (code, out, _) = w.run(&["list", "--json"]);
    assert_eq!(code, 0);
    let skills: Value = serde_json::from_str(&out).unwrap();
    let names: Vec<&str> = skills
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["scope"] == "package")
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(names.len(), 20, "{out}");

    let (code, out, err) = w.run(&["info", "kit"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("kit 1.2.0"), "{out}");
    assert!(out.contains("kit-s00"), "{out}");

    let (code, out, err) = w.run(&["verify"]);
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn a_bare_git_repository_over_file_url_installs_at_a_tag_and_records_the_commit() {
    let w = World::new();
    let work = w.tmp.path().join("gitkit");
    package(&work, "gitkit", "1.0.0", 3, json!({}), &[]);
    let url = git_publish(&work, "v1.0.0");
    let v1 = support::sh(&work, "git", &["rev-parse", "HEAD"]);
    // A newer commit on the default branch: the tag must still give 1.0.0.
    package(&work, "gitkit", "2.0.0", 3, json!({}), &[]);
    git_publish(&work, "v2.0.0");

    let (code, out, err) = w.run(&["install", &format!("git+{url}#v1.0.0"), "--yes", "--json"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let answer: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(answer["installed"][0]["version"], "1.0.0");
    assert_eq!(answer["installed"][0]["source"]["commit"], v1.as_str());
    let dir = packages(&w.ws).join("gitkit");
    assert!(
        !dir.join(".git").exists(),
        "the repository itself is not installed"
    );
    let lock = fs::read_to_string(w.ws.join(".skillet/skillet.lock")).unwrap();
    assert!(lock.contains(&v1), "{lock}");
}

#[test]
fn an_archive_from_a_loopback_server_installs_only_with_its_sha256() {
    let w = World::new();
    let src = w.tmp.path().join("arckit");
    package(&src, "arckit", "0.3.0", 2, json!({}), &[]);
    let tgz = w.tmp.path().join("arckit.tar.gz");
    let digest = archive(&src, &tgz);
    let base = serve(fs::read(&tgz).unwrap());
    let url = format!("{base}/arckit.tar.gz");

    let wrong = "0".repeat(64);
    let (code, out, err) = w.run(&["install", &url, "--sha256", &wrong, "--yes"]);
    assert_ne!(code, 0, "{out}");
    assert!(
        err.contains("arckit.tar.gz"),
        "the error names the source: {err}"
    );
    assert!(!packages(&w.ws).join("arckit").exists());

    let (code, out, err) = w.run(&["install", &url, "--sha256", &digest, "--yes", "--json"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let answer: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(answer["installed"][0]["name"], "arckit");
    assert_eq!(answer["installed"][0]["source"]["sha256"], digest.as_str());
    assert!(
        packages(&w.ws)
            .join("arckit/skills/arckit-s01/skill.json")
            .is_file()
    );
}

#[test]
fn a_missing_folder_or_an_unknown_form_says_what_to_give_instead() {
    let w = World::new();
    let (code, out, err) = w.run(&["install", "./nonexist", "--yes"]);
    assert_ne!(code, 0, "{out}");
    assert!(err.contains("nonexist does not exist"), "{err}");
    assert!(
        err.contains("give the folder that holds the package"),
        "{err}"
    );
    assert!(!err.contains("No such file or directory"), "{err}");

    // A folder that is no package, and a Claude Code plugin without its plugin.json, are
    // named as typed, never by the staging folder they were read in.
    let plain = w.tmp.path().join("notes");
    std::fs::create_dir_all(&plain).unwrap();
    std::fs::write(plain.join("README.md"), "hi").unwrap();
    let plugin = w.tmp.path().join("plugin-dev");
    std::fs::create_dir_all(plugin.join("skills/hooks")).unwrap();
    std::fs::write(
        plugin.join("skills/hooks/SKILL.md"),
        "---\nname: hooks\ndescription: d\n---\nBody\n",
    )
    .unwrap();
    for (folder, says) in [
        ("../notes", "is not a package"),
        ("../plugin-dev", "install it from there"),
    ] {
        let (code, _, err) = w.run(&["install", folder, "--yes"]);
        assert_ne!(code, 0, "{folder}");
        assert!(err.contains(says), "{folder}: {err}");
        assert!(!err.contains(".staging"), "{folder}: {err}");
        let name = folder.trim_start_matches("../");
        assert!(
            err.contains(&format!("{name} ")),
            "{folder}: the error names it: {err}"
        );
    }

    // The list of accepted forms is one indented block, its first line included.
    let (code, _, err) = w.run(&["install", "ftp://host/pkg", "--yes"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("write one of:\n  NAME "), "{err}");
}

/// The version `list --installed` shows for `name`.
fn version_of(w: &World, name: &str) -> String {
    let list = installed(w);
    let row = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("{name} not installed: {list}"));
    row["version"].as_str().unwrap().to_owned()
}

#[test]
fn update_of_a_git_package_stays_on_the_branch_or_tag_it_was_installed_at() {
    let w = World::new();
    let work = w.tmp.path().join("gitkit");
    package(&work, "gitkit", "1.0.0", 1, json!({}), &[]);
    let url = git_publish(&work, "v1.0.0");
    support::sh(&work, "git", &["branch", "stable"]);
    support::sh(&work, "git", &["push", "-q", "origin", "stable"]);
    let (code, out, err) = w.run(&["install", &format!("git+{url}#stable"), "--yes"]);
    assert_eq!(code, 0, "{out}{err}");
    let lock = fs::read_to_string(w.ws.join(".skillet/skillet.lock")).unwrap();
    assert!(lock.contains("reference = \"stable\""), "{lock}");

    // The default branch moves to 2.0; the branch installed gets 1.1.
    package(&work, "gitkit", "2.0.0", 1, json!({}), &[]);
    git_publish(&work, "v2.0.0");
    support::sh(&work, "git", &["checkout", "-q", "stable"]);
    package(&work, "gitkit", "1.1.0", 1, json!({}), &[]);
    support::sh(&work, "git", &["commit", "-q", "-am", "1.1"]);
    support::sh(&work, "git", &["push", "-q", "origin", "stable"]);
    support::sh(&work, "git", &["checkout", "-q", "main"]);

    let (code, out, err) = w.run(&["update", "--yes"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(version_of(&w, "gitkit"), "1.1.0", "{out}");
    let lock = fs::read_to_string(w.ws.join(".skillet/skillet.lock")).unwrap();
    assert!(lock.contains("reference = \"stable\""), "kept: {lock}");

    // At a tag, an update finds nothing newer: the tag does not move.
    let w2 = World::new();
    let (code, _, err) = w2.run(&["install", &format!("git+{url}#v1.0.0"), "--yes"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = w2.run(&["update", "--yes"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(version_of(&w2, "gitkit"), "1.0.0", "{out}");
}

#[test]
fn the_users_git_configuration_cannot_redirect_a_package_fetch() {
    let w = World::new();
    let work = w.tmp.path().join("gitkit");
    package(&work, "gitkit", "1.0.0", 1, json!({}), &[]);
    let url = git_publish(&work, "v1");
    let evil = w.tmp.path().join("evil");
    package(
        &evil,
        "gitkit",
        "6.6.6",
        1,
        json!({"network_access": true}),
        &[],
    );
    let evil_url = git_publish(&evil, "v1");
    // Both the home file and the XDG one: git reads either as the global configuration.
    let redirect = format!("[url \"{evil_url}\"]\n\tinsteadOf = {url}\n");
    w.write("~/.gitconfig", &redirect);
    w.write("~/.config/git/config", &redirect);
    let (code, out, err) = w.run(&["install", &format!("git+{url}#v1"), "--yes"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(version_of(&w, "gitkit"), "1.0.0", "{out}");
}

#[test]
fn a_token_in_a_source_url_is_used_but_never_written_down_or_printed() {
    let w = World::new();
    let src = w.tmp.path().join("tokkit");
    package(&src, "tokkit", "0.1.0", 1, json!({}), &[]);
    let tgz = w.tmp.path().join("tokkit.tar.gz");
    let digest = archive(&src, &tgz);
    let base = serve(fs::read(&tgz).unwrap());
    let secret = "ghp_t0ken-in-the-url";
    // Both userinfo forms: a user and password, and a token alone as the user.
    for (i, userinfo) in [format!("me:{secret}"), secret.to_owned()]
        .iter()
        .enumerate()
    {
        let url = base.replacen("://", &format!("://{userinfo}@"), 1) + "/tokkit.tar.gz";
        let (code, out, err) = w.run(&["install", &url, "--sha256", &"0".repeat(64), "--yes"]);
        assert_ne!(code, 0, "{out}");
        assert!(
            !out.contains(secret) && !err.contains(secret),
            "{out}\n{err}"
        );
        assert!(
            err.contains("tokkit.tar.gz"),
            "the error names the source: {err}"
        );

        let (code, out, err) = w.run(&["install", &url, "--sha256", &digest, "--yes", "--json"]);
        assert_eq!(code, 0, "{out}\n{err}");
        assert!(
            !out.contains(secret) && !err.contains(secret),
            "{out}\n{err}"
        );
        let (_, list, _) = w.run(&["list", "--installed", "--json"]);
        assert!(!list.contains(secret), "{list}");
        assert!(list.contains("tokkit.tar.gz"), "{list}");
        let mut written = Vec::new();
        for entry in walk(&w.ws.join(".skillet")) {
            if fs::read(&entry).is_ok_and(|b| String::from_utf8_lossy(&b).contains(secret)) {
                written.push(entry);
            }
        }
        assert!(
            written.is_empty(),
            "round {i}: the token was written to {written:?}"
        );
        let (code, _, err) = w.run(&["uninstall", "tokkit", "--yes"]);
        assert_eq!(code, 0, "{err}");
        // Errors from anywhere quote the source: without --sha256, and an archive that holds
        // no package.
        let (code, out, err) = w.run(&["install", &url, "--yes"]);
        assert_ne!(code, 0, "{out}");
        assert!(
            !err.contains(secret) && err.contains("tokkit.tar.gz"),
            "{err}"
        );
    }
    let empty = w.tmp.path().join("empty");
    fs::create_dir_all(&empty).unwrap();
    fs::write(empty.join("README.md"), "nothing").unwrap();
    let tgz = w.tmp.path().join("empty.tar.gz");
    let digest = archive(&empty, &tgz);
    let base = serve(fs::read(&tgz).unwrap());
    let url = base.replacen("://", &format!("://me:{secret}@"), 1) + "/empty.tar.gz";
    for json in [false, true] {
        let mut args = vec![
            "install",
            url.as_str(),
            "--sha256",
            digest.as_str(),
            "--yes",
        ];
        if json {
            args.push("--json");
        }
        let (code, out, err) = w.run(&args);
        assert_ne!(code, 0, "{out}");
        assert!(
            !out.contains(secret) && !err.contains(secret),
            "{out}\n{err}"
        );
        assert!(
            (out.clone() + &err).contains("is not a package"),
            "{out}\n{err}"
        );
    }
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
