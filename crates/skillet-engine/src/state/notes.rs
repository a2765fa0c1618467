//! Notes for `conversation` skills (see docs/state.md, "Conversations"): a conversation skill
//! with `state` keeps, in its state document, the summary of each conversation that ended ok,
//! and the next conversation's first message starts with them, between `<notes>` tags. The
//! document is skillet's own (`{"notes": [{"at_ms", "session", "summary"}]}`), per workspace
//! by the same key and isolation as any state, bounded by the state limit: the oldest notes
//! are dropped to make room. Adding a note never reruns anything, so a conflict with another
//! conversation is met by reading the document again and adding the note to what it holds.

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use skillet_registry::Registry;
use skillet_spec::SkillSpec;
use skillet_store::{StateCommit, StateKey, StateWrite, Store, now_ms};

use super::MAX_CONFLICT_RUNS;
use crate::engine::{Engine, RunRequest};

/// One conversation's summary, kept.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Note {
    at_ms: i64,
    session: String,
    summary: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct NotesDoc {
    #[serde(default)]
    notes: Vec<Note>,
}

/// A conversation skill's notes, as read when the conversation started.
#[derive(Debug)]
pub(crate) struct Notes {
    skill: String,
    store: Arc<dyn Store>,
    key: StateKey,
    max_bytes: u64,
    version: u32,
    ttl_ms: Option<i64>,
    read: Vec<Note>,
}

impl Engine {
    /// The notes of `spec` when it is a conversation skill that keeps state; what went wrong
    /// reading them goes to `warnings` and the conversation goes on without them.
    pub(crate) fn conversation_notes(
        &self,
        registry: &Registry,
        spec: &SkillSpec,
        caller_dir: &Path,
        warnings: &mut Vec<String>,
    ) -> Option<Notes> {
        let decl = spec.state.as_ref()?;
        let request = RunRequest {
            caller_dir: caller_dir.to_owned(),
            ..RunRequest::default()
        };
        let call = match self.state_call(registry, spec, decl, &request, warnings) {
            Ok(call) => call,
            Err(refused) => {
                warnings.push(format!("no notes from earlier conversations: {refused}"));
                return None;
            }
        };
        let mut notes = Notes {
            skill: spec.name.clone(),
            store: call.store.clone(),
            key: call.key.clone(),
            max_bytes: call.max_bytes,
            version: decl.version,
            ttl_ms: decl
                .ttl_days
                .map(|d| i64::from(d).saturating_mul(86_400_000)),
            read: Vec::new(),
        };
        match notes.current() {
            Ok((_, doc)) => notes.read = doc.notes,
            Err(e) => warnings.push(format!("no notes from earlier conversations: {e}")),
        }
        Some(notes)
    }
}

impl Notes {
    /// The block the first message starts with; `None` when there are no notes yet.
    pub(crate) fn block(&self) -> Option<String> {
        if self.read.is_empty() {
            return None;
        }
        let mut text = String::from(
            "<notes>\nNotes kept from earlier conversations of this skill in this workspace, \
             oldest first:\n",
        );
        for note in &self.read {
            text.push_str(&format!("\n<note>\n{}\n</note>\n", note.summary.trim()));
        }
        text.push_str("</notes>");
        Some(text)
    }

    /// Adds the summary of conversation `session`, dropping the oldest notes past the state
    /// limit; a warning for the outcome when it could not be kept.
    pub(crate) fn add(&self, session: &str, summary: &str) -> Option<String> {
        let name = &self.skill;
        let note = Note {
            at_ms: now_ms(),
            session: session.to_owned(),
            summary: summary.to_owned(),
        };
        for _ in 0..MAX_CONFLICT_RUNS {
            let (rev, mut doc) = match self.current() {
                Ok(read) => read,
                Err(e) => {
                    return Some(format!(
                        "this conversation's summary was not kept as a note of `{name}`: {e}"
                    ));
                }
            };
            doc.notes.push(note.clone());
            let text = loop {
                let text = serde_json::to_string(&doc).unwrap_or_default();
                if text.len() as u64 <= self.max_bytes {
                    break Some(text);
                }
                if doc.notes.len() <= 1 {
                    break None;
                }
                // The oldest notes make room for the newest.
                doc.notes.remove(0);
            };
            let Some(text) = text else {
                return Some(format!(
                    "this conversation's summary is larger than the state limit of `{name}` \
                     ({} KiB), so it was not kept as a note; raise state.max_kb (at most \
                     [defaults] max_state_kb) or ask for a shorter summary",
                    self.max_bytes / 1024
                ));
            };
            let write = StateWrite {
                doc: Some(&text),
                schema_version: self.version,
                writer: session,
                ttl_ms: self.ttl_ms,
            };
            match self.store.commit_state(&self.key, rev, &write) {
                Ok(StateCommit::Committed(_)) => return None,
                // Another conversation added its note first: add this one to what it left.
                Ok(StateCommit::Conflict(_)) => continue,
                Err(e) => {
                    return Some(format!(
                        "this conversation's summary was not kept as a note of `{name}`: {e}"
                    ));
                }
            }
        }
        Some(format!(
            "this conversation's summary was not kept as a note of `{name}`: its notes kept \
             changing under it; fewer conversations of `{name}` at once would let it through"
        ))
    }

    /// The stored notes and their revision; a document that is not skillet's notes (written
    /// by `skillet state set` or `import`) counts as none, and is replaced by the next note.
    fn current(&self) -> Result<(i64, NotesDoc), skillet_store::StoreError> {
        let record = self.store.state(&self.key)?;
        let rev = record.as_ref().map_or(0, |r| r.rev);
        let doc = record
            .and_then(|r| r.doc)
            .and_then(|d| serde_json::from_str(&d).ok())
            .unwrap_or_default();
        Ok((rev, doc))
    }
}
