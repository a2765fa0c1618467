//! Finding arguments that an interpreter will run as code (`sh -c CODE`, `python -c CODE`,
//! `node -e CODE`, …).
//!
//! A `{param}` inside such an argument would let a value become code, so validation refuses it and
//! points the author at `SKILL_PARAM_<NAME>` instead.

use std::path::Path;

/// How an interpreter takes inline code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// POSIX-style shells, and programs that hand a string to one (`su -c`, `script -c`,
    /// `watch`, `ssh`): `-c` makes the first operand the script.
    Shell,
    /// Python: `-c CODE`.
    Python,
    /// Node.js: `-e CODE`, `-p CODE`, `--eval CODE`, `--eval=CODE`.
    Node,
    /// Perl and Ruby: `-e CODE` (also in clusters such as `-ne`).
    PerlRuby,
    /// awk: the first operand is the program unless `-f` names a file.
    Awk,
    /// sed: `-e SCRIPT`, or the first operand; GNU sed's `e` command runs a shell.
    Sed,
    /// Any other program that takes code after a flag (`php -r`, `Rscript -e`, `vim -c`,
    /// `gdb -ex`, `git -c` whose settings can name commands…).
    Other,
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
            Family::Awk => format!("ENVIRON[\"{var}\"]"),
            Family::Sed | Family::Other => {
                format!(
                    "${var} in a script that reads its environment, or pass it as a separate argument"
                )
            }
        }
    }
}

/// Programs whose arguments after their own options are all handed to a shell (`watch CMD…`,
/// `ssh HOST CMD…`, `parallel CMD ::: …`): every argument there is code.
const SHELL_OPERANDS: &[&str] = &["watch", "ssh", "parallel", "sem", "tmux", "screen"];

/// Flags after which the next argument is code, and prefixes of the `--flag=CODE` form, for
/// programs outside the named families.
const CODE_FLAGS: &[(&[&str], &[&str], &[&str])] = &[
    (&["php"], &["-r", "-B", "-R", "-E"], &[]),
    (
        &[
            "lua",
            "luajit",
            "Rscript",
            "R",
            "julia",
            "osascript",
            "groovy",
            "elixir",
            "racket",
            "crystal",
            "scala",
        ],
        &["-e", "--eval", "--expr"],
        &["--eval="],
    ),
    (
        &["pwsh", "powershell"],
        &["-c", "-command", "-Command", "-EncodedCommand", "-ec", "-e"],
        &[],
    ),
    (&["guile", "tclsh", "wish", "jshell"], &["-c", "-e"], &[]),
    (&["erl"], &["-eval", "-s", "-run"], &[]),
    (
        &["gdb", "gdb-multiarch"],
        &["-ex", "-iex", "--eval-command", "--init-eval-command"],
        &["--eval-command=", "--init-eval-command="],
    ),
    (
        &["vim", "nvim", "vi", "ex", "view", "gvim"],
        &["-c", "--cmd", "-S"],
        &["+"],
    ),
    (
        &["emacs", "emacsclient"],
        &["--eval", "-eval", "-l", "--load", "-f", "--funcall"],
        &["--eval="],
    ),
    (&["git"], &["-c", "--config-env"], &["--config-env=", "-c"]),
    (
        &["env"],
        &["-S", "--split-string"],
        &["--split-string=", "-S"],
    ),
    (
        &["su", "runuser", "script", "sudo", "doas", "nsenter"],
        &["-c", "--command"],
        &["--command="],
    ),
];

/// The interpreter family of a command, looking through wrappers (`env`, `nice`, `timeout 5`,
/// `xargs`, `find -exec`, `sudo`…): the first word of the command line that names an
/// interpreter.
///
/// Returns the family and the index in `args` where the interpreter's own arguments start.
pub fn family_of(command: &str, args: &[String]) -> Option<(Family, usize)> {
    // `env -S`, `sudo` or `git` may wrap a real interpreter: that one says how code reads values.
    interpreters(command, args)
        .find(|(f, _)| *f != Family::Other)
        .or_else(|| interpreters(command, args).next())
}

