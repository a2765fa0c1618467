//! The `channels` block: which skills may have channels, and the shares they name.

use crate::diagnostic::Diagnostic;
use crate::model::{SkillKind, SkillSpec};

use super::{Findings, is_valid_skill_name};

pub(super) fn check_channels(spec: &SkillSpec, f: &mut Findings) {
    let Some(channels) = &spec.channels else {
        return;
    };
    match spec.kind {
        SkillKind::CodeInline | SkillKind::CodeSession => {}
        SkillKind::PromptInline => f.key(
            "/channels",
            Diagnostic::error("a prompt_inline skill runs no program, so it cannot use channels")
                .with_hint("remove \"channels\", or make the skill code_inline or code_session"),
        ),
        SkillKind::Conversation => f.key(
            "/channels",
            Diagnostic::error("channels are not supported yet for conversation skills")
                .with_hint("remove \"channels\"; code_inline and code_session skills can use them"),
        ),
    }
    if spec.cache.is_some() {
        f.key(
            "/cache",
            Diagnostic::error(
                "a skill that uses channels cannot be cached: its result depends on what it reads",
            )
            .with_hint("remove \"cache\" (or \"channels\")"),
        );
    }
    for (i, other) in channels.share_with.iter().enumerate() {
        let at = format!("/channels/share_with/{i}");
        if other == &spec.name {
            f.value(
                at,
                Diagnostic::error("a skill always reads its own channels")
                    .with_hint("remove its own name from `share_with`"),
            );
        } else if !is_valid_skill_name(other) {
            f.value(
                at,
                Diagnostic::error(format!("invalid skill name {other:?}"))
                    .with_hint("name the skill that may read this one's channels"),
            );
        }
    }
}
