//! The world the observability tests share: skills that succeed, fail and echo, and a JSON
//! reader of a command's answer.

use serde_json::{Value, json};

use super::World;

/// A code skill running `command` with `args`.
pub fn code_skill(w: &World, name: &str, command: &str, args: &[&str]) {
    w.skill(
        name,
        json!({"name": name, "description": "d", "type": "code_inline",
               "command": command, "args": args}),
    );
}

/// `ok` exits 0 after sleeping 0 to 90 ms by its `ms` parameter (tens of ms); `fails` exits 3; `echo`
/// prints its `word`.
pub fn world() -> World {
    let w = World::new();
    w.skill(
        "ok",
        json!({"name": "ok", "description": "d", "type": "code_inline",
               "command": "sh", "args": ["-c", "sleep 0.0$0", "{ms}"],
               "parameters": [{"name": "ms", "type": "string", "default": "0"}]}),
    );
    code_skill(&w, "fails", "sh", &["-c", "echo broken >&2; exit 3"]);
    w.skill(
        "echo",
        json!({"name": "echo", "description": "Echo", "type": "code_inline",
               "command": "echo", "args": ["{word}"],
               "parameters": [{"name": "word", "type": "string", "required": true}]}),
    );
    w
}

/// Runs skillet with `args`; the exit code and the JSON it printed.
pub fn json_of(w: &World, args: &[&str]) -> (i32, Value) {
    let (code, stdout, stderr) = w.run(args);
    let value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\nstderr: {stderr}"));
    (code, value)
}
