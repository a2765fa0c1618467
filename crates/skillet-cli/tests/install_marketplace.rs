//! Installing by name from an added marketplace: a semver requirement resolved with its
//! dependencies (fetched too, recorded as not requested), NAME@MARKETPLACE, a conflict
//! explained, and --prune removing what only the removed package needed.

#![allow(clippy::unwrap_used)]

mod common;
#[path = "install_support/mod.rs"]
mod support;

use std::fs;

use common::World;
use serde_json::{Value, json};
use support::{package, packages};

/// A marketplace folder `market` offering app 2.0.0 and 2.1.0 (needing base ^1.2), base 1.0.0
/// and 1.4.0, and other 1.0.0 (needing base ^2, which nobody offers).
fn market(w: &World) {
    let root = w.tmp.path().join("market");
    let offers = [
        ("app", "2.0.0", vec![("base", "^1.2")]),
        ("app", "2.1.0", vec![("base", "^1.2")]),
        ("base", "1.0.0", vec![]),
        ("base", "1.4.0", vec![]),
        ("other", "1.0.0", vec![("base", "^2")]),
    ];
    let mut entries = Vec::new();
    for (name, version, deps) in &offers {
        let dir = format!("pkgs/{name}-{version}");
        package(&root.join(&dir), name, version, 1, json!({}), deps);
        let deps: serde_json::Map<String, Value> = deps
            .iter()
            .map(|(d, r)| (d.to_string(), json!(r)))
            .collect();
        entries.push(json!({
            "name": name, "version": version, "description": format!("{name} for tests"),
            "source": {"type": "dir", "path": format!("./{dir}")},
            "dependencies": deps,
        }));
    }
    fs::write(
        root.join("skillet-index.json"),
        serde_json::to_string_pretty(
            &json!({"skillet_index": 1, "name": "team", "packages": entries}),
        )
        .unwrap(),
    )
    .unwrap();
    let (code, _, err) = w.run(&["marketplace", "add", "../market"]);
    assert_eq!(code, 0, "{err}");
}

fn names(answer: &Value, key: &str) -> Vec<String> {
    answer[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            format!(
                "{} {}",
                p["name"].as_str().unwrap(),
                p["version"].as_str().unwrap_or("-")
            )
        })
        .collect()
}

#[test]
fn a_requirement_installs_the_newest_fit_with_its_dependencies() {
    let w = World::new();
    market(&w);
    let (code, out, err) = w.run(&["install", "app@^2.0", "--yes", "--json"]);
    assert_eq!(code, 0, "{out}{err}");
    let answer: Value = serde_json::from_str(&out).unwrap();
    let mut got = names(&answer, "installed");
    got.sort();
    assert_eq!(got, ["app 2.1.0", "base 1.4.0"]);
    let base = answer["installed"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "base")
        .unwrap();
    assert_eq!(base["requested"], false, "base came as a dependency");
    assert!(packages(&w.ws).join("base/skills").is_dir());

    // Removing app with --prune takes base too: nothing else needs it, nobody asked for it.
    let (code, out, err) = w.run(&["uninstall", "app", "--prune", "--json"]);
    assert_eq!(code, 0, "{err}");
    let answer: Value = serde_json::from_str(&out).unwrap();
    let mut removed = names(&answer, "removed");
    removed.sort();
    assert_eq!(removed, ["app -", "base -"]);
    assert!(!packages(&w.ws).join("base").exists());
}

