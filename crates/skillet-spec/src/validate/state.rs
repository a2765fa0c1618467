//! The `state` block: which skills may keep state, shares, migrations and the size asked for.

use crate::diagnostic::Diagnostic;
use crate::json_source::escape_pointer_segment;
use crate::model::{SkillKind, SkillSpec};
use crate::{OnConflict, StateSpec};

use super::{Findings, is_valid_skill_name};

pub(super) fn check_state(spec: &SkillSpec, f: &mut Findings) {
    let Some(state) = &spec.state else {
        return;
    };
    match spec.kind {
        SkillKind::CodeInline => {}
        SkillKind::PromptInline => f.key(
            "/state",
            Diagnostic::error("a prompt_inline skill runs no program, so it has no state to keep")
                .with_hint("remove \"state\", or make the skill code_inline"),
        ),
        SkillKind::CodeSession => check_session_state(state, f),
        SkillKind::Conversation => check_conversation_state(state, f),
    }
    if spec.cache.is_some() {
        f.key(
            "/cache",
            Diagnostic::error(
                "a skill that keeps state cannot be cached: its result depends on the state",
            )
            .with_hint("remove \"cache\" (or \"state\")"),
        );
    }
    if state.version == 0 {
        f.value(
            "/state/version",
            Diagnostic::error("state `version` is 0").with_hint("versions start at 1"),
        );
    }
    if state.ttl_days == Some(0) {
        f.value(
            "/state/ttl_days",
            Diagnostic::error("`ttl_days` is 0")
                .with_hint("give the days an unwritten state is kept, or remove the field"),
        );
    }
    if state.max_kb == Some(0) {
        f.value(
            "/state/max_kb",
            Diagnostic::error("`max_kb` is 0")
                .with_hint("give the largest document in KiB (at most 1024 unless the user raises `[defaults] max_state_kb`)"),
        );
    }
    for (i, other) in state.share_with.iter().enumerate() {
        let at = format!("/state/share_with/{i}");
        if other == &spec.name {
            f.value(
                at,
                Diagnostic::error("a skill always reads its own state")
                    .with_hint("remove its own name from `share_with`"),
            );
        } else if !is_valid_skill_name(other) {
            f.value(
                at,
                Diagnostic::error(format!("invalid skill name {other:?}"))
                    .with_hint("name the skill that may read this one's state"),
            );
        }
    }
    for (from, command) in &state.migrate {
        let at = format!("/state/migrate/{}", escape_pointer_segment(from));
        match from.parse::<u32>() {
            Ok(n) if n >= 1 && n < state.version => {}
            Ok(n) if n >= 1 => f.key(
                at.clone(),
                Diagnostic::error(format!(
                    "a migration from version {n} can never run: the state's version is {}",
                    state.version
                ))
                .with_hint(format!(
                    "key each migration by the version it lifts from, 1 to {}",
                    state.version.saturating_sub(1)
                )),
            ),
            _ => f.key(
                at.clone(),
                Diagnostic::error(format!("{from:?} is not a state version"))
                    .with_hint("key each migration by the version it lifts from: \"1\", \"2\"…"),
            ),
        }
        if command.first().is_none_or(|c| c.trim().is_empty()) {
            f.value(
                at,
                Diagnostic::error("the migration's command is empty").with_hint(
                    "write the program and its arguments, e.g. [\"python3\", \"migrate_v1_v2.py\"]",
                ),
            );
        }
    }
}

/// A session's input cannot be sent again safely (its interpreter already acted on it), so a
/// conflict fails the input instead of retrying it (a warm pool's call too: it ran on an
/// interpreter that is gone).
fn check_session_state(state: &StateSpec, f: &mut Findings) {
    if state.on_conflict == Some(OnConflict::Retry) {
        f.value(
            "/state/on_conflict",
            Diagnostic::error(
                "a code_session skill cannot retry on a conflict: an input sent to its \
                 interpreter cannot be sent again safely",
            )
            .with_hint(
                "remove \"on_conflict\" or set it to \"fail\": an input whose state another \
                 run saved first is answered with an error and the session gets the newer state",
            ),
        );
    }
}

/// A conversation's state is skillet's own document of notes (see docs/state.md): nothing of
/// the skill's runs on it, and adding a note is retried on a conflict, never the conversation.
fn check_conversation_state(state: &StateSpec, f: &mut Findings) {
    if !state.migrate.is_empty() {
        f.key(
            "/state/migrate",
            Diagnostic::error(
                "a conversation skill's state holds skillet's notes of its earlier \
                 conversations: there is nothing of the skill's to migrate",
            )
            .with_hint("remove \"migrate\""),
        );
    }
    if state.on_conflict.is_some() {
        f.key(
            "/state/on_conflict",
            Diagnostic::error(
                "a conversation skill's notes are added again on a conflict, never lost: \
                 `on_conflict` does not apply",
            )
            .with_hint("remove \"on_conflict\""),
        );
    }
}
