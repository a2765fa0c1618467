//! `skillet state` and `skillet channel`: what skills keep between runs and say to each other.

use clap::Subcommand;

// `skillet state`. KEY is a top-level key of the skill's JSON document.
#[derive(Debug, Subcommand)]
#[command(after_help = "Examples:
  skillet state ls
  skillet state set counter count 41
  skillet state get counter count
  skillet state export counter > s.json
  skillet state import counter < s.json
  skillet state rm counter count
  skillet state clear counter")]
pub enum StateCommand {
    /// Keys per skill and scope, with sizes, versions and last writer.
    Ls {
        /// Only this skill.
        skill: Option<String>,
        /// Print JSON: an array of {skill, owner, scope, keys, bytes, version, rev, updated_at,
        /// writer}.
        #[arg(long)]
        json: bool,
    },
    /// Print one key's value, as JSON.
    Get {
        /// The skill.
        skill: String,
        /// A top-level key of its document.
        key: String,
    },
    /// Set one key. VALUE is read as JSON when it parses (`3`, `true`, `{"a":1}`), else as
    /// a string.
    Set {
        /// The skill.
        skill: String,
        /// A top-level key of its document.
        key: String,
        /// The value.
        value: String,
    },
    /// Remove one key.
    Rm {
        /// The skill.
        skill: String,
        /// A top-level key of its document.
        key: String,
    },
    /// Remove the skill's whole state (in this workspace, or everywhere for global state).
    Clear {
        /// The skill.
        skill: String,
    },
    /// Print the skill's document.
    Export {
        /// The skill.
        skill: String,
    },
    /// Replace the skill's document with the JSON read from standard input.
    Import {
        /// The skill.
        skill: String,
    },
}

// `skillet channel`. A channel is addressed as SKILL/NAME: the skill that owns it, and its
// name (1-64 lowercase letters, digits, `-` or `_`).
#[derive(Debug, Subcommand)]
#[command(after_help = "Examples:
  skillet channel send py/news 'build finished'
  echo 'from a pipe' | skillet channel send py/news -
  skillet channel read py/news
  skillet channel read py/news --since 1 --json
  skillet channel ls
  skillet channel clear py/news

Channels are kept per workspace in skillet's database, across daemon restarts. A skill that
declares \"channels\": {\"share_with\": [\"other\"]} reaches its own channels from its runs and
sessions at $SKILLET_CHANNEL_FD, and `other` may read them; see docs/state.md. `read --follow`
waits for new messages until interrupted.")]
pub enum ChannelCommand {
    /// Send a message on a channel (the sender is recorded as `user`).
    Send {
        /// The channel, as SKILL/NAME.
        channel: String,
        /// The message; `-` reads it from standard input.
        message: String,
    },
    /// Print a channel's messages, oldest first.
    Read {
        /// The channel, as SKILL/NAME.
        channel: String,
        /// Only the messages numbered after N.
        #[arg(long, value_name = "N", default_value_t = 0)]
        since: i64,
        /// Keep waiting for new messages, and print each as it comes, until interrupted.
        #[arg(long)]
        follow: bool,
        /// Print JSON: an array of {seq, sender, sent_at_ms, body}; with --follow, one such
        /// object per line.
        #[arg(long)]
        json: bool,
    },
    /// List the channels of this workspace, with their messages and bytes.
    Ls {
        /// Print JSON: an array of {channel, workspace, owner, name, messages, bytes, last_seq,
        /// last_sent_at_ms}.
        #[arg(long)]
        json: bool,
    },
    /// Remove every message of a channel (numbering goes on from the last).
    Clear {
        /// The channel, as SKILL/NAME.
        channel: String,
    },
}