/// Every word of the command line that names an interpreter, with where its arguments start.
fn interpreters<'a>(
    command: &'a str,
    args: &'a [String],
) -> impl Iterator<Item = (Family, usize)> + 'a {
    std::iter::once(command)
        .chain(args.iter().map(String::as_str))
        .enumerate()
        .filter_map(|(k, word)| family_of_program(word).map(|f| (f, k)))
}

fn program_name(command: &str) -> &str {
    Path::new(command)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(command)
}

fn family_of_program(command: &str) -> Option<Family> {
    let name = program_name(command);
    let base = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.' || c == '-');
    Some(match base {
        "sh" | "bash" | "zsh" | "dash" | "ksh" | "mksh" | "ash" | "fish" | "busybox" | "yash"
        | "tcsh" | "csh" => Family::Shell,
        "python" | "pypy" => Family::Python,
        "node" | "nodejs" | "bun" | "deno" => Family::Node,
        "perl" | "ruby" => Family::PerlRuby,
        "awk" | "gawk" | "mawk" | "nawk" => Family::Awk,
        "sed" | "gsed" => Family::Sed,
        _ if SHELL_OPERANDS.contains(&base) => Family::Shell,
        _ if CODE_FLAGS.iter().any(|(names, _, _)| names.contains(&base)) => Family::Other,
        _ => return None,
    })
}

/// Indices (into `args`) of the arguments that `command` will execute as code, for every
/// interpreter named on the command line (`nice bash -c CODE`, `find . -exec sh -c CODE`).
///
/// ```
/// use skillet_spec::interpreter::inline_code_args;
/// let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
/// assert_eq!(inline_code_args("bash", &args(&["-ec", "echo hi", "argv0", "{x}"])), vec![1]);
/// assert_eq!(inline_code_args("/usr/bin/python3", &args(&["-c", "print(1)"])), vec![1]);
/// assert_eq!(inline_code_args("env", &args(&["A=1", "node", "--eval=1+1"])), vec![2]);
/// assert_eq!(inline_code_args("timeout", &args(&["5", "sh", "-c", "x"])), vec![3]);
/// assert!(inline_code_args("wc", &args(&["-c", "{file}"])).is_empty());
/// ```
pub fn inline_code_args(command: &str, args: &[String]) -> Vec<usize> {
    let mut found: Vec<usize> = interpreters(command, args)
        .flat_map(|(family, start)| {
            // `start` counts the command as word 0: its arguments begin at args[start].
            let word = if start == 0 {
                command
            } else {
                &args[start - 1]
            };
            code_args_of(family, program_name(word), args, start)
        })
        .collect();
    found.sort_unstable();
    found.dedup();
    found
}

fn code_args_of(family: Family, program: &str, args: &[String], start: usize) -> Vec<usize> {
    let base = program.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.' || c == '-');
    if SHELL_OPERANDS.contains(&base) {
        return (start..args.len()).collect();
    }
    match family {
        Family::Shell => shell_code(args, start),
        Family::Awk => awk_code(args, start),
        Family::Sed => sed_code(args, start),
        Family::Other => flagged_code(base, args, start),
        Family::Python | Family::Node | Family::PerlRuby => flag_family_code(family, args, start),
    }
}

fn shell_code(args: &[String], start: usize) -> Vec<usize> {
    let mut i = start;
    while let Some(arg) = args.get(i) {
        if arg.starts_with("--command=") {
            return vec![i];
        }
        if is_short_cluster_with(arg, 'c') || arg == "--command" {
            // The script is the first operand after the options (`-o NAME` takes one).
            let mut j = i + 1;
            while let Some(next) = args.get(j) {
                if matches!(next.as_str(), "-o" | "+o" | "-O" | "+O") {
                    j += 2;
                } else if next.starts_with(['-', '+']) && next != "-" && next != "--" {
                    j += 1;
                } else {
                    let j = if next == "--" { j + 1 } else { j };
                    return if j < args.len() { vec![j] } else { Vec::new() };
                }
            }
            return Vec::new();
        }
        if matches!(
            arg.as_str(),
            "-o" | "+o" | "-O" | "+O" | "--rcfile" | "--init-file"
        ) {
            i += 2;
            continue;
        }
        if !arg.starts_with(['-', '+']) || arg == "--" {
            return Vec::new(); // a script file: the rest are its arguments
        }
        i += 1;
    }
    Vec::new()
}

