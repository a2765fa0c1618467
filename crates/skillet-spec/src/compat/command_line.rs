//! Whole command lines, as the Q CLI formats wrote them (`"command": "uname -a"`, or
//! `"command": "wc -l {{file}} | awk '{print $1}'"`).
//!
//! A command line without shell syntax is split with POSIX shell-word rules into a program and
//! its arguments, which runs exactly as the shell would have run it. One that needs a shell
//! (pipes, redirections, substitutions, globs, `{{param}}` splicing) is never run implicitly:
//! `skillet migrate` rewrites it into `sh -c 'SCRIPT' sh "$1" …`, where every parameter value is
//! a positional argument of the script, never text spliced into it.

use serde_json::{Map, Value};

use super::Conversion;
use super::shell_script::{script_in_order, to_script};
use crate::diagnostic::Diagnostic;
use crate::template::{self, Template};

/// Why a command line needs a shell, in words for a diagnostic; `None` when it needs none.
pub(crate) fn shell_syntax(line: &str) -> Option<&'static str> {
    if line.contains("{{") {
        return Some("it splices parameters into the command line (`{{param}}`)");
    }
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    let mut single = false;
    let mut double = false;
    let mut word_start = true;
    while let Some(&c) = chars.get(i) {
        let next = chars.get(i + 1).copied();
        if single {
            single = c != '\'';
            i += 1;
            word_start = false;
            continue;
        }
        if c == '\\' {
            i += 2;
            word_start = false;
            continue;
        }
        if double {
            match c {
                '"' => double = false,
                '$' if next == Some('(') => return Some("it uses command substitution (`$(...)`)"),
                '$' => return Some("it expands a variable (`$`)"),
                '`' => return Some("it uses command substitution (backquotes)"),
                _ => {}
            }
            i += 1;
            continue;
        }
        let reason = match c {
            '\'' => {
                single = true;
                None
            }
            '"' => {
                double = true;
                None
            }
            '|' if next == Some('|') => Some("it chains commands (`||`)"),
            '|' => Some("it has a pipe (`|`)"),
            '&' if next == Some('&') => Some("it chains commands (`&&`)"),
            '&' => Some("it runs a command in the background (`&`)"),
            ';' | '\n' => Some("it runs several commands (`;`)"),
            '<' | '>' => Some("it redirects input or output (`<`, `>`)"),
            '$' if next == Some('(') => Some("it uses command substitution (`$(...)`)"),
            '$' => Some("it expands a variable (`$`)"),
            '`' => Some("it uses command substitution (backquotes)"),
            '(' | ')' => Some("it uses a subshell (`(...)`)"),
            '*' | '?' | '[' => {
                Some("it has a file name pattern the shell would expand (`*`, `?`, `[`)")
            }
            '~' if word_start => Some("it uses `~`, which the shell expands to the home directory"),
            '#' if word_start => Some("it has a shell comment (`#`)"),
            _ => None,
        };
        if reason.is_some() {
            return reason;
        }
        word_start = c == ' ' || c == '\t';
        i += 1;
    }
    if single || double {
        return Some("it has an unclosed quote");
    }
    // `NAME=value program`: the shell sets a variable for the program.
    let first = line.split_whitespace().next().unwrap_or_default();
    if let Some((name, _)) = first.split_once('=')
        && !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Some("it sets an environment variable for the command (`NAME=value`)");
    }
    None
}

/// Splits a command line with no shell syntax into words, as a POSIX shell would.
pub(crate) fn split(line: &str) -> Option<Vec<String>> {
    shlex::split(line).filter(|words| !words.is_empty())
}

