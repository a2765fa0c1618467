//! Arguments of the commands that find, show, check and run skills.

use std::path::PathBuf;

use clap::Args;

use super::{ParamArgs, PermissionArgs};

// `skillet context`.
#[derive(Debug, Args)]
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

// `skillet trust`.
#[derive(Debug, Args)]
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

// `skillet enable` and `skillet disable`.
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

// `skillet list`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  skillet list
  skillet list --json | jq '.[] | select(.valid | not) | .path'")]
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

// `skillet info`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  skillet info count-lines
  skillet info cl --json          aliases work too")]
pub struct InfoArgs {
    /// Skill name or alias.
    pub name: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

// `skillet validate`.
#[derive(Debug, Args)]
#[command(
    after_help = "Errors are printed as FILE:LINE:COLUMN: error: MESSAGE, with a hint below.

Examples:
  skillet validate                      every discovered skill
  skillet validate count-lines          one discovered skill, by name or alias
  skillet validate .skillet/skills/new.json
  skillet validate path/to/skills-dir --json"
)]
pub struct ValidateArgs {
    /// Skill files, skills directories or names of discovered skills; all discovered skills when
    /// none is given.
    pub paths: Vec<PathBuf>,
    /// Print JSON: an array of {name, path, format, valid, diagnostics}.
    #[arg(long)]
    pub json: bool,
}

// `skillet run`.
#[derive(Debug, Args)]
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
  skillet run count-lines --param file=src/main.rs --detach --priority low   a background job

With --detach the daemon runs it (same sandbox, limits and history) and this command prints
the job's id and exits 0; `skillet jobs` follows it. Only --stdin TEXT is given to a detached
run, never this command's own stdin.

Conversation skills talk to the model configured in [llm] of the global skillet.toml. The
answers stream to stdout, then the summary; the conversation is kept as a session:
  skillet run review --param file=src/lib.rs               asks its questions on a terminal
  skillet run review --param file=src/lib.rs --answers a.txt   one answer per line
  skillet run review --param file=src/lib.rs < /dev/null    no terminal: the model answers once
  skillet session resume ID                                 go on with a conversation"
)]
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
    /// Hand the run to the daemon as a background job and print its id at once; `skillet jobs`
    /// follows it (see docs/jobs.md).
    #[arg(long, conflicts_with_all = ["session", "dry_run", "debug", "profile", "answers", "max_turns"])]
    pub detach: bool,
    /// With --detach: how soon the job leaves the daemon's queue.
    #[arg(long, value_enum, requires = "detach")]
    pub priority: Option<super::jobs::PriorityArg>,
    /// With --detach: the daemon's socket (default $XDG_RUNTIME_DIR/skillet/skillet.sock, or
    /// $SKILLET_SOCKET).
    #[arg(long, value_name = "PATH", requires = "detach")]
    pub socket: Option<PathBuf>,
    /// Permissions for this run.
    #[command(flatten)]
    pub allow: PermissionArgs,
}

// `skillet migrate`.
#[derive(Debug, Args)]
#[command(
    after_help = "Without --write, prints the change as a unified diff and writes nothing.
A SKILL.md folder gets a skill.json beside its SKILL.md (which other agents keep reading).

Examples:
  skillet migrate .q-skills/old.json
  skillet migrate .q-skills/old.json --write"
)]
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
