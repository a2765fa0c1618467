//! Skill state: one JSON document per skill identity and workspace, replaced only by a
//! compare-and-swap on its revision, so two runs that read the same revision cannot both commit.

use serde::Serialize;

/// Which document: whose (the skill's identity, built by the engine from its scope, package and
/// name) and where (the workspace's resolved path, or empty for state kept for every workspace).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct StateKey {
    /// The skill's identity, e.g. `workspace:count` or `package:tools/count`.
    pub owner: String,
    /// The workspace's resolved path; empty for a skill whose state is global.
    pub workspace: String,
}

/// A stored document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StateRecord {
    /// Whose and where.
    #[serde(flatten)]
    pub key: StateKey,
    /// The JSON document; `None` once cleared or expired (the row stays, so its revision
    /// keeps growing and a run that read an older one still meets a conflict).
    pub doc: Option<String>,
    /// The revision: 0 when nothing was ever written, then one more per commit.
    pub rev: i64,
    /// The version of the document's shape (the skill's `state.version` that wrote it).
    pub schema_version: u32,
    /// When it was last written, in ms since the epoch.
    pub updated_at_ms: i64,
    /// What last wrote it: an execution id, or `cli`.
    pub writer: String,
    /// When it expires unless written again (the skill's `ttl_days`), in ms since the epoch.
    pub expires_at_ms: Option<i64>,
}

/// One commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateWrite<'a> {
    /// The new document; `None` clears it.
    pub doc: Option<&'a str>,
    /// The version of its shape.
    pub schema_version: u32,
    /// What writes it: an execution id, or `cli`.
    pub writer: &'a str,
    /// How long it lives unless written again, in ms; `None` for ever.
    pub ttl_ms: Option<i64>,
}

/// What a commit did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateCommit {
    /// Written; this is its new revision.
    Committed(i64),
    /// Not written: the document is at this revision now, not the one the writer read.
    Conflict(i64),
}

/// Skill state in the store. Every store implements it; [`crate::Store`] requires it.
pub trait StateStore {
    /// The document at `key`; a cleared or expired one has no `doc` but keeps its revision.
    fn state(&self, key: &StateKey) -> Result<Option<StateRecord>, crate::StoreError>;
    /// Writes `write` at `key` if its revision is still `read_rev` (0: nothing there yet), as
    /// one atomic step across every process sharing the store.
    fn commit_state(
        &self,
        key: &StateKey,
        read_rev: i64,
        write: &StateWrite<'_>,
    ) -> Result<StateCommit, crate::StoreError>;
    /// Every live (not cleared, not expired) document of `workspace` and of no workspace, by
    /// owner; only `owner`'s when given.
    fn states(
        &self,
        workspace: &str,
        owner: Option<&str>,
    ) -> Result<Vec<StateRecord>, crate::StoreError>;
}
