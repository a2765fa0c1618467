//! Where a code skill runs: the directory `skillet run` was called from inside the workspace,
//! else the workspace root (sessions, MCP); the skill's own folder as `$SKILLET_SKILL_DIR` and
//! `{skill_dir}`; relative `path` values and `--allow-*` grants starting where the skill runs,
//! and never leaving the workspace through a symlink or `..`.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use common::attack::{SECRET, no_secret, world};
use common::{World, interpreter};
use serde_json::{Value, json};

/// The real form of a path, as skillet reports it.
fn real(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap()
}

/// `skillet run ARGS --json` from `dir`.
fn run_in(w: &World, dir: &Path, args: &[&str]) -> (i32, Value) {
    std::fs::create_dir_all(dir).unwrap();
    let out = w
        .skillet()
        .current_dir(dir)
        .arg("run")
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), v)
}

fn lines(r: &Value) -> Vec<String> {
    r["stdout"]
        .as_str()
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// A package skill `tools` that prints where it runs, its folder and its `{file}` argument.
fn where_skill(w: &World) -> PathBuf {
    let folder = w.path(".skillet/skills/tools");
    w.write(
        ".skillet/skills/tools/skill.json",
        &json!({"name": "tools", "description": "d", "type": "code_inline",
            "command": interpreter("sh"),
            "args": ["-c", "pwd; echo \"$SKILLET_SKILL_DIR\"; echo \"$1\"; echo \"$2\"", "sh",
                     "{skill_dir}/data.txt", "{file}"],
            "parameters": [{"name": "file", "type": "path", "default": "."}]})
        .to_string(),
    );
    folder
}

#[test]
fn a_code_skill_runs_where_skillet_was_called_and_finds_its_own_folder() {
    let w = World::new();
    let folder = real(&where_skill(&w));
    let ws = real(&w.ws);
    for (from, want) in [("", ws.clone()), ("src/deep", ws.join("src/deep"))] {
        let (code, r) = run_in(&w, &w.path(from), &["tools", "--param", "file=notes.txt"]);
        assert_eq!(code, 0, "{r}");
        assert_eq!(
            lines(&r),
            [
                want.display().to_string(),
                folder.display().to_string(),
                folder.join("data.txt").display().to_string(),
                want.join("notes.txt").display().to_string(),
            ],
            "called from {from:?}: {r}"
        );
    }
    // Inside the skill's own folder too: it is in the workspace.
    let (_, r) = run_in(&w, &folder, &["tools"]);
    assert_eq!(lines(&r)[0], folder.display().to_string(), "{r}");
}

#[test]
fn scripts_a_skill_ships_are_found_from_anywhere_in_the_workspace() {
    let w = World::new();
    w.write("src/main.rs", "fn main() {}\n");
    w.write(
        ".skillet/skills/shipped/count.sh",
        "printf '%s in %s\\n' \"$(wc -l < \"$1\")\" \"$(pwd)\"\n",
    );
    w.write(
        ".skillet/skills/shipped/scripts/count.sh",
        "printf 'nested %s\\n' \"$(wc -l < \"$1\")\"\n",
    );
    let run_sh = w.write(
        ".skillet/skills/shipped/run.sh",
        "#!/bin/sh\nprintf 'direct %s\\n' \"$(wc -l < \"$1\")\"\n",
    );
    std::fs::set_permissions(&run_sh, std::fs::Permissions::from_mode(0o755)).unwrap();
    let param = json!([{"name": "file", "type": "path", "required": true}]);
    let cases = [
        // An interpreter running a relative script beside the skill file.
        (
            json!({"command": interpreter("sh"), "args": ["count.sh", "{file}"]}),
            format!("1 in {}", real(&w.path("src")).display()),
        ),
        (
            json!({"command": interpreter("sh"), "args": ["scripts/count.sh", "{file}"]}),
            "nested 1".to_owned(),
        ),
        (
            json!({"command": interpreter("sh"), "args": ["{skill_dir}/scripts/count.sh", "{file}"]}),
            "nested 1".to_owned(),
        ),
        // A relative program path.
        (
            json!({"command": "./run.sh", "args": ["{file}"]}),
            "direct 1".to_owned(),
        ),
    ];
    for (how, want) in cases {
        let mut skill = json!({"name": "shipped", "description": "d", "type": "code_inline",
            "parameters": param});
        skill
            .as_object_mut()
            .unwrap()
            .extend(how.as_object().unwrap().clone());
        w.write(".skillet/skills/shipped/skill.json", &skill.to_string());
        let (code, r) = run_in(&w, &w.path("src"), &["shipped", "-p", "file=main.rs"]);
        assert_eq!(code, 0, "{how}: {r}");
        assert_eq!(lines(&r), [want], "{how}: {r}");
    }
}

#[test]
fn a_relative_working_dir_starts_where_the_skill_runs_and_skill_dir_names_the_folder() {
    let w = World::new();
    let folder = w.path(".skillet/skills/wd");
    std::fs::create_dir_all(folder.join("assets")).unwrap();
    std::fs::create_dir_all(w.path("src/build")).unwrap();
    for (working_dir, want) in [
        ("build", real(&w.path("src/build"))),
        ("{skill_dir}/assets", real(&folder.join("assets"))),
        ("..", real(&w.ws)),
    ] {
        w.write(
            ".skillet/skills/wd/skill.json",
            &json!({"name": "wd", "description": "d", "type": "code_inline",
                "command": interpreter("sh"), "args": ["-c", "pwd"], "working_dir": working_dir})
            .to_string(),
        );
        let (code, r) = run_in(&w, &w.path("src"), &["wd"]);
        assert_eq!(code, 0, "{working_dir}: {r}");
        assert_eq!(
            lines(&r),
            [want.display().to_string()],
            "{working_dir}: {r}"
        );
    }
}

#[test]
fn called_from_outside_the_workspace_a_skill_runs_at_its_root() {
    let w = World::new();
    // A global skill, so that it is found from anywhere.
    w.write(
        "~/.config/skillet/skills/where.json",
        &json!({"name": "where", "description": "d", "type": "code_inline",
            "command": interpreter("sh"), "args": ["-c", "pwd; echo \"$1\"", "sh", "{file}"],
            "parameters": [{"name": "file", "type": "path", "required": true}]})
        .to_string(),
    );
    w.write("notes.txt", "n\n");
    let elsewhere = w.tmp.path().join("elsewhere");
    let ws = w.ws.display().to_string();
    let (code, r) = run_in(
        &w,
        &elsewhere,
        &["where", "--workspace", &ws, "-p", "file=notes.txt"],
    );
    assert_eq!(code, 0, "{r}");
    let ws = real(&w.ws);
    assert_eq!(
        lines(&r),
        [
            ws.display().to_string(),
            ws.join("notes.txt").display().to_string()
        ],
        "{r}"
    );
}

#[test]
fn relative_grants_start_where_skillet_was_called() {
    let w = world();
    w.skill(
        "writer",
        json!({"name": "writer", "description": "d", "type": "code_inline",
            "command": interpreter("sh"),
            "args": ["-c", "echo written > \"$1/f\" && echo RAN", "sh", "{dir}"],
            "parameters": [{"name": "dir", "type": "path", "required": true}]}),
    );
    std::fs::create_dir_all(w.path("sub/out")).unwrap();
    std::fs::create_dir_all(w.path("out")).unwrap();
    let (code, r) = run_in(
        &w,
        &w.path("sub"),
        &["writer", "--allow-write", "out", "-p", "dir=out"],
    );
    assert_eq!(code, 0, "{r}");
    assert_eq!(
        std::fs::read_to_string(w.path("sub/out/f")).unwrap(),
        "written\n"
    );
    assert!(
        !w.path("out/f").exists(),
        "the grant named ./sub/out, not ./out"
    );
    // `..` inside the workspace is fine, and means the caller's parent.
    let (code, r) = run_in(
        &w,
        &w.path("sub/deeper"),
        &["writer", "--allow-write", "../out", "-p", "dir=../out"],
    );
    assert_eq!(code, 0, "{r}");
    assert!(w.path("sub/out/f").exists());
    // A grant in the global skillet.toml means the same wherever skillet is called from.
    w.write(
        "~/.config/skillet/skillet.toml",
        &w.grant_toml("writer", "write = [\"out\"]\n"),
    );
    let (code, r) = run_in(&w, &w.path("sub"), &["writer", "-p", "dir=../out"]);
    assert_eq!(code, 0, "{r}");
    assert!(
        w.path("out/f").exists(),
        "the configured grant is ./out of the workspace"
    );
    std::fs::remove_file(w.path("sub/out/f")).unwrap();
    let (code, r) = run_in(&w, &w.path("sub"), &["writer", "-p", "dir=out"]);
    assert_ne!(code, 0, "sub/out is not granted: {r}");
    assert!(!w.path("sub/out/f").exists());
}

#[test]
fn relative_grants_and_paths_from_a_subdirectory_cannot_leave_the_workspace() {
    let w = world();
    w.skill(
        "writer",
        json!({"name": "writer", "description": "d", "type": "code_inline",
            "command": interpreter("sh"),
            "args": ["-c", "cat \"$1\"/.ssh/id_rsa 2>&1; echo x > \"$1/planted\"; echo RAN", "sh", "{dir}"],
            "parameters": [{"name": "dir", "type": "path", "required": true}]}),
    );
    let sub = w.path("sub");
    std::fs::create_dir_all(sub.join("real")).unwrap();
    symlink(&w.home, sub.join("home")).unwrap();
    symlink("../..", sub.join("up")).unwrap();
    symlink("real/../../..", sub.join("deep")).unwrap();
    let depth = real(&sub).components().count();
    let climb = format!("{}home", "../".repeat(depth));
    for grant in [
        "home",
        "up",
        "./up/home",
        "deep",
        "../..",
        "real/../../..",
        climb.as_str(),
    ] {
        for access in ["--allow-write", "--allow-read"] {
            let (code, r) = run_in(&w, &sub, &["writer", access, grant, "-p", "dir=real"]);
            no_secret(&r);
            assert_ne!(code, 0, "{access} {grant}: {r}");
            let error = r["error"].as_str().unwrap_or_default();
            assert!(
                error.contains("outside the workspace"),
                "{access} {grant}: {r}"
            );
            assert_eq!(r["stdout"], "", "nothing ran: {r}");
        }
    }
    for value in ["home", "up", "up/home", "deep", "../..", "real/../../.."] {
        let (code, r) = run_in(&w, &sub, &["writer", "-p", &format!("dir={value}")]);
        no_secret(&r);
        assert_ne!(code, 0, "dir={value}: {r}");
        assert_eq!(r["status"], "invalid_params", "dir={value}: {r}");
        assert!(
            r["error"].as_str().unwrap().contains("workspace"),
            "dir={value}: {r}"
        );
    }
    assert!(!w.home.join("planted").exists());
    assert!(!w.tmp.path().join("planted").exists());
    assert_eq!(
        std::fs::read_to_string(w.home.join(".ssh/id_rsa")).unwrap(),
        SECRET
    );
}

#[test]
fn a_session_runs_at_the_workspace_root_wherever_it_was_started() {
    let w = World::new();
    w.skill(
        "sh",
        json!({"name": "sh", "description": "d", "type": "code_session",
            "command": interpreter("bash")}),
    );
    let sub = w.path("sub");
    std::fs::create_dir_all(&sub).unwrap();
    let out = w
        .skillet()
        .current_dir(&sub)
        .args(["session", "start", "sh"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let id = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let (code, stdout, stderr) =
        w.run(&["session", "send", &id, "pwd; echo \"$SKILLET_SKILL_DIR\""]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout,
        format!(
            "{}\n{}\n",
            real(&w.ws).display(),
            real(&w.path(".skillet/skills")).display()
        )
    );
    w.run(&["session", "close", &id]);
}

#[test]
fn a_prompt_names_the_skill_folder() {
    let w = World::new();
    w.write(
        ".skillet/skills/guide/skill.json",
        &json!({"name": "guide", "description": "d", "type": "prompt_inline",
            "prompt_template": "Read {skill_dir}/REFERENCE.md about {topic}.",
            "parameters": [{"name": "topic", "type": "string", "required": true}]})
        .to_string(),
    );
    let (code, r) = run_in(&w, &w.path("src"), &["guide", "-p", "topic=x"]);
    assert_eq!(code, 0, "{r}");
    let folder = real(&w.path(".skillet/skills/guide"));
    assert_eq!(
        r["stdout"],
        format!("Read {}/REFERENCE.md about x.", folder.display())
    );
}

#[test]
fn skill_dir_is_refused_where_it_could_be_read_as_code_or_inside_a_value() {
    let w = World::new();
    let cases = [
        (
            json!({"command": "sh", "args": ["-c", "cat {skill_dir}/x"]}),
            "$SKILLET_SKILL_DIR",
        ),
        (
            json!({"command": "python3", "args": ["-c", "open('{skill_dir}/x')"]}),
            "$SKILLET_SKILL_DIR",
        ),
        (
            json!({"command": "cat", "args": ["--file={skill_dir}/x"]}),
            "may only start a value",
        ),
        (
            json!({"command": "cat", "args": ["x{skill_dir}"]}),
            "may only start a value",
        ),
        (
            json!({"command": "cat", "working_dir": "sub/{skill_dir}"}),
            "may only start a value",
        ),
        (
            json!({"command": "cat", "args": ["{skill_dir}"],
                "parameters": [{"name": "skill_dir", "type": "string"}]}),
            "reserved",
        ),
    ];
    for (how, want) in cases {
        let mut skill = json!({"name": "bad", "description": "d", "type": "code_inline"});
        skill
            .as_object_mut()
            .unwrap()
            .extend(how.as_object().unwrap().clone());
        w.skill("bad", skill);
        let (code, stdout, stderr) = w.run(&["validate", "bad"]);
        assert_ne!(code, 0, "{how}: {stdout}{stderr}");
        assert!(
            format!("{stdout}{stderr}").contains(want),
            "{how}: expected {want:?} in {stdout}{stderr}"
        );
    }
    // As a whole argument, a prefix, in the environment and as the program, it is fine.
    w.skill(
        "bad",
        json!({"name": "bad", "description": "d", "type": "code_inline",
            "command": "{skill_dir}/run.sh", "args": ["{skill_dir}", "{skill_dir}/x"],
            "env": {"TOOLS": "{skill_dir}/bin"}, "working_dir": "{skill_dir}"}),
    );
    let (code, stdout, stderr) = w.run(&["validate", "bad"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
}
