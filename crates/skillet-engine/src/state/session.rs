//! State for `code_session` skills (see docs/state.md, "Sessions"): the session's interpreter
//! gets `$SKILLET_STATE` once, prepared from the committed document (migrated first, as for a
//! run) when the session starts. After each input that ends ok the document is committed by
//! the same compare-and-swap a run uses, on the revision the session last saw; an input that
//! fails, times out or kills the interpreter commits nothing, and the file is put back to the
//! saved document so the next input cannot save what the failed one wrote.
//!
//! An input cannot be sent again safely (the interpreter already acted on it), so a conflict
//! always fails the input: its reply says the state was not saved because another run or
//! session saved first, and the session's document is refreshed to what that one saved.
//! After a daemon restart, a restored session replays its inputs on the committed document and
//! what the replay writes is thrown away (those inputs were saved the first time).
//!
//! A warm pool's call gets the same rules for one input ([`PooledBase`]): the committed
//! document is read when the call comes (not when its interpreter started), written into the
//! state directory the interpreter was started with, and committed on the revision read then.

use std::path::Path;
use std::sync::Arc;

use skillet_registry::Registry;
use skillet_spec::{SkillSpec, StateSpec};
use skillet_store::{StateCommit, StateKey, StateWrite, Store};

use super::MAX_CONFLICT_RUNS;
use super::files::StateDir;
use crate::engine::{Engine, RunOverrides, RunRequest};
use crate::policy::PolicyPlan;

/// One live session's state: where its interpreter sees it, and the revision it last saw.
#[derive(Debug)]
pub(crate) struct SessionState {
    skill: String,
    decl: StateSpec,
    store: Arc<dyn Store>,
    key: StateKey,
    max_bytes: u64,
    one_run_secrets: super::OneRunSecrets,
    dir: StateDir,
    /// The revision of `doc` in the store.
    rev: i64,
    /// The saved document the interpreter's file holds when no input is under way.
    doc: Option<String>,
    /// A pooled call's: its interpreter serves one input and is gone, so nothing is put
    /// back or refreshed for a next one.
    one_call: bool,
}

/// A pooled call's state as committed when the call came, to be put in the state directory
/// of the interpreter that takes the call ([`PooledBase::install`]).
#[derive(Debug)]
pub(crate) struct PooledBase {
    skill: String,
    decl: StateSpec,
    store: Arc<dyn Store>,
    key: StateKey,
    max_bytes: u64,
    one_run_secrets: super::OneRunSecrets,
    rev: i64,
    doc: Option<String>,
    shared: Vec<(String, String)>,
}

/// What an input's end did to the session's state.
#[derive(Debug, Default)]
pub(crate) struct Settled {
    /// For the reply's notes.
    pub(crate) notes: Vec<String>,
    /// The input ended ok but its state was not saved: the reply is an error.
    pub(crate) failed: bool,
}

impl Engine {
    /// Prepares the state of a session of `spec` when it declares one: the document is read
    /// (and migrated) now, and `plan` lets the interpreter write it at `$SKILLET_STATE`.
    pub(crate) async fn session_state(
        &self,
        registry: &Registry,
        spec: &SkillSpec,
        plan: &mut PolicyPlan,
        caller_dir: &Path,
        overrides: &RunOverrides,
        warnings: &mut Vec<String>,
    ) -> Result<Option<SessionState>, String> {
        let Some(decl) = spec.state.as_ref() else {
            return Ok(None);
        };
        let request = RunRequest {
            stdin: skillet_sandbox::StdinSource::Null,
            caller_dir: caller_dir.to_owned(),
            overrides: overrides.clone(),
            ..RunRequest::default()
        };
        let call = self.state_call(registry, spec, decl, &request, warnings)?;
        let mut base = None;
        for _ in 0..MAX_CONFLICT_RUNS {
            if let Some(found) = call
                .base(plan, &request, warnings)
                .await
                .map_err(|(refused, _)| refused)?
            {
                base = Some(found);
                break;
            }
        }
        let Some((rev, doc)) = base else {
            return Err(format!(
                "the state of `{}` kept changing while the session started; start it again",
                spec.name
            ));
        };
        let store_failed = |e| format!("cannot read the state of `{}`: {e}", spec.name);
        let shared = call.shared().map_err(store_failed)?;
        let dir = StateDir::create(doc.as_deref(), &shared)
            .map_err(|e| format!("cannot prepare the state of `{}`: {e}", spec.name))?;
        super::confine(plan, &dir, call.max_bytes);
        Ok(Some(SessionState {
            skill: spec.name.clone(),
            decl: decl.clone(),
            store: call.store.clone(),
            key: call.key.clone(),
            max_bytes: call.max_bytes,
            one_run_secrets: call.one_run_secrets.clone(),
            dir,
            rev,
            doc,
            one_call: false,
        }))
    }

