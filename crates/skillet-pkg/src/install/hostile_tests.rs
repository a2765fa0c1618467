//! A workspace's `.skillet/` may come from a clone: a journal, links or files planted there
//! must never make skillet move, remove or create anything outside `<scope>/packages/`.

#![allow(clippy::unwrap_used)]

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use super::*;

/// A workspace with `.skillet/packages/innocent/` installed, and a victim folder beside it.
struct Ws {
    _tmp: tempfile::TempDir,
    paths: ScopePaths,
    victim: PathBuf,
}

fn ws() -> Ws {
    let tmp = tempfile::tempdir().unwrap();
    let paths = ScopePaths::new(tmp.path().join("ws/.skillet"));
    fs::create_dir_all(paths.packages().join("innocent")).unwrap();
    fs::write(paths.packages().join("innocent/keep.txt"), "mine").unwrap();
    let victim = tmp.path().join("victim");
    fs::create_dir_all(victim.join("sub")).unwrap();
    fs::write(victim.join("precious.txt"), "precious").unwrap();
    fs::write(victim.join("sub/deep.txt"), "deep").unwrap();
    Ws {
        _tmp: tmp,
        paths,
        victim,
    }
}

fn victim_intact(victim: &Path) {
    assert_eq!(
        fs::read_to_string(victim.join("precious.txt")).unwrap(),
        "precious"
    );
    assert_eq!(
        fs::read_to_string(victim.join("sub/deep.txt")).unwrap(),
        "deep"
    );
}

fn plant_journal(paths: &ScopePaths, aside: &str, installs: bool, extra: &str) {
    let j = format!(
        r#"{{"lockfile_before":"version = 1\n","entries":[{{"name":"innocent","previous":"1.0.0","aside":{aside},"installs":{installs}}}]{extra}}}"#
    );
    fs::write(paths.journal(), j).unwrap();
}

#[test]
fn a_planted_journal_never_moves_or_removes_anything() {
    let asides = |victim: &Path| {
        vec![
            format!("{:?}", victim.display().to_string()),
            "\"../../../victim\"".to_owned(),
            "\".staging/../../../victim\"".to_owned(),
            "\".staging/1-0000000a/../../../../victim\"".to_owned(),
            "\".staging/1-0000000a/old-0/../../../../../victim\"".to_owned(),
            "\"innocent\"".to_owned(),
            "null".to_owned(),
        ]
    };
    for installs in [true, false] {
        for i in 0..asides(Path::new("/")).len() {
            let w = ws();
            let aside = &asides(&w.victim)[i];
            // Without a directory id, and with a forged one: both refused.
            for extra in ["", r#","packages_dir":{"dev":1,"ino":2}"#] {
                plant_journal(&w.paths, aside, installs, extra);
                let err = ScopeLock::acquire(&w.paths, || {}).unwrap_err().to_string();
                assert!(
                    err.contains("journal") && err.contains("remove the journal"),
                    "{aside} {installs}: {err}"
                );
                victim_intact(&w.victim);
                assert!(
                    w.paths.packages().join("innocent/keep.txt").exists(),
                    "{aside}"
                );
                assert!(
                    fs::read_to_string(w.paths.journal())
                        .unwrap()
                        .contains("entries")
                );
                // A read-only check only reports it.
                let err = recover_if_interrupted(&w.paths).unwrap_err().to_string();
                assert!(err.contains("interrupted"), "{err}");
                victim_intact(&w.victim);
                assert!(w.paths.packages().join("innocent/keep.txt").exists());
            }
        }
    }
}

#[test]
fn a_journal_copied_from_another_scope_is_refused() {
    let w = ws();
    let other = ScopePaths::new(w.victim.parent().unwrap().join("other/.skillet"));
    let (lock, _) = ScopeLock::acquire(&other, || {}).unwrap();
    let staging = StagingDir::new(&lock).unwrap();
    let slot = staging.slot("old");
    let rel = slot
        .strip_prefix(other.packages())
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let journal = journal::Journal {
        lockfile_before: None,
        entries: vec![journal::Entry {
            name: "innocent".parse().unwrap(),
            previous: None,
            aside: Some(rel),
            installs: true,
        }],
        packages_dir: None,
    };
    journal.write(&lock).unwrap();
    // Valid in every way but where it was written.
    fs::copy(other.journal(), w.paths.journal()).unwrap();
    let err = ScopeLock::acquire(&w.paths, || {}).unwrap_err().to_string();
    assert!(err.contains("not written in this directory"), "{err}");
    assert!(w.paths.packages().join("innocent/keep.txt").exists());
    // In its own scope the same journal rolls back.
    drop(staging);
    drop(lock);
    let (_l, recovered) = ScopeLock::acquire(&other, || {}).unwrap();
    assert!(recovered.is_some());
}

