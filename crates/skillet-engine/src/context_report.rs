//! A skill's context selection for one call, with what changed since the skill's last one.
//!
//! The store keeps each file's size, modification time and digest from the last selection. A
//! file whose size and time are unchanged keeps its digest without being read again; any other
//! is hashed and compared, so a file saved without changes is told apart from one that changed.

use std::io::Read as _;
use std::path::Path;

use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use skillet_registry::Registry;
use skillet_store::IndexedFile;

use crate::context::{ContextError, ContextSelection, select_context};
use crate::engine::Engine;
use crate::hint::Hint;
use crate::params::resolve_params;
use crate::policy::PolicyError;

/// How a chosen file compares with the skill's last selection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileChange {
    /// Not in the last selection.
    New,
    /// Its bytes differ.
    Changed,
    /// Saved again with the same bytes.
    Touched,
    /// As it was.
    Unchanged,
}

/// The files chosen for a call and what changed since the last selection.
#[derive(Debug, Clone, Serialize)]
pub struct ContextReport {
    /// The skill.
    pub skill: String,
    /// The selection.
    #[serde(flatten)]
    pub selection: ContextSelection,
    /// For each chosen file, in the same order, how it compares with the last selection
    /// (`None` when there is no history to compare with).
    pub changes: Vec<Option<FileChange>>,
    /// Files of the last selection that are not chosen now.
    pub dropped: Vec<String>,
    /// Estimated tokens of the chosen text (4 bytes a token).
    pub tokens: u64,
    /// The skill's token budget, if it sets one.
    pub max_context_tokens: Option<u64>,
    /// Why the comparison could not be made or kept, if it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

/// Why a context could not be chosen.
#[derive(Debug, thiserror::Error)]
pub enum ContextRequestError {
    /// No usable skill by that name.
    #[error("no usable skill named `{0}`")]
    NoSkill(String),
    /// The skill cannot be used here.
    #[error("{0}")]
    Skill(String),
    /// The skill reads no project files.
    #[error("`{0}` has no context_files; only skills that declare them read project files")]
    NoContext(String),
    /// The parameter values do not fit.
    #[error("{}", .0.join("\n"))]
    InvalidParams(Vec<String>),
    /// The patterns are unusable.
    #[error(transparent)]
    Select(#[from] ContextError),
    /// There is no workspace to choose from.
    #[error(transparent)]
    Policy(#[from] PolicyError),
}

impl ContextRequestError {
    /// What would get the request through; each interface says it in its own words.
    pub fn hint(&self) -> Option<Hint> {
        match self {
            ContextRequestError::NoSkill(_) => Some(Hint::ListSkills),
            ContextRequestError::Policy(e) => e.hint(),
            _ => None,
        }
    }
}

impl Engine {
    /// Chooses the context files of the skill `name` for a call with `params`, compares them
    /// with the skill's last selection, and keeps this one for the next comparison.
    pub fn context(
        &self,
        registry: &Registry,
        name: &str,
        params: &Map<String, Value>,
        caller_dir: &Path,
    ) -> Result<ContextReport, ContextRequestError> {
        let spec = registry
            .resolve(name)
            .filter(|e| e.is_valid())
            .and_then(|e| e.spec.as_ref())
            .ok_or_else(|| ContextRequestError::NoSkill(name.to_owned()))?;
        let wanted = spec
            .context_files
            .as_ref()
            .ok_or_else(|| ContextRequestError::NoContext(spec.name.clone()))?;
        let values =
            resolve_params(spec, params, caller_dir).map_err(ContextRequestError::InvalidParams)?;
        let named: Vec<String> = values.values().map(|v| v.to_text()).collect();
        let named: Vec<&str> = named.iter().map(String::as_str).collect();
        let root = self.context_root(caller_dir)?;
        let selection = select_context(wanted, &root, &named)?;
        let tokens = selection
            .files
            .iter()
            .map(|f| (f.text.len() as u64).div_ceil(crate::context::BYTES_PER_TOKEN))
            .sum();
        let mut report = ContextReport {
            skill: spec.name.clone(),
            changes: vec![None; selection.files.len()],
            selection,
            dropped: Vec::new(),
            tokens,
            max_context_tokens: wanted.max_context_tokens,
            warning: None,
        };
        if let Some(store) = &self.settings.store {
            let tracked = store
                .context_index(&spec.name)
                .map_err(|e| e.to_string())
                .and_then(|previous: Vec<IndexedFile>| {
                    let next = compare(&mut report, &previous);
                    store
                        .replace_context_index(&spec.name, &next)
                        .map_err(|e| e.to_string())
                });
            if let Err(e) = tracked {
                report.warning = Some(format!("changes since the last run are not known: {e}"));
            }
        }
        Ok(report)
    }
}

/// Fills in `report`'s changes against `previous` and returns the index to keep.
fn compare(report: &mut ContextReport, previous: &[IndexedFile]) -> Vec<IndexedFile> {
    let had_history = !previous.is_empty();
    let mut next = Vec::with_capacity(report.selection.files.len());
    for (file, change) in report.selection.files.iter().zip(report.changes.iter_mut()) {
        let size = i64::try_from(file.size).unwrap_or(i64::MAX);
        let before = previous.iter().find(|p| p.path == file.path);
        let (digest, what) = match before {
            Some(b) if b.size == size && b.modified_ms == file.modified_ms => {
                (b.digest.clone(), FileChange::Unchanged)
            }
            _ => {
                let digest = digest_of(&file.absolute).unwrap_or_default();
                let what = match before {
                    None => FileChange::New,
                    Some(b) if b.digest == digest => FileChange::Touched,
                    Some(_) => FileChange::Changed,
                };
                (digest, what)
            }
        };
        *change = had_history.then_some(what);
        next.push(IndexedFile {
            path: file.path.clone(),
            size,
            modified_ms: file.modified_ms,
            digest,
        });
    }
    report.dropped = previous
        .iter()
        .filter(|p| !report.selection.files.iter().any(|f| f.path == p.path))
        .map(|p| p.path.clone())
        .collect();
    next
}

fn digest_of(path: &Path) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    // The file was chosen a moment ago; if it has since become a link, a FIFO or a device,
    // it is not hashed (and never waited on).
    let fd = rustix::fs::open(
        path,
        rustix::fs::OFlags::RDONLY
            | rustix::fs::OFlags::CLOEXEC
            | rustix::fs::OFlags::NOCTTY
            | rustix::fs::OFlags::NONBLOCK
            | rustix::fs::OFlags::NOFOLLOW,
        rustix::fs::Mode::empty(),
    )?;
    let mut file = std::fs::File::from(fd);
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let mut buf = [0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(format!("sha256:{:x}", hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::ContextFile;

    #[test]
    fn a_file_turned_into_a_fifo_or_a_link_is_not_hashed_or_waited_on() {
        let t = tempfile::tempdir().unwrap();
        let fifo = t.path().join("f.rs");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        assert!(digest_of(&fifo).is_err());
        std::fs::write(t.path().join("real.rs"), "x").unwrap();
        std::os::unix::fs::symlink(t.path().join("real.rs"), t.path().join("l.rs")).unwrap();
        assert!(digest_of(&t.path().join("l.rs")).is_err());
        assert!(
            digest_of(&t.path().join("real.rs"))
                .unwrap()
                .starts_with("sha256:")
        );
    }

    fn report(files: &[(&str, u64, i64)]) -> ContextReport {
        let files = files
            .iter()
            .map(|(path, size, modified_ms)| ContextFile {
                path: (*path).to_owned(),
                // Nowhere: a file that is read shows up as an empty digest.
                absolute: Path::new("/nonexistent/skillet-test").join(path),
                size: *size,
                modified_ms: *modified_ms,
                why: "matched",
                text: String::new(),
                truncated_lines: None,
            })
            .collect::<Vec<_>>();
        ContextReport {
            skill: "s".into(),
            changes: vec![None; files.len()],
            selection: ContextSelection {
                files,
                skipped: Vec::new(),
            },
            dropped: Vec::new(),
            tokens: 0,
            max_context_tokens: None,
            warning: None,
        }
    }

    fn indexed(path: &str, size: i64, modified_ms: i64, digest: &str) -> IndexedFile {
        IndexedFile {
            path: path.into(),
            size,
            modified_ms,
            digest: digest.into(),
        }
    }

    #[test]
    fn unchanged_files_keep_their_digest_without_being_read() {
        let previous = [
            indexed("same.rs", 10, 1000, "sha256:aa"),
            indexed("moved.rs", 10, 1000, "sha256:bb"),
            indexed("gone.rs", 1, 1, "sha256:cc"),
        ];
        let mut r = report(&[
            ("same.rs", 10, 1000),
            ("moved.rs", 10, 2000),
            ("new.rs", 5, 5),
        ]);
        let next = compare(&mut r, &previous);
        assert_eq!(next[0].digest, "sha256:aa", "not re-read");
        assert_eq!(
            r.changes,
            [
                Some(FileChange::Unchanged),
                Some(FileChange::Changed),
                Some(FileChange::New)
            ]
        );
        assert_eq!(r.dropped, ["gone.rs"]);
    }

    #[test]
    fn without_history_nothing_is_called_new() {
        let mut r = report(&[("a.rs", 1, 1)]);
        compare(&mut r, &[]);
        assert_eq!(r.changes, [None]);
    }
}
