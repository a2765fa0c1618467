//! Named channels: bounded logs of messages per workspace, owning skill and name, that runs,
//! sessions and the user exchange (see docs/state.md, "Channels"). The store only keeps and
//! bounds them; who may reach which channel is the engine's rule.

use serde::Serialize;

use crate::StoreError;

/// Which channel: where (the workspace's resolved path), whose (the owning skill's identity,
/// as for state) and its name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ChannelKey {
    /// The workspace's resolved path.
    pub workspace: String,
    /// The owning skill's identity, e.g. `workspace:publisher`.
    pub owner: String,
    /// The channel's name within the owner's.
    pub name: String,
}

/// One message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChannelMessage {
    /// Its number in the channel: one more than the last sent, never reused (not even after
    /// a clear), so a reader that saw N asks for what came after N.
    pub seq: i64,
    /// Who sent it: a skill's identity, or `user`.
    pub sender: String,
    /// When, in ms since the epoch.
    pub sent_at_ms: i64,
    /// The message.
    pub body: String,
}

/// The bounds a send is held to. A send past one is refused; nothing already kept is dropped
/// to make room, except messages older than `ttl_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelLimits {
    /// Largest message, in bytes.
    pub max_message_bytes: usize,
    /// Most messages one channel keeps.
    pub max_messages: u64,
    /// Most bytes of messages one channel keeps.
    pub max_bytes: u64,
    /// Most channels one owner has in one workspace.
    pub max_channels: u64,
    /// Most channels in the whole store, every owner and workspace together: with
    /// `max_bytes`, what bounds the store however many skills and workspaces send.
    pub max_channels_total: u64,
    /// How long a message is kept, in ms; a channel with no message left that long is
    /// forgotten when room is needed for a new one.
    pub ttl_ms: i64,
}

impl ChannelLimits {
    /// How long a message is kept unless said otherwise: 7 days.
    pub const DEFAULT_TTL_MS: i64 = 7 * 24 * 3600 * 1000;
}

impl Default for ChannelLimits {
    fn default() -> Self {
        ChannelLimits {
            max_message_bytes: 64 * 1024,
            max_messages: 1000,
            max_bytes: 1024 * 1024,
            max_channels: 64,
            // 256 MiB of messages at most, in all.
            max_channels_total: 256,
            ttl_ms: Self::DEFAULT_TTL_MS,
        }
    }
}

/// What a send did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelSend {
    /// Kept, with this number.
    Sent(i64),
    /// Refused: the message is larger than the limit (its size, the limit).
    TooLarge(usize, usize),
    /// Refused: the channel holds as many messages as it may (the limit).
    TooManyMessages(u64),
    /// Refused: the message would take the channel past its bytes (the limit).
    TooManyBytes(u64),
    /// Refused: the owner has as many channels in this workspace as it may (the limit).
    TooManyChannels(u64),
    /// Refused: the store holds as many channels as it may, all skills and workspaces
    /// together (the limit).
    StoreFull(u64),
}

/// A channel, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChannelInfo {
    /// Which.
    #[serde(flatten)]
    pub key: ChannelKey,
    /// Messages kept.
    pub messages: u64,
    /// Bytes kept.
    pub bytes: u64,
    /// The number of the last message ever sent (0: none).
    pub last_seq: i64,
    /// When the last message was sent, in ms since the epoch.
    pub last_sent_at_ms: Option<i64>,
}

/// Channels in the store. Every store implements it; [`crate::Store`] requires it.
pub trait ChannelStore {
    /// Appends `body` from `sender` to `key`, unless a bound in `limits` refuses it; one
    /// atomic step across every process sharing the store.
    fn send_message(
        &self,
        key: &ChannelKey,
        sender: &str,
        body: &str,
        limits: &ChannelLimits,
    ) -> Result<ChannelSend, StoreError>;
    /// Up to `limit` live messages of `key` numbered after `since`, oldest first.
    fn read_messages(
        &self,
        key: &ChannelKey,
        since: i64,
        limit: usize,
        ttl_ms: i64,
    ) -> Result<Vec<ChannelMessage>, StoreError>;
    /// The channels of `workspace`, by owner and name.
    fn channels(&self, workspace: &str) -> Result<Vec<ChannelInfo>, StoreError>;
    /// Removes every message of `key` (its numbering goes on); returns how many.
    fn clear_channel(&self, key: &ChannelKey) -> Result<u64, StoreError>;
}
