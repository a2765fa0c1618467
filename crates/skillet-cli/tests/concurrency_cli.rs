//! A skill's `concurrency` block, as `skillet validate` checks it. That the bound holds across
//! processes is tested with `skillet batch` (batch_cli.rs).

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