#[test]
fn name_at_marketplace_and_an_exact_requirement() {
    let w = World::new();
    market(&w);
    let (code, out, err) = w.run(&["install", "base@team", "--yes", "--json"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        names(&serde_json::from_str(&out).unwrap(), "installed"),
        ["base 1.4.0"]
    );
    let (code, out, err) = w.run(&["install", "app@=2.0.0", "--yes", "--json"]);
    assert_eq!(code, 0, "{out}{err}");
    // base 1.4.0 is installed and fits: it is kept, not fetched again.
    assert_eq!(
        names(&serde_json::from_str(&out).unwrap(), "installed"),
        ["app 2.0.0"]
    );

    let (code, out, err) = w.run(&["install", "base@elsewhere", "--yes"]);
    assert_ne!(code, 0, "{out}");
    assert!(err.contains("elsewhere"), "{err}");
}

#[test]
fn a_conflict_is_explained_and_nothing_is_installed() {
    let w = World::new();
    market(&w);
    let (code, out, err) = w.run(&["install", "other", "--yes"]);
    assert_ne!(code, 0, "{out}");
    assert!(err.contains("base") && err.contains("^2"), "{err}");
    assert!(!packages(&w.ws).join("other").exists());
    assert!(!w.ws.join(".skillet/skillet.lock").exists());
}

#[test]
fn installing_a_dependency_by_name_records_it_as_asked_for_so_prune_keeps_it() {
    let w = World::new();
    market(&w);
    let (code, _, err) = w.run(&["install", "app", "--yes"]);
    assert_eq!(code, 0, "{err}");
    // base came as app's dependency; asking for it by name changes no file, but records it.
    let (code, out, err) = w.run(&["install", "base", "--yes"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("Nothing to change"), "{out}");
    assert!(out.contains("Recording base as asked for"), "{out}");
    let lock = fs::read_to_string(w.ws.join(".skillet/skillet.lock")).unwrap();
    let base = lock
        .split("[[package]]")
        .find(|p| p.contains("name = \"base\""))
        .unwrap();
    assert!(base.contains("requested = true"), "{lock}");

    let (code, out, err) = w.run(&["uninstall", "app", "--prune", "--json"]);
    assert_eq!(code, 0, "{err}");
    let answer: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(names(&answer, "removed"), ["app -"], "base was asked for");
    assert!(packages(&w.ws).join("base/skills").is_dir());
}

#[test]
fn an_index_entry_cannot_rename_the_package_its_source_holds() {
    let w = World::new();
    let root = w.tmp.path().join("market");
    // The folder's own manifest says "arcpkg"; the entry offers it as "internal".
    package(&root.join("pkgs/arc"), "arcpkg", "1.0.0", 1, json!({}), &[]);
    fs::write(
        root.join("skillet-index.json"),
        serde_json::to_string_pretty(&json!({"skillet_index": 1, "name": "team", "packages": [{
            "name": "internal", "version": "1.0.0", "description": "renamed",
            "source": {"type": "dir", "path": "./pkgs/arc"},
        }]}))
        .unwrap(),
    )
    .unwrap();
    let (code, _, err) = w.run(&["marketplace", "add", "../market"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = w.run(&["install", "internal", "--yes"]);
    assert_ne!(code, 0, "{out}{err}");
    assert!(
        err.contains("names the package arcpkg")
            && err.contains("the index entry that points here names it internal"),
        "{err}"
    );
    assert!(!packages(&w.ws).join("internal").exists());
    assert!(!packages(&w.ws).join("arcpkg").exists());
}

/// A Claude Code marketplace entry may make a package of some skills of a larger repository
/// (`"source": "./"` with a `skills` list). `install --locked` elsewhere must read the fetched
/// repository the same way: the lock keeps the entry, or the second machine gets every skill.
#[test]
fn install_locked_reads_a_marketplace_entry_s_skill_list_as_the_first_install_did() {
    let first = World::new();
    let work = first.tmp.path().join("claude-market");
    for skill in ["alpha", "beta"] {
        let dir = work.join("skills").join(skill);
        fs::create_dir_all(&dir).unwrap();
        fs::write(
            dir.join("SKILL.md"),
            format!("---\nname: {skill}\ndescription: the {skill} skill\n---\nDo {skill}.\n"),
        )
        .unwrap();
    }
    fs::create_dir_all(work.join(".claude-plugin")).unwrap();
    fs::write(
        work.join(".claude-plugin/marketplace.json"),
        serde_json::to_string_pretty(&json!({
            "name": "claude-market",
            "owner": {"name": "tests"},
            "plugins": [{
                "name": "only-alpha", "description": "one skill of the repository",
                "version": "1.0.0", "source": "./", "skills": ["./skills/alpha"]
            }]
        }))
        .unwrap(),
    )
    .unwrap();
    let url = support::git_publish(&work, "v1");
    let (code, _, err) = first.run(&["marketplace", "add", &format!("{url}#main")]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = first.run(&["install", "only-alpha@claude-market", "--yes"]);
    assert_eq!(code, 0, "{out}{err}");
    let lock = fs::read_to_string(first.ws.join(".skillet/skillet.lock")).unwrap();
    let (_, listed, _) = first.run(&["list", "--json"]);
    assert!(
        listed.contains("\"alpha\"") && !listed.contains("\"beta\""),
        "{listed}"
    );
    // `list --installed` counts the skills the entry gave the package (it has no manifest).
    let (_, installed, _) = first.run(&["list", "--installed", "--json"]);
    let installed: serde_json::Value = serde_json::from_str(&installed).unwrap();
    assert_eq!(installed[0]["skills"][0]["skill"], "alpha", "{installed}");
    assert_eq!(
        installed[0]["skills"].as_array().unwrap().len(),
        1,
        "{installed}"
    );

    let second = World::new();
    second.write(".skillet/skillet.lock", &lock);
    let (code, out, err) = second.run(&["install", "--locked", "--yes"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        fs::read_to_string(second.ws.join(".skillet/skillet.lock")).unwrap(),
        lock,
        "the lock is unchanged"
    );
    let (_, listed, _) = second.run(&["list", "--json"]);
    assert!(listed.contains("\"alpha\""), "{listed}");
    assert!(!listed.contains("\"beta\""), "{listed}");
}
