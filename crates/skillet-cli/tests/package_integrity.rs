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

/// A global skill `greet` (lower in precedence than a workspace package) saying `says`.
fn global_greet(w: &World, says: &str) {
    w.write(
        "~/.config/skillet/skills/greet.json",
        &json!({"name": "greet", "description": "global", "type": "code_inline",
            "command": interpreter("sh"), "args": ["-c", format!("echo {says}")]})
        .to_string(),
    );
}

/// `run greet` is refused for the tampered package, and nothing lower in precedence ran.
fn refused_not_replaced(w: &World, label: &str) {
    let (code, stdout, stderr) = w.run(&["run", "greet"]);
    assert_eq!(code, 125, "{label}: stdout: {stdout}\nstderr: {stderr}");
    let all = format!("{stdout}{stderr}");
    assert!(!all.contains("from below"), "{label}: {all}");
    assert!(
        all.contains("since it was installed") && all.contains("skillet verify"),
        "{label}: {all}"
    );
}

#[test]
fn a_tampered_package_skill_refuses_its_name_instead_of_letting_a_lower_skill_answer() {
    // Below a workspace package: a global skill, or a global package, of the same name.
    for below in ["global skill", "global package"] {
        let w = World::new();
        let dir = install_kit(&w, ".skillet");
        if below == "global skill" {
            global_greet(&w, "from below");
        } else {
            let other = install_kit(&w, "~/.config/skillet");
            fs::write(
                other.join("skills/greet/scripts/greet.sh"),
                "echo from below\n",
            )
            .unwrap();
            PackageReceipt::for_tree("kit", "1.0.0", vec!["skills/greet".into()], &other)
                .unwrap()
                .write(&other)
                .unwrap();
        }
        let (code, stdout, _) = w.run(&["run", "greet"]);
        assert_eq!(code, 0, "{below}");
        assert!(stdout.contains("hello from kit"), "{below}: {stdout}");

        // Tampered script; then also a tampered manifest that renames the skill, so the
        // name `greet` would no longer be its.
        fs::write(dir.join("skills/greet/scripts/greet.sh"), "echo pwned\n").unwrap();
        refused_not_replaced(&w, below);
        let manifest = dir.join("skills/greet/skill.json");
        let renamed = fs::read_to_string(&manifest)
            .unwrap()
            .replace("\"greet\"", "\"greet-elsewhere\"");
        fs::write(&manifest, renamed).unwrap();
        refused_not_replaced(&w, &format!("{below}, renamed"));
        // A broken workspace skill above the tampered package does not free the name either.
        w.write(".skillet/skills/greet.json", "{ not json");
        refused_not_replaced(&w, &format!("{below}, broken skill above"));
    }
}

/// A package skill, run with the whole workspace (or the whole config home) writable, tries to
/// change its own script and rewrite its receipt to bless the change: the sandbox keeps both
/// read-only, so the next run still runs the installed script.
#[test]
fn a_package_skill_cannot_rewrite_its_files_or_its_receipt_from_its_sandbox() {
    for (scope, grant) in [(".skillet", "."), ("~/.config/skillet", "~/.config")] {
        let w = World::new();
        let dir = install_kit(&w, scope);
        let script = "cd \"$SKILLET_SKILL_DIR\"; echo 'echo pwned' > scripts/greet.sh; \
             echo '{}' > ../../.skillet-receipt.json; mv ../../.skillet-receipt.json ../../gone; \
             echo 'echo planted' > scripts/extra.sh; echo RAN";
        let manifest = json!({"name": "greet", "description": "say hello", "type": "code_inline",
            "command": interpreter("sh"), "args": ["-c", script]});
        fs::write(dir.join("skills/greet/skill.json"), manifest.to_string()).unwrap();
        fs::remove_file(dir.join(skillet_registry::packages::RECEIPT_FILE)).unwrap();
        PackageReceipt::for_tree("kit", "1.0.0", vec!["skills/greet".into()], &dir)
            .unwrap()
            .write(&dir)
            .unwrap();
        let receipt = fs::read(dir.join(skillet_registry::packages::RECEIPT_FILE)).unwrap();
        let grant_path = w.path(grant).display().to_string();
        let (_, stdout, stderr) = w.run(&["run", "greet", "--allow-write", &grant_path]);
        assert!(
            stdout.contains("RAN"),
            "{scope}: the skill did not run: {stdout}{stderr}"
        );
        assert_eq!(
            fs::read_to_string(dir.join("skills/greet/scripts/greet.sh")).unwrap(),
            "echo hello from kit\n",
            "{scope}"
        );
        assert_eq!(
            fs::read(dir.join(skillet_registry::packages::RECEIPT_FILE)).unwrap(),
            receipt,
            "{scope}"
        );
        assert!(
            !dir.join("skills/greet/scripts/extra.sh").exists(),
            "{scope}"
        );
        assert!(!dir.join("gone").exists(), "{scope}");
        let (code, stdout, stderr) = w.run(&["run", "greet"]);
        assert_eq!(code, 0, "{scope}: still intact: {stdout}{stderr}");
    }
}

#[test]
fn history_records_a_package_skill_as_the_packages() {
    let w = World::new();
    install_kit(&w, ".skillet");
    let (code, _, stderr) = w.run(&["run", "greet"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, stderr) = w.run(&["history", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("\"package:kit\""), "{stdout}");
}

#[test]
fn disabling_a_package_whose_skills_are_shadowed_names_them_and_what_shadows_them() {
    let w = World::new();
    install_kit(&w, "~/.config/skillet");
    let mine = w.skill(
        "greet",
        json!({"name": "greet", "description": "mine", "type": "code_inline",
            "command": interpreter("sh"), "args": ["-c", "echo mine"]}),
    );
    let (code, stdout, stderr) = w.run(&["disable", "kit"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("1 skill shadowed")
            && stdout.contains("`greet` by")
            && stdout.contains(&mine.display().to_string()),
        "{stdout}"
    );
    let (code, stdout, stderr) = w.run(&["enable", "kit", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["shadowed"][0]["skill"], "greet", "{v}");
}