/// A code skill whose `command` is a whole command line and has no `args`: split it when it has
/// no shell syntax (a warning), rewrite it to `sh -c` for `skillet migrate` when it does (an error
/// at load: a skill file's command line is never handed to a shell implicitly).
pub(super) fn repair(obj: &mut Map<String, Value>, conv: &mut Conversion) {
    let kind = obj.get("type").and_then(Value::as_str).unwrap_or_default();
    if !matches!(kind, "code_inline" | "code_session" | "command") {
        return;
    }
    let Some(line) = obj
        .get("command")
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        return;
    };
    let no_args = obj
        .get("args")
        .is_none_or(|a| a.as_array().is_some_and(Vec::is_empty));
    if !no_args || !is_command_line(&line) {
        return;
    }
    let line = line.trim();
    let at = conv.original_pointer("/command");
    // Named as the author wrote it (`implementation.command` in that format).
    let field = crate::json_source::display_path(&at);
    let Some(reason) = shell_syntax(line) else {
        let Some(mut words) = split(line) else { return };
        let program = words.remove(0);
        // `'my tool'` alone: a quoted program name with a space. The canonical format reads
        // such a `command` without `args` as a command line again, so written back it would
        // run `my` with the argument `tool`; only an absolute path says it unambiguously.
        if words.is_empty() && program.contains(char::is_whitespace) && !program.starts_with('/') {
            conv.note(
                &at,
                Diagnostic::error(format!(
                    "`{field}` names the program {program:?}, whose name holds a space: a command with a space and no \"args\" reads as a whole command line"
                ))
                .with_hint("give the program's absolute path in \"command\" (a path may hold spaces)"),
            );
            return;
        }
        let declared: Vec<String> = obj
            .get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|p| p.get("name").and_then(Value::as_str).map(str::to_owned))
            .collect();
        // A word whose `{placeholders}` all name declared parameters keeps them (each word is one
        // argument, so a value stays one argument); any other braces are text.
        let args: Vec<Value> = words
            .iter()
            .map(|w| {
                let t = Template::parse(w);
                let known = t.has_placeholders()
                    && t.placeholders().all(|p| declared.iter().any(|d| d == p));
                Value::String(if known { w.clone() } else { literal(w) })
            })
            .collect();
        conv.note(
            &at,
            Diagnostic::warning(format!(
                "`{field}` is a whole command line; run as program {program:?} with arguments {words:?}"
            ))
            .with_hint("write the program in \"command\" and each argument in \"args\" (`skillet migrate --write` does it)"),
        );
        obj.insert("command".into(), Value::String(program));
        obj.insert("args".into(), Value::Array(args));
        return;
    };
    let script = to_script(line);
    if let Some(why) = &script.refused {
        conv.note(
            &at,
            Diagnostic::error(format!(
                "`{field}` is a shell command line and {reason}, and {why}: skillet will not run it, and `skillet migrate` cannot rewrite it safely"
            ))
            .with_hint("rewrite it by hand: a script beside the skill that takes its values as arguments (\"$1\") or reads $SKILL_PARAM_<NAME>, run as \"command\" with \"args\""),
        );
        return;
    }
    conv.needs_migrate(
        &at,
        Diagnostic::error(format!(
            "`{field}` is a shell command line and {reason}; skillet does not hand a skill's command line to a shell"
        ))
        .with_hint("run `skillet migrate FILE --write`: it rewrites the command to `sh -c 'SCRIPT' sh ARG...` with each parameter passed as a separate argument, never spliced"),
        Diagnostic::warning(format!(
            "`{field}` was a shell command line: {reason}; rewritten to run `sh -c` with parameters as positional arguments (\"$1\", \"$2\", ...)"
        ))
        .with_hint("read the script once: it now runs exactly as written, with values as arguments"),
    );
    super::q_wizard::declare_strings(obj, conv, &script.params, &at);
    let order = positional_order(obj, conv, &script.params);
    let text = script_in_order(line, &order).text;
    let mut args = vec![
        Value::String("-c".into()),
        Value::String(literal(&text)),
        Value::String("sh".into()),
    ];
    args.extend(order.iter().map(|p| Value::String(format!("{{{p}}}"))));
    obj.insert("command".into(), Value::String("sh".into()));
    obj.insert("args".into(), Value::Array(args));
    conv.moved("/args", &at);
}

/// A `command` with a space in it: older formats had no `args` and wrote whole command lines.
pub(super) fn is_command_line(command: &str) -> bool {
    let c = command.trim();
    c.contains(char::is_whitespace)
}

/// Text kept literal by the template engine: braces doubled only where they would otherwise be
/// read as a placeholder or an escape, so ordinary scripts (`awk '{print $1}'`) read as written.
pub(super) fn literal(text: &str) -> String {
    let t = Template::parse(text);
    if t.has_placeholders() || text.contains("{{") || text.contains("}}") {
        template::escape(text).into_owned()
    } else {
        text.to_owned()
    }
}

