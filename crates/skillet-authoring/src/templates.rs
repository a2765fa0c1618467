//! What `skillet create` writes for each type and template: a working skill with one test.
//!
//! Each template is small on purpose: one parameter read the way the format says it should be
//! (a `{placeholder}` inside one argument, or `SKILL_PARAM_<NAME>` in a script), and a test that
//! passes as written, so `skillet test` is green before the author changes anything.

use serde_json::{Value, json};

/// A file beside the skill file (package folders only), relative to the folder.
pub(crate) struct ExtraFile {
    pub rel: &'static str,
    pub text: String,
    pub executable: bool,
}

/// A `code_inline` skill in one file: `echo` with the parameter in one argument.
pub(crate) fn code_inline(name: &str, description: &str) -> Value {
    json!({
        "name": name,
        "description": description,
        "version": "0.1.0",
        "type": "code_inline",
        "command": "echo",
        "args": ["Hello, {who}!"],
        "timeout": 10,
        "parameters": [
            {"name": "who", "type": "string", "default": "world", "description": "Who to greet"}
        ],
        "tests": [
            {
                "name": "greets by name",
                "params": {"who": "skillet"},
                "expect": {"exit_code": 0, "stdout_equals": "Hello, skillet!\n"}
            }
        ]
    })
}

/// A `code_session` skill: a Python interpreter kept alive between inputs.
pub(crate) fn code_session(name: &str, description: &str) -> Value {
    json!({
        "name": name,
        "description": description,
        "version": "0.1.0",
        "type": "code_session",
        "command": "python3",
        "timeout": 30,
        "session_config": {"idle_timeout": 600},
        "tests": [
            {
                "name": "keeps an interpreter",
                "stdin": "print(6 * 7)",
                "expect": {"status": "ok", "stdout_equals": "42\n"}
            }
        ]
    })
}

/// A `prompt_inline` skill: its test checks the rendered text.
pub(crate) fn prompt_inline(name: &str, description: &str) -> Value {
    json!({
        "name": name,
        "description": description,
        "version": "0.1.0",
        "type": "prompt_inline",
        "prompt_template": "Review {file} for bugs and unclear names. Answer with a short list.",
        "parameters": [
            {"name": "file", "type": "string", "required": true, "description": "File to review"}
        ],
        "tests": [
            {
                "name": "renders the prompt",
                "params": {"file": "src/main.rs"},
                "expect": {"stdout_contains": "Review src/main.rs for bugs"}
            }
        ]
    })
}

/// A `conversation` skill. Its test replays a cassette, so it fails (with the hint) until
/// `skillet test NAME --record` has held the conversation with the configured model once.
pub(crate) fn conversation(name: &str, description: &str) -> Value {
    json!({
        "name": name,
        "description": description,
        "version": "0.1.0",
        "type": "conversation",
        "prompt_template": "Help me review {file}. Ask about anything unclear before you answer.",
        "parameters": [
            {"name": "file", "type": "string", "required": true, "description": "File to review"}
        ],
        "guided_questions": ["What should the review focus on?"],
        "max_turns": 4,
        "tests": [
            {
                "name": "answers",
                "params": {"file": "src/main.rs"},
                "expect": {"status": "ok"}
            }
        ]
    })
}

/// A `code_inline` skill in a package folder running `scripts/main.py`.
pub(crate) fn python_script(name: &str, description: &str) -> (Value, ExtraFile) {
    let spec = script_skill(name, description, "python3", "scripts/main.py");
    let script = ExtraFile {
        rel: "scripts/main.py",
        text: "#!/usr/bin/env python3\n\
               \"\"\"The skill's program. skillet gives every parameter as SKILL_PARAM_<NAME>.\"\"\"\n\
               import os\n\
               \n\
               who = os.environ.get(\"SKILL_PARAM_WHO\", \"world\")\n\
               print(f\"Hello, {who}!\")\n"
            .to_owned(),
        executable: true,
    };
    (spec, script)
}

/// A `code_inline` skill in a package folder running `scripts/main.sh`.
pub(crate) fn shell_script(name: &str, description: &str) -> (Value, ExtraFile) {
    let spec = script_skill(name, description, "sh", "scripts/main.sh");
    let script = ExtraFile {
        rel: "scripts/main.sh",
        text: "#!/bin/sh\n\
               # The skill's program. skillet gives every parameter as SKILL_PARAM_<NAME>;\n\
               # quote it, it is data.\n\
               set -eu\n\
               printf 'Hello, %s!\\n' \"${SKILL_PARAM_WHO:-world}\"\n"
            .to_owned(),
        executable: true,
    };
    (spec, script)
}

fn script_skill(name: &str, description: &str, interpreter: &str, script: &str) -> Value {
    json!({
        "name": name,
        "description": description,
        "version": "0.1.0",
        "type": "code_inline",
        "command": interpreter,
        "args": [format!("{{skill_dir}}/{script}")],
        "timeout": 10,
        "parameters": [
            {"name": "who", "type": "string", "default": "world", "description": "Who to greet"}
        ],
        "tests": [
            {
                "name": "greets by name",
                "params": {"who": "skillet"},
                "expect": {"exit_code": 0, "stdout_equals": "Hello, skillet!\n"}
            }
        ]
    })
}
