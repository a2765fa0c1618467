//! Asking before anything lands: the plan is shown, then y/N on a terminal; without one,
//! `--yes` is required.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::Result;

use super::report::Plan;
use crate::output;

/// Exit code when the user (or the lack of a terminal) said no: what was checked failed.
const EXIT_REFUSED: u8 = 1;

/// Shows `plan` and asks for consent to `verb` it. Returns when the change may go ahead (or,
/// with `dry_run`, after showing it); a refusal is an error saying nothing changed.
pub fn confirm(plan: &Plan, verb: &str, yes: bool, dry_run: bool, json: bool) -> Result<()> {
    if json {
        if dry_run {
            plan.print_json(true)?;
        }
    } else {
        plan.print_text(dry_run);
    }
    if dry_run || yes || plan.is_empty() {
        return Ok(());
    }
    if json {
        // Nothing was shown: JSON output is for programs, which cannot answer a question.
        return Err(output::failure(
            EXIT_REFUSED,
            "nothing changed: with --json, consent must be given by --yes",
            Some("run the command without --json to see the permissions (or with --dry-run --json to get them as JSON), then again with --yes to accept them".into()),
        ));
    }
    let terminal = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !terminal {
        return Err(output::failure(
            EXIT_REFUSED,
            "nothing changed: there is no terminal to ask for consent on",
            Some("read the permissions above, then run the command again with --yes to accept them (or --dry-run to only see them)".into()),
        ));
    }
    eprint!("{} {}? [y/N] ", capitalised(verb), plan.what());
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        Err(output::failure(
            EXIT_REFUSED,
            "nothing changed: you answered no",
            None,
        ))
    }
}

fn capitalised(word: &str) -> String {
    let mut c = word.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}
