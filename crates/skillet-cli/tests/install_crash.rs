//! An install killed with SIGKILL at any point: the next command finds the previous state
//! whole (files, receipt, skillet.lock), says when it rolled an interrupted commit back, and
//! clears what the fetch left in staging.

#![allow(clippy::unwrap_used)]

mod common;
#[path = "install_support/mod.rs"]
mod support;

use std::fs;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::World;
use serde_json::{Value, json};
use support::{package, packages, snapshot};

/// A package `big` at `version` with `files` data files of 4 KiB beside its two skills.
fn big(dir: &Path, version: &str, files: usize) {
    package(dir, "big", version, 2, json!({}), &[]);
    let data = dir.join("data");
    fs::create_dir_all(&data).unwrap();
    let body = format!("{version} ").repeat(800);
    for i in 0..files {
        fs::write(data.join(format!("f{i:05}.txt")), &body).unwrap();
    }
}

fn start_install(w: &World, from: &str) -> Child {
    let mut cmd = w.command(&assert_cmd::cargo::cargo_bin("skillet"));
    cmd.args(["install", from, "--yes"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn kill(child: &mut Child) {
    let _ = rustix::process::kill_process(
        rustix::process::Pid::from_child(child),
        rustix::process::Signal::KILL,
    );
    let _ = child.wait();
}

/// The installed version of `big` as `list --installed` shows it, and the list's stderr.
fn installed_version(w: &World) -> (String, String) {
    let (code, out, err) = w.run(&["list", "--installed", "--json"]);
    assert_eq!(code, 0, "{err}");
    let list: Value = serde_json::from_str(&out).unwrap();
    (list[0]["version"].as_str().unwrap_or("").to_owned(), err)
}

/// The package's files and the lockfile, as a user has them.
fn state(w: &World) -> (std::collections::BTreeMap<String, Vec<u8>>, String) {
    (
        snapshot(&packages(&w.ws).join("big")),
        fs::read_to_string(w.ws.join(".skillet/skillet.lock")).unwrap(),
    )
}

#[test]
fn an_install_killed_at_any_moment_leaves_the_previous_version_whole() {
    let w = World::new();
    big(&w.tmp.path().join("big1"), "1.0.0", 20);
    big(&w.tmp.path().join("big2"), "2.0.0", 1500);
    let (code, _, err) = w.run(&["install", "../big1", "--yes"]);
    assert_eq!(code, 0, "{err}");
    let mut before = state(&w);
    let mut interrupted = 0;
    for delay_ms in [0u64, 5, 15, 30, 60, 100, 160, 250, 400, 650] {
        let mut child = start_install(&w, "../big2");
        std::thread::sleep(Duration::from_millis(delay_ms));
        kill(&mut child);
        // Killed inside its commit, the install is rolled back by the next package command
        // (`list` only reports it): the user's state is what that command leaves.
        let (code, out, err) = w.run(&["verify"]);
        assert_eq!(code, 0, "killed after {delay_ms} ms: {out}{err}");
        let (version, _) = installed_version(&w);
        match version.as_str() {
            "1.0.0" => {
                interrupted += 1;
                assert!(
                    state(&w) == before,
                    "killed after {delay_ms} ms: 1.0.0 changed"
                );
            }
            "2.0.0" => {
                // It finished first: whole, as verify checks file by file.
                let (code, out, err) = w.run(&["verify"]);
                assert_eq!(code, 0, "killed after {delay_ms} ms: {out}{err}");
                let (code, _, err) = w.run(&["install", "../big1", "--yes"]);
                assert_eq!(code, 0, "{err}");
                before = state(&w);
            }
            other => panic!("killed after {delay_ms} ms: big is at {other:?}"),
        }
        // The next package command clears what the killed fetch staged.
        let (code, out, err) = w.run(&["verify"]);
        assert_eq!(code, 0, "killed after {delay_ms} ms: {out}{err}");
        let staged = fs::read_dir(packages(&w.ws).join(".staging"))
            .unwrap()
            .count();
        assert_eq!(staged, 0, "killed after {delay_ms} ms: staging not cleared");
    }
    assert!(
        interrupted > 0,
        "no kill landed before the install finished"
    );
}

#[test]
fn an_install_killed_during_its_commit_is_rolled_back_and_the_next_command_says_so() {
    let w = World::new();
    big(&w.tmp.path().join("big1"), "1.0.0", 20);
    // Many files make a long lockfile, so the commit takes long enough to be caught.
    big(&w.tmp.path().join("big2"), "2.0.0", 4000);
    let (code, _, err) = w.run(&["install", "../big1", "--yes"]);
    assert_eq!(code, 0, "{err}");
    let before = state(&w);
    let journal = packages(&w.ws).join(".install-journal.json");
    let mut caught = 0;
    for _ in 0..8 {
        let mut child = start_install(&w, "../big2");
        let deadline = Instant::now() + Duration::from_secs(60);
        while !journal.exists() && Instant::now() < deadline {
            if child.try_wait().unwrap().is_some() {
                break;
            }
        }
        kill(&mut child);
        if !journal.exists() {
            // It finished (or had not started committing): put 1.0.0 back and try again.
            let (code, _, err) = w.run(&["install", "../big1", "--yes"]);
            assert_eq!(code, 0, "{err}");
            continue;
        }
        caught += 1;
        // `list` only reports an interrupted install; a package command rolls it back.
        let (_, _, err) = w.run(&["verify"]);
        let (version, _) = installed_version(&w);
        assert_eq!(version, "1.0.0");
        assert!(
            err.contains("rolled back") && err.contains("big is back at 1.0.0"),
            "the next command says it rolled back: {err}"
        );
        assert!(!journal.exists());
        let after = state(&w);
        assert!(after.1 == before.1, "skillet.lock is the one before");
        assert!(after.0 == before.0, "the files of 1.0.0 are whole");
        if caught >= 2 {
            break;
        }
    }
    assert!(caught > 0, "no kill landed inside a commit in 8 tries");
}
