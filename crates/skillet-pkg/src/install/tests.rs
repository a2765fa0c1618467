//! A commit stopped after each of its steps, as a crash would stop it, is rolled back whole by
//! the next lock; a commit that finishes is kept.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use super::*;
use crate::source::{NoProgress, Source};

fn package(dir: &Path, version: &str) {
    fs::create_dir_all(dir.join("skills/one")).unwrap();
    fs::write(
        dir.join("skillet-package.toml"),
        format!("[package]\nname = \"kit\"\nversion = \"{version}\"\nskills = [\"skills/one\"]\n"),
    )
    .unwrap();
    fs::write(
        dir.join("skills/one/skill.json"),
        format!(r#"{{"name": "one", "description": "v{version}", "type": "prompt_inline", "prompt_template": "hi"}}"#),
    )
    .unwrap();
}

/// Every file under the scope's directory but the lock file and staging, with its contents.
fn state(scope: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![scope.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let rel = p.strip_prefix(scope).unwrap().display().to_string();
            if rel.contains(".staging") || rel.ends_with(".install.lock") {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(rel, fs::read(&p).unwrap());
            }
        }
    }
    out
}

fn install(paths: &ScopePaths, src: &Path, steps: usize) {
    let (lock, _) = ScopeLock::acquire(paths, || {}).unwrap();
    let staging = StagingDir::new(&lock).unwrap();
    let staged = stage(
        &Source::Dir {
            path: src.to_path_buf(),
        },
        &staging,
        &NoProgress,
    )
    .unwrap();
    let mut txn = Transaction::new(&lock, &staging);
    txn.push(Change::Install {
        staged,
        requested: true,
    });
    txn.commit_until(steps).unwrap();
    // A crash leaves staging behind too: forget it instead of dropping it.
    std::mem::forget(staging);
}

#[test]
fn a_commit_stopped_after_any_step_is_rolled_back_by_the_next_lock() {
    let tmp = tempfile::tempdir().unwrap();
    let (v1, v2) = (tmp.path().join("v1"), tmp.path().join("v2"));
    package(&v1, "1.0.0");
    package(&v2, "2.0.0");
    let paths = ScopePaths::new(tmp.path().join("scope"));
    install(&paths, &v1, usize::MAX);
    let before = state(&paths.dir);
    assert!(before.contains_key("skillet.lock"));
    // Steps: journal written; old folder aside; new folder in; lockfile written.
    for steps in 0..4 {
        install(&paths, &v2, steps);
        assert!(
            paths.journal().exists(),
            "step {steps}: the journal is there"
        );
        let (_lock, recovered) = ScopeLock::acquire(&paths, || {}).unwrap();
        let recovered = recovered.unwrap();
        assert_eq!(
            recovered.to_string(),
            "an interrupted install was rolled back to the previous state (kit is back at 1.0.0)"
        );
        assert_eq!(state(&paths.dir), before, "after {steps} steps");
        assert_eq!(fs::read_dir(paths.staging()).unwrap().count(), 0);
    }
    install(&paths, &v2, usize::MAX);
    assert!(!paths.journal().exists());
    let after = state(&paths.dir);
    let manifest = String::from_utf8(after["packages/kit/skillet-package.toml"].clone()).unwrap();
    assert!(manifest.contains("2.0.0"));
}

#[test]
fn a_first_install_stopped_half_way_leaves_no_package_and_no_lockfile() {
    let tmp = tempfile::tempdir().unwrap();
    let v1 = tmp.path().join("v1");
    package(&v1, "1.0.0");
    let paths = ScopePaths::new(tmp.path().join("scope"));
    for steps in 0..3 {
        install(&paths, &v1, steps);
        let (_lock, recovered) = ScopeLock::acquire(&paths, || {}).unwrap();
        assert_eq!(
            recovered.unwrap().to_string(),
            "an interrupted install was rolled back to the previous state (kit is not installed)"
        );
        assert!(!paths.package(&"kit".parse().unwrap()).exists());
        assert!(!paths.lockfile().exists());
    }
}
