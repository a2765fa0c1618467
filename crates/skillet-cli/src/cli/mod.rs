//! The command line, as clap sees it.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

mod alerts;
mod authoring;
mod batch;
mod cache;
#[cfg(test)]
mod deferred;
mod dev;
mod docs;
#[cfg(test)]
mod examples;
mod health;
mod history;
mod jobs;
mod logs;
mod packages;
mod params;
mod permissions;
mod serving;
mod skills;
mod state;
mod stats;
mod store;
mod trace;

pub use alerts::AlertsArgs;
pub use authoring::{CreateArgs, ScriptTemplate, TestArgs};
pub use batch::BatchArgs;
pub use cache::CacheCommand;
pub use dev::DevArgs;
pub use docs::{DocsArgs, HooksCommand, InitArgs};
pub use health::HealthArgs;
pub use history::{BreakerArgs, BreakerCommand, HistoryArgs, HistoryCommand, HistoryPruneArgs};
pub use jobs::{JobsArgs, JobsCommand};
pub use logs::LogsArgs;
pub use packages::{
    InstallArgs, MarketplaceCommand, SearchArgs, UninstallArgs, UpdateArgs, VerifyArgs,
};
pub use params::ParamArgs;
pub use permissions::PermissionArgs;
pub use serving::{DaemonCommand, McpArgs, ServeArgs, SessionCommand};
pub use skills::{
    ContextArgs, InfoArgs, ListArgs, MigrateArgs, RunArgs, ToggleArgs, TrustArgs, ValidateArgs,
};
pub use state::{ChannelCommand, StateCommand};
pub use stats::StatsArgs;
pub use store::StoreCommand;
pub use trace::TraceArgs;

/// A skills runtime for AI coding assistants.
///
/// skillet finds skills (small capabilities declared in JSON, or Agent Skills SKILL.md folders)
/// in the workspace (.skillet/skills/, .claude/skills/, .agents/skills/, .q-skills/, installed
/// packages) and globally (the same under ~/.config/skillet/ and ~), validates them, and runs
/// them sandboxed.
#[derive(Debug, Parser)]
#[command(
    name = "skillet",
    version,
    propagate_version = true,
    max_term_width = 100
)]
#[command(after_help = "Examples:
  skillet list                          every skill here, with scope and type
  skillet run count-lines --param file=Cargo.toml
  skillet validate                      check every skill; exit 1 if any is broken
  skillet info count-lines              which file won, parameters, limits")]
pub struct Cli {
    /// Run as if started in DIR.
    #[arg(short = 'C', long = "cwd", value_name = "DIR", global = true)]
    pub cwd: Option<PathBuf>,

    /// Log what skillet does to stderr (-v debug, -vv trace). RUST_LOG, in the usual
    /// `tracing` filter syntax (e.g. RUST_LOG=skillet=debug), overrides it.
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// How log lines are written on stderr: text, or json (one object a line: ts, level,
    /// target, message and fields). The daemon's log follows it too.
    #[arg(
        long,
        value_enum,
        value_name = "FORMAT",
        default_value = "text",
        global = true,
        env = "SKILLET_LOG_FORMAT"
    )]
    pub log_format: LogFormatArg,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormatArg {
    /// For people.
    Text,
    /// JSON Lines, for log collectors.
    Json,
}

/// The subcommands.
///
/// A command's `after_help` (what it does in detail, and its examples) sits on its own argument
/// type in the module of its family, beside the flags the examples use, so that this enum stays
/// a table of contents. Only commands without a type of their own keep it here: `schema`,
/// `doctor`, `completions`, and `enable`/`disable`, which share [`ToggleArgs`].
///
/// `defer`: clap builds a subcommand's arguments only when that subcommand is the one given
/// (or help or completions ask for all). Building all forty-odd of them took 0.7-1.0 ms of every
/// process, a sixth of a whole `skillet run`. So an argument type has a plain comment where a
/// doc comment would be: clap would take it as the subcommand's description when it builds the
/// subcommand, replacing the one written here (`cli::deferred` checks they agree).
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum Command {
    /// List every skill in the workspace and global scopes, broken ones marked.
    List(ListArgs),

    /// Show everything about one skill: its file, what it shadows, parameters, limits.
    Info(InfoArgs),

    /// Check skill files. Exit 0 when all are valid, 1 when any is not.
    Validate(ValidateArgs),

    /// Print the JSON Schema (2020-12) of the skill file.
    #[command(
        after_help = "`skillet init` writes this schema to .skillet/skill.schema.json and points editors at it
(.vscode/settings.json). A skill file also names it itself, by relative path, as every file
`skillet create` writes does: \"$schema\": \"../skill.schema.json\" in .skillet/skills/NAME.json,
\"../../skill.schema.json\" in a package folder's NAME/skill.json.

Examples:
  skillet schema > skill.schema.json
  skillet init                          writes .skillet/skill.schema.json and the editor mapping"
    )]
    Schema {
        /// Accepted for consistency: the schema is always JSON.
        #[arg(long)]
        json: bool,
    },

    /// Run a skill.
    Run(RunArgs),

    /// Run many calls at once, from a file of one JSON call a line.
    Batch(BatchArgs),

    /// Show past executions, newest first.
    #[command(args_conflicts_with_subcommands = true)]
    History(HistoryArgs),

    /// Show circuit breakers, or close one.
    #[command(args_conflicts_with_subcommands = true)]
    Breaker(BreakerArgs),

    /// Show which sandbox layers this machine can enforce, and why any cannot, and whether the
    /// history store is readable.
    #[command(after_help = "Examples:
  skillet doctor
  skillet doctor --json
  skillet doctor --repair      move an unreadable history store aside and start a fresh one")]
    Doctor {
        /// Print JSON: an array of {layer, state, detail}; the row with layer `llm` is the
        /// model conversation skills talk to, the last (layer `store`) the history database,
        /// with its `path`, `corrupt: true` when `--repair` would move it aside, and
        /// `repaired: true` and `moved_to` after it did.
        #[arg(long)]
        json: bool,
        /// When the history store is unreadable, rename it to `<name>.corrupt-<time>` (nothing
        /// is deleted) and create a fresh one.
        #[arg(long)]
        repair: bool,
    },

    /// Rewrite a skill from an older format (Q CLI, v1 design, SKILL.md) into the canonical one.
    Migrate(MigrateArgs),

    /// Keep an interpreter alive across calls: start, send to, list, close code_session skills.
    Session {
        /// What to do.
        #[command(subcommand)]
        command: SessionCommand,
        /// The daemon's socket (default $XDG_RUNTIME_DIR/skillet/skillet.sock, or $SKILLET_SOCKET).
        #[arg(long, value_name = "PATH", global = true)]
        socket: Option<PathBuf>,
    },

    /// Follow background runs (`skillet run --detach`): list, wait for, read, cancel them.
    Jobs(JobsArgs),

    /// Run the daemon in the foreground (it owns sessions; logs go to stderr).
    Serve(ServeArgs),

    /// Serve the skills to an agent over MCP on standard input and output.
    Mcp(McpArgs),

    /// Show or stop the background daemon.
    Daemon {
        /// What to do.
        #[command(subcommand)]
        command: DaemonCommand,
        /// The daemon's socket (default $XDG_RUNTIME_DIR/skillet/skillet.sock, or $SKILLET_SOCKET).
        #[arg(long, value_name = "PATH", global = true)]
        socket: Option<PathBuf>,
    },

    /// Show which project files a skill's context_files choose, and what changed since last time.
    Context(ContextArgs),

    /// Trust this workspace's own skills, so `skillet mcp` offers them to agents.
    Trust(TrustArgs),

    /// Turn a skill off: agents no longer see it and `skillet run` refuses it.
    #[command(
        after_help = "An installed package's name turns off all of its skills; refused while another
