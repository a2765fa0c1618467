//! The interpreters skillet knows how to drive with sentinel marks: the flags each is started
//! with, the helper loaded into it, and how an input is written so that its end can be found.

use std::path::Path;

use serde_json::Value;

const PYTHON_PRELUDE: &str = include_str!("../python_prelude.py");
const NODE_PRELUDE: &str = include_str!("../node_prelude.js");

/// An interpreter skillet knows how to drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recipe {
    /// CPython's interactive mode, with skillet's helper loaded.
    Python,
    /// Node's REPL, with skillet's helper loaded.
    Node,
    /// sh, bash, dash, zsh, ksh, ash, busybox.
    Shell,
    /// The sqlite3 shell (an input failed when it printed an error).
    Sqlite,
}

impl Recipe {
    /// The recipe for `command`, by its file name (`python3.12` is python).
    pub fn for_command(command: &str) -> Option<Recipe> {
        let name = Path::new(command)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or(command);
        let base = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
        match base {
            "python" => Some(Recipe::Python),
            "node" | "nodejs" => Some(Recipe::Node),
            "sh" | "bash" | "dash" | "zsh" | "ksh" | "mksh" | "ash" | "busybox" => {
                Some(Recipe::Shell)
            }
            "sqlite" => Some(Recipe::Sqlite),
            _ => None,
        }
    }

    /// Flags the interpreter needs to act as a REPL on a pipe, put before the skill's own
    /// arguments when missing.
    pub(super) fn flags(self) -> &'static [&'static str] {
        match self {
            // Interactive although stdin is a pipe, no banner, unbuffered.
            Recipe::Python => &["-i", "-q", "-u"],
            Recipe::Node => &["-i"],
            Recipe::Shell | Recipe::Sqlite => &[],
        }
    }

    /// Written once after start, before the first marked input.
    pub(super) fn prelude(self) -> Option<String> {
        match self {
            // The helper follows a one-line reader of its bytes, so the REPL, which reads a
            // line a byte at a time, a syscall each, never reads its few thousand bytes.
            Recipe::Python => Some(format!(
                "exec((lambda os, n: (lambda f: f(f, b''))(lambda f, b: b if len(b) >= n else \
                 f(f, b + (os.read(0, n - len(b)) or os._exit(1)))))(__import__('os'), {}).decode())\n{}",
                PYTHON_PRELUDE.len(),
                PYTHON_PRELUDE
            )),
            Recipe::Node => Some(format!("eval({})\n", js_string(NODE_PRELUDE))),
            Recipe::Shell | Recipe::Sqlite => None,
        }
    }

    /// `input`, followed by what prints the end marks.
    pub(super) fn wrap(self, input: &str, token: &str) -> String {
        match self {
            // The input follows the line, as many bytes as it says: the REPL reads its stdin a
            // byte at a time, a syscall each, and the helper reads the input in one.
            Recipe::Python => python_call("__skillet_next", input, token),
            Recipe::Node => {
                format!("__skillet_run({}, '{token}')\n", js_string(input))
            }
            Recipe::Shell => {
                let input = ended_line(input);
                format!("{input}printf '%s %d\\n' {token} \"$?\"; printf '%s\\n' {token} >&2\n")
            }
            Recipe::Sqlite => {
                // sqlite3 cannot print to stderr, but it complains there about an unknown
                // dot-command, naming it: that complaint is the stderr mark.
                let input = ended_line(input);
                format!("{input}.print {token}\n.{token}\n")
            }
        }
    }

    /// `input` run in a fresh namespace, followed by the end marks; `None` for an interpreter
    /// skillet has no reset recipe for (see docs/sessions.md, "Warm pools").
    pub(super) fn wrap_fresh(self, input: &str, token: &str) -> Option<String> {
        match self {
            Recipe::Python => Some(python_call("__skillet_next_fresh", input, token)),
            Recipe::Node => Some(format!(
                "__skillet_run_fresh({}, '{token}')\n",
                js_string(input)
            )),
            // A subshell: variables, functions, traps, options and the directory set by the
            // input die with it. The input runs verbatim inside `( … )`: a line of its own
            // closes it, so no newline or quote in the input reaches the marks.
            // An empty input is `:`: `( )` is a syntax error that would end the shell.
            Recipe::Shell => Some(format!(
                "(\n{}\n)\nprintf '%s %d\\n' {token} \"$?\"; printf '%s\\n' {token} >&2\n",
                if input.trim().is_empty() {
                    ":"
                } else {
                    input.trim_end_matches('\n')
                }
            )),
            Recipe::Sqlite => None,
        }
    }

    pub(super) fn reports_status(self) -> bool {
        self != Recipe::Sqlite
    }
}

/// A call of the python helper `function`, followed by what it reads: the token on a line of
/// its own, then the input, counted in bytes. The input never passes through the REPL, which
/// reads a line a byte at a time (a syscall each), and the line it does read is short.
fn python_call(function: &str, input: &str, token: &str) -> String {
    format!(
        "{function}({})\n{token}\n{input}",
        token.len() + 1 + input.len()
    )
}

/// `input`, ending with a newline (so what is written after it starts a line of its own).
pub(super) fn ended_line(input: &str) -> std::borrow::Cow<'_, str> {
    if input.ends_with('\n') {
        input.into()
    } else {
        format!("{input}\n").into()
    }
}

/// A string literal that Python and JavaScript read back as `text`: JSON's escapes are a subset
/// of both.
fn js_string(text: &str) -> String {
    Value::String(text.to_owned()).to_string()
}
