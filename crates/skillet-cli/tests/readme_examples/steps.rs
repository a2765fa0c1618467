//! Reading examples as a shell would: the README's shell blocks, the help's example lines, and
//! what each step runs.

use std::path::Path;

use super::common::World;

/// One thing to type: a line, or a here-document with its body.
#[derive(Debug, Clone)]
pub struct Step {
    /// Where it was read: `README.md:42` or `skillet run --help`.
    pub at: String,
    /// The shell text as written (continuation lines joined).
    pub text: String,
}

impl Step {
    /// The first line, comment included, blanks collapsed: how `NOTES` names an example.
    pub fn key(&self) -> String {
        let first = self.text.lines().next().unwrap_or("");
        first.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// Whether it was read from the README (else from `--help`).
    pub fn in_readme(&self) -> bool {
        self.at.starts_with("README")
    }
}

/// The README's fenced shell blocks (`sh`, `bash`, `shell`, `console`), each a list of steps.
pub fn readme_blocks(readme: &str) -> Vec<Vec<Step>> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<Step>> = None;
    let mut console = false;
    let mut lines = readme.lines().enumerate().peekable();
    while let Some((n, line)) = lines.next() {
        if let Some(lang) = line.strip_prefix("```") {
            match current.take() {
                Some(block) => blocks.push(block),
                None if matches!(lang.trim(), "sh" | "bash" | "shell" | "console") => {
                    console = lang.trim() == "console";
                    current = Some(Vec::new());
                }
                None => {
                    // Another language's block: skip to its end.
                    for (_, l) in lines.by_ref() {
                        if l.starts_with("```") {
                            break;
                        }
                    }
                }
            }
            continue;
        }
        let Some(block) = current.as_mut() else {
            continue;
        };
        let mut text = line.to_owned();
        if console {
            // Only `$ ` lines are typed; the rest is output.
            match line.strip_prefix("$ ") {
                Some(typed) => text = typed.to_owned(),
                None => continue,
            }
        }
        let trimmed = text.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        while text.ends_with('\\') {
            let Some((_, next)) = lines.next() else { break };
            text.push('\n');
            text.push_str(next);
        }
        if let Some(terminator) = heredoc_terminator(&text) {
            for (_, body) in lines.by_ref() {
                text.push('\n');
                text.push_str(body);
                if body.trim() == terminator {
                    break;
                }
            }
        }
        block.push(Step {
            at: format!("README.md:{}", n + 1),
            text,
        });
    }
    blocks
}

/// `EOF` for a line holding `<<'EOF'`, `<<"EOF"` or `<<EOF`.
pub fn heredoc_terminator(line: &str) -> Option<String> {
    let after = line
        .split("<<")
        .nth(1)?
        .trim_start_matches('-')
        .trim_start();
    let word: String = after
        .trim_start_matches(['\'', '"'])
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!word.is_empty()).then_some(word)
}

/// Whether `text` runs skillet: `skillet` as a command word (first, after `VAR=value`
/// assignments, or after `|`, `&&`, `;`, inside `$(…)`, or after an assignment from one).
pub fn runs_skillet(text: &str) -> bool {
    let first = text.lines().next().unwrap_or("");
    let spaced = first
        .replace("$(", " $( ")
        .replace(')', " ) ")
        .replace('|', " | ")
        .replace("&&", " && ")
        .replace(';', " ; ");
    let mut command_position = true;
    // Whether the word after each open `$(…)` is in command position.
    let mut outer = Vec::new();
    for word in spaced.split_whitespace() {
        if word == "#" {
            return false;
        }
        if command_position && word == "skillet" {
            return true;
        }
        command_position = match word {
            "$(" => {
                outer.push(command_position);
                true
            }
            ")" => outer.pop().unwrap_or(false),
            "|" | "&&" | ";" => true,
            _ => command_position && word.contains('=') && !word.starts_with('-'),
        };
    }
    false
}

