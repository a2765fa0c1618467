//! Every path that feeds the sandbox policy is resolved before it is trusted: the program and
//! its toolchain, the user's grants, `path` parameters and the working directory. Each test runs
//! a real skill through `skillet run` in a throwaway home and workspace, as an attacker would:
//! a hostile skill in a cloned repository, with symlinks, `..` and hard links planted in it.
//! What stays read-only or masked, and where a workspace can be: protected_paths.rs.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use common::World;
use common::attack::*;
use serde_json::{Value, json};

// ---- class 1: the program and its toolchain -------------------------------------------------

#[test]
fn a_program_named_through_dot_dot_does_not_make_the_root_readable() {
    let w = world();
    let key = s(&w.path("~/.ssh/id_rsa"));
    let script = format!("cat {key} /etc/shadow 2>&1; ls /home 2>&1; echo RAN");
    let mut programs = vec![
        "/tmp/../bin/sh".to_owned(),
        "/usr/bin/../../bin/sh".to_owned(),
        "//usr//lib/../bin/sh".to_owned(),
    ];
    if Path::new("/var/run").is_dir() {
        programs.push("/var/run/../bin/sh".to_owned());
    }
    for (i, program) in programs.iter().enumerate() {
        let name = format!("dd{i}");
        w.skill(
            &name,
            json!({"name": name, "description": "d", "type": "code_inline",
                "command": program, "args": ["-c", script]}),
        );
        let policy = dry_policy(&w, &[&name]);
        for p in paths(&policy["read"]) {
            // Compared in real form: `/var/run/..` is `/`.
            let p = std::fs::canonicalize(&p).unwrap_or(p);
            assert!(
                !w.home.starts_with(&p) && p != Path::new("/"),
                "{program} made {} readable",
                p.display()
            );
        }
        let (_, r) = w.run_json(&[&name]);
        ran(&r);
        no_secret(&r);
    }
    // The same through `env`, and as a path relative to the skill's folder.
    w.skill(
        "viaenv",
        json!({"name": "viaenv", "description": "d", "type": "code_inline",
            "command": "env", "args": ["/tmp/../bin/sh", "-c", script]}),
    );
    let up = "../".repeat(w.ws.components().count() + 3);
    w.skill(
        "relative",
        json!({"name": "relative", "description": "d", "type": "code_inline",
            "command": format!("{up}bin/sh"), "args": ["-c", script]}),
    );
    for name in ["viaenv", "relative"] {
        let (_, r) = w.run_json(&[name]);
        ran(&r);
        no_secret(&r);
    }
}

/// A tool installed under the home: `~/.cargo/bin/tool` (through a symlink, as rustup's
/// proxies are) and `~/.local/bin/tool2`.
fn home_tools(w: &World) -> (PathBuf, PathBuf) {
    use std::os::unix::fs::PermissionsExt as _;
    let script = "#!/bin/sh\nfor f in \"$@\"; do cat \"$f\" 2>&1; done\necho RAN\n";
    let real_tool = w.write("~/.cargo/bin/real-tool", script);
    let tool2 = w.write("~/.local/bin/tool2", script);
    for p in [&real_tool, &tool2] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let tool = w.path("~/.cargo/bin/tool");
    symlink("real-tool", &tool).unwrap();
    (tool, tool2)
}

