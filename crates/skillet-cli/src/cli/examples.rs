//! Every `skillet …` example in `--help` and in the README is a command line skillet accepts as
//! written: a renamed flag or subcommand fails here, not in a user's terminal. This is the quick
//! check; `tests/readme_examples.rs` runs every example against the real binary.

use clap::{CommandFactory, Parser};

use super::Cli;

/// The `skillet …` command lines in `text`: a line that starts with `skillet` (after blanks or
/// a `VAR=value`, `$(`, `|`), cut at a pipe or redirection and before a two-space comment.
fn examples(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in text.lines() {
        let Some(start) = line.find("skillet ") else {
            continue;
        };
        let before = line[..start].trim();
        let plain_prefix = before.is_empty()
            || before.ends_with("$(")
            || before.ends_with('|')
            || before.split_whitespace().all(|w| w.contains('='));
        if !plain_prefix || before.starts_with('#') {
            continue;
        }
        let mut command = &line[start..];
        let in_substitution = before.ends_with("$(");
        for cut in ["  ", " # ", " | ", " > ", " < ", ")"] {
            if cut == ")" && !in_substitution {
                continue;
            }
            if let Some(at) = command.find(cut) {
                command = &command[..at];
            }
        }
        found.push(command.trim().to_owned());
    }
    found
}

/// Whether clap accepts `line` (help and version requests count as accepted).
fn accepted(line: &str) -> Result<(), String> {
    let words = shlex::split(line).ok_or_else(|| format!("cannot split {line:?}"))?;
    match Cli::try_parse_from(&words) {
        Ok(_) => Ok(()),
        Err(e)
            if matches!(
                e.kind(),
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
            ) =>
        {
            Ok(())
        }
        Err(e) => Err(format!("`{line}`: {}", e.render())),
    }
}

fn help_texts(command: &clap::Command, out: &mut Vec<String>) {
    for text in [command.get_after_help(), command.get_after_long_help()]
        .into_iter()
        .flatten()
    {
        out.push(text.to_string());
    }
    for sub in command.get_subcommands() {
        help_texts(sub, out);
    }
}

#[test]
fn every_help_example_is_accepted_as_written() {
    let mut texts = Vec::new();
    // Subcommands are deferred: built only when asked for, as help and completions do.
    let mut cli = Cli::command();
    cli.build();
    help_texts(&cli, &mut texts);
    let lines: Vec<String> = texts.iter().flat_map(|t| examples(t)).collect();
    // 186 today; far fewer would mean the deferred subcommands were not built and went unread.
    assert!(lines.len() > 150, "the examples were found: {lines:?}");
    let refused: Vec<String> = lines.iter().filter_map(|l| accepted(l).err()).collect();
    assert!(refused.is_empty(), "{}", refused.join("\n"));
}

#[test]
fn every_readme_example_is_accepted_as_written() {
    let readme = include_str!("../../../../README.md");
    let mut in_shell = false;
    let mut lines = Vec::new();
    for line in readme.lines() {
        if line.starts_with("```") {
            in_shell = matches!(line, "```sh" | "```bash" | "```shell");
            continue;
        }
        if in_shell {
            lines.extend(examples(line));
        }
    }
    assert!(lines.len() > 20, "the examples were found: {lines:?}");
    let refused: Vec<String> = lines.iter().filter_map(|l| accepted(l).err()).collect();
    assert!(refused.is_empty(), "{}", refused.join("\n"));
}

#[test]
fn examples_are_cut_where_the_shell_would() {
    assert_eq!(
        examples(
            "  skillet list --json | jq .\n  ID=$(skillet session start py)\n  X=1 skillet serve  note\n  # skillet nope\n  see skillet run"
        ),
        [
            "skillet list --json",
            "skillet session start py",
            "skillet serve"
        ]
    );
    assert!(accepted("skillet list --nope").is_err());
    assert!(accepted("skillet run").is_err(), "a missing name is caught");
    assert!(accepted("skillet mcp --help").is_ok());
}