enabled package depends on it (--force to override).

Examples:
  skillet disable rm-tmp                 in the global skillet.toml
  skillet disable rm-tmp --workspace     in this workspace's .skillet/skillet.toml
  skillet disable review-kit             every skill of the installed package review-kit
  skillet enable rm-tmp"
    )]
    Disable(ToggleArgs),

    /// Turn a disabled skill back on.
    #[command(after_help = "Examples:
  skillet enable rm-tmp
  skillet enable rm-tmp --workspace")]
    Enable(ToggleArgs),

    /// Install packages of skills, with their dependencies, into this workspace (or --global).
    Install(InstallArgs),

    /// Update installed packages, showing version and permission changes first.
    Update(UpdateArgs),

    /// Remove an installed package.
    Uninstall(UninstallArgs),

    /// Check that every installed file still matches skillet.lock.
    Verify(VerifyArgs),

    /// Search every added marketplace by name and description.
    Search(SearchArgs),

    /// Add, list, update or remove marketplaces (indexes of packages).
    Marketplace {
        /// What to do.
        #[command(subcommand)]
        command: MarketplaceCommand,
    },

    /// Start a new skill from a template, with one test, in .skillet/skills (or --global).
    Create(CreateArgs),

    /// Run skills' self-tests (their `tests` field). Exit 0 when none fails.
    Test(TestArgs),

    /// Watch a skill while you edit it: on every save, validate, re-run, show what changed.
    Dev(DevArgs),

    /// Write a catalog of every skill: parameters, examples, limits.
    Docs(DocsArgs),

    /// Set this workspace up for writing skills: .skillet/skills and the editor mapping.
    Init(InitArgs),

    /// Install git hooks that check skills before each commit.
    Hooks {
        /// What to do.
        #[command(subcommand)]
        command: HooksCommand,
    },

    /// Show and change what skills keep between runs.
    State {
        /// What to do.
        #[command(subcommand)]
        command: StateCommand,
    },

    /// Send and read the named channels that sessions and runs of one workspace talk over.
    Channel {
        /// What to do.
        #[command(subcommand)]
        command: ChannelCommand,
    },

    /// Show how skills have run (runs, success rate, latency percentiles, cache hits, queue
    /// waits), or how they were written (--authoring).
    Stats(StatsArgs),

    /// Check that skillet is usable here (daemon, store, sandbox, LLM endpoint) and how each
    /// skill has been doing lately.
    Health(HealthArgs),

    /// Show the alert rules of the global skillet.toml, whether each is firing, and what they
    /// last did.
    Alerts(AlertsArgs),

    /// Show where one execution's time went, phase by phase.
    Trace(TraceArgs),

    /// Search what skillet and the skills' runs said: skillet's own log lines and the tail of
    /// every run's output.
    Logs(LogsArgs),

    /// Show and clear cached results.
    Cache {
        /// What to do.
        #[command(subcommand)]
        command: CacheCommand,
    },

    /// Where the history, breakers, state, cache and jobs are kept: status, migrate, and
    /// copying a SQLite history into a team's PostgreSQL store.
    Store {
        /// What to do.
        #[command(subcommand)]
        command: StoreCommand,
    },

    /// Print a shell completion script.
    #[command(after_help = "Examples:
  skillet completions bash > ~/.local/share/bash-completion/completions/skillet
  skillet completions zsh > ~/.zfunc/_skillet")]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
        /// Print JSON: {shell, script}.
        #[arg(long)]
        json: bool,
    },
}
