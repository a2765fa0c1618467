//! What the isolated-run tests share: a skill that writes `data/` (granted by the user), and
//! `skillet test` with the copy forced or not.

use serde_json::{Value, json};

use super::World;

pub const FORCE_COPY: &str = "SKILLET_ISOLATE_FORCE_COPY";

pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// A workspace skill running `script` with `sh -c`, granted (by the user) to write `data/`.
pub fn writer(w: &World, name: &str, script: &str) {
    w.skill(
        name,
        json!({"name": name, "description": "d", "type": "code_inline", "command": "sh",
               "args": ["-c", script],
               "security": {"permissions": {"file_write": ["./data"]}},
               "tests": [{"params": {}, "expect": {"exit_code": 0}}]}),
    );
    w.write(
        "~/.config/skillet/skillet.toml",
        &w.grant_toml(name, "write = [\"data\"]\n"),
    );
}

/// `skillet ARGS`, with the copy forced when `force_copy`.
pub fn run(w: &World, force_copy: bool, args: &[&str]) -> (i32, String, String) {
    let mut cmd = w.skillet();
    if force_copy {
        cmd.env(FORCE_COPY, "1");
    }
    let out = cmd.args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub fn test_json(w: &World, force_copy: bool, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["test", "--json"];
    all.extend_from_slice(args);
    let (code, out, err) = run(w, force_copy, &all);
    let v = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    (code, v)
}

/// The isolation this machine and user should get without forcing the copy.
pub fn expected_kind(force_copy: bool) -> &'static str {
    if is_root() && !force_copy {
        "overlay"
    } else {
        "copy"
    }
}

/// A workspace with `data/keep.txt` and `data/gone.txt`.
pub fn world() -> World {
    let w = World::new();
    w.write("data/keep.txt", "hello\n");
    w.write("data/gone.txt", "bye\n");
    w
}

/// A script that adds, modifies and removes a file of `data/`.
pub const EDIT: &str =
    "echo new > data/new.txt; echo more >> data/keep.txt; rm data/gone.txt; echo done";

/// The text of the real tree's `rel`, if it is a readable file.
pub fn read(w: &World, rel: &str) -> Option<String> {
    std::fs::read_to_string(w.path(rel)).ok()
}
