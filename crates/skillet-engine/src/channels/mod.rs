//! Named channels between runs, sessions and the user (see docs/state.md, "Channels"). A
//! skill that declares `channels` gets `$SKILLET_CHANNEL_FD`: one end of a socket pair whose
//! other end a broker in this process serves ([`broker`]). Who reaches which channel follows
//! the state rule ([`crate::state::sharers`]): a skill writes and reads its own channels and
//! reads, never writes, those of the skills of its own scope that share theirs with it.
//! Channels are kept in the store, per resolved workspace.

mod broker;
mod protocol;

use std::path::Path;
use std::sync::Arc;

use skillet_registry::{Registry, SkillEntry};
use skillet_spec::{SkillSpec, is_valid_skill_name};
use skillet_store::{ChannelKey, ChannelLimits, ChannelSend, Store, StoreError};

use crate::engine::Engine;
use crate::policy::PolicyPlan;
use crate::state::{sharers, state_key_workspace, state_owner};

pub use broker::Broker;

/// The environment variable naming the descriptor of a run's channel broker.
pub const CHANNEL_FD_ENV: &str = "SKILLET_CHANNEL_FD";

/// The sender recorded for messages the user sends from the command line.
pub const USER_SENDER: &str = "user";

/// The bounds every channel is held to.
pub fn channel_limits() -> ChannelLimits {
    ChannelLimits::default()
}

/// Why a channel could not be reached or written.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    /// The address is not `NAME` or `SKILL/NAME` in the allowed spelling.
    #[error(
        "{0:?} is not a channel address: write NAME for a channel of this skill or SKILL/NAME, \
         where SKILL is a skill name and NAME is 1-64 lowercase letters, digits, `-` or `_`"
    )]
    BadAddress(String),
    /// No skill of that name is found here.
    #[error("no skill `{0}` is found in this workspace; `skillet list` shows the skills")]
    UnknownSkill(String),
    /// The caller may not read (or, for a send, write) that channel.
    #[error("{0}")]
    Denied(String),
    /// A bound refused the message.
    #[error("{0}")]
    Refused(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Whether `name` is a channel name: 1-64 lowercase ASCII letters, digits, `-` or `_`,
/// starting with a letter or digit. Anything else (`..`, `/`, NUL, look-alike letters) is
/// refused, never mapped onto another name.
pub fn is_valid_channel_name(name: &str) -> bool {
    is_valid_skill_name(name)
}

/// Splits `SKILL/NAME` (or `NAME`, for `own`'s channel), refusing every other spelling.
pub fn parse_address<'a>(
    address: &'a str,
    own: Option<&'a str>,
) -> Result<(&'a str, &'a str), ChannelError> {
    let bad = || ChannelError::BadAddress(address.to_owned());
    let (skill, name) = match address.split_once('/') {
        Some((skill, name)) => (skill, name),
        None => (own.ok_or_else(bad)?, address),
    };
    if !is_valid_skill_name(skill) || !is_valid_channel_name(name) {
        return Err(bad());
    }
    Ok((skill, name))
}

/// The message a refused send gets, or `None` when it was kept.
pub fn refusal(sent: &ChannelSend, channel: &str) -> Option<String> {
    let kib = |b: u64| b / 1024;
    Some(match sent {
        ChannelSend::Sent(_) => return None,
        ChannelSend::TooLarge(size, max) => format!(
            "the message is {size} bytes, over the {} KiB a message may hold; send a smaller \
             one (a file's path, say, rather than its contents)",
            kib(*max as u64)
        ),
        ChannelSend::TooManyMessages(max) => format!(
            "channel `{channel}` holds {max} messages, as many as it may; nothing was sent. \
             Old messages go after their time, or `skillet channel clear {channel}` empties it"
        ),
        ChannelSend::TooManyBytes(max) => format!(
            "channel `{channel}` would hold more than {} KiB; nothing was sent. Old messages go \
             after their time, or `skillet channel clear {channel}` empties it",
            kib(*max)
        ),
        ChannelSend::TooManyChannels(max) => format!(
            "the skill has {max} channels in this workspace, as many as it may; reuse one, or \
             `skillet channel clear` those it no longer needs"
        ),
        ChannelSend::StoreFull(max) => format!(
            "skillet keeps at most {max} channels, all skills and workspaces together, and \
             has that many; nothing was sent. `skillet channel ls` shows them; a channel is \
             forgotten once it has sent nothing for as long as messages are kept"
        ),
    })
}

/// The channel the user addresses as `SKILL/NAME`: any channel of a skill found here.
pub fn user_channel(
    registry: &Registry,
    workspace: &Path,
    address: &str,
) -> Result<ChannelKey, ChannelError> {
    let (skill, name) = parse_address(address, None)?;
    let entry = registry
        .resolve(skill)
        .filter(|e| e.name == skill)
        .ok_or_else(|| ChannelError::UnknownSkill(skill.to_owned()))?;
    Ok(ChannelKey {
        workspace: state_key_workspace(workspace),
        owner: state_owner(entry),
        name: name.to_owned(),
    })
}

