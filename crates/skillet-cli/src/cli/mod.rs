//! The command line, as clap sees it.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

mod authoring;
mod cache;
mod dev;
mod docs;
#[cfg(test)]
mod examples;
mod history;
mod packages;
mod params;
mod permissions;
mod serving;
mod skills;
mod state;

pub use authoring::{CreateArgs, ScriptTemplate, TestArgs};
pub use cache::CacheCommand;
pub use dev::DevArgs;
pub use docs::{DocsArgs, HooksCommand, InitArgs};
pub use history::{BreakerArgs, BreakerCommand, HistoryArgs, HistoryCommand, HistoryPruneArgs};
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

/// A skills runtime for AI coding assistants.
///
/// skillet finds skills (small JSON-declared capabilities) in the workspace (.skillet/skills/)
/// and globally (~/.config/skillet/skills/), validates them, and runs them.
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

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List every skill in the workspace and global scopes, broken ones marked.
    #[command(after_help = "Examples:
  skillet list
  skillet list --json | jq '.[] | select(.valid | not) | .path'")]
    List(ListArgs),

    /// Show everything about one skill: its file, what it shadows, parameters, limits.
    #[command(after_help = "Examples:
  skillet info count-lines
  skillet info cl --json          aliases work too")]
    Info(InfoArgs),

    /// Check skill files. Exit 0 when all are valid, 1 when any is not.
    #[command(
        after_help = "Errors are printed as FILE:LINE:COLUMN: error: MESSAGE, with a hint below.

Examples:
  skillet validate                      every discovered skill
  skillet validate count-lines          one discovered skill, by name or alias
  skillet validate .skillet/skills/new.json
  skillet validate path/to/skills-dir --json"
    )]
    Validate(ValidateArgs),

    /// Print the JSON Schema (2020-12) of the skill file.
    #[command(
        after_help = "`skillet init` writes this schema to .skillet/skill.schema.json and points editors at it
(.vscode/settings.json). A skill file can also name it itself, by relative path:
\"$schema\": \"../skill.schema.json\" in .skillet/skills/NAME.json, \"../../skill.schema.json\" in
a package folder's NAME/skill.json.

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
    #[command(
        after_help = "Parameters are checked against the skill's declarations before anything runs. Values are
never passed through a shell: each {placeholder} is replaced inside one argument, and every
value is also in the environment as SKILL_PARAM_<NAME>.

Code skills run sandboxed: they read the system directories, the workspace and their own folder,
write only a fresh scratch directory (their HOME and TMPDIR), have no network, and cannot see
other processes. A skill's `security.permissions` only ask; grant with the flags below or in
[grants.NAME] of the global skillet.toml. `skillet doctor` shows what this machine enforces.

Exit status: the skill's own exit code; 124 timeout; 137 resource limit (memory, CPU, output,
file size, processes, scratch disk); 159 killed by the sandbox for a forbidden system call;
75 circuit breaker open (try later); 130/143 cancelled by SIGINT/SIGTERM; 2 invalid parameters
or command line; 127 no such skill; 125 skillet could not run it (broken skill, program not
found or not startable, sandbox unavailable, no LLM provider configured). The README's \"Exit
codes\" table has every command's.

A value can come from a file or stdin: --param body=@notes.txt, --param body=@- (and
--param handle=@@ada for the literal value @ada). A value over 128 KiB is refused: the kernel
cannot pass it; give large data on stdin instead.

Examples:
  skillet run count-lines --param file=src/main.rs
  skillet run greet --params '{\"name\": \"Ada\", \"excited\": true}'
  git diff | skillet run summarize-diff      piped input becomes the skill's stdin
  skillet run count-lines --param file=x --json
  skillet run count-lines --param file=x --dry-run   show the exact argv, run nothing
  skillet run fetch-issues --allow-connect api.github.com:443 --allow-env GITHUB_TOKEN

