//! Choosing a skill's context files: the project files a `conversation` skill is fed with.
//!
//! The walk is ripgrep's (`ignore`): `.gitignore`, `.ignore` and hidden files are respected.
//! `patterns` and `exclude` are globs relative to the workspace root. A file is left out, with
//! the reason kept, when it looks binary (a NUL byte in its first 8 KiB), is over
//! `max_file_size_kb`, or would go past `max_files` or `max_total_kb`. Files are taken in path
//! order, so the same tree always gives the same selection. Symbolic links are not followed, so
//! nothing outside the workspace is read.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::Serialize;
use skillet_spec::ContextFiles;

/// Files taken when the skill sets no `max_files`.
pub const DEFAULT_MAX_FILES: u32 = 20;
/// Largest file taken when the skill sets no `max_file_size_kb`.
pub const DEFAULT_MAX_FILE_SIZE_KB: u64 = 100;
/// Largest total when the skill sets no `max_total_kb`.
pub const DEFAULT_MAX_TOTAL_KB: u64 = 400;

/// Bytes looked at to decide whether a file is text.
const SNIFF_BYTES: usize = 8192;

/// The files chosen for a skill, and those left out.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ContextSelection {
    /// Chosen files, in order.
    pub files: Vec<ContextFile>,
    /// Matching files that were left out, and why.
    pub skipped: Vec<SkippedFile>,
}

/// One chosen file.
#[derive(Debug, Clone, Serialize)]
pub struct ContextFile {
    /// Relative to the workspace root, `/`-separated.
    pub path: String,
    /// Absolute.
    pub absolute: PathBuf,
    /// Its text.
    pub text: String,
}

/// One file left out.
#[derive(Debug, Clone, Serialize)]
pub struct SkippedFile {
    /// Relative to the workspace root.
    pub path: String,
    /// Why: `binary`, `too_large`, `max_files`, `max_total_kb`, `unreadable`.
    pub reason: &'static str,
}

/// Why the context could not be chosen at all.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    /// A pattern is not a valid glob.
    #[error("context_files pattern {pattern:?} is not a valid glob: {source}")]
    Pattern {
        /// The pattern.
        pattern: String,
        /// The parser's message.
        source: globset::Error,
    },
    /// A pattern reaches outside the workspace.
    #[error(
        "context_files pattern {0:?} reaches outside the workspace; patterns are relative to the workspace root"
    )]
    Outside(String),
}

/// Chooses the files `spec` asks for below `root`.
///
/// ```no_run
/// # fn f(spec: &skillet_spec::ContextFiles) -> Result<(), skillet_engine::ContextError> {
/// let chosen = skillet_engine::select_context(spec, std::path::Path::new("/src/project"))?;
/// for file in &chosen.files {
///     println!("{} ({} bytes)", file.path, file.text.len());
/// }
/// # Ok(()) }
/// ```
pub fn select_context(spec: &ContextFiles, root: &Path) -> Result<ContextSelection, ContextError> {
    let include = globs(&spec.patterns)?;
    let exclude = globs(&spec.exclude)?;
    let max_files = spec.max_files.unwrap_or(DEFAULT_MAX_FILES) as usize;
    let max_file = spec.max_file_size_kb.unwrap_or(DEFAULT_MAX_FILE_SIZE_KB) * 1024;
    let max_total = spec.max_total_kb.unwrap_or(DEFAULT_MAX_TOTAL_KB) * 1024;

    let mut candidates: Vec<(String, PathBuf, u64)> = ignore::WalkBuilder::new(root)
        .follow_links(false)
        .require_git(false)
        .build()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_some_and(|t| t.is_file()))
        .filter_map(|e| {
            let relative = e.path().strip_prefix(root).ok()?.to_str()?.to_owned();
            (include.is_match(&relative) && !exclude.is_match(&relative)).then(|| {
                let size = e.metadata().map_or(0, |m| m.len());
                (relative, e.path().to_path_buf(), size)
            })
        })
        .collect();
    candidates.sort();

    let mut selection = ContextSelection::default();
    let mut total = 0u64;
    for (path, absolute, size) in candidates {
        let skip = |reason| SkippedFile {
            path: path.clone(),
            reason,
        };
        if size > max_file {
            selection.skipped.push(skip("too_large"));
            continue;
        }
        if selection.files.len() >= max_files {
            selection.skipped.push(skip("max_files"));
            continue;
        }
        if total + size > max_total {
            selection.skipped.push(skip("max_total_kb"));
            continue;
        }
        match read_text(&absolute, max_file) {
            Ok(Some(text)) => {
                total += text.len() as u64;
                selection.files.push(ContextFile {
                    path,
                    absolute,
                    text,
                });
            }
            Ok(None) => selection.skipped.push(skip("binary")),
            Err(_) => selection.skipped.push(skip("unreadable")),
        }
    }
    Ok(selection)
}

