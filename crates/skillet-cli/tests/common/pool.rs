//! What the warm-pool tests share: a pooled skill, a call of it, and the daemon's view of its
//! pool.

use serde_json::{Value, json};

use super::World;
use super::interpreter;
use super::sessions::session_skill;

pub fn pooled(w: &World, name: &str, program: &str, pool: Value) {
    session_skill(
        w,
        name,
        &interpreter(program),
        json!({"session_config": {"pool": pool}}),
    );
}

/// `skillet run NAME` with `input` on stdin: (exit code, stdout, stderr).
pub fn call(w: &World, name: &str, input: &str) -> (i32, String, String) {
    let out = w
        .skillet()
        .args(["run", name])
        .write_stdin(input)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The daemon's view of `skill`'s pool (`daemon status --json`).
pub fn pool(w: &World, skill: &str) -> Value {
    let (code, out, err) = w.run(&["daemon", "status", "--json"]);
    assert_eq!(code, 0, "{err}");
    let status: Value = serde_json::from_str(&out).unwrap();
    status["daemon"]["pools"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["skill"] == skill)
        .cloned()
        .unwrap_or(Value::Null)
}

pub fn pids(pool: &Value) -> Vec<u64> {
    pool["pids"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_u64)
        .collect()
}

pub fn idle(w: &World, skill: &str, n: u64) -> bool {
    pool(w, skill)["idle"].as_u64() == Some(n)
}