/// The skillet subcommand of a step (`serve`, `mcp`, ...), past global options, and whether it
/// asks for help.
pub fn subcommand(text: &str) -> (Option<String>, bool) {
    let first = text.lines().next().unwrap_or("");
    let Some(words) = shlex::split(first) else {
        return (None, false);
    };
    let Some(at) = words
        .iter()
        .position(|w| w == "skillet" || w.ends_with("skillet"))
    else {
        return (None, false);
    };
    let rest = &words[at + 1..];
    let help = rest.iter().any(|w| w == "--help" || w == "-h");
    let mut i = 0;
    while i < rest.len() {
        match rest[i].as_str() {
            "-C" | "--cwd" => i += 2,
            w if w.starts_with('-') => i += 1,
            w => return (Some(w.to_owned()), help),
        }
    }
    (None, help)
}

/// The examples of `skillet PATH --help` and of every subcommand below it, read from the help
/// the binary prints: two-space indented lines after `Usage:` that run skillet.
pub fn help_steps(w: &World, path: &[String], out: &mut Vec<Step>) {
    let mut cmd = w.command(Path::new(env!("CARGO_BIN_EXE_skillet")));
    cmd.args(path).arg("--help").env("COLUMNS", "1000");
    let help = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&help.stdout).into_owned();
    assert!(help.status.success(), "skillet {path:?} --help: {text}");
    let name = format!("skillet {} --help", path.join(" "))
        .replace("  ", " ")
        .trim()
        .to_owned();
    let mut after_usage = false;
    let mut in_commands = false;
    let mut subcommands = Vec::new();
    for line in text.lines() {
        if line.starts_with("Usage:") {
            after_usage = true;
        }
        if line == "Commands:" {
            in_commands = true;
            continue;
        }
        if in_commands {
            match line.strip_prefix("  ") {
                Some(entry) if !entry.starts_with(' ') => {
                    let sub = entry.split_whitespace().next().unwrap_or("");
                    if sub != "help" && !sub.is_empty() {
                        subcommands.push(sub.to_owned());
                    }
                    continue;
                }
                Some(_) => continue,
                None => in_commands = false,
            }
        }
        let Some(example) = line.strip_prefix("  ") else {
            continue;
        };
        if !after_usage || example.starts_with(' ') || !runs_skillet(example) {
            continue;
        }
        // Two blanks start the example's description.
        let example = example.split("  ").next().unwrap_or(example);
        out.push(Step {
            at: name.clone(),
            text: example.to_owned(),
        });
    }
    for sub in subcommands {
        let mut deeper = path.to_vec();
        deeper.push(sub);
        help_steps(w, &deeper, out);
    }
}

/// The first line of `text` without its `# comment`, for steps the test wraps in more shell.
pub fn code(text: &str) -> String {
    let first = text.lines().next().unwrap_or("");
    let (mut single, mut double, mut previous) = (false, false, ' ');
    for (at, c) in first.char_indices() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '#' if !single && !double && previous.is_whitespace() => {
                return first[..at].trim_end().to_owned();
            }
            _ => {}
        }
        previous = c;
    }
    first.to_owned()
}

/// Whether a step redirects output to an absolute path other than a device.
pub fn writes_outside(text: &str) -> bool {
    code(text).split('>').skip(1).any(|after| {
        after.trim_start().starts_with('/') && !after.trim_start().starts_with("/dev/")
    })
}

/// Setup a reader types between examples: moving around and writing or removing files.
pub fn is_setup(text: &str) -> bool {
    let first = text.split_whitespace().next().unwrap_or("");
    matches!(
        first,
        "cd" | "cat" | "rm" | "mkdir" | "echo" | "printf" | "export"
    )
}

/// The port of `--http HOST:PORT`.
pub fn http_port(text: &str) -> Option<u16> {
    let after = text.split("--http").nth(1)?.split_whitespace().next()?;
    after.rsplit(':').next()?.parse().ok()
}