fn flag_family_code(family: Family, args: &[String], start: usize) -> Vec<usize> {
    let mut found = Vec::new();
    let mut i = start;
    while let Some(arg) = args.get(i) {
        match family {
            Family::Python => {
                // Options before `c` are single letters (`-Ic`); code may follow `c` in the same
                // argument (`-cprint(1)`) or come as the next one.
                if let Some(rest) = python_inline_code(arg) {
                    found.push(if rest.is_empty() { i + 1 } else { i });
                    break;
                }
                if matches!(arg.as_str(), "-W" | "-X" | "-Q") {
                    i += 1;
                } else if !arg.starts_with('-') || arg == "-m" {
                    break;
                }
            }
            Family::Node => {
                if arg.starts_with("--eval=") || arg.starts_with("--print=") {
                    found.push(i);
                } else if matches!(arg.as_str(), "-e" | "-p" | "--eval" | "--print" | "-pe")
                    || arg == "eval"
                {
                    found.push(i + 1);
                    i += 1;
                } else if !arg.starts_with('-') {
                    break;
                }
            }
            _ => {
                if is_short_cluster_with(arg, 'e') || is_short_cluster_with(arg, 'E') {
                    found.push(i + 1);
                    i += 1;
                } else if !arg.starts_with('-') {
                    break;
                }
            }
        }
        i += 1;
    }
    found.retain(|&j| j < args.len());
    found
}

/// awk: options `-F S`, `-v A=B`, `-f FILE` take a value; the program is the first operand
/// unless a file gave it (gawk's `-e`/`--source` name program text too).
fn awk_code(args: &[String], start: usize) -> Vec<usize> {
    let mut found = Vec::new();
    let mut from_file = false;
    let mut i = start;
    while let Some(arg) = args.get(i) {
        match arg.as_str() {
            "-F" | "-v" | "--assign" | "--field-separator" | "-i" | "--include" | "-l"
            | "--load" => i += 1,
            "-f" | "--file" | "-E" | "--exec" => {
                from_file = true;
                i += 1;
            }
            "-e" | "--source" => {
                found.push(i + 1);
                from_file = true;
                i += 1;
            }
            "--" => {
                if !from_file {
                    found.push(i + 1);
                }
                break;
            }
            a if a.starts_with("--source=") => {
                found.push(i);
                from_file = true;
            }
            a if a.starts_with('-') && a.len() > 1 => {}
            _ => {
                if !from_file {
                    found.push(i);
                }
                break;
            }
        }
        i += 1;
    }
    found.retain(|&j| j < args.len());
    found
}

/// sed: `-e SCRIPT` and `--expression=SCRIPT` are code; without `-e` or `-f` the first operand
/// is.
fn sed_code(args: &[String], start: usize) -> Vec<usize> {
    let mut found = Vec::new();
    let mut given = false;
    let mut i = start;
    while let Some(arg) = args.get(i) {
        match arg.as_str() {
            "-e" | "--expression" => {
                found.push(i + 1);
                given = true;
                i += 1;
            }
            "-f" | "--file" => {
                given = true;
                i += 1;
            }
            "-l" | "--line-length" => i += 1,
            a if a.starts_with("--expression=") => {
                found.push(i);
                given = true;
            }
            a if a.starts_with("-e") && !a.starts_with("--") => {
                found.push(i); // `-es/x/y/`
                given = true;
            }
            a if a.starts_with('-') && a.len() > 1 && a != "--" => {}
            _ => {
                let j = if arg == "--" { i + 1 } else { i };
                if !given {
                    found.push(j);
                }
                break;
            }
        }
        i += 1;
    }
    found.retain(|&j| j < args.len());
    found
}