#[test]
fn a_tool_under_the_home_does_not_expose_its_prefix_or_skillets_data() {
    let w = world();
    let (tool, tool2) = home_tools(&w);
    // A first run creates skillet's history database under ~/.local/share/skillet.
    sh(&w, "first", "echo RAN");
    let (_, r) = w.run_json(&["first"]);
    ran(&r);
    let db = w.path("~/.local/share/skillet/skillet.db");
    assert!(db.exists(), "the history database was not created");
    w.write("~/.local/share/other-app/keyring", SECRET);
    w.write("~/.config/skillet/skillet.toml", &format!("# {SECRET}\n"));
    let targets = [
        s(&w.path("~/.cargo/credentials.toml")),
        s(&w.path("~/.ssh/id_rsa")),
        s(&w.path("~/.local/share/other-app/keyring")),
        s(&w.path("~/.config/skillet/skillet.toml")),
        s(&db),
    ];
    let path_var = format!(
        "{}:{}:{}",
        s(&w.path("~/.cargo/bin")),
        s(&w.path("~/.local/bin")),
        std::env::var("PATH").unwrap_or_default()
    );
    // A program in the skill's folder that is a symlink to the tool, and a script whose `#!`
    // names it.
    std::fs::create_dir_all(w.path(".skillet/skills/linked")).unwrap();
    symlink(&tool, w.path(".skillet/skills/linked/run")).unwrap();
    let script = w.write(".skillet/skills/bang/run", &format!("#!{}\n", s(&tool2)));
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    for (name, command) in [
        ("bypath", "tool".to_owned()),
        ("byabs", s(&tool)),
        ("local", "tool2".to_owned()),
        ("localabs", s(&tool2)),
        ("linked", s(&w.path(".skillet/skills/linked/run"))),
        ("bang", s(&script)),
    ] {
        w.skill(
            name,
            json!({"name": name, "description": "d", "type": "code_inline",
                "command": command, "args": targets}),
        );
        let out = w
            .skillet()
            .env("PATH", &path_var)
            .args(["run", name, "--json"])
            .output()
            .unwrap();
        let r: Value = serde_json::from_slice(&out.stdout).unwrap();
        ran(&r);
        no_secret(&r);
        let out = w
            .skillet()
            .env("PATH", &path_var)
            .args(["run", name, "--json", "--dry-run"])
            .output()
            .unwrap();
        let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
        for p in paths(&plan["policy"]["read"]) {
            for never in ["~/.cargo", "~/.local", "~/.local/share", "~"] {
                assert_ne!(p, w.path(never.trim_end_matches('/')), "{name}: {plan}");
            }
        }
    }
}

// ---- class 2: grants resolved beneath the workspace -----------------------------------------

/// A skill that writes a marker under `out/` (in `out/data/`: the top of a write grant that holds
/// protected names takes no new entries, see docs/sandbox.md).
fn writer(w: &World) {
    sh(
        w,
        "writer",
        "cd \"$SKILLET_WORKSPACE\" && echo pwned > out/data/marker && echo RAN",
    );
}

#[test]
fn a_write_grant_through_a_symlink_out_of_the_workspace_is_refused() {
    let w = world();
    writer(&w);
    let parent = w.tmp.path().to_path_buf();
    std::fs::create_dir_all(w.path("a/b")).unwrap();
    std::fs::create_dir_all(w.path("inner")).unwrap();
    let variants: Vec<(&str, String)> = vec![
        ("parent", "..".into()),
        ("home", s(&w.home)),
        ("chained", "a/hop".into()),
        ("deep", "a/b/../../..".into()),
        ("root", "/".into()),
    ];
    symlink("../..", w.path("a/hop")).unwrap();
    for (label, target) in &variants {
        let out = w.path("out");
        let _ = std::fs::remove_file(&out);
        symlink(target, &out).unwrap();
        for typed in ["out", "./out/", "out/.", &s(&out), "inner/../out"] {
            for flag in ["--allow-write", "--allow-read"] {
                let (code, r) = w.run_json(&["writer", flag, typed]);
                refused(code, &r, "outside the workspace");
                assert!(
                    r["error"].as_str().unwrap().contains(flag),
                    "{label} {typed}: {r}"
                );
            }
        }
        assert!(!parent.join("marker").exists() && !w.home.join("marker").exists());
    }
    // The same from the global configuration.
    let _ = std::fs::remove_file(w.path("out"));
    symlink(s(&w.home), w.path("out")).unwrap();
    w.write(
        "~/.config/skillet/skillet.toml",
        &w.grant_toml("writer", "write = [\"out\"]\n"),
    );
    let (code, r) = w.run_json(&["writer"]);
    refused(code, &r, "outside the workspace");
    assert!(!w.home.join("marker").exists());
}

#[test]
fn a_relative_grant_leaving_the_workspace_by_dot_dot_is_refused() {
    let w = world();
    writer(&w);
    for typed in ["..", "../home", "sub/../../home", "./.."] {
        let (code, r) = w.run_json(&["writer", "--allow-write", typed]);
        refused(code, &r, "outside the workspace");
    }
}

#[test]
fn a_grant_resolved_inside_the_workspace_is_shown_resolved_and_works() {
    let w = world();
    writer(&w);
    std::fs::create_dir_all(w.path("build/real-out/data")).unwrap();
    symlink("build/real-out", w.path("out")).unwrap();
    let (code, r) = w.run_json(&["writer", "--allow-write", "out"]);
    assert_eq!(code, 0, "{r}");
    ran(&r);
    let shown = r["warnings"].to_string();
    assert!(
        shown.contains("resolved to") && shown.contains("build/real-out"),
        "{r}"
    );
    assert!(w.path("build/real-out/data/marker").exists());
}

