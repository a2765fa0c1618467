//! One name, one skill: `info`, `context` and `disable` resolve a name exactly as `run` does,
//! reading the files named for it, so they agree even where full discovery stops reading (more
//! skill files in a scope than it reads). `list` still reads everything it may and says how many
//! files it left.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use common::World;

/// More files than full discovery reads in one scope.
const FILES: usize = 10_050;

fn skill_json(name: &str, says: &str) -> String {
    format!(
        r#"{{"name": "{name}", "description": "d", "type": "prompt_inline", "prompt_template": "{says}"}}"#
    )
}

/// A workspace of [`FILES`] skills `s00000`…, the last read by no full discovery.
fn crowded() -> (World, String) {
    let w = World::new();
    let dir = w.path(".skillet/skills");
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..FILES {
        let name = format!("s{i:05}");
        std::fs::write(
            dir.join(format!("{name}.json")),
            skill_json(&name, "from the workspace"),
        )
        .unwrap();
    }
    // The name sorting last, whichever order a directory listing gives.
    let last = "s99999".to_owned();
    std::fs::write(
        dir.join(format!("{last}.json")),
        skill_json(&last, "from the workspace"),
    )
    .unwrap();
    (w, last)
}

fn info(w: &World, name: &str) -> (i32, serde_json::Value, String) {
    let (code, out, err) = w.run(&["info", name, "--json"]);
    let value = serde_json::from_str(&out).unwrap_or(serde_json::Value::Null);
    (code, value, err)
}

#[test]
fn info_and_run_name_the_same_skill_past_the_discovery_limit() {
    let (w, last) = crowded();
    let global = w.write(
        &format!("~/.config/skillet/skills/{last}.json"),
        &skill_json(&last, "from the global scope"),
    );

    let (code, out, err) = w.run(&["run", &last]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("from the workspace"), "run: {out}");

    let (code, value, err) = info(&w, &last);
    assert_eq!(code, 0, "info: {err}");
    assert_eq!(
        value["scope"], "workspace",
        "info disagrees with run: {value}"
    );
    let path = value["path"].as_str().unwrap();
    assert_ne!(path, global.to_str().unwrap(), "{value}");
    assert!(
        path.ends_with(&format!(".skillet/skills/{last}.json")),
        "{value}"
    );

    // `disable` turns off the skill `run` runs, and `run` then refuses it.
    let (code, out, err) = w.run(&["disable", &last]);
    assert_eq!(code, 0, "{out}\n{err}");
    let (code, out, err) = w.run(&["run", &last]);
    assert_ne!(code, 0, "{out}\n{err}");
    assert!(format!("{out}{err}").contains("disabled"), "{out}\n{err}");
}

#[test]
fn info_finds_a_skill_run_can_run_past_the_discovery_limit() {
    let (w, last) = crowded();
    let (code, out, err) = w.run(&["run", &last]);
    assert_eq!(code, 0, "{out}\n{err}");
    let (code, value, err) = info(&w, &last);
    assert_eq!(code, 0, "info says no skill where run runs one: {err}");
    assert_eq!(value["name"], last.as_str(), "{value}");

    // `list` still reads what it may, and says what it left.
    let (code, out, err) = w.run(&["list"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        format!("{out}{err}").contains("not read"),
        "list does not say it stopped: {err}"
    );
}
