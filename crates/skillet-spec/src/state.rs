//! The `state` block: a JSON document a code skill keeps between runs (see docs/state.md).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Largest state document a skill may keep unless the user's global `skillet.toml` raises
/// `[defaults] max_state_kb`, in KiB. A skill may ask for less, never more.
pub const DEFAULT_MAX_STATE_KB: u64 = 1024;

/// State kept between runs, as a JSON document at `$SKILLET_STATE`, committed after a run that
/// ends ok.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StateSpec {
    /// Version of the document's shape. Raising it runs the `migrate` commands of the versions
    /// in between, in order, before the next run.
    #[serde(default = "first_version")]
    #[schemars(range(min = 1))]
    pub version: u32,
    /// Skills (of the same scope, and of the same package for a package skill) that may read
    /// this skill's state, read-only, at `$SKILLET_STATE_SHARED/<skill>.json`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub share_with: Vec<String>,
    /// Days a state nobody writes is kept; unset keeps it until `skillet state clear`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub ttl_days: Option<u32>,
    /// `workspace` (the default): one document per workspace. `global`: one for every
    /// workspace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<StateScope>,
    /// What happens when another run committed since this run read the state: `retry` runs it
    /// again on the new state (the default), `fail` ends it with an error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_conflict: Option<OnConflict>,
    /// Largest document, in KiB (default and most: 1024, unless the user raises the cap).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_kb: Option<u64>,
    /// Commands that lift the document from version N to N+1, keyed by N. Each runs in the
    /// sandbox with `$SKILLET_STATE` naming a copy; the old document stays until all succeed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub migrate: BTreeMap<String, Vec<String>>,
}

fn first_version() -> u32 {
    1
}

impl StateSpec {
    /// The scope the document is kept per.
    pub fn scope(&self) -> StateScope {
        self.scope.unwrap_or(StateScope::Workspace)
    }

    /// The conflict rule.
    pub fn on_conflict(&self) -> OnConflict {
        self.on_conflict.unwrap_or(OnConflict::Retry)
    }
}

/// Where one state document is kept per.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StateScope {
    /// One per workspace (its resolved path).
    Workspace,
    /// One for every workspace.
    Global,
}

/// What a run does when its state changed under it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnConflict {
    /// Run again on the newer state (a bounded number of times).
    Retry,
    /// End with an error; nothing is committed.
    Fail,
}
