//! State for pooled skills end to end: a pooled call sees the skill's committed state as it is
//! when the call comes (not when its interpreter started), and its changes are committed when
//! it ends ok, with the conflict detection sessions have. Real daemon, real sandboxed python
//! members, real SQLite store.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::time::Duration;

use common::pool::{call, idle};
use common::sessions::{eventually, session_skill};
use common::{World, interpreter};
use serde_json::json;

/// Adds one to `count` in the state document after `pause` seconds, prints the new count.
fn increment(pause: f64) -> String {
    format!(
        "import json, os, time\np = os.environ['SKILLET_STATE']\ns = json.load(open(p))\n\
         time.sleep({pause})\ns['count'] = s.get('count', 0) + 1\n\
         open(p, 'w').write(json.dumps(s))\nprint(s['count'])"
    )
}

fn stateful_pool(w: &World, pool: serde_json::Value) {
    session_skill(
        w,
        "ctr",
        &interpreter("python3"),
        json!({"session_config": {"pool": pool}, "state": {"version": 1}}),
    );
}

fn count(w: &World) -> String {
    w.run(&["state", "get", "ctr", "count"]).1.trim().to_owned()
}

#[test]
fn a_counter_incremented_by_five_pooled_calls_reads_five() {
    let w = World::new();
    stateful_pool(&w, json!({"min_idle": 2, "max": 2}));
    let (code, _, err) = w.run(&["validate", "ctr"]);
    assert_eq!(code, 0, "a pooled skill may keep state: {err}");
    for expected in 1..=5 {
        let (code, out, err) = call(&w, "ctr", &increment(0.0));
        assert_eq!((code, out.trim()), (0, &*expected.to_string()), "{err}");
    }
    assert_eq!(count(&w), "5");
}

#[test]
fn a_call_sees_the_state_committed_when_it_comes_not_when_its_member_started() {
    let w = World::new();
    stateful_pool(&w, json!({"min_idle": 2, "max": 2}));
    assert_eq!(call(&w, "ctr", &increment(0.0)).1.trim(), "1");
    // The members that will take the next calls are started and waiting now.
    assert!(eventually(Duration::from_secs(20), || idle(&w, "ctr", 2)));
    assert_eq!(w.run(&["state", "set", "ctr", "count", "40"]).0, 0);
    let (code, out, err) = call(&w, "ctr", &increment(0.0));
    assert_eq!((code, out.trim()), (0, "41"), "{err}");
    assert_eq!(call(&w, "ctr", &increment(0.0)).1.trim(), "42");
    assert_eq!(count(&w), "42");
}

#[test]
fn a_failed_or_killed_call_commits_nothing() {
    let w = World::new();
    stateful_pool(&w, json!({"min_idle": 1, "max": 2}));
    assert_eq!(call(&w, "ctr", &increment(0.0)).0, 0);
    // Writes its state, then fails.
    let (code, _, err) = call(
        &w,
        "ctr",
        &format!("{}\nraise RuntimeError('boom')", increment(0.0)),
    );
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("boom"), "{err}");
    assert_eq!(count(&w), "1", "a failed call saved its state");
    // Writes its state, then its interpreter dies.
    let (code, _, err) = call(
        &w,
        "ctr",
        &format!("{}\nimport os\nos._exit(0)", increment(0.0)),
    );
    assert_ne!(code, 0, "{err}");
    assert_eq!(
        count(&w),
        "1",
        "a call whose interpreter died saved its state"
    );
    // State that is not JSON is refused, and nothing is saved.
    let (code, _, err) = call(
        &w,
        "ctr",
        "import os\nopen(os.environ['SKILLET_STATE'], 'w').write('{not json')",
    );
    assert_ne!(code, 0);
    assert!(err.contains("not valid JSON"), "{err}");
    assert_eq!(count(&w), "1");
    // And the next call starts from the committed document.
    assert_eq!(call(&w, "ctr", &increment(0.0)).1.trim(), "2");
}