Conversation skills talk to the model configured in [llm] of the global skillet.toml. The
answers stream to stdout, then the summary; the conversation is kept as a session:
  skillet run review --param file=src/lib.rs               asks its questions on a terminal
  skillet run review --param file=src/lib.rs --answers a.txt   one answer per line
  skillet run review --param file=src/lib.rs < /dev/null    no terminal: the model answers once
  skillet session resume ID                                 go on with a conversation"
    )]
    Run(RunArgs),

    /// Show past executions, newest first.
    #[command(
        args_conflicts_with_subcommands = true,
        after_help = "Parameters are kept as a hash unless the global skillet.toml sets [history] store_params = true.

Examples:
  skillet history                         the last 20 executions
  skillet history count-lines --status failed --since 1h
  skillet history --json --limit 0        everything, for scripts
  skillet history show 0190f3a2           one execution (an id or the start of one)"
    )]
    History(HistoryArgs),

    /// Show circuit breakers, or close one.
    #[command(
        args_conflicts_with_subcommands = true,
        after_help = "A skill with a circuit_breaker block refuses calls (status circuit_open, exit 75) after
failure_threshold failed calls in a row, until reset_after_s has passed; then one trial call
decides whether it closes again. The state is shared by every skillet process.

Examples:
  skillet breaker                         every breaker on record
  skillet breaker fetch-issues --json
  skillet breaker reset fetch-issues      close it now"
    )]
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
    #[command(
        after_help = "Without --write, prints the change as a unified diff and writes nothing.
A SKILL.md folder gets a skill.json beside its SKILL.md (which other agents keep reading).

Examples:
  skillet migrate .q-skills/old.json
  skillet migrate .q-skills/old.json --write"
    )]
    Migrate(MigrateArgs),

    /// Keep an interpreter alive across calls: start, send to, list, close code_session skills.
    #[command(
        after_help = "Sessions live in the skillet daemon, which the first session command starts in the
background (see `skillet daemon`). Each runs under the same sandbox as `skillet run` of
the skill, with its own scratch directory. Sessions and their transcripts are kept in the
history database, so `session list` and `session logs` still show them after a restart.

Examples:
  ID=$(skillet session start py)
  skillet session send $ID 'x = 21'
  skillet session send $ID 'x * 2'              prints 42
  echo 'print(x)' | skillet session send $ID    input from stdin
  skillet session list
  skillet session logs $ID
  skillet session close $ID"
    )]
    Session {
        /// What to do.
        #[command(subcommand)]
        command: SessionCommand,
        /// The daemon's socket (default $XDG_RUNTIME_DIR/skillet/skillet.sock, or $SKILLET_SOCKET).
        #[arg(long, value_name = "PATH", global = true)]
        socket: Option<PathBuf>,
    },

    /// Run the daemon in the foreground (it owns sessions; logs go to stderr).
    #[command(
        after_help = "Commands that need the daemon start it in the background when it is not running, so
you rarely need this. The daemon exits after --idle-timeout seconds with no live session and
no client ([daemon] idle_timeout in the global skillet.toml; default 300).

Examples:
  skillet serve
  skillet serve --socket \"$XDG_RUNTIME_DIR/skillet-test.sock\" --idle-timeout 60
  skillet serve --http 127.0.0.1:8750          MCP at http://127.0.0.1:8750/mcp
  SKILLET_MCP_TOKEN=$(openssl rand -hex 32) skillet serve --http 0.0.0.0:8750

With --http the daemon serves this directory's skills over MCP and does not exit when idle.
Every request needs the bearer token (made up and printed unless --auth-token gives one;
--no-auth serves without, loopback only); browser origins other than the server's own and
--allow-origin ones are refused."
    )]
    Serve(ServeArgs),

    /// Serve the skills to an agent over MCP on standard input and output.
    #[command(after_help = "Agents start this themselves; point yours at it once:
  claude mcp add skillet -- skillet mcp
  codex mcp add skillet -- skillet mcp
  gemini mcp add skillet skillet mcp
(see the README for Goose and for config-file snippets). code_inline skills become tools,
code_session skills tools that keep a session (pass back its session_id), prompt_inline
skills prompts and tools, conversation skills prompts carrying their context files. A
workspace's own skills are served only once you `skillet trust` it. Calls run sandboxed and
are recorded in `skillet history` with their MCP request id. Logs go to stderr.

