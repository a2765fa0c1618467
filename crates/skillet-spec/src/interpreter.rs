//! Finding arguments that an interpreter will run as code (`sh -c CODE`, `python -c CODE`,
//! `node -e CODE`, …).
//!
//! A `{param}` inside such an argument would let a value become code, so validation refuses it and
//! points the author at `SKILL_PARAM_<NAME>` instead.

use std::path::Path;

/// How an interpreter takes inline code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// POSIX-style shells: `-c` makes the first operand the script.
    Shell,
    /// Python: `-c CODE`.
    Python,
    /// Node.js: `-e CODE`, `-p CODE`, `--eval CODE`, `--eval=CODE`.
    Node,
    /// Perl and Ruby: `-e CODE` (also in clusters such as `-ne`).
    PerlRuby,
}

impl Family {
    /// How a script in this language reads the value of parameter `name`.
    pub fn env_hint(self, name: &str) -> String {
        let var = crate::param_env_var(name);
        match self {
            Family::Shell => format!("\"${var}\""),
            Family::Python => format!("os.environ[\"{var}\"]"),
            Family::Node => format!("process.env.{var}"),
            Family::PerlRuby => format!("$ENV{{{var}}} (Perl) or ENV[\"{var}\"] (Ruby)"),
        }
    }
}

/// The interpreter family of a command, looking through `env` wrappers.
///
/// Returns the family and the index in `args` where the interpreter's own arguments start.
pub fn family_of(command: &str, args: &[String]) -> Option<(Family, usize)> {
    if let Some(f) = family_of_program(command) {
        return Some((f, 0));
    }
    if program_name(command) != "env" {
        return None;
    }
    // `env [-i] [-u NAME] [NAME=VALUE]... PROGRAM ARGS`
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        if arg == "-u" || arg == "--unset" || arg == "-C" || arg == "--chdir" {
            i += 2;
        } else if arg.starts_with('-') || arg.contains('=') {
            i += 1;
        } else {
            return family_of_program(arg).map(|f| (f, i + 1));
        }
    }
    None
}

fn program_name(command: &str) -> &str {
    Path::new(command)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(command)
}

fn family_of_program(command: &str) -> Option<Family> {
    let name = program_name(command);
    let base = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    match base {
        "sh" | "bash" | "zsh" | "dash" | "ksh" | "mksh" | "ash" | "fish" | "busybox" => {
            Some(Family::Shell)
        }
        "python" | "pypy" => Some(Family::Python),
        "node" | "nodejs" | "bun" | "deno" => Some(Family::Node),
        "perl" | "ruby" => Some(Family::PerlRuby),
        _ => None,
    }
}

/// Indices (into `args`) of the arguments that `command` will execute as code.
///
/// ```
/// use skillet_spec::interpreter::inline_code_args;
/// let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
/// assert_eq!(inline_code_args("bash", &args(&["-ec", "echo hi", "argv0", "{x}"])), vec![1]);
/// assert_eq!(inline_code_args("/usr/bin/python3", &args(&["-c", "print(1)"])), vec![1]);
/// assert_eq!(inline_code_args("env", &args(&["A=1", "node", "--eval=1+1"])), vec![2]);
/// assert!(inline_code_args("wc", &args(&["-c", "{file}"])).is_empty());
/// ```
pub fn inline_code_args(command: &str, args: &[String]) -> Vec<usize> {
    let Some((family, start)) = family_of(command, args) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    let mut i = start;
    while i < args.len() {
        let arg = &args[i];
        match family {
            Family::Shell => {
                if is_short_cluster_with(arg, 'c') {
                    // The script is the first operand after the options.
                    if let Some(j) = (i + 1..args.len()).find(|&j| !args[j].starts_with(['-', '+']))
                    {
                        found.push(j);
                    }
                    break;
                }
                if !arg.starts_with(['-', '+']) {
                    break; // a script file: the rest are its arguments
                }
            }
            Family::Python => {
                // Options before `c` are single letters (`-Ic`); code may follow `c` in the same
                // argument (`-cprint(1)`) or come as the next one.
                if let Some(rest) = python_inline_code(arg) {
                    found.push(if rest.is_empty() { i + 1 } else { i });
                    break;
                }
                if !arg.starts_with('-') {
                    break;
                }
            }
            Family::Node => {
                if arg.starts_with("--eval=") || arg.starts_with("--print=") {
                    found.push(i);
                } else if matches!(arg.as_str(), "-e" | "-p" | "--eval" | "--print" | "-pe")
                    || arg == "eval"
                {
                    if i + 1 < args.len() {
                        found.push(i + 1);
                    }
                    i += 1;
                } else if !arg.starts_with('-') {
                    break;
                }
            }
            Family::PerlRuby => {
                if is_short_cluster_with(arg, 'e') || is_short_cluster_with(arg, 'E') {
                    if i + 1 < args.len() {
                        found.push(i + 1);
                    }
                    i += 1;
                } else if !arg.starts_with('-') {
                    break;
                }
            }
        }
        i += 1;
    }
    found
}

/// For `-c`, `-Ic` or `-cCODE`, the text after the `c`.
fn python_inline_code(arg: &str) -> Option<&str> {
    let flags = arg.strip_prefix('-').filter(|f| !f.starts_with('-'))?;
    let c = flags.find('c')?;
    flags[..c]
        .chars()
        .all(|ch| ch.is_ascii_alphabetic())
        .then(|| &flags[c + 1..])
}

/// `-c`, `-ec`, `-xc`… but not `--c`.
fn is_short_cluster_with(arg: &str, letter: char) -> bool {
    arg.len() >= 2
        && arg.starts_with('-')
        && !arg.starts_with("--")
        && arg[1..].chars().all(|c| c.is_ascii_alphabetic())
        && arg[1..].contains(letter)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn each_listed_interpreter_is_recognised() {
        for (cmd, args, want) in [
            ("sh", v(&["-c", "x"]), vec![1]),
            ("bash", v(&["-c", "x"]), vec![1]),
            ("zsh", v(&["-c", "x"]), vec![1]),
            ("bash", v(&["-e", "-c", "-x", "x"]), vec![3]),
            ("python", v(&["-c", "x"]), vec![1]),
            ("python3", v(&["-c", "x"]), vec![1]),
            ("python3.11", v(&["-I", "-c", "x"]), vec![2]),
            ("node", v(&["-e", "x"]), vec![1]),
            ("perl", v(&["-e", "x"]), vec![1]),
            ("perl", v(&["-ne", "x", "file"]), vec![1]),
            ("ruby", v(&["-e", "x"]), vec![1]),
            ("/usr/bin/env", v(&["-i", "bash", "-c", "x"]), vec![3]),
        ] {
            assert_eq!(inline_code_args(cmd, &args), want, "{cmd} {args:?}");
        }
    }

    #[test]
    fn scripts_and_plain_programs_are_not_inline_code() {
        assert!(inline_code_args("bash", &v(&["script.sh", "-c", "x"])).is_empty());
        assert!(inline_code_args("python3", &v(&["tool.py", "-c", "x"])).is_empty());
        assert!(inline_code_args("grep", &v(&["-c", "x"])).is_empty());
        assert!(inline_code_args("bash", &v(&["--norc", "script.sh"])).is_empty());
    }
}
