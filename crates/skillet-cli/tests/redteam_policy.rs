//! The outside red team's policy findings, each reproduced end to end through `skillet run` with
//! several variants: a grant typed through a symlinked spelling of the workspace (F2), single-file
//! write grants (U1), `env` options mistaken for the program (F5), global skill folders inside a
//! write grant (F3), credential files in the workspace (F7), skill folders leaving the workspace
//! (F11) and zero limits from a workspace (a run killed at 0 s).

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::os::unix::fs::symlink;
use std::path::PathBuf;

use common::World;
use common::attack::*;
use serde_json::json;

// ---- U1: a write grant of one existing file -------------------------------------------------

#[test]
fn a_write_grant_of_one_existing_file_works() {
    let w = world();
    w.write("report.txt", "old\n");
    w.write("sub/notes.md", "old\n");
    sh(
        &w,
        "rep",
        "cd \"$SKILLET_WORKSPACE\"; echo new >> report.txt; echo new >> sub/notes.md; \
         echo x > other.txt 2>/dev/null; echo RAN",
    );
    let abs = s(&w.path("sub/notes.md"));
    for grant in ["./report.txt", "report.txt", abs.as_str()] {
        let (code, r) = w.run_json(&["rep", "--allow-write", grant]);
        assert_eq!(code, 0, "{grant}: {r}");
        ran(&r);
    }
    assert_eq!(
        std::fs::read_to_string(w.path("report.txt")).unwrap(),
        "old\nnew\nnew\n"
    );
    assert_eq!(
        std::fs::read_to_string(w.path("sub/notes.md")).unwrap(),
        "old\nnew\n"
    );
    // Only the granted file: nothing else in the workspace was created.
    assert!(!w.path("other.txt").exists());
}

#[test]
fn a_file_grant_is_still_checked_against_the_protected_list() {
    let w = world();
    w.write(".git/config", "[core]\n");
    symlink(".git/config", w.path("cfg")).unwrap();
    std::fs::hard_link(w.path(".git/config"), w.path("notes.txt")).unwrap();
    sh(&w, "rep", "echo RAN");
    let (code, r) = w.run_json(&["rep", "--allow-write", "./cfg"]);
    refused(code, &r, "stays read-only");
    let (code, r) = w.run_json(&["rep", "--allow-write", "./notes.txt"]);
    refused(code, &r, "hard link");
}

// ---- F2: an absolute grant reaching the workspace through a symlinked spelling --------------

/// A world whose workspace is also reached as `tmp/link` and `~/proj` (symlinks to it), whose
/// repository ships `out -> ~` and `data -> ~`, and a skill that writes and reads through them.
fn symlinked_spellings() -> (World, PathBuf) {
    let w = world();
    w.write("~/secret.txt", SECRET);
    w.write("~/.bashrc", "# mine\n");
    let link = w.tmp.path().join("link");
    symlink(&w.ws, &link).unwrap();
    symlink(&w.ws, w.path("~/proj")).unwrap();
    symlink(&w.home, w.path("out")).unwrap();
    symlink(&w.home, w.path("data")).unwrap();
    std::fs::create_dir_all(w.path("sub")).unwrap();
    symlink("../..", w.path("sub/up")).unwrap();
    std::fs::create_dir_all(w.path("real-out")).unwrap();
    sh(
        &w,
        "w",
        "W=\"$SKILLET_WORKSPACE\"; echo evil >> \"$W/out/.bashrc\"; cat \"$W/out/secret.txt\" \
         \"$W/data/secret.txt\"; echo fine > \"$W/real-out/f\"; echo RAN",
    );
    (w, link)
}