/// The order positional arguments are passed in: parameters that always have a value first,
/// so an optional one left out (its argument is then dropped) cannot shift the others. An
/// optional string or path without a default gets `""`, so it is always passed.
fn positional_order(
    obj: &mut Map<String, Value>,
    conv: &mut Conversion,
    names: &[String],
) -> Vec<String> {
    let mut present = Vec::new();
    let mut maybe_absent = Vec::new();
    if let Some(Value::Array(params)) = obj.get_mut("parameters") {
        for name in names {
            let Some(p) = params
                .iter_mut()
                .filter_map(Value::as_object_mut)
                .find(|p| p.get("name").and_then(Value::as_str) == Some(name))
            else {
                present.push(name.clone());
                continue;
            };
            let required = p.get("required").and_then(Value::as_bool) == Some(true);
            let textual = matches!(
                p.get("type").and_then(Value::as_str),
                None | Some("string") | Some("path")
            );
            if required || p.contains_key("default") {
                present.push(name.clone());
            } else if textual {
                p.insert("default".into(), Value::String(String::new()));
                present.push(name.clone());
            } else {
                maybe_absent.push(name.clone());
            }
        }
    }
    if maybe_absent.len() > 1 {
        conv.note(
            "/parameters",
            Diagnostic::warning(format!(
                "optional parameters {maybe_absent:?} have no default: when one is left out, the positional arguments after it move up"
            ))
            .with_hint("give each a \"default\""),
        );
    }
    present.extend(maybe_absent);
    present
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_command_lines_split_like_a_shell() {
        for (line, words) in [
            ("uname -a", &["uname", "-a"][..]),
            ("find . -name '*.txt'", &["find", ".", "-name", "*.txt"]),
            ("echo 'Hello from test!'", &["echo", "Hello from test!"]),
            (r#"printf "%s\n" "a b""#, &["printf", "%s\\n", "a b"]),
            (r"echo a\ b", &["echo", "a b"]),
        ] {
            assert_eq!(shell_syntax(line), None, "{line}");
            assert_eq!(split(line).unwrap(), words, "{line}");
        }
    }

    #[test]
    fn shell_syntax_is_named() {
        for (line, reason) in [
            ("ps aux | head", "pipe"),
            ("make && make test", "`&&`"),
            ("date; uptime", "`;`"),
            ("ls > out.txt", "redirects"),
            ("echo $(whoami)", "substitution"),
            ("echo \"$HOME\"", "variable"),
            ("echo `id`", "backquotes"),
            ("ls *.rs", "pattern"),
            ("cat ~/.bashrc", "`~`"),
            ("wc -l {{file}}", "{{param}}"),
            ("echo 'unclosed", "unclosed"),
            ("sleep 1 &", "background"),
            ("LC_ALL=C sort x", "environment variable"),
        ] {
            let got = shell_syntax(line).unwrap_or_default();
            assert!(got.contains(reason), "{line}: {got}");
        }
        assert_eq!(shell_syntax("echo 'a | b; $c'"), None);
        assert_eq!(shell_syntax("echo a~b"), None);
        assert_eq!(shell_syntax("env LC_ALL=C sort"), None);
    }

    fn repaired(value: serde_json::Value) -> (Map<String, Value>, Conversion) {
        let mut conv = Conversion::default();
        let Value::Object(mut obj) = value else {
            unreachable!()
        };
        repair(&mut obj, &mut conv);
        (obj, conv)
    }

    #[test]
    fn split_words_keep_declared_placeholders_and_nothing_else() {
        let (obj, conv) = repaired(serde_json::json!({
            "type": "code_inline", "command": "du -sh {dir} '{other}'",
            "parameters": [{"name": "dir", "type": "string"}]
        }));
        assert_eq!(obj["command"], "du");
        assert_eq!(
            obj["args"],
            serde_json::json!(["-sh", "{dir}", "{{other}}"])
        );
        assert!(conv.migrate_only.is_empty());
        // Inside inline code a placeholder still meets the inline-code check at validation.
        let (obj, _) = repaired(serde_json::json!({
            "type": "code_inline", "command": "sh -c 'echo {dir}'",
            "parameters": [{"name": "dir", "type": "string"}]
        }));
        assert_eq!(obj["args"], serde_json::json!(["-c", "echo {dir}"]));
    }

    #[test]
    fn shell_lines_need_migrate_and_become_positional() {
        let (obj, conv) = repaired(serde_json::json!({
            "type": "code_inline", "command": "grep -c {{word}} {{file}} > /dev/null; echo {{word}}",
            "parameters": [{"name": "file", "type": "path", "required": true}]
        }));
        assert_eq!(conv.migrate_only.len(), 1);
        assert_eq!(obj["command"], "sh");
        // `word` is declared as an optional string with "" as its default, so it is always
        // passed and cannot shift `file`.
        assert_eq!(
            obj["args"],
            serde_json::json!([
                "-c",
                "grep -c \"${1}\" \"${2}\" > /dev/null; echo \"${1}\"",
                "sh",
                "{word}",
                "{file}"
            ])
        );
        assert_eq!(obj["parameters"][1]["name"], "word");
        assert_eq!(obj["parameters"][1]["default"], "");
    }
}
