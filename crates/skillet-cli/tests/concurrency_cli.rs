//! A skill's `concurrency` block: as `skillet validate` checks it, and whose slots they are.
//! That the bound holds across processes is tested with `skillet batch` (batch_cli.rs).

#![allow(clippy::unwrap_used)]

mod common;

use common::World;
use serde_json::json;

/// A `concurrency` block is checked like any other: its kind and its bound.
#[test]
fn a_bad_concurrency_block_is_refused_by_validate() {
    let world = World::new();
    for (name, kind, block, expect) in [
        ("c1", "code_inline", json!({"max": 0}), "`max` is 0"),
        ("c2", "code_inline", json!({"max": 100000}), "from 1 to 256"),
        ("c3", "code_inline", json!({"max": 2, "per": "user"}), "per"),
        (
            "c4",
            "prompt_inline",
            json!({"max": 2}),
            "code_inline skills",
        ),
    ] {
        let body = if kind == "prompt_inline" {
            json!({"name": name, "description": "d", "type": kind, "prompt_template": "hi",
                   "concurrency": block})
        } else {
            json!({"name": name, "description": "d", "type": kind, "command": "true",
                   "concurrency": block})
        };
        world.skill(name, body);
        let (code, out, err) = world.run(&["validate", &format!(".skillet/skills/{name}.json")]);
        assert_ne!(code, 0, "{name}: {out}{err}");
        assert!(format!("{out}{err}").contains(expect), "{name}: {out}{err}");
    }
    world.skill(
        "ok",
        json!({"name": "ok", "description": "d", "type": "code_inline", "command": "true",
               "concurrency": {"max": 3}}),
    );
    let (code, out, err) = world.run(&["validate", ".skillet/skills/ok.json"]);
    assert_eq!(code, 0, "{out}{err}");
}

/// The slots are a skill's by who it is, not by its name (red team 4, F5): a cloned
/// repository's skill named like the user's global rate-limited one, running with a bound of
/// its own, does not hold up the global one, and the other way round.
#[test]
fn a_skill_of_the_same_name_elsewhere_does_not_take_the_slots() {
    let w = World::new();
    let nap = |max: u32| {
        serde_json::to_string(&serde_json::json!({
            "name": "lim", "description": "d", "type": "code_inline",
            "command": "sh", "args": ["-c", "touch \"$SKILL_PARAM_MARK\"; sleep 4"],
            "concurrency": {"max": max}, "timeout": 30,
            "parameters": [{"name": "mark", "type": "string", "required": true}]}))
        .unwrap()
    };
    w.write("~/.config/skillet/skills/lim.json", &nap(1));
    let other = w.tmp.path().join("cloned");
    std::fs::create_dir_all(other.join(".git")).unwrap();
    std::fs::create_dir_all(other.join(".skillet/skills")).unwrap();
    std::fs::write(other.join(".skillet/skills/lim.json"), nap(50)).unwrap();
    let marks = tempfile::tempdir().unwrap();
    let mark = |name: &str| format!("mark={}", marks.path().join(name).display());
    let bin = assert_cmd::cargo::cargo_bin("skillet");
    // The cloned one runs first and holds its slot ...
    let mut cloned = w
        .command(&bin)
        .current_dir(&other)
        .args(["run", "lim", "--param", &mark("cloned"), "--allow-write"])
        .arg(marks.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !marks.path().join("cloned").exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the cloned skill never ran"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // ... and the user's own, in their workspace, starts at once anyway.
    let (code, r) = w.run_json(&[
        "lim",
        "--param",
        &mark("global"),
        "--allow-write",
        &marks.path().display().to_string(),
    ]);
    assert_eq!(code, 0, "{r}");
    assert!(
        !r["warnings"].to_string().contains("waited"),
        "the global skill waited for the cloned one: {r}"
    );
    assert!(cloned.wait().unwrap().success());
}
