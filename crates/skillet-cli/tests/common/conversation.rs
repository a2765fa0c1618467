//! What the conversation tests share: running skillet with the model key set (and checking it
//! is never printed), and the `review` skill they talk to.

use std::io::Write;
use std::process::Stdio;

use serde_json::{Value, json};

use super::World;
use super::llm::KEY;

/// `skillet ARGS` with the key in the environment and `input` (or nothing) on stdin.
pub fn skillet(w: &World, args: &[&str], input: Option<&str>) -> (i32, String, String) {
    let mut cmd = w.command(&assert_cmd::cargo::cargo_bin("skillet"));
    cmd.args(args)
        .env("TEST_LLM_KEY", KEY)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    if let Some(text) = input {
        stdin.write_all(text.as_bytes()).unwrap();
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(
        !stdout.contains(KEY) && !stderr.contains(KEY),
        "the key was printed:\n{stdout}\n{stderr}"
    );
    (out.status.code().unwrap_or(-1), stdout, stderr)
}

pub fn review_skill(w: &World, extra: Value) {
    let mut skill = json!({
        "name": "review", "type": "conversation", "description": "Review a change",
        "prompt_template": "Review {file} for {focus}.",
        "parameters": [{"name": "file", "type": "string", "required": true},
                       {"name": "focus", "type": "string", "default": "bugs"}],
        "context_files": {"patterns": ["src/*.rs"]},
        "guided_questions": ["What changed?", "What worries you?"]
    });
    for (k, v) in extra.as_object().unwrap() {
        skill[k] = v.clone();
    }
    w.skill("review", skill);
    w.write(
        "src/lib.rs",
        "pub fn add(a: i32, b: i32) -> i32 { a - b }\n",
    );
}

pub const SYSTEM: &str = "This conversation runs the skillet skill `review`: Review a change\nProject files are quoted in <file path=\"…\"> blocks; a file cut to fit the budget ends with a [truncated: N more lines] marker.";
