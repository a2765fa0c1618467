//! `skillet docs`, `skillet init` and `skillet hooks`: skills as documentation and in the
//! author's tools.

use std::path::PathBuf;

use clap::{Args, Subcommand};

// `skillet docs`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  skillet docs > SKILLS.md
  skillet docs --out docs/skills.md
  skillet docs --html site/")]
pub struct DocsArgs {
    /// Write the Markdown catalog to FILE instead of stdout.
    #[arg(long, value_name = "FILE", conflicts_with = "html")]
    pub out: Option<PathBuf>,
    /// Write a static HTML page (index.html) into DIR instead of Markdown.
    #[arg(long, value_name = "DIR")]
    pub html: Option<PathBuf>,
}

// `skillet init`.
#[derive(Debug, Args)]
#[command(
    after_help = "Creates .skillet/skills/ when missing, writes the skill format's JSON Schema to
.skillet/skill.schema.json, and adds a json.schemas entry for it to .vscode/settings.json (the
file's other keys and comments stay; a file it cannot parse is left alone, and it says what to
add). Running it again changes nothing that is already right. Exit 1 when a file was skipped.

Examples:
  skillet init
  skillet init --json"
)]
pub struct InitArgs {
    /// Print JSON: {workspace, files}.
    #[arg(long)]
    pub json: bool,
}

// `skillet hooks`.
#[derive(Debug, Subcommand)]
#[command(
    after_help = "The pre-commit hook runs `skillet validate` and `skillet test` on the skills a commit adds
or changes, and refuses the commit when one fails. It goes where git looks for hooks
(core.hooksPath included); a hook already there is replaced only with --force.

Examples:
  skillet hooks install
  skillet hooks install --force         replace another hook (kept as pre-commit.bak)"
)]
pub enum HooksCommand {
    /// Write a git pre-commit hook that validates and tests the changed skill files.
    Install {
        /// Replace an existing pre-commit hook (it is kept as pre-commit.bak).
        #[arg(long)]
        force: bool,
    },
}
