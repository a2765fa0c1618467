//! What the session tests share: a session skill, the CLI's session commands, and waiting for
//! what the daemon does in the background.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::World;

pub fn session_skill(w: &World, name: &str, command: &str, extra: Value) {
    let mut skill =
        json!({"name": name, "description": "d", "type": "code_session", "command": command});
    if let (Value::Object(s), Value::Object(e)) = (&mut skill, extra) {
        s.extend(e);
    }
    w.skill(name, skill);
}

pub fn start(w: &World, args: &[&str]) -> String {
    let mut all = vec!["session", "start"];
    all.extend_from_slice(args);
    let (code, stdout, stderr) = w.run(&all);
    assert_eq!(
        code,
        0,
        "start failed: {stderr}\ndaemon log:\n{}",
        w.daemon_log()
    );
    stdout.trim().to_owned()
}

/// `session send ID INPUT`: (exit code, stdout, stderr).
pub fn send(w: &World, id: &str, input: &str) -> (i32, String, String) {
    w.run(&["session", "send", id, input])
}

pub fn list(w: &World) -> Vec<Value> {
    let (code, stdout, stderr) = w.run(&["session", "list", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    serde_json::from_str::<Value>(&stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

pub fn status_of(w: &World, id: &str) -> Value {
    list(w)
        .into_iter()
        .find(|s| s["id"] == id)
        .unwrap_or(Value::Null)
}

/// Polls until `ok` holds or `limit` passes; returns whether it held.
pub fn eventually(limit: Duration, mut ok: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    ok()
}

/// Processes whose command line contains `marker`.
pub fn processes_with(marker: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(marker))
                && super::alive(*pid as i32)
        })
        .collect()
}
