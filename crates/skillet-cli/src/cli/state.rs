//! `skillet state` and `skillet channel`: what skills keep between runs and say to each other.

use clap::Subcommand;

/// `skillet state`.
#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// Keys per skill and scope, with sizes, versions and last writer.
    Ls {
        /// Only this skill.
        skill: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `skillet channel`.
#[derive(Debug, Subcommand)]
pub enum ChannelCommand {
    /// Publish a message on a channel.
    Send {
        /// The channel.
        name: String,
        /// The message.
        message: String,
    },
}