#[test]
fn an_absolute_grant_outside_the_workspace_is_the_users_and_is_shown_resolved() {
    let w = world();
    std::fs::create_dir_all(w.path("~/data/sub")).unwrap();
    let link = w.tmp.path().join("data-link");
    symlink(w.home.join("data"), &link).unwrap();
    // The sandbox shows the grant at its real path.
    sh(
        &w,
        "put",
        &format!("echo x > {}/sub/f && echo RAN", s(&w.home.join("data"))),
    );
    let (code, r) = w.run_json(&["put", "--allow-write", &s(&link)]);
    assert_eq!(code, 0, "{r}");
    assert!(r["warnings"].to_string().contains("resolved to"), "{r}");
    assert!(w.path("~/data/sub/f").exists());
    // `~/` counts as typed absolute.
    sh(
        &w,
        "put2",
        &format!("echo y > {}/sub/g && echo RAN", s(&w.home.join("data"))),
    );
    let (code, r) = w.run_json(&["put2", "--allow-write", "~/data"]);
    assert_eq!(code, 0, "{r}");
    // But a symlink to credentials typed under another name is refused.
    let sneaky = w.tmp.path().join("notes");
    symlink(w.home.join(".ssh"), &sneaky).unwrap();
    let (code, r) = w.run_json(&["put", "--allow-read", &s(&sneaky)]);
    refused(code, &r, "credentials");
}

#[test]
fn a_write_grant_into_protected_paths_by_another_name_is_refused() {
    let w = world();
    writer(&w);
    std::fs::create_dir_all(w.path(".git/hooks")).unwrap();
    w.write(".git/config", "[core]\n");
    std::fs::create_dir_all(w.path("~/.config/skillet")).unwrap();
    symlink(".git", w.path("out")).unwrap();
    symlink(".git/hooks", w.path("hooks")).unwrap();
    symlink(".skillet", w.path("sk")).unwrap();
    symlink(w.home.join(".config/skillet"), w.path("cfg")).unwrap();
    for typed in ["out", "hooks", "sk", "cfg", "./out/hooks"] {
        let (code, r) = w.run_json(&["writer", "--allow-write", typed]);
        assert_ne!(code, 0, "{typed}: {r}");
        assert_eq!(r["stdout"], "", "{typed}: {r}");
        let e = r["error"].as_str().unwrap();
        assert!(
            e.contains("stays read-only")
                || e.contains("outside the workspace")
                || e.contains("skillet's own directories"),
            "{typed}: {e}"
        );
    }
    // Typed as an absolute path outside the workspace, a link into another repository's git
    // metadata or skill folder is refused too; typed exactly, it is the user's.
    let other = w.tmp.path().join("other");
    std::fs::create_dir_all(other.join(".git/hooks")).unwrap();
    std::fs::create_dir_all(other.join(".claude/skills")).unwrap();
    for (link, target) in [("h", ".git/hooks"), ("c", ".claude/skills")] {
        let at = w.tmp.path().join(link);
        symlink(other.join(target), &at).unwrap();
        let (code, r) = w.run_json(&["writer", "--allow-write", &s(&at)]);
        refused(code, &r, "stays read-only");
    }
    let (_, r) = w.run_json(&["writer", "--allow-write", &s(&other.join(".git/hooks"))]);
    assert_ne!(r["status"], "error", "{r}");
    // A hard link is the same file under another name: granting it is refused.
    std::fs::hard_link(w.path(".git/config"), w.path("notes.txt")).unwrap();
    let (code, r) = w.run_json(&["writer", "--allow-write", "notes.txt"]);
    refused(code, &r, "hard link");
    // A hard link to a file outside the workspace cannot be told apart from its other name;
    // writing it is said.
    w.write("~/plain.txt", "x");
    std::fs::hard_link(w.path("~/plain.txt"), w.path("plain.txt")).unwrap();
    let (_, r) = w.run_json(&["writer", "--allow-write", "plain.txt"]);
    assert!(r["warnings"].to_string().contains("hard links"), "{r}");
}

// ---- path parameters -------------------------------------------------------------------------