Examples:
  skillet mcp
  skillet -C ~/src/project mcp --max-concurrent 4")]
    Mcp(McpArgs),

    /// Show or stop the background daemon.
    #[command(after_help = "Examples:
  skillet daemon status
  skillet daemon status --json
  skillet daemon stop                   ends every live session, then the daemon")]
    Daemon {
        /// What to do.
        #[command(subcommand)]
        command: DaemonCommand,
        /// The daemon's socket (default $XDG_RUNTIME_DIR/skillet/skillet.sock, or $SKILLET_SOCKET).
        #[arg(long, value_name = "PATH", global = true)]
        socket: Option<PathBuf>,
    },

    /// Show which project files a skill's context_files choose, and what changed since last time.
    #[command(
        after_help = "Files are chosen as a conversation would get them: .gitignore and hidden-file rules
respected, binary and oversized files left out, at most max_files and max_total_kb, cut at
max_context_tokens. Order: explicit paths, files named by a parameter, files changed in the
last 24 hours, then shallower paths first. CHANGE compares with this skill's last selection
(new, changed, touched = saved with the same bytes, unchanged); unchanged files are not
re-read to tell.

Examples:
  skillet context explain
  skillet context review --param file=src/main.rs
  skillet context explain --json | jq '.files[].path'"
    )]
    Context(ContextArgs),

    /// Trust this workspace's own skills, so `skillet mcp` offers them to agents.
    #[command(
        after_help = "A repository can ship skills in .skillet/skills/. Agents could call them on their own, so
`skillet mcp` and `skillet serve --http` hide a workspace's skills until you trust it. The
list is [trust] workspaces in the global skillet.toml; trusting a directory trusts every
workspace inside it. Your global skills are always offered.

Examples:
  skillet trust                         trust the current workspace
  skillet trust ~/src/project
  skillet trust --revoke
  skillet trust --list --json"
    )]
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
    #[command(
        after_help = "Before anything lands, the permissions each skill asks for are shown; on a terminal
you are asked y/N, elsewhere --yes is required. Installing never grants anything.

Examples:
  skillet install document-skills@anthropic-agent-skills   PACKAGE@MARKETPLACE
  skillet install review-kit@^2.1                          a semver requirement
  skillet install ./path/to/pkg
  skillet install git+https://example.test/skills.git#v1.2
  skillet install https://example.test/pkg.tar.gz --sha256 HEX
  skillet install --locked                                 exactly what skillet.lock says"
    )]
    Install(InstallArgs),

    /// Update installed packages, showing version and permission changes first.
    #[command(after_help = "Examples:
  skillet update --dry-run
  skillet update review-kit --yes")]
    Update(UpdateArgs),

    /// Remove an installed package.
    #[command(after_help = "Refused while another installed package depends on it.

Examples:
  skillet uninstall review-kit
  skillet uninstall review-kit --prune     also remove what only it needed")]
    Uninstall(UninstallArgs),

    /// Check that every installed file still matches skillet.lock.
    #[command(
        after_help = "Exit 0 when every file matches, 1 when any was changed or removed.

Examples:
  skillet verify
  skillet verify --accept       keep the files as they are now"
    )]
    Verify(VerifyArgs),

    /// Search every added marketplace by name and description.
    #[command(after_help = "Examples:
  skillet search pdf
  skillet search review --json")]
    Search(SearchArgs),

    /// Add, list, update or remove marketplaces (indexes of packages).
    #[command(after_help = "Examples:
  skillet marketplace add ./team-skills
  skillet marketplace add https://example.test/index.json
  skillet marketplace add git@host:org/skills.git#main
  skillet marketplace list
  skillet marketplace update
  skillet marketplace remove team-skills")]
    Marketplace {
        /// What to do.
        #[command(subcommand)]
        command: MarketplaceCommand,
    },

    /// Start a new skill from a template, with one test, in .skillet/skills (or --global).
    #[command(
        after_help = "What it writes passes `skillet validate` and `skillet test` as written; it never
overwrites anything. docs/authoring.md has the details.