#[test]
fn two_concurrent_calls_changing_state_one_commits_the_other_fails_with_the_conflict() {
    let w = World::new();
    stateful_pool(&w, json!({"min_idle": 2, "max": 2}));
    assert_eq!(call(&w, "ctr", "1").0, 0);
    assert!(eventually(Duration::from_secs(20), || idle(&w, "ctr", 2)));
    let calls: Vec<_> = (0..2)
        .map(|_| {
            w.command(&assert_cmd::cargo::cargo_bin("skillet"))
                .args(["run", "ctr", "--stdin", &increment(1.5)])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outs: Vec<_> = calls
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let ok = outs.iter().filter(|o| o.status.success()).count();
    let report: Vec<String> = outs
        .iter()
        .map(|o| {
            format!(
                "{:?} {} {}",
                o.status.code(),
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            )
        })
        .collect();
    assert_eq!(ok, 1, "exactly one commits: {report:?}");
    let failed = outs.iter().find(|o| !o.status.success()).unwrap();
    let err = String::from_utf8_lossy(&failed.stderr);
    assert!(
        err.contains("was not saved") && err.contains("saved its state while this call ran"),
        "{err}"
    );
    assert_eq!(count(&w), "1", "the loser's change was not saved");
}

#[test]
fn a_pooled_call_cannot_commit_a_link_or_a_hard_link_as_its_state() {
    let w = World::new();
    stateful_pool(&w, json!({"min_idle": 1, "max": 1}));
    assert_eq!(call(&w, "ctr", &increment(0.0)).0, 0);
    for (how, code) in [
        (
            "a symbolic link",
            "import os\np = os.environ['SKILLET_STATE']\nos.remove(p)\nos.symlink('/etc/hostname', p)",
        ),
        (
            "a hard link",
            "import os\np = os.environ['SKILLET_STATE']\nq = p + '.2'\n\
             open(q, 'w').write('{\"count\": 50}')\nos.remove(p)\nos.link(q, p)",
        ),
        (
            "a directory",
            "import os\np = os.environ['SKILLET_STATE']\nos.remove(p)\nos.mkdir(p)",
        ),
    ] {
        let (code, _, err) = call(&w, "ctr", code);
        assert_ne!(code, 0, "{how}: {err}");
        assert!(err.contains("was not saved"), "{how}: {err}");
        assert_eq!(count(&w), "1", "{how} was committed");
    }
    assert_eq!(call(&w, "ctr", &increment(0.0)).1.trim(), "2");
}

/// The daemon keeps the skill files its calls read (parsed once while unchanged): an edit, a
/// broken file and a removed one are each seen by the very next call.
#[test]
fn an_edit_of_a_remembered_skill_file_is_seen_by_the_next_call() {
    let w = World::new();
    let skill = |greeting: &str| {
        session_skill(
            &w,
            "py",
            &interpreter("python3"),
            json!({"env": {"GREETING": greeting},
                   "session_config": {"pool": {"min_idle": 1, "max": 2}}}),
        );
    };
    let greet = "import os; print(os.environ['GREETING'])";
    skill("aaaa");
    // Old enough to be remembered (a file changed in the last two seconds never is), then
    // called twice, so the second call is answered from what the daemon kept.
    std::thread::sleep(Duration::from_millis(2_200));
    assert_eq!(call(&w, "py", greet).1, "aaaa\n");
    assert_eq!(call(&w, "py", greet).1, "aaaa\n");
    // The same size, rewritten in place.
    skill("bbbb");
    assert_eq!(call(&w, "py", greet).1, "bbbb\n");
    std::thread::sleep(Duration::from_millis(2_200));
    assert_eq!(call(&w, "py", greet).1, "bbbb\n");
    std::fs::write(w.ws.join(".skillet/skills/py.json"), "{ not json").unwrap();
    let (code, _, err) = call(&w, "py", greet);
    assert_ne!(code, 0, "{err}");
    std::fs::remove_file(w.ws.join(".skillet/skills/py.json")).unwrap();
    let (code, _, err) = call(&w, "py", greet);
    assert!(code != 0 && err.contains("py"), "{err}");
}

/// A write through a shared `mmap` to a page already dirty changes a file and leaves its size,
/// inode, modification and change times as they were: the daemon must still see it (found by
/// an outside review of an earlier memo that trusted the times).
#[test]
fn an_edit_through_mmap_that_keeps_every_time_is_seen_by_the_next_call() {
    let w = World::new();
    session_skill(
        &w,
        "py",
        &interpreter("python3"),
        json!({"env": {"V": "1"}, "session_config": {"pool": {"min_idle": 1, "max": 2}}}),
    );
    let file = w.ws.join(".skillet/skills/py.json");
    let script = format!(
        r#"
import mmap, os, subprocess, time
f = {file:?}
m = mmap.mmap(os.open(f, os.O_RDWR), 0)
i = m.find(b'"V": "') + 6
def call():
    return subprocess.run([{skillet:?}, "run", "py", "--stdin",
                           "import os; print(os.environ['V'])"],
                          capture_output=True, text=True).stdout.strip()
m[i:i+1] = b'1'  # the page is dirty from here on
time.sleep(2.2)
first = call()
before = os.stat(f)
m[i:i+1] = b'2'
after = os.stat(f)
same = (before.st_ino, before.st_size, before.st_mtime_ns, before.st_ctime_ns) == \
       (after.st_ino, after.st_size, after.st_mtime_ns, after.st_ctime_ns)
print(first, call(), same)
"#,
        skillet = assert_cmd::cargo::cargo_bin("skillet"),
    );
    let out = w
        .command(std::path::Path::new(&interpreter("python3")))
        .args(["-c", &script])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let words: Vec<&str> = stdout.split_whitespace().collect();
    assert_eq!(
        words.get(..2),
        Some(&["1", "2"][..]),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