/// Programs of [`CODE_FLAGS`]: the argument after one of their code flags, or one written
/// `--flag=CODE` / `-cCODE` / `+CMD`.
fn flagged_code(program: &str, args: &[String], start: usize) -> Vec<usize> {
    let Some((_, flags, prefixes)) = CODE_FLAGS.iter().find(|(n, _, _)| n.contains(&program))
    else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for (i, arg) in args.iter().enumerate().skip(start) {
        if flags.contains(&arg.as_str()) {
            found.push(i + 1);
        } else if prefixes
            .iter()
            .any(|p| arg.starts_with(p) && arg.len() > p.len())
        {
            found.push(i);
        }
    }
    found.retain(|&j| j < args.len());
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
            // Wrappers, whoever they are: the interpreter is found wherever it is named.
            ("nice", v(&["bash", "-c", "x"]), vec![2]),
            ("timeout", v(&["5", "sh", "-c", "x"]), vec![3]),
            ("xargs", v(&["-0", "sh", "-c", "x", "_"]), vec![3]),
            ("find", v(&[".", "-exec", "sh", "-c", "x", ";"]), vec![4]),
            ("stdbuf", v(&["-oL", "python3", "-c", "x"]), vec![3]),
            // Options that take a value before `-c`.
            ("bash", v(&["-o", "errexit", "-c", "x"]), vec![3]),
            ("bash", v(&["-c", "-o", "pipefail", "x"]), vec![3]),
            ("bash", v(&["--rcfile", "r", "-c", "x"]), vec![3]),
            ("su", v(&["-c", "x", "nobody"]), vec![1]),
            ("script", v(&["-q", "-c", "x", "/dev/null"]), vec![2]),
            ("watch", v(&["-n", "1", "x"]), vec![0, 1, 2]),
            ("awk", v(&["-F:", "x", "file"]), vec![1]),
            ("awk", v(&["-v", "a=1", "x"]), vec![2]),
            ("gawk", v(&["-e", "x"]), vec![1]),
            ("sed", v(&["-n", "x", "file"]), vec![1]),
            ("sed", v(&["-e", "x", "-e", "y"]), vec![1, 3]),
            ("sed", v(&["--expression=x"]), vec![0]),
            ("php", v(&["-r", "x"]), vec![1]),
            ("Rscript", v(&["-e", "x"]), vec![1]),
            ("vim", v(&["-es", "+x", "f"]), vec![1]),
            ("git", v(&["-c", "core.pager=x", "log"]), vec![1]),
            ("env", v(&["-S", "sh -c x"]), vec![1]),
        ] {
            assert_eq!(inline_code_args(cmd, &args), want, "{cmd} {args:?}");
        }
        assert_eq!(
            family_of("env", &v(&["A=1", "node", "x.js"])),
            Some((Family::Node, 2))
        );
        assert_eq!(
            family_of("nice", &v(&["python3", "t.py"])),
            Some((Family::Python, 1))
        );
    }

    #[test]
    fn scripts_and_plain_programs_are_not_inline_code() {
        assert!(inline_code_args("bash", &v(&["script.sh", "-c", "x"])).is_empty());
        assert!(inline_code_args("python3", &v(&["tool.py", "-c", "x"])).is_empty());
        assert!(inline_code_args("grep", &v(&["-c", "x"])).is_empty());
        assert!(inline_code_args("bash", &v(&["--norc", "script.sh"])).is_empty());
        assert!(inline_code_args("awk", &v(&["-f", "prog.awk", "file"])).is_empty());
        assert!(inline_code_args("sed", &v(&["-f", "edit.sed", "file"])).is_empty());
        assert!(inline_code_args("python3", &v(&["-m", "tool", "-c", "x"])).is_empty());
    }
}
