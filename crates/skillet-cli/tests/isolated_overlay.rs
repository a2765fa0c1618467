//! Isolated `skillet test` / `skillet dev` runs see a copy-on-write overlay of the workspace
//! where skillet may mount one (root: in a mount namespace of its own), and a copy elsewhere
//! (issue 22). Both are attacked the same way: what the copy leaves out (`.git`'s settings,
//! `.env*`, credentials, hard links to those) is not readable through the view by any spelling
//! (links, `..`, the real path), and writing through the view (in place, through a hard link,
//! through a link out of the workspace) never reaches the real tree or anything outside it.
//! CI runs this file as root (overlay) and as an unprivileged user (copy, saying why).

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::World;
use common::isolated::{FORCE_COPY, expected_kind, is_root, run, test_json, writer};
use serde_json::{Value, json};

#[test]
fn the_view_is_an_overlay_as_root_and_a_copy_otherwise_and_says_which() {
    for force in [false, true] {
        let w = World::new();
        w.write("data/keep.txt", "hello\n");
        writer(
            &w,
            "edit",
            "echo more >> data/keep.txt; echo new > data/new.txt",
        );
        let (code, v) = test_json(&w, force, &["edit"]);
        assert_eq!(code, 0, "{v}");
        let iso = &v["isolation"];
        assert_eq!(iso["kind"], expected_kind(force), "force={force}: {v}");
        if force {
            assert!(
                iso["reason"].as_str().unwrap().contains(FORCE_COPY),
                "{iso}"
            );
        } else if !is_root() {
            assert!(iso["reason"].as_str().unwrap().contains("root"), "{iso}");
        }
        // Both show the same changes, and leave the real tree alone.
        let changed: Vec<_> = v["workspace_changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                format!(
                    "{} {}",
                    c["change"].as_str().unwrap(),
                    c["path"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(
            changed,
            ["modified data/keep.txt", "added data/new.txt"],
            "{v}"
        );
        assert_eq!(
            std::fs::read_to_string(w.path("data/keep.txt")).unwrap(),
            "hello\n"
        );
        assert!(!w.path("data/new.txt").exists());

        // `-v` names the isolation on stderr; so does the dev banner.
        let (code, out, err) = run(&w, force, &["test", "-v", "edit"]);
        assert_eq!(code, 0, "{out}\n{err}");
        let said = if expected_kind(force) == "overlay" {
            "isolated runs see a copy-on-write overlay of the workspace"
        } else {
            "isolated runs see a copy of the workspace ("
        };
        assert!(err.contains(said), "force={force}: {err}");
        let mut dev = w.skillet();
        if force {
            dev.env(FORCE_COPY, "1");
        }
        let out = dev
            .args(["dev", "edit"])
            .write_stdin("")
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        let banner = if expected_kind(force) == "overlay" {
            "skillet dev: runs see a copy-on-write overlay of the workspace"
        } else {
            "skillet dev: runs see a copy of the workspace ("
        };
        assert!(err.contains(banner), "force={force}: {err}");
    }
}

/// The secrets of the workspace, each with a marker no output may hold.
fn plant_secrets(w: &World) {
    w.write(".env", "SECRET-ENV-ROOT\n");
    w.write("src/.env.local", "SECRET-ENV-NESTED\n");
    w.write(
        ".git/config",
        "[remote]\n url = https://SECRET-GIT-TOKEN@example.com\n",
    );
    w.write("config/credentials.json", "{\"k\": \"SECRET-CRED\"}\n");
    w.write("src/main.rs", "fn main() {}\n");
    std::fs::create_dir_all(w.path("docs")).unwrap();
    std::fs::create_dir_all(w.path("data")).unwrap();
    // Another name for `.env`, and links to the secrets by every spelling.
    std::fs::hard_link(w.path(".env"), w.path("docs/notes.txt")).unwrap();
    std::os::unix::fs::symlink("../.git/config", w.path("data/peek-git")).unwrap();
    std::os::unix::fs::symlink(real(w).join(".env"), w.path("data/peek-real")).unwrap();
    std::os::unix::fs::symlink("../src/.env.local", w.path("data/peek-nested")).unwrap();
}

fn real(w: &World) -> PathBuf {
    std::fs::canonicalize(&w.ws).unwrap()
}

#[test]
fn what_the_copy_leaves_out_is_unreadable_through_the_view_by_any_spelling() {
    for force in [false, true] {
        let w = World::new();
        plant_secrets(&w);
        let real = real(&w);
        let reads = [
            ".env",
            "./.env",
            "src/../.env",
            "src/.env.local",
            ".git/config",
            "src/../.git/config",
            "config/credentials.json",
            "docs/notes.txt",
            "data/peek-git",
            "data/peek-real",
            "data/peek-nested",
        ]
        .iter()
        .map(|p| p.to_string())
        .chain([
            format!("{}/.env", real.display()),
            format!("{}/.git/config", real.display()),
            format!("{}/../ws/.env", real.display()),
        ])
        .map(|p| format!("cat '{p}';"))
        .collect::<String>();
        let script = format!(
            "{reads} grep -rh 'SEC''RET' . ; cat /proc/self/mountinfo; ls -a . .git src; echo end"
        );
        writer(&w, "peek", &script);
        let (code, v) = test_json(&w, force, &["peek"]);
        assert_eq!(code, 0, "{v}");
        assert_eq!(v["isolation"]["kind"], expected_kind(force), "{v}");
        let stdout = v["tests"][0]["observed"]["stdout"].as_str().unwrap();
        assert!(stdout.ends_with("end\n"), "the script ran to its end: {v}");
        assert!(
            stdout.contains("main.rs"),
            "the workspace is seen: {stdout}"
        );
        assert!(
            !stdout.contains("SECRET"),
            "force={force}: a secret leaked:\n{stdout}"
        );
        // Neither the real workspace nor the layers are named to the skill (the script
        // itself, which names the real path, spells the marker so grep does not find it).
        assert!(
            !stdout.contains(&real.display().to_string()),
            "the real path shows inside the run:\n{stdout}"
        );
        // The layers are given to the kernel by handle: no path of them shows either.
        assert!(!stdout.contains("/upper"), "{stdout}");
        assert!(!stdout.contains("lowerdir=/tmp"), "{stdout}");
    }
}

#[test]
fn writes_through_the_view_never_reach_the_real_tree_nor_outside_it() {
    for force in [false, true] {
        let w = World::new();
        w.write("data/keep.txt", "hello\n");
        let outside = w.write("~/outside.txt", "untouched\n");
        std::fs::create_dir_all(w.path("~/outside-dir")).unwrap();
        // A hard link and a link to places outside the workspace.
        std::fs::hard_link(&outside, w.path("data/linked.txt")).unwrap();
        std::os::unix::fs::symlink(w.path("~/outside-dir"), w.path("data/out")).unwrap();
        writer(
            &w,
            "smash",
            "echo pwned > data/keep.txt; echo pwned >> data/linked.txt; \
             echo pwned > data/out/planted 2>/dev/null; rm -rf data/out 2>/dev/null; \
             mkdir -p data/deep/er; echo x > data/deep/er/f; echo end",
        );
        let (code, v) = test_json(&w, force, &["smash"]);
        assert_eq!(code, 0, "{v}");
        assert_eq!(v["isolation"]["kind"], expected_kind(force), "{v}");
        let read = |p: &Path| std::fs::read_to_string(p).unwrap();
        assert_eq!(read(&w.path("data/keep.txt")), "hello\n");
        assert_eq!(
            read(&outside),
            "untouched\n",
            "force={force}: written through a hard link"
        );
        assert_eq!(read(&w.path("data/linked.txt")), "untouched\n");
        assert!(!w.path("~/outside-dir/planted").exists(), "force={force}");
        assert!(w.path("data/out").symlink_metadata().unwrap().is_symlink());
        assert!(!w.path("data/deep").exists());

        // Applying writes the workspace's own entries by handle: the hard link is replaced,
        // never written through, and nothing is made through the link out.
        let (code, out, err) = run(&w, force, &["test", "smash", "--apply"]);
        assert_eq!(code, 0, "{out}\n{err}");
        assert_eq!(read(&w.path("data/keep.txt")), "pwned\n");
        assert_eq!(
            read(&outside),
            "untouched\n",
            "force={force}: applied through a hard link"
        );
        assert_eq!(read(&w.path("data/linked.txt")), "untouched\npwned\n");
        assert!(!w.path("~/outside-dir/planted").exists(), "force={force}");
        assert_eq!(read(&w.path("data/deep/er/f")), "x\n");
    }
}

/// The overlay is mounted in skillet's own mount namespace: while a test runs, the host sees
/// neither the mount nor the workspace at the view's root, and nothing is left after it.
#[test]
fn nothing_outside_the_run_sees_the_overlay_and_it_goes_with_the_run() {
    let w = World::new();
    w.write("data/keep.txt", "hello\n");
    // A sleep no other test runs: as root the run's writes land in a tmpfs the host cannot
    // see, so that the run has started is read from the process list.
    let marker = format!("4.{}", std::process::id());
    writer(
        &w,
        "slow",
        &format!("echo here > data/started; sleep {marker}; echo end"),
    );
    let tmp = w.tmp.path().join("t");
    std::fs::create_dir_all(&tmp).unwrap();
    let child = w
        .command(&assert_cmd::cargo::cargo_bin("skillet"))
        .env("TMPDIR", &tmp)
        .args(["test", "--json", "slow"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let views = || -> Vec<PathBuf> {
        std::fs::read_dir(&tmp)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("skillet-view-")
            })
            .collect()
    };
    let sleep_line = format!("sleep\0{marker}\0");
    let sleeping = || {
        std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
            std::fs::read(e.path().join("cmdline")).is_ok_and(|c| c == sleep_line.as_bytes())
        })
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let view = loop {
        if let Some(v) = views().into_iter().find(|v| {
            if is_root() {
                sleeping()
            } else {
                v.join("root/data/started").exists()
            }
        }) {
            break v;
        }
        assert!(Instant::now() < deadline, "the run never started");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mountinfo.contains("skillet-view"),
        "the overlay shows on the host:\n{mountinfo}"
    );
    if is_root() {
        let seen: Vec<_> = std::fs::read_dir(view.join("root"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert!(
            seen.is_empty(),
            "the host sees the workspace at the view: {seen:?}"
        );
        // Nor what the run wrote: the layers are a tmpfs mounted where only skillet looks.
        let layers: Vec<_> = std::fs::read_dir(view.join("layers"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert!(layers.is_empty(), "the host sees the layers: {layers:?}");
    }
    let out = child.wait_with_output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(out.status.code(), Some(0), "{v}");
    assert_eq!(v["isolation"]["kind"], expected_kind(false), "{v}");
    assert!(views().is_empty(), "a view was left behind: {:?}", views());
}

/// The copy stops at 20,000 entries; the overlay copies nothing, so a larger workspace runs.
#[test]
fn a_workspace_too_large_to_copy_runs_in_an_overlay() {
    let w = World::new();
    writer(&w, "edit", "echo new > data/new.txt; echo end");
    std::fs::create_dir_all(w.path("data")).unwrap();
    for i in 0..20_050 {
        if i % 1000 == 0 {
            std::fs::create_dir_all(w.path(&format!("target/{}", i / 1000))).unwrap();
        }
        std::fs::write(w.path(&format!("target/{}/{i}", i / 1000)), "").unwrap();
    }
    for force in [false, true] {
        let (code, out, err) = run(&w, force, &["test", "--json", "edit"]);
        if expected_kind(force) == "overlay" {
            assert_eq!(code, 0, "{out}\n{err}");
            let v: Value = serde_json::from_str(&out).unwrap();
            assert_eq!(v["isolation"]["kind"], "overlay", "{v}");
            assert_eq!(v["workspace_changes"][0]["path"], "data/new.txt", "{v}");
            assert!(!w.path("data/new.txt").exists());
        } else {
            assert_ne!(code, 0, "{out}");
            assert!(
                out.contains("too large to copy"),
                "force={force}: {out}\n{err}"
            );
        }
    }
}

/// A program's `rename` of a folder from the real tree works in the view as it would in the
/// tree itself (an overlay without redirects fails it with EXDEV, which only `mv` hides).
#[test]
fn a_program_renaming_a_folder_works_in_the_view() {
    for force in [false, true] {
        let w = World::new();
        w.write("data/dd/f", "a\n");
        w.skill(
            "ren",
            json!({"name": "ren", "description": "d", "type": "code_inline",
                   "command": common::interpreter("python3"),
                   "args": ["-c", "import os; os.rename('data/dd', 'data/ee'); print(open('data/ee/f').read())"],
                   "security": {"permissions": {"file_write": ["./data"]}},
                   "tests": [{"params": {}, "expect": {"exit_code": 0, "stdout_contains": "a"}}]}),
        );
        w.write(
            "~/.config/skillet/skillet.toml",
            &w.grant_toml("ren", "write = [\"data\"]\n"),
        );
        let (code, v) = test_json(&w, force, &["ren"]);
        assert_eq!(code, 0, "force={force}: {v}");
        assert_eq!(v["isolation"]["kind"], expected_kind(force), "{v}");
        let changed: Vec<_> = v["workspace_changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                format!(
                    "{} {}",
                    c["change"].as_str().unwrap(),
                    c["path"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(
            changed,
            [
                "removed data/dd",
                "removed data/dd/f",
                "added data/ee",
                "added data/ee/f"
            ],
            "{v}"
        );
        assert!(w.path("data/dd/f").exists());
    }
}

/// An overlay follows redirects and opaque marks kept in extended attributes: a run that could
/// set them could point a folder of its view at `.git` or unhide what a whiteout hides. It can
/// set none through the view, and moving a folder that holds a hidden file does not unhide it.
#[test]
fn overlay_attributes_and_renames_never_unhide_what_is_hidden() {
    const ATTACK: &str = r#"
import os, subprocess
os.makedirs('data/x', exist_ok=True)
for name, value in [('trusted.overlay.redirect', b'/.git'), ('trusted.overlay.opaque', b'y'),
                    ('user.overlay.redirect', b'/.git'), ('user.overlay.opaque', b'y'),
                    ('trusted.overlay.origin', b'')]:
    try:
        os.setxattr('data/x', name, value)
        print('set', name)
    except OSError as e:
        print('refused', name, e.errno)
try:
    os.rename('sub', 'data/moved')  # the sandbox refuses it (a protected name inside): tried anyway
    print('moved', sorted(os.listdir('data/moved')))
except OSError as e:
    print('not moved', e.errno)
os.rename('data/a/docs', 'data/a/moved')  # holds a hidden hard link to `.env`
print('moved docs', sorted(os.listdir('data/a/moved')))
for p in ['data/x/config', 'data/moved/.env', 'sub/.env', '.git/config',
          'data/a/moved/notes.txt', 'data/a/docs/notes.txt']:
    try:
        print(open(p).read())
    except OSError as e:
        print('unreadable', p, e.errno)
print(sorted(os.listdir('data/x')))
print('end')
"#;
    for force in [false, true] {
        let w = World::new();
        w.write(
            ".git/config",
            "[remote]\n url = https://SECRET-GIT@example.com\n",
        );
        w.write("sub/.env", "SECRET-NESTED\n");
        w.write("sub/code.rs", "fn f() {}\n");
        std::fs::create_dir_all(w.path("data")).unwrap();
        w.write("data/a/docs/readme.md", "read me\n");
        std::fs::hard_link(w.path("sub/.env"), w.path("data/a/docs/notes.txt")).unwrap();
        w.skill(
            "attrs",
            json!({"name": "attrs", "description": "d", "type": "code_inline",
                   "command": common::interpreter("python3"), "args": ["-c", ATTACK],
                   "security": {"permissions": {"file_write": ["."]}},
                   "tests": [{"params": {}, "expect": {"exit_code": 0}}]}),
        );
        w.write(
            "~/.config/skillet/skillet.toml",
            &w.grant_toml("attrs", "write = [\".\"]\n"),
        );
        let (code, v) = test_json(&w, force, &["attrs"]);
        assert_eq!(code, 0, "force={force}: {v}");
        assert_eq!(v["isolation"]["kind"], expected_kind(force), "{v}");
        let stdout = v["tests"][0]["observed"]["stdout"].as_str().unwrap();
        assert!(stdout.ends_with("end\n"), "{v}");
        assert!(
            !stdout.contains("SECRET"),
            "force={force}: a secret leaked:\n{stdout}"
        );
        assert!(!stdout.contains("set trusted."), "force={force}: {stdout}");
        assert!(
            stdout.contains("moved docs ['readme.md']"),
            "force={force}: {stdout}"
        );
        assert_eq!(
            std::fs::read_to_string(w.path("sub/.env")).unwrap(),
            "SECRET-NESTED\n"
        );
    }
}