#[test]
fn an_absolute_grant_through_a_symlinked_spelling_of_the_workspace_stays_beneath_it() {
    let (w, link) = symlinked_spellings();
    let l = s(&link);
    let cwd_out = format!("{}/out", s(&w.ws.join("sub/..")));
    for (flag, grant) in [
        ("--allow-write", format!("{l}/out")),
        ("--allow-write", format!("{l}/./sub/../out")),
        ("--allow-write", format!("{l}/sub/up/home")),
        ("--allow-write", "~/proj/out".to_owned()),
        ("--allow-write", cwd_out),
        ("--allow-read", format!("{l}/data")),
        ("--allow-read", "~/proj/data/".to_owned()),
    ] {
        let (code, r) = w.run_json(&["w", flag, &grant]);
        refused(code, &r, "outside the workspace");
        no_secret(&r);
    }
    // Through `--workspace` named by the symlinked spelling, too.
    let (code, r) = w.run_json(&["w", "--workspace", &l, "--allow-write", &format!("{l}/out")]);
    refused(code, &r, "outside the workspace");
    assert_eq!(
        std::fs::read_to_string(w.path("~/.bashrc")).unwrap(),
        "# mine\n"
    );
}

#[test]
fn an_absolute_grant_through_a_symlinked_spelling_to_a_real_folder_works() {
    let (w, link) = symlinked_spellings();
    sh(
        &w,
        "ok",
        "echo fine > \"$SKILLET_WORKSPACE/real-out/f\"; echo RAN",
    );
    for grant in [
        format!("{}/real-out", s(&link)),
        "~/proj/real-out".to_owned(),
    ] {
        std::fs::remove_file(w.path("real-out/f")).ok();
        let (code, r) = w.run_json(&["ok", "--allow-write", &grant]);
        assert_eq!(code, 0, "{grant}: {r}");
        ran(&r);
        assert_eq!(
            std::fs::read_to_string(w.path("real-out/f")).unwrap(),
            "fine\n"
        );
    }
}

// ---- F5: env's options are not the program --------------------------------------------------

#[test]
fn an_argument_of_envs_options_never_becomes_readable() {
    let w = world();
    let deploy = w.write(
        "~/bin/deploy.sh",
        &format!("#!/bin/sh\nexport T={SECRET}\n"),
    );
    std::fs::set_permissions(&deploy, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    w.write("~/share/private/notes", SECRET);
    let (d, home) = (s(&deploy), s(&w.home));
    let script = format!("cat {d} {home}/share/private/notes 2>&1; echo RAN");
    let sh_path = common::interpreter("sh");
    let variants: Vec<Vec<String>> = vec![
        vec!["-u".into(), d.clone(), sh_path.clone()],
        vec![format!("-u{d}"), sh_path.clone()],
        vec![format!("--unset={d}"), sh_path.clone()],
        vec!["--unset".into(), d.clone(), sh_path.clone()],
        vec![
            "-iu".into(),
            d.clone(),
            format!("PATH={home}/bin"),
            sh_path.clone(),
        ],
        vec!["-C".into(), format!("{home}/bin"), sh_path.clone()],
        vec![format!("--chdir={home}/share"), sh_path.clone()],
        vec!["-S".into(), format!("-u {d} {sh_path}")],
        vec!["-P".into(), format!("{home}/bin"), sh_path.clone()],
        vec!["--".into(), format!("{d}=x"), sh_path.clone()],
    ];
    for (i, mut args) in variants.into_iter().enumerate() {
        let name = format!("tc{i}");
        args.extend(["-c".to_owned(), script.clone()]);
        w.skill(
            &name,
            json!({"name": name, "description": "d", "type": "code_inline",
                "command": "env", "args": args}),
        );
        let policy = dry_policy(&w, &[&name]);
        for p in paths(&policy["read"]) {
            assert!(
                !p.starts_with(&w.home),
                "{args:?} made {} readable",
                p.display()
            );
        }
        let (_, r) = w.run_json(&[&name]);
        no_secret(&r);
    }
    // The plain forms still run.
    let (_, r) = w.run_json(&["tc0"]);
    ran(&r);
}
