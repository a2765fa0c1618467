//! Skills a long-lived process has read, kept in memory so that a call finds its skill without
//! parsing and validating the file again.
//!
//! The daemon resolves the skill of every call afresh, so an edit is seen by the next call;
//! parsing the file into a [`SkillSpec`] and validating it was most of that work. Every call
//! still finds the files (which exist, which one wins) and reads the one it needs, by the same
//! handle-based read as always; only when the text read is byte for byte the text last parsed
//! at that path (compared by SHA-256) is the parse reused. Times, sizes and inodes are not
//! trusted for this: a write through a shared `mmap` can change a file and leave all of them as
//! they were. Only what the metadata cache would keep is kept: a valid file without a
//! diagnostic, in a format whose parse reads nothing but the file.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use sha2::{Digest, Sha256};
use skillet_spec::{SkillFormat, SkillSpec};

use crate::discover::Candidate;
use crate::registry::load::Loaded;
use crate::summary::SkillSummary;

/// Files remembered at most; past it the memo starts over (a daemon serving many workspaces
/// re-reads, it never grows without bound).
const MAX_FILES: usize = 4_096;

/// Skills read by this process, by path and content. Shared by the threads of a long-lived
/// process; see the module's documentation for when it answers.
///
/// ```
/// use skillet_registry::{Config, Environment, Registry, SpecMemo};
/// let env = Environment::from_process()?;
/// let memo = SpecMemo::default();
/// // The second call parses nothing whose text has not changed.
/// for _ in 0..2 {
///     let _ = Registry::discover_for_memo(&env, &Config::load(&env)?, "fmt", &memo);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default)]
pub struct SpecMemo {
    files: Mutex<HashMap<PathBuf, Remembered>>,
}

/// One file's text, as its digest, and what it loaded to.
#[derive(Debug)]
struct Remembered {
    within: Option<PathBuf>,
    digest: [u8; 32],
    format: SkillFormat,
    spec: Box<SkillSpec>,
    summary: SkillSummary,
}

impl SpecMemo {
    /// Reads `c` now and loads it, reusing the last parse of the same text at the same path.
    pub(crate) fn load(&self, c: &Candidate) -> Loaded {
        let (text, read) = match skillet_spec::read_skill_file(&c.path, c.within.as_deref()) {
            Ok(read) => read,
            Err(failed) => {
                return Loaded::from_skill(failed, None, crate::registry::load::Keep::Specs);
            }
        };
        let digest: [u8; 32] = Sha256::digest(text.as_bytes()).into();
        if let Some(hit) = self.recall(c, &digest) {
            return Loaded {
                read: Some(read),
                ..hit
            };
        }
        let loaded = Loaded::from_skill(
            skillet_spec::load_skill_text(&c.path, &text),
            Some(read),
            crate::registry::load::Keep::Specs,
        );
        self.keep(c, digest, &loaded);
        loaded
    }

    fn recall(&self, c: &Candidate, digest: &[u8; 32]) -> Option<Loaded> {
        let files = self.files.lock().unwrap_or_else(|p| p.into_inner());
        let r = files
            .get(&c.path)
            .filter(|r| r.digest == *digest && r.within == c.within)?;
        Some(Loaded {
            // A valid skill declares the name it has.
            declared: Some(r.spec.name.clone()),
            spec: Some(r.spec.clone()),
            summary: Some(r.summary.clone()),
            format: r.format,
            diagnostics: Vec::new(),
            read: None,
        })
    }

    fn keep(&self, c: &Candidate, digest: [u8; 32], loaded: &Loaded) {
        if !crate::metadata_cache::reusable(loaded) {
            return;
        }
        let (Some(spec), Some(summary)) = (&loaded.spec, &loaded.summary) else {
            return;
        };
        let mut files = self.files.lock().unwrap_or_else(|p| p.into_inner());
        if files.len() >= MAX_FILES && !files.contains_key(&c.path) {
            files.clear();
        }
        files.insert(
            c.path.clone(),
            Remembered {
                within: c.within.clone(),
                digest,
                format: loaded.format,
                spec: spec.clone(),
                summary: summary.clone(),
            },
        );
    }
}

#[cfg(test)]
mod tests;
