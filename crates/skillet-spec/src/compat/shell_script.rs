//! Shell command lines with `{{param}}` splices, rewritten for `sh -c 'SCRIPT' sh ARG...`: each
//! splice becomes a quoted positional parameter, so a value is one word of the script and never
//! read as shell code. Where a value would still be code after the rewrite (an argument of
//! `eval` or `sed`, piped into `sh`, inside `$(...)`), the rewrite is refused with the reason.

/// A shell script whose `{{param}}` splices became positional parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Script {
    /// The script text, with `"${N}"` where a value was spliced.
    pub text: String,
    /// Parameter names, in the order of their positional numbers (`$1` first).
    pub params: Vec<String>,
    /// Why the splices cannot be made safe automatically, when they cannot.
    pub refused: Option<String>,
}

/// Programs that read an argument as code or hand it to another shell: a value spliced into
/// their arguments would still be code after the rewrite, so migrate leaves those to a person.
const EVALUATORS: &[&str] = &[
    "eval",
    "exec",
    "source",
    ".",
    "sh",
    "bash",
    "zsh",
    "dash",
    "ksh",
    "fish",
    "csh",
    "tcsh",
    "python",
    "python2",
    "python3",
    "node",
    "nodejs",
    "deno",
    "perl",
    "ruby",
    "php",
    "lua",
    "awk",
    "gawk",
    "mawk",
    "nawk",
    "sed",
    "jq",
    "yq",
    "ssh",
    "xargs",
    "find",
    "su",
    "sudo",
    "doas",
    "env",
    "nice",
    "nohup",
    "timeout",
    "time",
    "watch",
    "parallel",
    "sqlite3",
    "psql",
    "mysql",
    "osascript",
    "powershell",
    "pwsh",
    "tclsh",
    "Rscript",
    "make",
    "git",
];

/// Of [`EVALUATORS`], those that run standard input only when given no script to run.
const INTERPRETERS: &[&str] = &[
    "sh", "bash", "zsh", "dash", "ksh", "fish", "csh", "tcsh", "python", "python2", "python3",
    "node", "nodejs", "deno", "perl", "ruby", "php", "lua", "tclsh", "Rscript",
];

/// Of [`EVALUATORS`], those that read their program text as data from standard input: a value
/// piped into them is data, not code.
const STDIN_IS_DATA: &[&str] = &[
    "awk", "gawk", "mawk", "nawk", "sed", "jq", "yq", "find", "make", "git",
];

/// Rewrites `{{name}}`, `{{name:-default}}` and `{{name:default}}` into references to
/// positional parameters, quoted for the place they stand in: unquoted or in double quotes a
/// reference becomes `"${N}"`/`${N}`; inside single quotes the quotes are closed around it
/// (`'a'"${N}"'b'`), so a value is always one word and never read as shell code.
pub(crate) fn to_script(line: &str) -> Script {
    script_in_order(line, &[])
}