    /// Reads, for a pooled call of `spec` that declares state, the committed document (migrated
    /// first, as for a run) and the documents shared with it, now: at call time.
    pub(crate) async fn pooled_base(
        &self,
        registry: &Registry,
        spec: &SkillSpec,
        plan: &PolicyPlan,
        request: &RunRequest,
        warnings: &mut Vec<String>,
    ) -> Result<Option<PooledBase>, String> {
        let Some(decl) = spec.state.as_ref() else {
            return Ok(None);
        };
        let call = self.state_call(registry, spec, decl, request, warnings)?;
        let mut base = None;
        for _ in 0..MAX_CONFLICT_RUNS {
            if let Some(found) = call
                .base(plan, request, warnings)
                .await
                .map_err(|(refused, _)| refused)?
            {
                base = Some(found);
                break;
            }
        }
        let Some((rev, doc)) = base else {
            return Err(format!(
                "the state of `{}` kept changing while this call started; call it again",
                spec.name
            ));
        };
        let shared = call
            .shared()
            .map_err(|e| format!("cannot read the state of `{}`: {e}", spec.name))?;
        Ok(Some(PooledBase {
            skill: spec.name.clone(),
            decl: decl.clone(),
            store: call.store.clone(),
            key: call.key.clone(),
            max_bytes: call.max_bytes,
            one_run_secrets: call.one_run_secrets.clone(),
            rev,
            doc,
            shared,
        }))
    }
}

impl PooledBase {
    /// The largest document the call may leave, for the interpreter's state directory cap.
    pub(crate) fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// Puts the document and the shared ones in `dir`, the state directory the call's
    /// interpreter was started with (through its handle: `reset` replaces whatever is at the
    /// name), ready to be settled when the call ends.
    pub(crate) fn install(self, dir: StateDir) -> Result<SessionState, String> {
        let failed = |e: std::io::Error| {
            format!(
                "cannot prepare the state of `{}` for this call: {e}; call it again",
                self.skill
            )
        };
        dir.reset(self.doc.as_deref().unwrap_or("{}"))
            .map_err(failed)?;
        dir.put_shared(&self.shared).map_err(failed)?;
        Ok(SessionState {
            skill: self.skill,
            decl: self.decl,
            store: self.store,
            key: self.key,
            max_bytes: self.max_bytes,
            one_run_secrets: self.one_run_secrets,
            dir,
            rev: self.rev,
            doc: self.doc,
            one_call: true,
        })
    }
}

