//! Run cgroups that a killed skillet left behind are removed by the next `skillet run`: those
//! named after a process of this pid namespace that is gone, at once; a young group named
//! after another namespace's process (which this one cannot see) is left alone.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::os::unix::fs::MetadataExt as _;
use std::path::PathBuf;

use common::World;
use serde_json::json;

/// The `skillet` parents of run groups that a run made, in each controller it uses.
fn parents() -> Vec<PathBuf> {
    let root = PathBuf::from("/sys/fs/cgroup");
    let v2 = root.join("skillet");
    if v2.is_dir() {
        return vec![v2];
    }
    ["memory", "pids", "cpu"]
        .iter()
        .map(|c| root.join(c).join("skillet"))
        .filter(|p| p.is_dir())
        .collect()
}

#[test]
fn groups_of_gone_processes_are_swept_and_a_foreign_young_one_is_kept() {
    let w = World::new();
    w.skill(
        "noop",
        json!({"name": "noop", "description": "d", "type": "code_inline", "command": "true"}),
    );
    let (code, _, err) = w.run(&["trust"]);
    assert_eq!(code, 0, "{err}");
    // The first run makes the parents, when this machine lets skillet use cgroups at all.
    let (code, _, err) = w.run(&["run", "noop"]);
    assert_eq!(code, 0, "{err}");
    let parents = parents();
    let namespace = std::fs::metadata("/proc/self/ns/pid").unwrap().ino();
    // A pid above any pid_max names no process.
    let gone = format!("4294967-ns{namespace}-run-gone");
    let foreign = "4294967-ns1-run-foreign";
    let mut made = Vec::new();
    for parent in &parents {
        if std::fs::create_dir(parent.join(&gone)).is_err() {
            continue; // not ours to write (an unprivileged user on cgroup v1): nothing to test
        }
        std::fs::create_dir(parent.join(foreign)).unwrap();
        made.push(parent.clone());
    }
    if made.is_empty() {
        eprintln!("skipped: no cgroup parent skillet can write here ({parents:?})");
        return;
    }

    let (code, _, err) = w.run(&["run", "noop"]);
    assert_eq!(code, 0, "{err}");

    for parent in &made {
        let foreign_kept = parent.join(foreign).exists();
        let _ = std::fs::remove_dir(parent.join(foreign));
        let _ = std::fs::remove_dir(parent.join(&gone));
        assert!(
            foreign_kept,
            "a young group of another namespace was removed in {parent:?}"
        );
    }
    for parent in &made {
        assert!(
            !parent.join(&gone).exists(),
            "the group of a gone process is still in {parent:?}"
        );
    }
}
