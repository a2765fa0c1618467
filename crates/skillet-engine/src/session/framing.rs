//! Where the output of one session input ends.
//!
//! An interpreter's output is one endless stream; a session needs it cut into one answer per
//! input. Three ways, chosen from the skill's `session_config` and its command:
//!
//! - **Sentinel recipes** for interpreters skillet knows (python, node, POSIX shells, sqlite3):
//!   after each input skillet writes a command that prints a token no output can contain by
//!   chance (fresh random for every input), with the input's status, on stdout and (where the
//!   interpreter can) on stderr. The answer is everything before the tokens.
//! - **Prompt**: for other REPLs, a regular expression matching the prompt the interpreter prints
//!   when it is ready for more; the answer is what came before it. No exit status.
//! - **JSON lines**: for programs written for skillet: `{"id":N,"input":"…"}` in, one
//!   `{"id":N,"output":"…","status":0}` line out.

use regex::Regex;
use serde_json::{Value, json};
use skillet_spec::{SessionConfig, SessionProtocol};

mod recipe;

pub use recipe::Recipe;
use recipe::ended_line;

/// How one session's output is cut into answers.
#[derive(Debug, Clone)]
pub enum Framing {
    /// End marks printed by a known interpreter.
    Sentinel(Recipe),
    /// The interpreter's prompt.
    Prompt(Regex),
    /// One JSON response line per request line.
    Jsonl,
}

/// Why a session's framing cannot be chosen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    /// A REPL skillet has no recipe for, and no prompt to look for.
    #[error(
        "skillet does not know how to tell where one answer of `{0}` ends; set \
         `session_config.prompt` to a regular expression matching its prompt, or write the \
         program for `\"protocol\": \"jsonl\"` (see docs/sessions.md)"
    )]
    Unknown(String),
    /// The prompt is not a valid regular expression.
    #[error("session_config.prompt is not a valid regular expression: {0}")]
    BadPrompt(String),
}

impl Framing {
    /// The framing for a skill running `command`.
    pub fn choose(command: &str, config: Option<&SessionConfig>) -> Result<Framing, FramingError> {
        let protocol = config.and_then(|c| c.protocol);
        if protocol == Some(SessionProtocol::Jsonl) {
            return Ok(Framing::Jsonl);
        }
        if let Some(prompt) = config.and_then(|c| c.prompt.as_deref()) {
            // Anchored at the end: the prompt is the last thing printed before the REPL waits.
            return Regex::new(&format!("(?:{prompt})$"))
                .map(Framing::Prompt)
                .map_err(|e| FramingError::BadPrompt(e.to_string()));
        }
        Recipe::for_command(command)
            .map(Framing::Sentinel)
            .ok_or_else(|| FramingError::Unknown(command.to_owned()))
    }

    /// The arguments to start the interpreter with: the recipe's flags, then the skill's.
    pub fn args(&self, skill_args: &[String]) -> Vec<String> {
        let mut args = Vec::new();
        if let Framing::Sentinel(recipe) = self {
            for flag in recipe.flags() {
                if !skill_args.iter().any(|a| a == flag) {
                    args.push((*flag).to_owned());
                }
            }
        }
        args.extend(skill_args.iter().cloned());
        args
    }

    /// What to write right after start, before the first input.
    pub fn prelude(&self) -> Option<String> {
        match self {
            Framing::Sentinel(recipe) => recipe.prelude(),
            Framing::Prompt(_) | Framing::Jsonl => None,
        }
    }

    /// Whether start must wait for a first answer: the prelude's end marks, or the first
    /// prompt. Output before that (banners, the prompt before the prelude) is not an answer.
    pub fn has_handshake(&self) -> bool {
        !matches!(self, Framing::Jsonl)
    }

    /// The bytes to write for `input` (`id` numbers it; `token` is fresh for it).
    pub fn request(&self, input: &str, id: u64, token: &str) -> String {
        match self {
            Framing::Sentinel(recipe) => recipe.wrap(input, token),
            Framing::Prompt(_) => ended_line(input).into_owned(),
            Framing::Jsonl => format!("{}\n", json!({"id": id, "input": input})),
        }
    }

    /// The bytes to write for `input` run in a fresh namespace (a pool's stateless call);
    /// `None` when skillet cannot reset this interpreter.
    pub fn fresh_request(&self, input: &str, token: &str) -> Option<String> {
        match self {
            Framing::Sentinel(recipe) => recipe.wrap_fresh(input, token),
            Framing::Prompt(_) | Framing::Jsonl => None,
        }
    }