fn globs(patterns: &[String]) -> Result<GlobSet, ContextError> {
    let mut set = GlobSetBuilder::new();
    for pattern in patterns {
        let trimmed = pattern.trim_start_matches("./");
        if Path::new(trimmed).is_absolute() || trimmed.split('/').any(|part| part == "..") {
            return Err(ContextError::Outside(pattern.clone()));
        }
        let glob = Glob::new(trimmed).map_err(|source| ContextError::Pattern {
            pattern: pattern.clone(),
            source,
        })?;
        set.add(glob);
    }
    set.build().map_err(|source| ContextError::Pattern {
        pattern: patterns.join(", "),
        source,
    })
}

/// The file's text, or `None` when it looks binary. Reads at most `limit` bytes: the size seen
/// by the walk may be stale.
fn read_text(path: &Path, limit: u64) -> std::io::Result<Option<String>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(limit)
        .read_to_end(&mut bytes)?;
    if bytes[..bytes.len().min(SNIFF_BYTES)].contains(&0) {
        return Ok(None);
    }
    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(patterns: &[&str], exclude: &[&str]) -> ContextFiles {
        ContextFiles {
            patterns: patterns.iter().map(|p| p.to_string()).collect(),
            exclude: exclude.iter().map(|p| p.to_string()).collect(),
            max_files: Some(3),
            max_file_size_kb: Some(1),
            max_total_kb: None,
        }
    }

    #[test]
    fn respects_gitignore_limits_and_binary_files() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        for (path, body) in [
            ("src/a.rs", "a".repeat(10)),
            ("src/b.rs", "b".repeat(10)),
            ("src/big.rs", "x".repeat(2000)),
            ("src/gen/ignored.rs", "i".into()),
            ("src/skip.rs", "s".into()),
            ("src/z.rs", "z".into()),
            ("src/zz.rs", "zz".into()),
            (".hidden/h.rs", "h".into()),
        ] {
            std::fs::create_dir_all(root.join(path).parent().unwrap()).unwrap();
            std::fs::write(root.join(path), body).unwrap();
        }
        std::fs::write(root.join("src/bin.rs"), b"\x00\x01").unwrap();
        std::fs::write(root.join(".gitignore"), "src/gen/\n").unwrap();

        let chosen = select_context(&spec(&["**/*.rs"], &["src/skip.rs"]), root).unwrap();
        let paths: Vec<_> = chosen.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["src/a.rs", "src/b.rs", "src/z.rs"]);
        let skipped: Vec<_> = chosen
            .skipped
            .iter()
            .map(|s| (s.path.as_str(), s.reason))
            .collect();
        assert_eq!(
            skipped,
            [
                ("src/big.rs", "too_large"),
                ("src/bin.rs", "binary"),
                ("src/zz.rs", "max_files")
            ]
        );
    }

    #[test]
    fn patterns_cannot_leave_the_workspace() {
        let t = tempfile::tempdir().unwrap();
        for bad in ["../**", "/etc/*", "a/../../x"] {
            let err = select_context(&spec(&[bad], &[]), t.path()).unwrap_err();
            assert!(matches!(err, ContextError::Outside(_)), "{bad}: {err}");
        }
    }
}