Examples:
  skillet create lint-rs --type code_inline --description 'Lint the Rust files'
  skillet create tidy --template python-script    NAME/skill.json and scripts/main.py
  skillet create tidy-sh --template shell-script  NAME/skill.json and scripts/main.sh
  skillet create review --type conversation --global
  skillet create outline --type prompt_inline --json"
    )]
    Create(CreateArgs),

    /// Run skills' self-tests (their `tests` field). Exit 0 when none fails.
    #[command(
        after_help = "Each test calls its skill through the same sandbox, limits and grants as `skillet run`,
several at a time, each stopped at its time limit. Snapshot tests compare stdout with
__snapshots__/<skill>-<n>.txt beside the skill. Conversation tests are not supported yet:
they are listed as skipped, never as passed.

Examples:
  skillet test                          every skill of this workspace
  skillet test count-lines greet --jobs 2
  skillet test --junit report.xml       also write JUnit XML for CI
  skillet test --json | jq .summary
  skillet test greet --update-snapshots   store the output as the snapshot"
    )]
    Test(TestArgs),

    /// Watch a skill while you edit it: on every save, validate, re-run, show what changed.
    #[command(
        after_help = "On every save of the skill's file (its folder, for a package skill), of the files its path
parameters name, or under the folders its context_files patterns start in: validate, run again
with the same parameters (the same sandbox, limits and grants as `skillet run`; recorded in the
history with origin dev), and show the diff of the output against the previous run. A broken save
prints the diagnostics (FILE:LINE:COLUMN, as validate does) and keeps running the last good
version. Ctrl-C stops it (exit 130); when stdin is not a terminal, its end stops it too (exit 0).

Not supported yet: running against an isolated copy of the workspace (a skill under development
writes to the real tree, as with `skillet run`), and running conversation and code_session skills
(they are validated on every save, not run).

Examples:
  skillet dev count-lines --param file=README.md
  skillet dev count-lines --param file=README.md --json   one JSON object per reload"
    )]
    Dev(DevArgs),

    /// Write a catalog of every skill: parameters, examples, limits.
    #[command(after_help = "Examples:
  skillet docs > SKILLS.md
  skillet docs --out docs/skills.md
  skillet docs --html site/")]
    Docs(DocsArgs),

    /// Set this workspace up for writing skills: .skillet/skills and the editor mapping.
    #[command(
        after_help = "Creates .skillet/skills/ when missing, writes the skill format's JSON Schema to
.skillet/skill.schema.json, and adds a json.schemas entry for it to .vscode/settings.json (the
file's other keys and comments stay; a file it cannot parse is left alone, and it says what to
add). Running it again changes nothing that is already right. Exit 1 when a file was skipped.

Examples:
  skillet init
  skillet init --json"
    )]
    Init(InitArgs),

    /// Install git hooks that check skills before each commit.
    #[command(
        after_help = "The pre-commit hook runs `skillet validate` and `skillet test` on the skills a commit adds
or changes, and refuses the commit when one fails. It goes where git looks for hooks
(core.hooksPath included); a hook already there is replaced only with --force.

Examples:
  skillet hooks install
  skillet hooks install --force         replace another hook (kept as pre-commit.bak)"
    )]
    Hooks {
        /// What to do.
        #[command(subcommand)]
        command: HooksCommand,
    },

    /// Show and change what skills keep between runs.
    #[command(after_help = "Examples:
  skillet state ls
  skillet state set counter count 41
  skillet state get counter count
  skillet state export counter > s.json
  skillet state import counter < s.json
  skillet state rm counter count
  skillet state clear counter")]
    State {
        /// What to do.
        #[command(subcommand)]
        command: StateCommand,
    },

    /// Named channels that sessions and runs of one workspace talk over (not supported yet).
    #[command(
        after_help = "Not supported yet: every channel command says so and exits 125. Skills that need to
hand data on can share their state read-only instead (`share_with` in docs/state.md)."
    )]
    Channel {
        /// What to do.
        #[command(subcommand)]
        command: ChannelCommand,
    },

    /// Show and clear cached results.
    #[command(after_help = "Examples:
  skillet cache stats")]
    Cache {
        /// What to do.
        #[command(subcommand)]
        command: CacheCommand,
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
