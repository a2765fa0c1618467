//! What an isolated run may leave, and how it is shown: a run cannot write without bound through
//! its view (the overlay's upper layer is a capped tmpfs); `--apply` writes only inside the
//! workspace, never through a link or a hard link swapped in or planted, never a link out of the
//! workspace or into what runs never see, and no more than a view holds (hard links and sparse
//! files are written out in full); and a file name cannot forge a line of the change review.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::Read as _;
use std::path::Path;
use std::process::Stdio;

use common::World;
use common::isolated::{EDIT, is_root, read, run, test_json, world, writer};
use serde_json::json;

/// `skillet dev edit --apply --json`: waits for its first run's changes (a line naming
/// `changed`), does `meanwhile` to the real tree, then ends dev, which applies. Returns dev's
/// exit code and stderr.
fn dev_apply_after(w: &World, changed: &str, meanwhile: impl FnOnce()) -> (Option<i32>, String) {
    let mut child = w
        .command(&assert_cmd::cargo::cargo_bin("skillet"))
        .args(["dev", "edit", "--apply", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
    assert!(line.contains(changed), "{line}");
    meanwhile();
    drop(child.stdin.take());
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (status.code(), err)
}

/// A file name is the one part of the change review its writer picks freely: a line break in
/// it must not end the diff header and start a line of the skill's making.
#[test]
fn a_file_name_cannot_forge_a_line_of_the_change_review() {
    for force in [false, true] {
        let w = World::new();
        w.write("data/.keep", "");
        writer(
            &w,
            "forger",
            "printf 'hi\\n' > \"data/x$(printf '\\n+++ forged\\n@@ -0,0 +1 @@')\"",
        );
        let (code, out, err) = run(&w, force, &["test", "forger"]);
        assert_eq!(code, 0, "force={force}: {out}{err}");
        assert!(
            out.contains(r#"+++ "b/data/x\n+++ forged\n@@ -0,0 +1 @@""#),
            "force={force}: {out}"
        );
        assert!(
            !out.lines().any(|l| l.starts_with("+++ forged")),
            "force={force}: {out}"
        );
    }
}

/// What a run writes through an overlay view lands in its upper layer, a tmpfs held to what a
/// copy may hold (256 MiB): a run writing more is told "no space left", and the machine's disk
/// and memory are not its to fill. (A copy is made only of what exists; as an ordinary user
/// the view is a copy and this bound is the sandbox's file size limit.)
#[test]
fn a_run_cannot_write_without_bound_through_an_overlay_view() {
    if !is_root() {
        eprintln!("SKIPPED: the overlay view is made only as root");
        return;
    }
    let w = World::new();
    w.write("data/.keep", "");
    w.skill(
        "filler",
        json!({"name": "filler", "description": "d", "type": "code_inline", "command": "sh",
               // Three files of 100 MiB: each under the file size limit, together past the view's.
               "args": ["-c", "for i in 1 2 3; do head -c 100M /dev/zero > data/f$i || \
                               { echo refused; exit 0; }; done; echo wrote-all"],
               "security": {"permissions": {"file_write": ["./data"]}},
               "timeout": 60,
               "tests": [{"params": {}, "expect": {"exit_code": 0, "stdout_contains": "refused"}}]}),
    );
    w.write(
        "~/.config/skillet/skillet.toml",
        &w.grant_toml("filler", "write = [\"data\"]\n"),
    );
    let (code, v) = test_json(&w, false, &["filler"]);
    assert_eq!(v["isolation"]["kind"], "overlay", "{v}");
    assert_eq!(code, 0, "{v}");
    assert!(v.to_string().contains("No space left on device"), "{v}");
}

/// Applying writes each hard link and each sparse file out in full, so what costs a run almost
/// nothing in its view could fill the real disk: applying is held to what a view holds
/// (256 MiB in all), and what would pass it is listed as not applied, with why.
#[test]
fn applying_writes_no_more_than_a_view_holds() {
    let w = world();
    writer(
        &w,
        "sparse",
        "truncate -s 150M data/s1 && ln data/s1 data/s2 && ln data/s1 data/s3 && echo ok",
    );
    let (code, out, err) = w.run(&["test", "sparse", "--apply"]);
    assert_eq!(
        code, 1,
        "a change left alone fails the command: {out}\n{err}"
    );
    let written: Vec<&str> = ["data/s1", "data/s2", "data/s3"]
        .into_iter()
        .filter(|n| w.path(n).exists())
        .collect();
    assert_eq!(written.len(), 1, "{written:?}\n{err}");
    assert!(err.contains("256 MiB in all"), "{err}");
}

#[test]
fn a_link_the_skill_makes_out_of_the_workspace_is_never_applied() {
    let w = world();
    writer(
        &w,
        "links",
        "ln -s /etc/passwd data/abs; ln -s ../../../../../../etc data/up; \
         ln -s x/../../.. data/climb; ln -s keep.txt data/fine; \
         ln -s ../.git/config data/git; ln -s ./../.env data/env; \
         ln -s ../.skillet/skills data/skills; echo ok",
    );
    let (code, out, err) = w.run(&["test", "links", "--apply"]);
    assert_eq!(
        code, 1,
        "a change left alone fails the command: {out}\n{err}"
    );
    for (names, why) in [
        (
            ["data/abs", "data/up", "data/climb"],
            "leads out of the workspace",
        ),
        // Inside the workspace, but into what isolated runs never see.
        (
            ["data/git", "data/env", "data/skills"],
            "isolated runs never see",
        ),
    ] {
        assert!(err.contains(why), "{err}");
        for name in names {
            assert!(
                err.contains(&format!("not applied: {name}")),
                "{name}: {err}"
            );
            assert!(
                w.path(name).symlink_metadata().is_err(),
                "{name} was created"
            );
        }
    }
    assert_eq!(
        std::fs::read_link(w.path("data/fine")).unwrap(),
        Path::new("keep.txt")
    );
}

#[test]
fn a_folder_swapped_for_a_link_after_the_run_is_not_written_through() {
    let w = world();
    let outside = w.tmp.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("keep.txt"), "outside\n").unwrap();
    writer(&w, "edit", EDIT);
    let (code, err) = dev_apply_after(&w, "data/new.txt", || {
        // Between the run and the apply, the real `data` becomes a link to a folder outside.
        std::fs::rename(w.path("data"), w.path("data.moved")).unwrap();
        std::os::unix::fs::symlink(&outside, w.path("data")).unwrap();
    });
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("not applied: data/keep.txt"), "{err}");
    assert_eq!(
        std::fs::read_to_string(outside.join("keep.txt")).unwrap(),
        "outside\n"
    );
    assert!(
        !outside.join("new.txt").exists(),
        "written through the link"
    );
    assert_eq!(read(&w, "data.moved/keep.txt").as_deref(), Some("hello\n"));
}

#[test]
fn apply_replaces_a_hard_linked_file_never_writing_through_it() {
    let w = world();
    let outside = w.tmp.path().join("outside.txt");
    std::fs::write(&outside, "outside\n").unwrap();
    std::fs::hard_link(&outside, w.path("data/linked.txt")).unwrap();
    writer(&w, "edit", "echo skill > data/linked.txt; echo ok");
    let (code, out, err) = w.run(&["test", "edit", "--apply"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("modified  data/linked.txt"), "{out}");
    assert_eq!(read(&w, "data/linked.txt").as_deref(), Some("skill\n"));
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "outside\n");
}

#[test]
fn a_file_swapped_for_a_link_after_the_run_is_left_alone() {
    let w = world();
    let outside = w.tmp.path().join("outside.txt");
    std::fs::write(&outside, "outside\n").unwrap();
    writer(&w, "edit", EDIT);
    let (code, err) = dev_apply_after(&w, "data/keep.txt", || {
        std::fs::remove_file(w.path("data/keep.txt")).unwrap();
        std::os::unix::fs::symlink(&outside, w.path("data/keep.txt")).unwrap();
    });
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("not applied: data/keep.txt"), "{err}");
    assert!(err.contains("changed in the real tree"), "{err}");
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "outside\n");
    assert!(
        w.path("data/keep.txt")
            .symlink_metadata()
            .unwrap()
            .is_symlink()
    );
    // The entries nobody touched were applied.
    assert_eq!(read(&w, "data/new.txt").as_deref(), Some("new\n"));
}
