//! Keeping the last good version of a skill whose file broke: a server or `skillet dev` that
//! reloads while an author is typing must not lose a skill to a half-written file.
//!
//! Only a file that is still there and now fails to load is answered by its previous version;
//! a deleted file removes its skill, and a package file whose content no longer matches its
//! install record is never kept (that error comes from discovery, not from the file's text).
//! Checks across skills (aliases, fallbacks, dependencies) run again on the kept version, as
//! on any other.

use std::path::PathBuf;

use serde::Serialize;
use skillet_spec::{Diagnostic, Severity};

use super::{Keep, Loaded, Registry, Reuse, SkillEntry};
use crate::config::Config;
use crate::discover::Candidate;
use crate::layout::{Environment, SkillDir, skill_dirs};

/// A skill answered by its last good version because its file is broken now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeptSkill {
    /// The skill's name, as the last good version declares it.
    pub name: String,
    /// The skill file that is broken now.
    pub path: PathBuf,
    /// What is wrong with the file now, as `skillet validate` says it.
    pub errors: Vec<Diagnostic>,
}

impl Registry {
    /// Discovers every skill like [`Registry::discover`], except that a skill file that is
    /// broken now but was valid in `previous` keeps the version `previous` has (see
    /// [`Registry::kept`]).
    pub fn discover_keeping(env: &Environment, config: &Config, previous: &Registry) -> Registry {
        let dirs = skill_dirs(env, &config.workspace_skill_dirs, &config.global_skill_dirs);
        Registry::from_dirs_keeping(dirs, previous)
    }

    /// [`Registry::from_dirs`], keeping the last good version of a broken file from
    /// `previous`.
    pub fn from_dirs_keeping(dirs: Vec<SkillDir>, previous: &Registry) -> Registry {
        Registry::load_dirs(dirs, Some(previous), Keep::Specs, Reuse::Nothing)
    }

    /// The skills answered by their last good version, because their file is broken now.
    pub fn kept(&self) -> &[KeptSkill] {
        &self.kept
    }
}

/// Replaces each load of a broken file that `previous` had valid with that valid version.
pub(super) fn substitute(
    previous: &Registry,
    candidates: &[(usize, Candidate)],
    loaded: &mut [Box<Loaded>],
) -> Vec<KeptSkill> {
    let mut kept = Vec::new();
    for ((_, candidate), load) in candidates.iter().zip(loaded.iter_mut()) {
        let broken = load.spec.is_none() || load.diagnostics.iter().any(Diagnostic::is_error);
        // An error found before loading (a package's file changed since install) is not a
        // half-written edit: the old version must not outlive it.
        if !broken || candidate.warnings.iter().any(Diagnostic::is_error) {
            continue;
        }
        let Some((last, spec)) = previous
            .entries
            .iter()
            .filter(|e: &&SkillEntry| e.path == candidate.path && e.is_valid())
            .find_map(|e| Some((e, e.spec.as_ref()?)))
        else {
            continue;
        };
        let errors: Vec<Diagnostic> = load
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| match d.file {
                Some(_) => d.clone(),
                None => d.clone().in_file(&candidate.path),
            })
            .collect();
        let diagnostics = errors
            .iter()
            .map(|e| Diagnostic {
                severity: Severity::Warning,
                message: format!(
                    "the file is broken now, so its last good version is still used: {}",
                    e.message
                ),
                ..e.clone()
            })
            .collect();
        kept.push(KeptSkill {
            name: spec.name.clone(),
            path: candidate.path.clone(),
            errors,
        });
        **load = Loaded {
            declared: Some(spec.name.clone()),
            spec: Some(spec.clone()),
            summary: last.summary.clone(),
            format: last.format,
            diagnostics,
            read: None,
        };
    }
    kept
}