#[test]
fn a_path_parameter_leaving_the_workspace_through_a_symlink_or_dot_dot_is_refused() {
    let w = world();
    w.skill(
        "show",
        json!({"name": "show", "description": "d", "type": "code_inline",
            "command": common::interpreter("sh"), "args": ["-c", "cat \"$1\" 2>&1; echo RAN", "sh", "{file}"],
            "parameters": [{"name": "file", "type": "path", "required": true}]}),
    );
    std::fs::create_dir_all(w.path("sub")).unwrap();
    symlink(w.home.join(".ssh/id_rsa"), w.path("key")).unwrap();
    symlink("../..", w.path("sub/up")).unwrap();
    symlink(w.home.join(".ssh"), w.path("sub/dir")).unwrap();
    for value in [
        "key",
        "sub/dir/id_rsa",
        "sub/up/home/.ssh/id_rsa",
        "../home/.ssh/id_rsa",
        "sub/../../home/.ssh/id_rsa",
    ] {
        let (code, r) = w.run_json(&["show", "-p", &format!("file={value}")]);
        assert_ne!(code, 0, "{value}: {r}");
        assert_eq!(r["status"], "invalid_params", "{value}: {r}");
        assert!(
            r["error"].as_str().unwrap().contains("workspace"),
            "{value}: {r}"
        );
        no_secret(&r);
    }
    // A path inside is given to the program resolved.
    w.write("notes/a.txt", "inside\n");
    symlink("notes", w.path("n")).unwrap();
    let (code, r) = w.run_json(&["show", "-p", "file=n/a.txt"]);
    assert_eq!(code, 0, "{r}");
    assert!(r["stdout"].as_str().unwrap().contains("inside"), "{r}");
}

#[test]
fn a_working_directory_outside_what_the_skill_reads_is_refused() {
    let w = world();
    let dir = w.path(".skillet/skills/wd");
    std::fs::create_dir_all(dir.join("inside")).unwrap();
    symlink(&w.home, dir.join("home")).unwrap();
    symlink(w.home.join(".ssh"), dir.join("keys")).unwrap();
    let up = format!(
        "{{skill_dir}}/{}",
        "../".repeat(dir.components().count() + 2)
    );
    for (working_dir, ok) in [
        ("{skill_dir}/inside", true),
        ("{skill_dir}/home", false),
        ("{skill_dir}/keys", false),
        (up.as_str(), false),
        ("{skill_dir}/inside/../../../..", true),
        // Relative to where the run starts (the workspace root here).
        (".skillet/skills/wd/home", false),
        ("../..", false),
    ] {
        std::fs::write(
            dir.join("skill.json"),
            json!({"name": "wd", "description": "d", "type": "code_inline",
                "command": common::interpreter("sh"), "working_dir": working_dir,
                "args": ["-c", "cat id_rsa .ssh/id_rsa 2>&1; pwd; echo RAN"]})
            .to_string(),
        )
        .unwrap();
        let (code, r) = w.run_json(&["wd"]);
        no_secret(&r);
        if ok {
            assert_eq!(code, 0, "{working_dir}: {r}");
            ran(&r);
        } else {
            refused(code, &r, "working directory");
        }
    }
}

#[test]
fn a_grant_swapped_for_a_link_while_runs_start_never_reaches_the_home() {
    let w = world();
    writer(&w);
    std::fs::create_dir_all(w.path("~/data")).unwrap();
    std::fs::create_dir_all(w.path("real/data")).unwrap();
    symlink(&w.home, w.path("evil")).unwrap();
    symlink("real", w.path("out")).unwrap();
    // Swaps `out` between a link inside the workspace and one to the home, as fast as it can,
    // while runs resolve and mount it.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let swapper = {
        let (stop, ws) = (stop.clone(), w.ws.clone());
        std::thread::spawn(move || {
            let mut flips = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let next = if flips.is_multiple_of(2) {
                    "evil"
                } else {
                    "real"
                };
                let tmp = ws.join("out.tmp");
                let _ = std::fs::remove_file(&tmp);
                symlink(next, &tmp).unwrap();
                std::fs::rename(&tmp, ws.join("out")).unwrap();
                flips += 1;
            }
            flips
        })
    };
    let mut outcomes = std::collections::BTreeMap::new();
    for _ in 0..40 {
        let (_, r) = w.run_json(&["writer", "--allow-write", "out"]);
        *outcomes
            .entry(r["status"].as_str().unwrap_or("?").to_owned())
            .or_insert(0) += 1;
        assert!(
            !w.path("~/data/marker").exists(),
            "a write reached the home: {r}"
        );
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let flips = swapper.join().unwrap();
    assert!(flips > 40, "the link was hardly swapped ({flips} times)");
    eprintln!("outcomes while swapping: {outcomes:?}");
}
