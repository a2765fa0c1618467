//! Skills a long-lived process has read, kept in memory so that a call finds its skill without
//! parsing and validating the file again.
//!
//! The daemon resolves the skill of every call afresh, so an edit is seen by the next call;
//! reading the file back into a [`SkillSpec`] was most of that work. A memo answers for a file
//! only under the rules of the metadata cache (see `metadata_cache`): the same path, resolved
//! path, containing directory, device, inode, size, modification and change time, a file
//! settled for two seconds, valid, without a diagnostic, whose parse read nothing but itself.
//! Discovery itself still runs on every call: which files exist, and which one wins, is never
//! remembered. Only the parse of an unchanged file is.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use skillet_spec::{SkillFormat, SkillSpec};

use crate::discover::Candidate;
use crate::metadata_cache::{FileKey, Lookup, Stamp};
use crate::registry::load::Loaded;
use crate::summary::SkillSummary;

/// Files remembered at most; past it the memo starts over (a daemon serving many workspaces
/// re-reads, it never grows without bound).
const MAX_FILES: usize = 4_096;

/// Skills read by this process, by the identity of their files. Shared by the threads of a
/// long-lived process; see the module's documentation for when it answers.
///
/// ```
/// use skillet_registry::{Config, Environment, Registry, SpecMemo};
/// let env = Environment::from_process()?;
/// let memo = SpecMemo::default();
/// // The second call parses nothing that has not changed.
/// for _ in 0..2 {
///     let _ = Registry::discover_for_memo(&env, &Config::load(&env)?, "fmt", &memo);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default)]
pub struct SpecMemo {
    files: Mutex<HashMap<PathBuf, Remembered>>,
}

/// One file as it was read.
#[derive(Debug)]
struct Remembered {
    key: FileKey,
    declared: String,
    format: SkillFormat,
    spec: Box<SkillSpec>,
    summary: SkillSummary,
}

impl SpecMemo {
    /// What `c` loads to, when its file is unchanged since it was remembered.
    pub(crate) fn lookup(&self, c: &Candidate) -> Lookup {
        let Some((canonical, stamp, settled)) = Stamp::of(c) else {
            return Lookup::Miss(None);
        };
        let files = self.files.lock().unwrap_or_else(|p| p.into_inner());
        match files.get(&c.path) {
            Some(r) if r.key.is(c, canonical, &stamp) => Lookup::Hit(Box::new(Loaded {
                declared: Some(r.declared.clone()),
                spec: Some(r.spec.clone()),
                summary: Some(r.summary.clone()),
                format: r.format,
                diagnostics: Vec::new(),
                read: None,
            })),
            _ => Lookup::Miss(settled.then_some(stamp)),
        }
    }

    /// Remembers what `c` loaded to, when it may be (`stamp` as [`SpecMemo::lookup`] found it
    /// before the read).
    pub(crate) fn offer(&self, c: &Candidate, stamp: Option<Stamp>, loaded: &Loaded) {
        let Some(key) = FileKey::keepable(c, stamp, loaded) else {
            return;
        };
        let (Some(spec), Some(summary), Some(declared)) =
            (&loaded.spec, &loaded.summary, &loaded.declared)
        else {
            return;
        };
        let mut files = self.files.lock().unwrap_or_else(|p| p.into_inner());
        if files.len() >= MAX_FILES && !files.contains_key(&c.path) {
            files.clear();
        }
        files.insert(
            c.path.clone(),
            Remembered {
                key,
                declared: declared.clone(),
                format: loaded.format,
                spec: spec.clone(),
                summary: summary.clone(),
            },
        );
    }
}

#[cfg(test)]
mod tests;
