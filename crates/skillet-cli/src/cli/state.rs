//! `skillet state` and `skillet channel`: what skills keep between runs and say to each other.

use clap::Subcommand;

/// `skillet state`. KEY is a top-level key of the skill's JSON document.
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

/// `skillet channel`.
#[derive(Debug, Subcommand)]
#[command(
    after_help = "Not supported yet: every channel command says so and exits 125. Skills that need to
hand data on can share their state read-only instead (`share_with` in docs/state.md)."
)]
pub enum ChannelCommand {
    /// Publish a message on a channel.
    Send {
        /// The channel.
        name: String,
        /// The message.
        message: String,
    },
}