#[test]
fn a_journal_that_is_a_link_or_a_fifo_is_refused() {
    let w = ws();
    let real = w.victim.join("journal.json");
    fs::write(&real, "{}").unwrap();
    symlink(&real, w.paths.journal()).unwrap();
    let err = ScopeLock::acquire(&w.paths, || {}).unwrap_err().to_string();
    assert!(err.contains("symbolic link"), "{err}");
    fs::remove_file(w.paths.journal()).unwrap();
    rustix::fs::mknodat(
        rustix::fs::CWD,
        w.paths.journal(),
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o644),
        0,
    )
    .unwrap();
    let err = ScopeLock::acquire(&w.paths, || {}).unwrap_err().to_string();
    assert!(err.contains("not a regular file"), "{err}");
}

#[test]
fn a_linked_staging_lock_packages_or_scope_dir_is_refused() {
    // .staging a link to the victim (its contents would be cleared), or a file.
    let w = ws();
    symlink(&w.victim, w.paths.staging()).unwrap();
    let err = ScopeLock::acquire(&w.paths, || {}).unwrap_err().to_string();
    assert!(
        err.contains(".staging is a symbolic link") && err.contains("rm "),
        "{err}"
    );
    victim_intact(&w.victim);
    let w = ws();
    symlink("../../../victim", w.paths.staging()).unwrap();
    assert!(ScopeLock::acquire(&w.paths, || {}).is_err());
    victim_intact(&w.victim);
    let w = ws();
    fs::write(w.paths.staging(), "x").unwrap();
    let err = ScopeLock::acquire(&w.paths, || {}).unwrap_err().to_string();
    assert!(err.contains("not a directory"), "{err}");

    // The lock file a link: nothing is created or truncated through it.
    let w = ws();
    let target = w.victim.join("created-through-lock");
    symlink(&target, w.paths.packages().join(".install.lock")).unwrap();
    let err = ScopeLock::acquire(&w.paths, || {}).unwrap_err().to_string();
    assert!(err.contains(".install.lock is a symbolic link"), "{err}");
    assert!(!target.exists());

    // packages a link (e.g. into the global scope), and .skillet itself a link.
    let w = ws();
    let elsewhere = w.victim.join("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    fs::remove_dir_all(w.paths.packages()).unwrap();
    symlink(&elsewhere, w.paths.packages()).unwrap();
    let err = ScopeLock::acquire(&w.paths, || {}).unwrap_err().to_string();
    assert!(err.contains("packages is a symbolic link"), "{err}");
    assert_eq!(fs::read_dir(&elsewhere).unwrap().count(), 0);

    let w = ws();
    let elsewhere = w.victim.join("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    fs::remove_dir_all(&w.paths.dir).unwrap();
    symlink(&elsewhere, &w.paths.dir).unwrap();
    let err = ScopeLock::acquire(&w.paths, || {}).unwrap_err().to_string();
    assert!(err.contains(".skillet is a symbolic link"), "{err}");
    assert_eq!(fs::read_dir(&elsewhere).unwrap().count(), 0);
    // A read-only look refuses too, never reading through it.
    let err = recover_if_interrupted(&w.paths).unwrap_err().to_string();
    assert!(err.contains("symbolic link"), "{err}");

    // The global scope's own directory may be the user's link; inside it, no links.
    let w = ws();
    let real = w.victim.parent().unwrap().join("real-config");
    fs::create_dir(&real).unwrap();
    let link = w.victim.parent().unwrap().join("config-link");
    symlink(&real, &link).unwrap();
    let global = ScopePaths::global(&link);
    drop(ScopeLock::acquire(&global, || {}).unwrap());
    assert!(real.join("packages/.staging").is_dir());
    fs::remove_dir_all(real.join("packages")).unwrap();
    symlink(&w.victim, real.join("packages")).unwrap();
    assert!(ScopeLock::acquire(&global, || {}).is_err());
    victim_intact(&w.victim);
}

#[test]
fn clearing_staging_removes_links_never_their_targets() {
    let w = ws();
    drop(ScopeLock::acquire(&w.paths, || {}).unwrap());
    let staging = w.paths.staging();
    symlink(&w.victim, staging.join("1-0000000a")).unwrap();
    fs::create_dir_all(staging.join("2-0000000b/inner")).unwrap();
    symlink(&w.victim, staging.join("2-0000000b/inner/link")).unwrap();
    symlink(
        w.victim.join("precious.txt"),
        staging.join("2-0000000b/file-link"),
    )
    .unwrap();
    drop(ScopeLock::acquire(&w.paths, || {}).unwrap());
    assert_eq!(fs::read_dir(&staging).unwrap().count(), 0);
    victim_intact(&w.victim);
}