    /// Whether every call can be given a fresh namespace (a pool needs it).
    pub fn can_reset(&self) -> bool {
        self.fresh_request("", "t").is_some()
    }

    /// Whether stderr carries an end mark to wait for.
    pub fn marks_stderr(&self) -> bool {
        matches!(self, Framing::Sentinel(_))
    }

    /// Whether an input failed exactly when it wrote to stderr (the interpreter reports no
    /// status of its own).
    pub fn status_from_stderr(&self) -> bool {
        matches!(self, Framing::Sentinel(r) if !r.reports_status())
    }

    /// Finds the end of an answer in `stdout`: how many bytes are output, how many more the
    /// end mark takes, and the status it carried. `None` while the answer is incomplete.
    pub fn find_end(&self, stdout: &[u8], id: u64, token: &str) -> Option<End> {
        match self {
            Framing::Sentinel(recipe) => {
                let at = find(stdout, token.as_bytes())?;
                let rest = &stdout[at + token.len()..];
                if !recipe.reports_status() {
                    let line = find(rest, b"\n")?;
                    return Some(End {
                        output: at,
                        consumed: at + token.len() + line + 1,
                        status: None,
                        answer: None,
                    });
                }
                let line = find(rest, b"\n")?;
                let status = std::str::from_utf8(&rest[..line])
                    .ok()
                    .and_then(|s| s.trim().parse().ok());
                Some(End {
                    output: at,
                    consumed: at + token.len() + line + 1,
                    status,
                    answer: None,
                })
            }
            Framing::Prompt(prompt) => {
                let text = String::from_utf8_lossy(stdout);
                let m = prompt.find_iter(&text).last()?;
                // Lossy decoding keeps the byte offsets of valid UTF-8; a prompt is text.
                (m.end() == text.len() && text.len() == stdout.len()).then_some(End {
                    output: m.start(),
                    consumed: stdout.len(),
                    status: None,
                    answer: None,
                })
            }
            Framing::Jsonl => jsonl_end(stdout, id),
        }
    }

    /// Whether `stderr` holds the end mark `token`: where the line holding it starts, and
    /// where it ends.
    pub fn find_stderr_end(&self, stderr: &[u8], token: &str) -> Option<(usize, usize)> {
        let at = find(stderr, token.as_bytes())?;
        let line = find(&stderr[at..], b"\n")?;
        let line_start = stderr[..at]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |nl| nl + 1);
        Some((line_start, at + line + 1))
    }
}

/// The end of one answer in the stdout buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct End {
    /// Bytes of output before the end mark (for jsonl: none; the output is in the response).
    pub output: usize,
    /// Bytes to drop from the buffer, end mark included.
    pub consumed: usize,
    /// The input's status, when the protocol reports one.
    pub status: Option<i32>,
    /// For jsonl: the response's `output` (or an explanation of a malformed response).
    pub answer: Option<JsonlAnswer>,
}

/// What a jsonl response said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonlAnswer {
    /// Its `output`.
    pub output: String,
    /// Its `error`, printed as stderr.
    pub error: Option<String>,
}

