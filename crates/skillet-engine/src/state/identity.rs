//! Whose state a run reads and writes: the key is built from where skillet found the skill
//! (its scope, and its package for a package skill), never from what the skill file says
//! about itself beyond its name, so no skill can rename itself into another's state.

use std::path::Path;

use skillet_registry::{Registry, Scope, SkillEntry};
use skillet_spec::{SkillSpec, StateScope, StateSpec};
use skillet_store::StateKey;

use crate::policy::real_path;

/// The identity a skill's state is kept under: `workspace:NAME`, `global:NAME`, or
/// `package:SCOPE:PACKAGE/NAME` for a skill of an installed package.
pub fn state_owner(entry: &SkillEntry) -> String {
    match &entry.package {
        Some(p) => format!("package:{}:{}/{}", p.scope, p.name, entry.name),
        None => format!("{}:{}", entry.scope, entry.name),
    }
}

/// Where a skill's state is kept, when it declares one: per resolved workspace path, or
/// once for every workspace when it asks for `"scope": "global"` and is the user's own (a
/// global skill, or a skill of a package installed globally). A workspace skill's state is
/// always its workspace's: a cloned repository must not reach a document another repository's
/// skill of the same name keeps.
pub fn state_key(entry: &SkillEntry, workspace: &Path) -> Option<StateKey> {
    let decl = entry.spec.as_ref()?.state.as_ref()?;
    Some(StateKey {
        owner: state_owner(entry),
        workspace: if global_state(entry, decl) {
            String::new()
        } else {
            state_key_workspace(workspace)
        },
    })
}

/// The workspace part of a state key: the workspace's resolved path.
pub fn state_key_workspace(workspace: &Path) -> String {
    real_path(workspace).to_string_lossy().into_owned()
}

/// Whether `decl` asks for one document for every workspace and `entry` may have it.
pub(crate) fn global_state(entry: &SkillEntry, decl: &StateSpec) -> bool {
    let users_own = entry.package.as_ref().map_or(entry.scope, |p| p.scope) == Scope::Global;
    decl.scope() == StateScope::Global && users_own
}

/// Whether `entry` asked for global state and is held to its workspace's instead.
pub(crate) fn global_refused(entry: &SkillEntry) -> bool {
    entry
        .spec
        .as_ref()
        .and_then(|s| s.state.as_ref())
        .is_some_and(|d| d.scope() == StateScope::Global && !global_state(entry, d))
}

/// The skills whose state `reader` may read, with their keys: those that list it in
/// `share_with` and live in the same place (see [`sharers`]).
pub(crate) fn shares(
    registry: &Registry,
    reader: &SkillEntry,
    workspace: &Path,
) -> Vec<(String, StateKey)> {
    sharers(registry, reader, |s| {
        s.state.as_ref().map(|d| &d.share_with)
    })
    .into_iter()
    .filter_map(|e| Some((e.name.clone(), state_key(e, workspace)?)))
    .collect()
}

/// The skills that share something with `reader` (their `share_with`, as `listed` reads it
/// from a skill file, names it) and live in the same place (same scope, same package or
/// none). A share names a skill in the sharer's own namespace, so a skill of another scope
/// that takes the reader's name (a workspace skill shadowing a global one) does not receive
/// it. The one rule for state and channels.
pub(crate) fn sharers<'r>(
    registry: &'r Registry,
    reader: &SkillEntry,
    listed: fn(&SkillSpec) -> Option<&Vec<String>>,
) -> Vec<&'r SkillEntry> {
    let package = |e: &SkillEntry| e.package.as_ref().map(|p| (p.scope, p.name.clone()));
    registry
        .entries()
        .iter()
        .filter(|e| e.is_valid() && e.name != reader.name)
        .filter(|e| e.scope == reader.scope && package(e) == package(reader))
        // Only the skill its name answers to: a shadowed file shares nothing.
        .filter(|e| registry.resolve(&e.name).is_some_and(|r| r.path == e.path))
        .filter(|e| {
            e.spec
                .as_ref()
                .and_then(|s| listed(s))
                .is_some_and(|names| names.iter().any(|n| n == &reader.name))
        })
        .collect()
}
