//! What an isolated run may leave, and how it is shown: a run cannot write without bound through
//! its view (the overlay's upper layer is a capped tmpfs), applying its changes writes no more
//! than a view holds (hard links and sparse files are written out in full), and a file name
//! cannot forge a line of the change review.

#![allow(clippy::unwrap_used)]

mod common;

use common::World;
use common::isolated::{is_root, run, test_json, writer};
use serde_json::json;

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
        "[grants.filler]\nwrite = [\"data\"]\n",
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
    let w = World::new();
    w.write("data/keep.txt", "hello\n");
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
