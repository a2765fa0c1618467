//! A test's call written as the `skillet run` command a user would type.

use serde_json::{Map, Value};

/// The shell command that calls skill `name` with `params` (and `stdin` piped in), quoted so
/// that a POSIX shell passes every value through unchanged.
///
/// ```
/// let params = serde_json::json!({"file": "my notes.txt", "n": 3});
/// let params = params.as_object().unwrap();
/// assert_eq!(
///     skillet_authoring::docs::run_command("count", params, None),
///     "skillet run count --param 'file=my notes.txt' --param n=3"
/// );
/// ```
pub fn run_command(name: &str, params: &Map<String, Value>, stdin: Option<&str>) -> String {
    let mut words = vec!["skillet".to_owned(), "run".to_owned(), shell_word(name)];
    let scalar = params.values().all(|v| !v.is_array() && !v.is_object());
    if scalar {
        for (key, value) in params {
            let text = match value {
                Value::String(s) => escape_at(s),
                Value::Null => continue,
                other => other.to_string(),
            };
            words.push("--param".to_owned());
            words.push(shell_word(&format!("{key}={text}")));
        }
    } else {
        words.push("--params".to_owned());
        words.push(shell_word(&Value::Object(params.clone()).to_string()));
    }
    let command = words.join(" ");
    match stdin {
        Some(input) => format!("printf '%s' {} | {command}", shell_word(input)),
        None => command,
    }
}

/// `--param k=@file` reads a file; a literal value starting with `@` is written `@@`.
fn escape_at(value: &str) -> String {
    if value.starts_with('@') {
        format!("@{value}")
    } else {
        value.to_owned()
    }
}

/// `word` as one POSIX shell word: bare when it holds only safe characters, else in single
/// quotes.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:,+@%=".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}