/// [`to_script`], numbering the parameters of `order` by their place in it and any other by
/// first appearance after them.
pub(super) fn script_in_order(line: &str, order: &[String]) -> Script {
    let mut out = String::with_capacity(line.len() + 16);
    let mut params: Vec<String> = order.to_vec();
    let mut single = false;
    let mut double = false;
    let mut rest = line;
    let mut refused = None;
    // The program of the simple command being read: its first word, once complete.
    let mut first_word = String::new();
    let mut word_done = false;
    // Each program run, and whether an operand (a script, a module) followed it.
    let mut programs: Vec<(String, bool)> = Vec::new();
    let mut after_space = false;
    let nested = ["$(", "`", "<<"].into_iter().find(|n| line.contains(n));
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("{{")
            && let Some(end) = rest.find("}}")
            && let Some((name, default)) = splice(&rest[2..end])
        {
            let program = first_word.rsplit('/').next().unwrap_or_default();
            if refused.is_none() {
                refused = if let Some(n) = nested {
                    Some(format!(
                        "the line has `{n}`, and a value spliced near it could become code"
                    ))
                } else if !word_done {
                    Some(format!("`{{{{{name}}}}}` would choose the program to run"))
                } else if EVALUATORS.contains(&program) {
                    Some(format!(
                        "`{{{{{name}}}}}` is an argument of `{program}`, which can run its arguments as code"
                    ))
                } else {
                    None
                };
            }
            let n = match params.iter().position(|p| p == name) {
                Some(i) => i + 1,
                None => {
                    params.push(name.to_owned());
                    params.len()
                }
            };
            let reference = match default {
                Some(d) => format!("${{{n}:-{d}}}"),
                None => format!("${{{n}}}"),
            };
            if single {
                out.push_str(&format!("'\"{reference}\"'"));
            } else if double {
                out.push_str(&reference);
            } else {
                out.push_str(&format!("\"{reference}\""));
            }
            rest = &rest[end + 2..];
            continue;
        }
        if !single && !double {
            match c {
                '|' | ';' | '&' | '(' | ')' | '\n' => {
                    first_word.clear();
                    word_done = false;
                }
                ' ' | '\t' if !first_word.is_empty() && !word_done => {
                    // `NAME=value program`: the program is the next word.
                    if first_word.contains('=') {
                        first_word.clear();
                    } else {
                        word_done = true;
                        let name = first_word.rsplit('/').next().unwrap_or_default();
                        programs.push((name.to_owned(), false));
                    }
                }
                ' ' | '\t' => {}
                _ if !word_done => first_word.push(c),
                '-' => {}
                _ if after_space => {
                    if let Some(last) = programs.last_mut() {
                        last.1 = true;
                    }
                }
                _ => {}
            }
        } else if !word_done && c != '\'' && c != '"' {
            first_word.push(c);
        }
        after_space = !single && !double && (c == ' ' || c == '\t');
        match c {
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '\\' if !single => {
                // Keep the escaped character with its backslash, whatever it is.
                out.push(c);
                rest = &rest[1..];
                if let Some(e) = rest.chars().next() {
                    out.push(e);
                    rest = &rest[e.len_utf8()..];
                }
                continue;
            }
            _ => {}
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    if !word_done && !first_word.is_empty() {
        let name = first_word.rsplit('/').next().unwrap_or_default();
        programs.push((name.to_owned(), false));
    }
    // A value may also reach a program through a pipe: one that runs what it reads is refused.
    if refused.is_none() && !params.is_empty() {
        // An interpreter given a script or module reads standard input as data; one given
        // none runs it. `xargs`, `ssh` and the like run what they read either way.
        let runs_stdin = |(p, operand): &&(String, bool)| {
            let p = p.as_str();
            EVALUATORS.contains(&p)
                && !STDIN_IS_DATA.contains(&p)
                && !(*operand && INTERPRETERS.contains(&p))
        };
        if let Some((p, _)) = programs.iter().find(runs_stdin) {
            refused = Some(format!(
                "the line runs `{p}`, which can run what it reads as code"
            ));
        }
    }
    Script {
        text: out,
        params,
        refused,
    }
}

/// `name`, `name:-default` or `name:default` inside `{{…}}`.
fn splice(inner: &str) -> Option<(&str, Option<&str>)> {
    let inner = inner.trim();
    let (name, default) = match inner.split_once(':') {
        Some((n, d)) => (n.trim(), Some(d.strip_prefix('-').unwrap_or(d))),
        None => (inner, None),
    };
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    // A default is written into the script as the author wrote it; one that could end the
    // expansion or start another is not taken.
    let default_ok = default.is_none_or(|d| !d.contains(['}', '`', '$', '"', '\'', '\\']));
    (valid && default_ok).then_some((name, default))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splices_become_quoted_positional_parameters() {
        let s = to_script("wc -l {{file}} | awk '{print $1}'");
        assert_eq!(s.text, "wc -l \"${1}\" | awk '{print $1}'");
        assert_eq!(s.params, ["file"]);
        let s = to_script("echo '{{json}}' | jq . && echo \"x {{json}} {{n:-3}}\"");
        assert_eq!(
            s.text,
            "echo ''\"${1}\"'' | jq . && echo \"x ${1} ${2:-3}\""
        );
        assert_eq!(s.params, ["json", "n"]);
        let s = to_script("cd {{directory:-.}} && git status");
        assert_eq!(s.text, "cd \"${1:-.}\" && git status");
        let s = to_script("curl 'wttr.in/{{location}}?format={{format:3}}'");
        assert_eq!(s.text, "curl 'wttr.in/'\"${1}\"'?format='\"${2:-3}\"''");
        // A default that could break out of the expansion is not a splice: left as written.
        let s = to_script("echo {{x:-$(id)}}");
        assert_eq!(s.text, "echo {{x:-$(id)}}");
        assert!(s.params.is_empty());
    }

    #[test]
    fn splices_that_would_still_be_code_are_left_to_a_person() {
        for (line, why) in [
            ("eval echo {{x}}", "`eval`"),
            ("sh -c 'echo {{x}}'", "`sh`"),
            ("bash -c \"ls {{dir}}\"", "`bash`"),
            ("awk '{print \"{{x}}\"}' data.txt", "`awk`"),
            ("cat f | sed 's/a/{{b}}/'", "`sed`"),
            ("LC_ALL=C sed -n {{range}}p f", "`sed`"),
            ("/usr/bin/python3 -c 'print(\"{{x}}\")'", "`python3`"),
            ("find . -name {{n}} -exec rm {} +", "`find`"),
            ("ssh host ls {{dir}}", "`ssh`"),
            ("echo {{x}} | xargs -I{} sh -c 'echo {}'", "`|`"),
            ("echo $(cat {{f}})", "`$(`"),
            ("echo `cat {{f}}`", "`` ` ``"),
            ("cat <<EOF\n{{x}}\nEOF", "`<<`"),
            ("{{prog}} --version", "choose the program"),
            ("'{{prog}}' -v", "choose the program"),
            ("echo {{x}} | sh", "`sh`"),
            ("printf '%s' {{x}} | python3 -", "`python3`"),
            ("echo {{x}} | bash -s", "`bash`"),
        ] {
            let script = to_script(line);
            let got = script.refused.unwrap_or_default();
            let want = why.replace("`` ` ``", "`");
            assert!(
                got.contains(&want) || (why == "`|`" && got.contains("`xargs`")),
                "{line}: {got:?}"
            );
        }
        for line in [
            "wc -l {{file}} | awk '{print $1}'",
            "cd {{d:-.}} && git status --short",
            "echo '{{text}}' | jq .",
            "grep -c -- {{word}} notes.txt",
            "echo '{{text}}' | python3 -m json.tool",
            "echo {{x}} | bash ./tool.sh",
        ] {
            assert_eq!(to_script(line).refused, None, "{line}");
        }
    }
}