/// What one skill's run may reach: its own channels, and read-only those shared with it.
#[derive(Debug, Clone)]
pub(crate) struct Reach {
    workspace: String,
    name: String,
    owner: String,
    /// (skill name, owner identity) of each skill sharing its channels with this one.
    readable: Vec<(String, String)>,
}

impl Reach {
    pub(crate) fn of(registry: &Registry, entry: &SkillEntry, workspace: &Path) -> Reach {
        let listed: fn(&SkillSpec) -> Option<&Vec<String>> =
            |s| s.channels.as_ref().map(|c| &c.share_with);
        Reach {
            workspace: state_key_workspace(workspace),
            name: entry.name.clone(),
            owner: state_owner(entry),
            readable: sharers(registry, entry, listed)
                .into_iter()
                .map(|e| (e.name.clone(), state_owner(e)))
                .collect(),
        }
    }

    /// The channel `address` names, when this skill may reach it that way.
    pub(crate) fn key(&self, address: &str, write: bool) -> Result<ChannelKey, ChannelError> {
        let (skill, name) = parse_address(address, Some(&self.name))?;
        let owner = if skill == self.name {
            &self.owner
        } else {
            let shared = self.readable.iter().find(|(n, _)| n == skill);
            match shared {
                Some(_) if write => {
                    return Err(ChannelError::Denied(format!(
                        "`{skill}` shares its channels with `{}` read-only: it cannot send to them",
                        self.name
                    )));
                }
                Some((_, owner)) => owner,
                None => {
                    return Err(ChannelError::Denied(format!(
                        "`{}` cannot reach channels of `{skill}`: a skill reaches its own \
                         channels and reads those of skills that list it in \
                         \"channels\": {{\"share_with\": [...]}}",
                        self.name
                    )));
                }
            }
        };
        Ok(ChannelKey {
            workspace: self.workspace.clone(),
            owner: owner.clone(),
            name: name.to_owned(),
        })
    }

    /// The sender recorded for this skill's messages.
    pub(crate) fn sender(&self) -> &str {
        &self.owner
    }
}

impl Engine {
    /// Starts the channel broker for a run or session of `spec` when it declares `channels`,
    /// and hands the run its end (at `$SKILLET_CHANNEL_FD`). The broker lives as long as the
    /// returned value; `None` for a skill that does not declare channels.
    pub(crate) fn open_channels(
        &self,
        registry: &Registry,
        spec: &SkillSpec,
        run_dir: &Path,
        plan: &mut PolicyPlan,
    ) -> Result<Option<Broker>, String> {
        if spec.channels.is_none() {
            return Ok(None);
        }
        let store: Arc<dyn Store> = self.settings.store.clone().ok_or_else(|| {
            format!(
                "`{}` uses channels, which live in skillet's database, and none is open here; \
                 see the warning above about the database and fix what it names",
                spec.name
            )
        })?;
        let entry = registry
            .resolve(&spec.name)
            .filter(|e| e.spec.as_ref().is_some_and(|s| s.name == spec.name))
            .ok_or_else(|| format!("`{}` is no longer found", spec.name))?;
        let workspace = self
            .settings
            .workspace
            .clone()
            .unwrap_or_else(|| run_dir.to_path_buf());
        let reach = Reach::of(registry, entry, &workspace);
        let (broker, theirs) = Broker::start(store, reach)
            .map_err(|e| format!("cannot start the channel broker of `{}`: {e}", spec.name))?;
        plan.inherit_fd = Some(theirs);
        plan.policy.env.push((
            CHANNEL_FD_ENV.into(),
            skillet_sandbox::INHERITED_FD.to_string().into(),
        ));
        Ok(Some(broker))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reach() -> Reach {
        Reach {
            workspace: "/w".into(),
            name: "reader".into(),
            owner: "workspace:reader".into(),
            readable: vec![("pub".into(), "workspace:pub".into())],
        }
    }

    #[test]
    fn own_channels_are_read_and_written_shared_ones_only_read() {
        let r = reach();
        assert_eq!(r.key("notes", true).unwrap().owner, "workspace:reader");
        assert_eq!(
            r.key("reader/notes", true).unwrap().owner,
            "workspace:reader"
        );
        assert_eq!(r.key("pub/news", false).unwrap().owner, "workspace:pub");
        assert!(matches!(
            r.key("pub/news", true),
            Err(ChannelError::Denied(_))
        ));
        assert!(matches!(
            r.key("other/news", false),
            Err(ChannelError::Denied(_))
        ));
    }

    #[test]
    fn every_other_spelling_is_refused() {
        let r = reach();
        for address in [
            "../pub/news",
            "pub/../news",
            "pub/news/x",
            "pub//news",
            "/pub/news",
            "Pub/news",
            "pub/News",
            "pub/news\0",
            "p\u{0443}b/news", // Cyrillic u
            "pub/n\u{0435}ws", // Cyrillic e
            "pub/news ",
            "pub\\news",
            "pub/",
            "",
            "workspace:pub/news",
            "pub/.news",
            "pub/news.",
        ] {
            assert!(
                matches!(r.key(address, false), Err(ChannelError::BadAddress(_))),
                "{address:?} was accepted"
            );
        }
    }
}
