//! Arguments of the commands that find, show, check and run skills.

use std::path::PathBuf;

use clap::Args;

use super::{ParamArgs, PermissionArgs};

/// `skillet context`.
#[derive(Debug, Args)]
pub struct ContextArgs {
    /// Skill name or alias.
    pub name: String,
    /// Parameter values.
    #[command(flatten)]
    pub params: ParamArgs,
    /// Print JSON: {skill, files, skipped, changes, dropped, tokens, max_context_tokens}.
    #[arg(long)]
    pub json: bool,
}

/// `skillet trust`.
#[derive(Debug, Args)]
pub struct TrustArgs {
    /// The workspace (default: the one skillet is started in).
    pub dir: Option<PathBuf>,
    /// Stop trusting it.
    #[arg(long, conflicts_with = "list")]
    pub revoke: bool,
    /// List the trusted workspaces.
    #[arg(long)]
    pub list: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `skillet enable` and `skillet disable`.
#[derive(Debug, Args)]
pub struct ToggleArgs {
    /// Skill name or alias, or the name of an installed package (all of its skills).
    pub name: String,
    /// Change this workspace's .skillet/skillet.toml instead of the global one.
    #[arg(long)]
    pub workspace: bool,
    /// Disable a package even though another enabled package depends on it.
    #[arg(long)]
    pub force: bool,
    /// Print JSON: {skill, state, changed, config}.
    #[arg(long)]
    pub json: bool,
}

/// `skillet list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print only the names and aliases of the skills that can be run, one per line (what shell
    /// completion offers); with --json, as an array.
    #[arg(long)]
    pub names: bool,
    /// List the installed packages of both scopes instead of skills (with --json: an array of
    /// {name, version, scope, source, requested, dependencies, skills}).
    #[arg(long, conflicts_with = "names")]
    pub installed: bool,
    /// Print JSON: an array of {name, type, scope, path, aliases, description, version, valid,
    /// availability, errors}.
    #[arg(long)]
    pub json: bool,
}

/// `skillet info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// Skill name or alias.
    pub name: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `skillet validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Skill files, skills directories or names of discovered skills; all discovered skills when
    /// none is given.
    pub paths: Vec<PathBuf>,
    /// Print JSON: an array of {name, path, format, valid, diagnostics}.
    #[arg(long)]
    pub json: bool,
}

/// `skillet run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Skill name or alias.
    pub name: String,
    /// Parameter values.
    #[command(flatten)]
    pub values: ParamArgs,
    /// Send the input (--stdin, or this command's stdin) to this live session of the skill
    /// instead of starting a process.
    #[arg(long, value_name = "ID")]
    pub session: Option<String>,
    /// Text given to the skill on standard input (default: this command's stdin when piped).
    #[arg(long, value_name = "TEXT")]
    pub stdin: Option<String>,
    /// Use DIR as the workspace (readable by code skills; relative grants start there) instead
    /// of the one found from the current directory. Never `/` or your home directory.
    #[arg(long, value_name = "DIR")]
    pub workspace: Option<std::path::PathBuf>,
    /// Print the result as JSON: {execution_id, skill, status, exit_code, stdout, stderr,
    /// duration_ms, truncated}.
    #[arg(long)]
    pub json: bool,
    /// Print what would run (program, argv, directory, environment, policy) and run nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Keep the run's scratch directory (its HOME and TMPDIR) and print where it is.
    #[arg(long)]
    pub keep_tmp: bool,
    /// Conversation skills: the answers to the guided questions, then follow-up messages, one
    /// per line, from FILE (`-`: stdin). Without it, they are asked on a terminal; with no
    /// terminal, the model answers once.
    #[arg(long, value_name = "FILE")]
    pub answers: Option<PathBuf>,
    /// Conversation skills: the most answers the model gives (default: the skill's max_turns,
    /// else 10).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_turns: Option<u32>,
    /// Show every phase for a person: which file won, parameters after checking, argv,
    /// environment (values from your environment masked), the sandbox policy, retries, timings.
    /// With --json it is nested under `debug`.
    #[arg(long)]
    pub debug: bool,
    /// Report wall and CPU time, peak memory and the time of each phase skillet controls.
    #[arg(long)]
    pub profile: bool,
    /// Neither read nor write the cache for this run.
    #[arg(long, conflicts_with = "refresh")]
    pub no_cache: bool,
    /// Run even when a cached result exists, and store the new one.
    #[arg(long)]
    pub refresh: bool,
    /// Permissions for this run.
    #[command(flatten)]
    pub allow: PermissionArgs,
}

/// `skillet migrate`.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The skill file (or a folder holding skill.json or SKILL.md).
    pub path: PathBuf,
    /// Write the canonical file (the old one is kept as FILE.bak when overwritten).
    #[arg(long)]
    pub write: bool,
    /// Print one JSON object: {source, target, format, complete, changed, written, backup,
    /// canonical, notes}.
    #[arg(long)]
    pub json: bool,
}
