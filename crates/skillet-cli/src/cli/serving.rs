//! Arguments of the commands that serve skills or talk to the daemon: `serve`, `mcp`,
//! `daemon` and `session`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::{ParamArgs, PermissionArgs};

// `skillet serve`.
#[derive(Debug, Args)]
#[command(
    after_help = "Commands that need the daemon start it in the background when it is not running, so
you rarely need this. The daemon exits after --idle-timeout seconds with no live session and
no client ([daemon] idle_timeout in the global skillet.toml; default 300), unless [[alerts]]
rules are configured: it then stays up to watch them (`skillet alerts --help`).

Examples:
  skillet serve
  skillet serve --socket \"$XDG_RUNTIME_DIR/skillet-test.sock\" --idle-timeout 60
  skillet serve --http 127.0.0.1:8750          MCP at http://127.0.0.1:8750/mcp
  SKILLET_MCP_TOKEN=$(openssl rand -hex 32) skillet serve --http 0.0.0.0:8750
  skillet serve --http 0.0.0.0:8750 --auth-token-file token.txt

With --http the daemon serves this directory's skills over MCP and does not exit when idle.
Every request needs the bearer token (made up and printed unless --auth-token gives one;
--no-auth serves without, loopback only); browser origins other than the server's own and
--allow-origin ones are refused. Beside /mcp it answers GET /metrics (Prometheus text),
/healthz and /readyz, behind the same token (docs/observability.md)."
)]
pub struct ServeArgs {
    /// Listen on this Unix socket (default $XDG_RUNTIME_DIR/skillet/skillet.sock, or $SKILLET_SOCKET).
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// Also serve MCP over streamable HTTP on ADDR, at /mcp: IP:PORT or localhost:PORT
    /// (e.g. 127.0.0.1:8750). A bearer token is required: a new one is printed and written to
    /// a 0600 file beside the daemon's socket unless --auth-token gives one.
    #[arg(long, value_name = "ADDR", value_parser = parse_http_addr)]
    pub http: Option<std::net::SocketAddr>,
    /// Require `Authorization: Bearer TOKEN` on HTTP with this token (16 characters or more).
    /// $SKILLET_MCP_TOKEN is read when this is not given, and keeps the token out of `ps`.
    #[arg(
        long,
        value_name = "TOKEN",
        requires = "http",
        conflicts_with = "no_auth"
    )]
    pub auth_token: Option<String>,
    /// Read the token from this file (its first line): the way replicas behind a load balancer
    /// share one, kept out of `ps` and of the shell's history.
    #[arg(
        long,
        value_name = "FILE",
        requires = "http",
        conflicts_with_all = ["no_auth", "auth_token"]
    )]
    pub auth_token_file: Option<PathBuf>,
    /// Serve HTTP without a token, so any local user or process can call your skills and
    /// sessions. Loopback only.
    #[arg(long, requires = "http")]
    pub no_auth: bool,
    /// Also accept HTTP requests from this browser origin (scheme://host:port; the port is
    /// part of the origin, scheme://host:* allows every port). Repeat for more.
    #[arg(long, value_name = "ORIGIN", requires = "http")]
    pub allow_origin: Vec<String>,
    /// Most MCP sessions over HTTP at once (default 256): a new one replaces the least
    /// recently used idle one, or is refused with 503 when all are busy.
    #[arg(long, value_name = "N", requires = "http", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_sessions: Option<u32>,
    /// End an MCP session over HTTP after this many seconds without traffic (default 300).
    #[arg(long, value_name = "SECONDS", requires = "http", value_parser = clap::value_parser!(u64).range(1..))]
    pub session_idle_timeout: Option<u64>,
    /// Over HTTP, runs of skills wait in the daemon's job queue ([jobs] max_running); this
    /// bounds session exchanges and conversations at once ([mcp] max_concurrent_calls; default 16).
    #[arg(long, value_name = "N")]
    pub max_concurrent: Option<usize>,
    /// Exit after this many seconds with no live session and no client.
    #[arg(long, value_name = "SECONDS")]
    pub idle_timeout: Option<u64>,
    /// An error that stops the daemon is printed as JSON on stdout ({"error": {message, hint,
    /// exit_code}}); the daemon prints nothing else there.
    #[arg(long)]
    pub json: bool,
}

// `skillet mcp`.
#[derive(Debug, Args)]
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
pub struct McpArgs {
    /// Most tool calls running at once; more wait ([mcp] max_concurrent_calls; default 16).
    /// Runs of skills also wait for a turn in the daemon's job queue ([jobs] max_running).
    #[arg(long, value_name = "N")]
    pub max_concurrent: Option<usize>,
    /// The longest message line read from stdin, in bytes (default 4194304, 4 MiB). A longer
    /// line is skipped and answered with a JSON-RPC error.
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(1024..))]
    pub max_line_bytes: Option<u64>,
    /// An error before serving is printed as JSON on stdout ({"error": {message, hint,
    /// exit_code}}); stdout is otherwise the MCP protocol, JSON already.
    #[arg(long)]
    pub json: bool,
}

