//! `skillet test` and `skillet dev` run against a throwaway copy of the workspace (issue 22):
//! the real tree stays as it was, what the skill changed is listed as a diff, `--apply` writes
//! it by handle, and links (to `/etc`, `..`, swapped in after the run) never lead the copy or
//! the apply outside the workspace. Their state and result cache are their own.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::Read as _;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::World;
use common::isolated::{EDIT, read, world, writer};
use serde_json::{Value, json};

fn test_json(w: &World, args: &[&str]) -> (i32, Value, String) {
    let mut all = vec!["test", "--json"];
    all.extend_from_slice(args);
    let (code, out, err) = w.run(&all);
    let v = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    (code, v, err)
}

fn changed(v: &Value) -> Vec<(String, String)> {
    v["workspace_changes"]
        .as_array()
        .unwrap_or_else(|| panic!("no workspace_changes: {v}"))
        .iter()
        .map(|c| {
            (
                c["path"].as_str().unwrap().to_owned(),
                c["change"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn a_test_that_writes_and_deletes_leaves_the_real_tree_and_names_each_change() {
    let w = world();
    writer(&w, "edit", EDIT);
    let (code, out, err) = w.run(&["test", "edit"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("PASS"), "{out}");
    for line in [
        "modified  data/keep.txt",
        "removed   data/gone.txt",
        "added     data/new.txt",
    ] {
        assert!(out.contains(line), "{line} missing:\n{out}");
    }
    assert!(out.contains("+more"), "the diff of the text file: {out}");
    assert!(out.contains("--apply"), "says how to apply: {out}");
    assert_eq!(read(&w, "data/keep.txt").as_deref(), Some("hello\n"));
    assert_eq!(read(&w, "data/gone.txt").as_deref(), Some("bye\n"));
    assert_eq!(read(&w, "data/new.txt"), None);
    let (code, v, _) = test_json(&w, &["edit"]);
    assert_eq!(code, 0, "{v}");
    // The run is in the user's history, as a real run would be.
    let id = v["tests"][0]["execution_id"].as_str().unwrap();
    let (code, shown, err) = w.run(&["history", "show", id]);
    assert_eq!(code, 0, "{shown}\n{err}");
    assert!(shown.contains("edit"), "{shown}");
    assert_eq!(
        changed(&v),
        [
            ("data/gone.txt".into(), "removed".into()),
            ("data/keep.txt".into(), "modified".into()),
            ("data/new.txt".into(), "added".into())
        ]
    );
}

#[test]
fn apply_writes_what_the_test_changed_into_the_real_tree() {
    let w = world();
    writer(&w, "edit", EDIT);
    let (code, out, err) = w.run(&["test", "edit", "--apply"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("applied 3 changes"), "{out}");
    assert_eq!(read(&w, "data/keep.txt").as_deref(), Some("hello\nmore\n"));
    assert_eq!(read(&w, "data/gone.txt"), None);
    assert_eq!(read(&w, "data/new.txt").as_deref(), Some("new\n"));
}

#[test]
fn no_isolate_runs_in_the_real_tree_as_before() {
    let w = world();
    writer(&w, "edit", EDIT);
    let (code, out, err) = w.run(&["test", "edit", "--no-isolate"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(!out.contains("workspace:"), "no copy, no diff: {out}");
    assert_eq!(read(&w, "data/new.txt").as_deref(), Some("new\n"));
    assert_eq!(read(&w, "data/gone.txt"), None);
}

#[test]
fn links_in_the_workspace_are_copied_as_links_never_followed() {
    let w = world();
    let outside = w.tmp.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret.txt"), "outside\n").unwrap();
    std::os::unix::fs::symlink("/etc", w.path("etc")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", w.path("data/pw")).unwrap();
    std::os::unix::fs::symlink(&outside, w.path("data/out")).unwrap();
    std::os::unix::fs::symlink("../..", w.path("data/up")).unwrap();
    // In the copy they are still links (a followed one would be a folder or a file there).
    writer(
        &w,
        "look",
        "test -L etc && test -L data/pw && test -L data/out && test -L data/up && echo links; \
         echo x > data/out/secret.txt; rm -f data/pw",
    );
    let (code, v, err) = test_json(&w, &["look"]);
    assert_eq!(v["tests"][0]["observed"]["stdout"], "links\n", "{v}\n{err}");
    let _ = code;
    // The write through the link to a folder outside did not reach it.
    assert_eq!(
        std::fs::read_to_string(outside.join("secret.txt")).unwrap(),
        "outside\n"
    );
    // Removing the link is a change of the link, and applying it removes the link only.
    assert_eq!(changed(&v), [("data/pw".into(), "removed".into())]);
    let (code, out, err) = w.run(&["test", "look", "--apply"]);
    assert!(out.contains("applied 1 change"), "{code} {out}\n{err}");
    assert!(w.path("data/pw").symlink_metadata().is_err());
    assert!(Path::new("/etc/passwd").exists());
    assert_eq!(
        std::fs::read_to_string(outside.join("secret.txt")).unwrap(),
        "outside\n"
    );
}

#[test]
fn a_grant_naming_the_real_tree_gives_a_test_the_copy_instead() {
    // The user granted a folder of the workspace by its absolute path (for real runs), spelled
    // plainly, through a link to the workspace, and with `..`: an isolated run gets the copy's
    // folder, and writing the real one by its absolute path is refused by the sandbox.
    let w = world();
    std::fs::create_dir_all(w.path("sub")).unwrap();
    let alias = w.tmp.path().join("alias");
    std::os::unix::fs::symlink(&w.ws, &alias).unwrap();
    let real_data = w.path("data");
    for typed in [
        real_data.display().to_string(),
        alias.join("data").display().to_string(),
        w.path("sub/../data").display().to_string(),
    ] {
        w.write(
            "~/.config/skillet/skillet.toml",
            &w.grant_toml("abs", &format!("write = [{typed:?}]\n")),
        );
        let script = format!(
            "echo changed > data/keep.txt; echo x > {}/new.txt; echo ok",
            real_data.display()
        );
        w.skill(
            "abs",
            json!({"name": "abs", "description": "d", "type": "code_inline", "command": "sh",
                   "args": ["-c", script],
                   "security": {"permissions": {"file_write": [typed]}},
                   "tests": [{"params": {}, "expect": {"exit_code": 0}}]}),
        );
        let (_, v, err) = test_json(&w, &["abs"]);
        assert_eq!(
            read(&w, "data/keep.txt").as_deref(),
            Some("hello\n"),
            "{typed}: {v}\n{err}"
        );
        assert_eq!(read(&w, "data/new.txt"), None, "{typed}: {v}\n{err}");
        assert_eq!(
            changed(&v),
            [("data/keep.txt".into(), "modified".into())],
            "{typed}: the copy's folder was granted: {v}"
        );
    }
}

#[test]
fn an_allow_write_flag_naming_the_real_tree_gives_dev_the_copy() {
    let w = world();
    w.skill(
        "flag",
        json!({"name": "flag", "description": "d", "type": "code_inline", "command": "sh",
               "args": ["-c", format!("echo changed > {}/keep.txt; echo ok", w.path("data").display())]}),
    );
    let data = w.path("data").display().to_string();
    let out = w
        .command(&assert_cmd::cargo::cargo_bin("skillet"))
        .args(["dev", "flag", "--json", "--allow-write", &data])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        read(&w, "data/keep.txt").as_deref(),
        Some("hello\n"),
        "{text}"
    );
    let first: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(first["run"]["stdout"], "ok\n", "{first}");
}

#[test]
fn test_state_is_not_the_users_state() {
    let w = World::new();
    w.skill(
        "counter",
        json!({"name": "counter", "description": "d", "type": "code_inline", "command": "sh",
               "args": ["-c", "echo '{\"count\": 7}' > \"$SKILLET_STATE\"; echo ok"],
               "state": {"version": 1},
               "tests": [{"params": {}, "expect": {"exit_code": 0}}]}),
    );
    let (code, out, err) = w.run(&["test", "counter"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let (_, got, _) = w.run(&["state", "get", "counter", "count"]);
    assert!(
        !got.contains('7'),
        "the test's state leaked into the user's: {got}"
    );
    // A real run does write it, so the check above looks at the right place.
    let (code, r) = w.run_json(&["counter"]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(w.run(&["state", "get", "counter", "count"]).1.trim(), "7");
    // And the user's state is not what a test run sees.
    w.skill(
        "counter",
        json!({"name": "counter", "description": "d", "type": "code_inline", "command": "sh",
               "args": ["-c", "cat \"$SKILLET_STATE\""],
               "state": {"version": 1},
               "tests": [{"params": {}, "expect": {"exit_code": 0}}]}),
    );
    let (_, v, _) = test_json(&w, &["counter"]);
    let seen = v["tests"][0]["observed"]["stdout"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        !seen.contains('7'),
        "a test run read the user's state: {seen}"
    );
}

#[test]
fn a_cached_result_is_not_shared_between_real_and_test_runs() {
    let w = World::new();
    w.skill(
        "stamp",
        json!({"name": "stamp", "description": "d", "type": "code_inline", "command": "sh",
               "args": ["-c", "date +%s%N"], "cache": {"ttl": 300},
               "tests": [{"params": {}, "expect": {"exit_code": 0}}]}),
    );
    let (code, first) = w.run_json(&["stamp"]);
    assert_eq!(code, 0, "{first}");
    let real = first["stdout"].as_str().unwrap().to_owned();
    let (_, again) = w.run_json(&["stamp"]);
    assert_eq!(
        again["cached"],
        json!(true),
        "the cache works here: {again}"
    );
    let (_, v, _) = test_json(&w, &["stamp"]);
    let tested = v["tests"][0]["observed"]["stdout"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(
        tested, real,
        "a test run was served the real run's cached result"
    );
    let (_, after) = w.run_json(&["stamp"]);
    assert_eq!(
        after["stdout"].as_str(),
        Some(&*real),
        "a test run replaced the cache: {after}"
    );
}

#[test]
fn dev_shows_the_change_and_applies_the_last_run_on_exit_with_apply() {
    let w = world();
    writer(&w, "edit", EDIT);
    let run = |extra: &[&str]| {
        let mut child = w
            .command(&assert_cmd::cargo::cargo_bin("skillet"))
            .args(["dev", "edit"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let started = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "dev did not stop"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        let (mut out, mut err) = (String::new(), String::new());
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        (status.code().unwrap_or(-1), out, err)
    };
    let (code, out, err) = run(&[]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("added     data/new.txt"), "{out}");
    assert!(out.contains("removed   data/gone.txt"), "{out}");
    assert_eq!(read(&w, "data/new.txt"), None);
    assert_eq!(read(&w, "data/keep.txt").as_deref(), Some("hello\n"));
    let (code, out, err) = run(&["--apply", "--json"]);
    assert_eq!(code, 0, "{out}\n{err}");
    // Each line is one JSON object: the reload, then what applying did.
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines.last().unwrap()["applied"].as_array().unwrap().len(),
        3,
        "{out}"
    );
    assert_eq!(
        read(&w, "data/new.txt").as_deref(),
        Some("new\n"),
        "{out}\n{err}"
    );
    assert_eq!(read(&w, "data/gone.txt"), None);
    // --json carries the changes in each reload's object.
    w.write("data/gone.txt", "bye\n");
    let (_, out, _) = run(&["--json"]);
    let first: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert!(
        first["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["path"] == "data/gone.txt"),
        "{first}"
    );
}

#[test]
fn an_unreadable_file_or_folder_does_not_stop_the_copy() {
    use std::os::unix::fs::PermissionsExt as _;
    let w = world();
    w.write("private/secret.txt", "s\n");
    w.write("data/locked.txt", "l\n");
    std::fs::set_permissions(
        w.path("data/locked.txt"),
        std::fs::Permissions::from_mode(0o000),
    )
    .unwrap();
    std::fs::set_permissions(w.path("private"), std::fs::Permissions::from_mode(0o000)).unwrap();
    writer(&w, "edit", EDIT);
    let (code, out, err) = w.run(&["test", "edit"]);
    std::fs::set_permissions(w.path("private"), std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("added     data/new.txt"), "{out}");
    assert!(!out.contains("locked.txt"), "{out}");
}

#[test]
fn a_workspace_too_large_to_copy_is_refused_with_what_to_do() {
    let w = World::new();
    writer(&w, "edit", "echo ok");
    for i in 0..20_050 {
        if i % 1000 == 0 {
            std::fs::create_dir_all(w.path(&format!("many/{}", i / 1000))).unwrap();
        }
        std::fs::write(w.path(&format!("many/{}/{i}", i / 1000)), "").unwrap();
    }
    // The copy's bound (an overlay, used as root, copies nothing: isolated_overlay.rs).
    let out = w
        .skillet()
        .env("SKILLET_ISOLATE_FORCE_COPY", "1")
        .args(["test", "edit"])
        .output()
        .unwrap();
    let (code, out, err) = (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert_ne!(code, 0, "{out}");
    assert!(err.contains("too large to copy"), "{err}");
    assert!(err.contains("--no-isolate"), "{err}");
    let (code, out, err) = w.run(&["test", "edit", "--no-isolate"]);
    assert_eq!(code, 0, "{out}\n{err}");
}