/// Scans complete lines for the response numbered `id`. Lines that are not that response (log
/// lines, say) are output and are kept in front of the answer.
fn jsonl_end(stdout: &[u8], id: u64) -> Option<End> {
    let mut start = 0;
    while let Some(nl) = find(&stdout[start..], b"\n") {
        let line = &stdout[start..start + nl];
        if let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(line)
            && obj.get("id").and_then(Value::as_u64) == Some(id)
        {
            let output = match obj.get("output") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            };
            let status = obj
                .get("status")
                .and_then(Value::as_i64)
                .and_then(|s| i32::try_from(s).ok())
                .or(Some(0));
            let error = obj.get("error").and_then(Value::as_str).map(str::to_owned);
            return Some(End {
                output: start,
                consumed: start + nl + 1,
                status,
                answer: Some(JsonlAnswer { output, error }),
            });
        }
        start += nl + 1;
    }
    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(v: serde_json::Value) -> SessionConfig {
        serde_json::from_value(v).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn interpreters_are_recognised_by_file_name() {
        assert_eq!(
            Recipe::for_command("/usr/bin/python3.12"),
            Some(Recipe::Python)
        );
        assert_eq!(Recipe::for_command("bash"), Some(Recipe::Shell));
        assert_eq!(Recipe::for_command("nodejs"), Some(Recipe::Node));
        assert_eq!(Recipe::for_command("sqlite3"), Some(Recipe::Sqlite));
        assert_eq!(Recipe::for_command("ghci"), None);
        let err = Framing::choose("ghci", None).map(drop);
        assert!(matches!(err, Err(FramingError::Unknown(_))));
        let prompt = Framing::choose("ghci", Some(&cfg(json!({"prompt": "ghci> "}))));
        assert!(matches!(prompt, Ok(Framing::Prompt(_))));
        let jsonl = Framing::choose("python3", Some(&cfg(json!({"protocol": "jsonl"}))));
        assert!(matches!(jsonl, Ok(Framing::Jsonl)));
    }

    #[test]
    fn recipe_flags_are_added_once_before_the_skill_arguments() {
        let python = Framing::Sentinel(Recipe::Python);
        assert_eq!(
            python.args(&["-q".into(), "setup.py".into()]),
            ["-i", "-u", "-q", "setup.py"]
        );
    }

    #[test]
    fn inputs_travel_as_string_literals_so_quotes_cannot_break_out() {
        let node = Framing::Sentinel(Recipe::Node);
        let req = node.request("print('a\\nb')\n\"\"\"", 1, "TOK");
        assert_eq!(req.lines().count(), 1, "{req}");
        assert!(
            req.starts_with("__skillet_run(\"print('a\\\\nb')\\n\\\"\\\"\\\"\""),
            "{req}"
        );
    }

    /// A python input follows its line as raw bytes, counted, so the REPL never reads it.
    #[test]
    fn python_inputs_follow_their_line_counted_in_bytes() {
        let python = Framing::Sentinel(Recipe::Python);
        let input = "print('é')\n\"\"\"";
        let req = python.request(input, 1, "TOK");
        assert_eq!(
            req,
            format!("__skillet_next({})\nTOK\n{input}", 4 + input.len())
        );
        assert_eq!(input.len(), input.chars().count() + 1, "counted in bytes");
    }

    #[test]
    fn only_interpreters_with_a_reset_recipe_get_fresh_requests() {
        let python = Framing::Sentinel(Recipe::Python);
        let req = python
            .fresh_request("x = 1", "TOK")
            .unwrap_or_else(|| panic!("python resets"));
        assert!(req == "__skillet_next_fresh(9)\nTOK\nx = 1", "{req}");
        let shell = Framing::Sentinel(Recipe::Shell);
        let req = shell
            .fresh_request("X=1; exit 3\n", "TOK")
            .unwrap_or_else(|| panic!("shells reset"));
        assert!(req.starts_with("(\nX=1; exit 3\n)\nprintf"), "{req}");
        let req = shell
            .fresh_request(" \n", "TOK")
            .unwrap_or_else(|| panic!("shells reset"));
        assert!(req.starts_with("(\n:\n)\nprintf"), "{req}");
        assert!(Framing::Sentinel(Recipe::Node).can_reset());
        assert!(!Framing::Sentinel(Recipe::Sqlite).can_reset());
        assert!(!Framing::Jsonl.can_reset());
        let prompt = Framing::choose("ghci", Some(&cfg(json!({"prompt": "> "}))))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!prompt.can_reset());
    }

    #[test]
    fn sentinel_ends_carry_the_status_and_ignore_partial_marks() {
        let shell = Framing::Sentinel(Recipe::Shell);
        assert_eq!(shell.find_end(b"out\nTOK 3", 1, "TOK"), None);
        let end = shell.find_end(b"out\nTOK 3\n", 1, "TOK");
        assert_eq!(
            end,
            Some(End {
                output: 4,
                consumed: 10,
                status: Some(3),
                answer: None
            })
        );
    }

    #[test]
    fn a_prompt_ends_an_answer_only_at_the_end_of_the_output() {
        let framing = Framing::choose("x", Some(&cfg(json!({"prompt": "my> "}))))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(framing.find_end(b"my> 42\n", 1, ""), None);
        let end = framing.find_end(b"42\nmy> ", 1, "");
        assert_eq!(end.map(|e| e.output), Some(3));
    }

    #[test]
    fn jsonl_skips_other_lines_and_reads_the_matching_response() {
        let out =
            b"log line\n{\"id\":1,\"output\":\"old\"}\n{\"id\":2,\"output\":\"hi\",\"status\":4}\n";
        let end = jsonl_end(out, 2).unwrap_or_else(|| panic!("no end"));
        assert_eq!(end.status, Some(4));
        assert_eq!(end.consumed, out.len());
        assert_eq!(end.answer.map(|a| a.output).as_deref(), Some("hi"));
        assert!(
            jsonl_end(b"{\"id\":3}", 3).is_none(),
            "an unfinished line is not a response"
        );
    }
}
