//! What the command-line consistency tests share: a world of three skills of different types,
//! and the checks of `--json` answers.

use serde_json::{Value, json};

use super::World;

/// A world with one code skill `echo` (prints its `word`) and one prompt skill `hello`.
pub fn world() -> World {
    let w = World::new();
    w.skill(
        "echo",
        json!({"name": "echo", "description": "Print a word", "type": "code_inline",
            "command": "/bin/echo", "args": ["{word}"],
            "parameters": [{"name": "word", "type": "string", "default": "hi"}]}),
    );
    w.skill(
        "hello",
        json!({"name": "hello", "description": "d", "type": "prompt_inline",
            "prompt_template": "Hello {who}",
            "parameters": [{"name": "who", "type": "string", "default": "you"}]}),
    );
    w.skill(
        "explain",
        json!({"name": "explain", "description": "d", "type": "conversation",
            "prompt": "Explain.", "context_files": {"patterns": ["*.md"]}}),
    );
    w
}

/// Runs `args` and parses stdout as one JSON document, whatever the exit code.
pub fn json_of(w: &World, args: &[&str]) -> (i32, Value, String) {
    let (code, stdout, stderr) = w.run(args);
    let value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "`skillet {}`: stdout is not JSON ({e}):\n{stdout}\nstderr: {stderr}",
            args.join(" ")
        )
    });
    (code, value, stderr)
}

/// An error answer: `{"error": {"message", "hint"?, "exit_code"}}` whose code is the exit code.
pub fn assert_error(args: &[&str], code: i32, value: &Value, expected: i32) {
    assert_eq!(code, expected, "`skillet {}`: {value}", args.join(" "));
    let error = &value["error"];
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "`skillet {}`: {value}",
        args.join(" ")
    );
    assert_eq!(
        error["exit_code"],
        expected,
        "`skillet {}`: {value}",
        args.join(" ")
    );
    assert!(
        error.get("hint").is_none_or(Value::is_string),
        "`skillet {}`: {value}",
        args.join(" ")
    );
}
