//! What the queue tests share: skills that run until released, the global `[jobs]` settings,
//! detached jobs and the history they leave.

use serde_json::{Value, json};

use super::{World, interpreter};

/// A code skill running `bash -c SCRIPT`.
pub fn bash_skill(w: &World, name: &str, script: &str) {
    w.skill(
        name,
        json!({"name": name, "description": "d", "type": "code_inline",
               "command": interpreter("bash"), "args": ["-c", script], "timeout": 120}),
    );
}

/// A skill that runs until the test creates `release` in the workspace.
pub fn gate_skill(w: &World) {
    bash_skill(
        w,
        "gate",
        "while [ ! -e release ]; do sleep 0.05; done; echo released",
    );
}

/// The global `skillet.toml`.
pub fn global_config(w: &World, toml: &str) {
    w.write("~/.config/skillet/skillet.toml", toml);
}

/// `skillet run NAME --detach ARGS…`: the job's id.
pub fn detach(w: &World, name: &str, args: &[&str]) -> String {
    let mut all = vec!["run", name, "--detach"];
    all.extend_from_slice(args);
    let (code, stdout, stderr) = w.run(&all);
    assert_eq!(code, 0, "submitting {name} failed: {stderr}");
    let id = stdout.trim().to_owned();
    assert_eq!(id.len(), 36, "a job id: {stdout}");
    id
}

/// `jobs wait ID --json`, which must succeed.
pub fn wait(w: &World, id: &str) -> Value {
    let (_, stdout, stderr) = w.run(&["jobs", "wait", id, "--json", "--timeout", "120"]);
    serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("wait {id}: {stdout} {stderr}"))
}

/// `history show ID --json`.
pub fn execution(w: &World, id: &str) -> Value {
    let (code, stdout, stderr) = w.run(&["history", "show", id, "--json"]);
    assert_eq!(code, 0, "{stderr}");
    serde_json::from_str(&stdout).unwrap()
}

pub fn history(w: &World) -> Vec<Value> {
    let (code, stdout, stderr) = w.run(&["history", "--json", "--limit", "0"]);
    assert_eq!(code, 0, "{stderr}");
    serde_json::from_str::<Value>(&stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

pub fn stop(w: &World) {
    w.run(&["daemon", "stop"]);
}