impl SessionState {
    /// Commits what input `writer` left when it `ended_ok`, or puts the saved document back.
    pub(crate) fn settle(&mut self, ended_ok: bool, writer: &str) -> Settled {
        let mut out = Settled::default();
        let name = self.skill.clone();
        if !ended_ok {
            if self.dir.read_back(self.max_bytes).ok().flatten().as_deref()
                != Some(self.saved_text())
            {
                out.notes.push(if self.one_call {
                    format!("the state of `{name}` was not saved: the call did not end ok")
                } else {
                    format!(
                        "the state of `{name}` was not saved: the input did not end ok; \
                         $SKILLET_STATE holds the saved document again"
                    )
                });
            }
            self.put_back(&mut out);
            return out;
        }
        let new = match self.dir.read_back(self.max_bytes) {
            Ok(new) => new,
            Err(e) => {
                out.notes.push(format!(
                    "the {} ended ok but the state of `{name}` was not saved: {e}{}",
                    self.what(),
                    self.put_back_note()
                ));
                out.failed = true;
                self.put_back(&mut out);
                return out;
            }
        };
        let unchanged = match (&new, &self.doc) {
            (Some(n), _) => n == self.saved_text(),
            (None, None) => true,
            (None, Some(_)) => false,
        };
        if unchanged {
            return out;
        }
        if !self.one_run_secrets.is_empty() {
            out.notes.push(format!(
                "the state of `{name}` was not saved: this session was given {} for itself only \
                 (--allow-env), and saved state would carry it to later runs and to the skills \
                 that read this one's state. To keep state, grant it in the global skillet.toml \
                 instead: {}",
                self.one_run_secrets.names.join(", "),
                self.one_run_secrets.grant_hint
            ));
            self.put_back(&mut out);
            return out;
        }
        let write = StateWrite {
            doc: new.as_deref(),
            schema_version: self.decl.version,
            writer,
            ttl_ms: self
                .decl
                .ttl_days
                .map(|d| i64::from(d).saturating_mul(86_400_000)),
        };
        match self.store.commit_state(&self.key, self.rev, &write) {
            Ok(StateCommit::Committed(rev)) => {
                self.rev = rev;
                self.doc = new;
                if self.doc.is_none() {
                    // The input removed the file (cleared its state): the next one starts
                    // from an empty document, as a run would.
                    self.put_back(&mut out);
                }
            }
            Ok(StateCommit::Conflict(_)) if self.one_call => {
                out.failed = true;
                out.notes.push(format!(
                    "the state of `{name}` was not saved: another call, run or session of \
                     `{name}` saved its state while this call ran. Call it again to apply it \
                     to the newer state"
                ));
            }
            Ok(StateCommit::Conflict(_)) => {
                out.failed = true;
                out.notes.push(format!(
                    "the state of `{name}` was not saved: another run or session of `{name}` \
                     saved its state while this input ran. $SKILLET_STATE now holds what that \
                     one saved; send the input again to apply it to the newer state"
                ));
                self.refresh(&mut out);
            }
            Err(e) => {
                out.failed = true;
                out.notes.push(format!(
                    "the {} ended ok but the state of `{name}` was not saved: {e}{}",
                    self.what(),
                    self.put_back_note()
                ));
                self.put_back(&mut out);
            }
        }
        out
    }

    /// Reads the committed document again and gives it to the interpreter: after a conflict,
    /// and after a restored session's replay (what the replayed inputs wrote was saved the
    /// first time they ran).
    pub(crate) fn refresh(&mut self, out: &mut Settled) {
        match self.store.state(&self.key) {
            Ok(record) => {
                self.rev = record.as_ref().map_or(0, |r| r.rev);
                self.doc = record.and_then(|r| r.doc);
            }
            Err(e) => out.notes.push(format!(
                "the state of `{}` could not be read again ({e}); $SKILLET_STATE holds the \
                 document this session last saved",
                self.skill
            )),
        }
        self.put_back(out);
    }

    fn what(&self) -> &'static str {
        if self.one_call { "call" } else { "input" }
    }

    fn put_back_note(&self) -> &'static str {
        if self.one_call {
            ""
        } else {
            ". $SKILLET_STATE holds the saved document again"
        }
    }

    fn saved_text(&self) -> &str {
        self.doc.as_deref().unwrap_or("{}")
    }

    fn put_back(&self, out: &mut Settled) {
        if self.one_call {
            // No later input will read it: the interpreter and the directory are gone next.
            return;
        }
        if let Err(e) = self.dir.reset(self.saved_text()) {
            out.failed = true;
            out.notes.push(format!(
                "$SKILLET_STATE could not be put back to the saved state of `{}` ({e}): close \
                 this session and start a new one, which starts from the saved state",
                self.skill
            ));
        }
    }
}
