//! `skillet docs`, `skillet init` and `skillet hooks`: skills as documentation and in the
//! author's tools.

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// `skillet docs`.
#[derive(Debug, Args)]
pub struct DocsArgs {
    /// Write the Markdown catalog to FILE instead of stdout.
    #[arg(long, value_name = "FILE", conflicts_with = "html")]
    pub out: Option<PathBuf>,
    /// Write a static HTML page (index.html) into DIR instead of Markdown.
    #[arg(long, value_name = "DIR")]
    pub html: Option<PathBuf>,
}

/// `skillet init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Print JSON: {workspace, files}.
    #[arg(long)]
    pub json: bool,
}

/// `skillet hooks`.
#[derive(Debug, Subcommand)]
pub enum HooksCommand {
    /// Write a git pre-commit hook that validates and tests the changed skill files.
    Install {
        /// Replace an existing pre-commit hook (it is kept as pre-commit.bak).
        #[arg(long)]
        force: bool,
    },
}