/// An HTTP address: `IP:PORT` or `localhost:PORT` (which is 127.0.0.1, never a name lookup).
fn parse_http_addr(text: &str) -> Result<std::net::SocketAddr, String> {
    if let Ok(addr) = text.parse() {
        return Ok(addr);
    }
    let hint = || {
        format!("`{text}` is not an address: write IP:PORT or localhost:PORT, e.g. 127.0.0.1:8750")
    };
    let (host, port) = text.rsplit_once(':').ok_or_else(hint)?;
    let port: u16 = port.parse().map_err(|_| hint())?;
    if host.eq_ignore_ascii_case("localhost") {
        Ok(std::net::SocketAddr::from(([127, 0, 0, 1], port)))
    } else {
        Err(hint())
    }
}

// `skillet daemon …`.
#[derive(Debug, Subcommand)]
#[command(after_help = "Examples:
  skillet daemon status
  skillet daemon status --json
  skillet daemon stop                   ends every live session, then the daemon")]
pub enum DaemonCommand {
    /// Whether the daemon runs, its pid, socket and live sessions. Exit 1 when it does not run.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// End every live session and stop the daemon.
    Stop {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

// `skillet session …`.
#[derive(Debug, Subcommand)]
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
pub enum SessionCommand {
    /// Start a session of a code_session skill and print its id.
    #[command(after_help = "Examples:
  skillet session start py
  skillet session start psql-dev --param db=app --name scratch
  skillet session start py --replace-oldest      at max_sessions, close the oldest first")]
    Start {
        /// Skill name or alias.
        name: String,
        /// Parameter values.
        #[command(flatten)]
        values: ParamArgs,
        /// A label to tell the session apart in `session list`.
        #[arg(long = "name", value_name = "LABEL")]
        label: Option<String>,
        /// When the skill has max_sessions live sessions, close its oldest instead of refusing.
        #[arg(long)]
        replace_oldest: bool,
        /// Keep the session's scratch directory when it ends.
        #[arg(long)]
        keep_tmp: bool,
        /// Print the session as JSON.
        #[arg(long)]
        json: bool,
        /// Permissions for this session.
        #[command(flatten)]
        allow: PermissionArgs,
    },
    /// Send input to a session and print its output. Exit: the input's status; 124 timeout;
    /// 125 the session is over or its interpreter died.
    #[command(after_help = "Examples:
  skillet session send 0193… 'print(1 + 1)'
  cat script.py | skillet session send 0193…
  skillet session send B --from A          A's last output becomes B's input")]
    Send {
        /// The session id (or a unique start of it).
        id: String,
        /// The input; read from stdin when absent.
        input: Option<String>,
        /// Send the last output of this session instead.
        #[arg(long, value_name = "ID", conflicts_with = "input")]
        from: Option<String>,
        /// Print the answer as JSON: {session_id, seq, outcome, stdout, stderr, exit_status, duration_ms, truncated, notes}.
        #[arg(long)]
        json: bool,
    },
    /// List live sessions, then past ones.
    List {
        /// Only this skill's.
        skill: Option<String>,
        /// Only with this status: live, restoring (coming back after a daemon restart), open (a
        /// conversation), closed, expired, dead, ended.
        #[arg(long)]
        status: Option<String>,
        /// At most this many (0: all).
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// End a session: its interpreter and everything it started are killed; a conversation
    /// can no longer be resumed.
    Close {
        /// The session id (or a unique start of it).
        id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show a session's transcript: every input, its output, status and timing.
    Logs {
        /// The session id (or a unique start of it).
        id: String,
        /// Print JSON: {session, turns}.
        #[arg(long)]
        json: bool,
    },
    /// Go on with a conversation: your next messages, then a new summary.
    #[command(
        after_help = "Conversations (`skillet run` of a conversation skill) are kept as sessions with status
open; this sends the conversation so far with your next messages to the model.

Examples:
  skillet session resume 0193…                  type the next messages on the terminal
  skillet session resume 0193… --answers more.txt
  echo 'And the tests?' | skillet session resume 0193… --answers -"
    )]
    Resume {
        /// The conversation's session id.
        id: String,
        /// The next messages, one per line, from FILE (`-`: stdin).
        #[arg(long, value_name = "FILE")]
        answers: Option<PathBuf>,
        /// The most answers the conversation may hold in all (default: the skill's max_turns,
        /// else 10).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        max_turns: Option<u32>,
        /// Print the outcome as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Send every later output of session FROM as input to session TO.
    #[command(
        after_help = "A piped answer is not piped further, so a cycle cannot loop.

Examples:
  skillet session pipe $GEN $CHECK
  skillet session pipe $GEN $CHECK --stop"
    )]
    Pipe {
        /// The session whose output is sent on.
        from: String,
        /// The session that receives it.
        to: String,
        /// Remove the pipe instead.
        #[arg(long)]
        stop: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}
