//! Choosing a skill's context files: the project files a `conversation` skill is fed with.
//!
//! The walk is ripgrep's (`ignore`): `.gitignore` and `.ignore` are respected, and hidden files
//! and directories (`.git` among them) are never read, even where an ignore file whitelists
//! them.
//! `patterns` and `exclude` are globs relative to the workspace root. A file is left out, with
//! the reason kept, when it holds credentials by convention ([`is_secret_file`](crate::is_secret_file): `.env`,
//! private keys, keystores, credential files), looks binary (a NUL byte in its first 8 KiB), is over
//! `max_file_size_kb`, or would go past `max_files` or `max_total_kb`. Symbolic links are not
//! followed, so nothing outside the workspace is read.
//!
//! Files are taken in order of relevance, and the order is total, so the same tree gives the
//! same selection:
//!
//! 1. explicit paths (a pattern with no glob characters), in the order the skill lists them;
//! 2. files named by a parameter value (its path relative to the workspace, its absolute path,
//!    or, for a bare name, its file name);
//! 3. files modified in the last 24 hours;
//! 4. the rest.
//!
//! Within 3 and 4: shallower paths first, then the more recently modified, then by path.
//!
//! `max_context_tokens` (estimated at 4 bytes a token) cuts the file that crosses it at a line
//! boundary, marked `… [truncated: N more lines]`, and leaves out every file after it.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::credentials::is_secret_file;
use serde::Serialize;
use skillet_spec::ContextFiles;

mod walk;

use walk::{CollectorBuilder, Matcher};

/// Files taken when the skill sets no `max_files`.
pub const DEFAULT_MAX_FILES: u32 = 20;
/// Largest file taken when the skill sets no `max_file_size_kb`.
pub const DEFAULT_MAX_FILE_SIZE_KB: u64 = 100;
/// Largest total when the skill sets no `max_total_kb`.
pub const DEFAULT_MAX_TOTAL_KB: u64 = 400;

/// Bytes looked at to decide whether a file is text.
const SNIFF_BYTES: usize = 8192;

/// Bytes per token, for the estimate `max_context_tokens` is checked against.
pub const BYTES_PER_TOKEN: u64 = 4;

/// How recent a change must be to count as recent.
const RECENT: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

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
    /// Its size on disk, in bytes.
    pub size: u64,
    /// Last modification, in milliseconds since the Unix epoch.
    pub modified_ms: i64,
    /// Why it ranked where it did: `explicit`, `named`, `recent` or `matched`.
    pub why: &'static str,
    /// Its text, cut (and marked) when it crossed the token budget.
    #[serde(skip)]
    pub text: String,
    /// Lines left out at the token budget.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncated_lines: Option<usize>,
}

/// One file left out.
#[derive(Debug, Clone, Serialize)]
pub struct SkippedFile {
    /// Relative to the workspace root.
    pub path: String,
    /// Why: `secret`, `binary`, `too_large`, `max_files`, `max_total_kb`, `token_budget`,
    /// `unreadable`.
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

/// Whether a walked entry is hidden (`.git`, `.env`, `.cache`) or a bare repository
/// (`backup.git/`, whose `config` holds its remotes as `.git/config` does).
fn hidden_or_git(e: &ignore::DirEntry) -> bool {
    let name = e.file_name().as_encoded_bytes();
    name.starts_with(b".") || (name.ends_with(b".git") && e.file_type().is_some_and(|t| t.is_dir()))
}

/// Chooses the files `spec` asks for below `root`; `named` are the call's parameter values,
/// which lift the files they name (see the module documentation for the order).
///
/// ```no_run
/// # fn f(spec: &skillet_spec::ContextFiles) -> Result<(), skillet_engine::ContextError> {
/// let chosen = skillet_engine::select_context(spec, std::path::Path::new("/src/project"), &[])?;
/// for file in &chosen.files {
///     println!("{} ({} bytes, {})", file.path, file.size, file.why);
/// }
/// # Ok(()) }
/// ```
pub fn select_context(
    spec: &ContextFiles,
    root: &Path,
    named: &[&str],
) -> Result<ContextSelection, ContextError> {
    // Every path below is the walk root plus what the walk found; the root is resolved first,
    // and files are opened beneath it without following any symlink (see `read_text`).
    let real_root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let root = real_root.as_path();
    let include = globs(&spec.patterns)?;
    let exclude = globs(&spec.exclude)?;
    let explicit: Vec<&str> = spec
        .patterns
        .iter()
        .map(|p| p.trim_start_matches("./"))
        .filter(|p| !p.contains(['*', '?', '[', '{']))
        .collect();
    let max_files = spec.max_files.unwrap_or(DEFAULT_MAX_FILES) as usize;
    let max_file = spec.max_file_size_kb.unwrap_or(DEFAULT_MAX_FILE_SIZE_KB) * 1024;
    let max_total = spec.max_total_kb.unwrap_or(DEFAULT_MAX_TOTAL_KB) * 1024;
    let mut tokens_left = spec.max_context_tokens;

    let now = std::time::SystemTime::now();
    // ripgrep's parallel walker: on a large tree the walk is nearly all of the time, and
    // `rg --files` (the yardstick in docs/performance.md) walks in parallel too. The order
    // threads find files in does not matter: candidates are sorted below.
    let found = Mutex::new(Vec::new());
    let named: Vec<String> = named
        .iter()
        .map(|n| {
            let n = Path::new(n.trim_start_matches("./"));
            let n = n.strip_prefix(root).unwrap_or(n);
            n.to_string_lossy().into_owned()
        })
        .collect();
    let matcher = Matcher {
        root: root.as_os_str().as_encoded_bytes(),
        include: &include,
        exclude: &exclude,
        explicit: &explicit,
        named: &named,
        now,
    };
    ignore::WalkBuilder::new(root)
        .follow_links(false)
        .require_git(false)
        // Hidden entries and git directories are never walked, whatever the repository's own
        // ignore files say: a `.ignore` line `!.git` overrides the walker's own hidden check,
        // and would send `.git/config` (a remote's token) to the model.
        .filter_entry(|e| e.depth() == 0 || !hidden_or_git(e))
        .build_parallel()
        .visit(&mut CollectorBuilder {
            matcher: &matcher,
            found: &found,
        });
    let mut candidates = found.into_inner().unwrap_or_else(PoisonError::into_inner);
    candidates.sort_by(|a, b| a.key().cmp(&b.key()));

    let mut selection = ContextSelection::default();
    let mut total = 0u64;
    for c in candidates {
        let skip = |reason| SkippedFile {
            path: c.path.clone(),
            reason,
        };
        if is_secret_file(&c.path) {
            selection.skipped.push(skip("secret"));
            continue;
        }
        if c.size > max_file {
            selection.skipped.push(skip("too_large"));
            continue;
        }
        if selection.files.len() >= max_files {
            selection.skipped.push(skip("max_files"));
            continue;
        }
        if total + c.size > max_total {
            selection.skipped.push(skip("max_total_kb"));
            continue;
        }
        if tokens_left == Some(0) {
            selection.skipped.push(skip("token_budget"));
            continue;
        }
        let absolute = root.join(&c.path);
        let mut text = match read_text(root, Path::new(&c.path), max_file) {
            Ok(Some(text)) => text,
            Ok(None) => {
                selection.skipped.push(skip("binary"));
                continue;
            }
            Err(_) => {
                selection.skipped.push(skip("unreadable"));
                continue;
            }
        };
        let mut truncated_lines = None;
        if let Some(left) = tokens_left.as_mut() {
            let budget = (*left * BYTES_PER_TOKEN) as usize;
            if text.len() > budget {
                truncated_lines = Some(cut_at_line(&mut text, budget));
                *left = 0;
            } else {
                *left -= (text.len() as u64).div_ceil(BYTES_PER_TOKEN);
            }
        }
        total += text.len() as u64;
        let why = c.why();
        selection.files.push(ContextFile {
            path: c.path,
            absolute,
            size: c.size,
            modified_ms: c.modified_ms,
            why,
            text,
            truncated_lines,
        });
    }
    Ok(selection)
}

/// Cuts `text` to at most `budget` bytes at a line end, marks the cut, and returns how many
/// lines were left out.
fn cut_at_line(text: &mut String, budget: usize) -> usize {
    let mut end = budget.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let end = text[..end].rfind('\n').map_or(0, |i| i + 1);
    let left_out = text[end..].lines().count();
    text.truncate(end);
    text.push_str(&format!("… [truncated: {left_out} more lines]\n"));
    left_out
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
/// The text of `rel` beneath `root`, opened so that a file swapped for a symlink (or a FIFO)
/// after the walk saw it is refused rather than followed.
fn read_text(root: &Path, rel: &Path, limit: u64) -> std::io::Result<Option<String>> {
    use rustix::fs::{Mode, OFlags, ResolveFlags};
    let dir = rustix::fs::open(
        root,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let fd = rustix::fs::openat2(
        &dir,
        rel,
        OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK,
        Mode::empty(),
        ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS,
    )?;
    let file = std::fs::File::from(fd);
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let mut bytes = Vec::new();
    file.take(limit).read_to_end(&mut bytes)?;
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
            max_context_tokens: None,
        }
    }

    #[test]
    fn hidden_paths_stay_out_even_when_an_ignore_file_whitelists_them() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        for (path, body) in [
            (".git/config", "url = https://u:ghp_T0KEN@github.com/a/b\n"),
            (".hidden_notes", "private\n"),
            (
                "backup.git/config",
                "url = https://u:ghp_BARE@github.com/a/b\n",
            ),
            ("sub/.cache/x.txt", "cached\n"),
            ("README.md", "readme\n"),
        ] {
            std::fs::create_dir_all(root.join(path).parent().unwrap()).unwrap();
            std::fs::write(root.join(path), body).unwrap();
        }
        for ignore_file in [".ignore", ".gitignore"] {
            std::fs::write(
                root.join(ignore_file),
                "!.git\n!.git/**\n!.hidden*\n!.cache\n",
            )
            .unwrap();
            let chosen =
                select_context(&spec(&["**/*", ".git/config"], &[]), root, &[".git/config"])
                    .unwrap();
            let paths: Vec<_> = chosen.files.iter().map(|f| f.path.as_str()).collect();
            assert_eq!(paths, ["README.md"], "{ignore_file}");
            std::fs::remove_file(root.join(ignore_file)).unwrap();
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

        // Files as old as each other, so only depth and path order them.
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(7 * 24 * 3600);
        for entry in ignore::WalkBuilder::new(root)
            .hidden(false)
            .build()
            .flatten()
        {
            if entry.file_type().is_some_and(|t| t.is_file()) {
                let f = std::fs::File::options()
                    .write(true)
                    .open(entry.path())
                    .unwrap();
                f.set_modified(old).unwrap();
            }
        }
        let chosen = select_context(&spec(&["**/*.rs"], &["src/skip.rs"]), root, &[]).unwrap();
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
            let err = select_context(&spec(&[bad], &[]), t.path(), &[]).unwrap_err();
            assert!(matches!(err, ContextError::Outside(_)), "{bad}: {err}");
        }
    }

    #[test]
    fn explicit_then_named_then_recent_then_shallow() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(7 * 24 * 3600);
        for path in [
            "README.md",
            "docs/guide.md",
            "docs/deep/notes.md",
            "src/lib.md",
            "z.md",
        ] {
            std::fs::create_dir_all(root.join(path).parent().unwrap()).unwrap();
            std::fs::write(root.join(path), path).unwrap();
            let f = std::fs::File::options()
                .write(true)
                .open(root.join(path))
                .unwrap();
            f.set_modified(old).unwrap();
        }
        // Touched now: recent.
        std::fs::write(root.join("docs/deep/notes.md"), "fresh").unwrap();
        let mut s = spec(&["z.md", "**/*.md"], &[]);
        s.max_files = None;
        let chosen = select_context(&s, root, &["src/lib.md"]).unwrap();
        let order: Vec<_> = chosen
            .files
            .iter()
            .map(|f| (f.path.as_str(), f.why))
            .collect();
        assert_eq!(
            order,
            [
                ("z.md", "explicit"),
                ("src/lib.md", "named"),
                ("docs/deep/notes.md", "recent"),
                ("README.md", "matched"),
                ("docs/guide.md", "matched"),
            ]
        );
    }

    #[test]
    fn the_token_budget_cuts_at_a_line_and_says_so() {
        let t = tempfile::tempdir().unwrap();
        let lines: String = (0..100).map(|i| format!("line {i:03}\n")).collect();
        std::fs::write(t.path().join("a.txt"), &lines).unwrap();
        std::fs::write(t.path().join("b.txt"), "after the budget").unwrap();
        // Written a clock tick apart, b.txt would be the more recent and come first: the
        // same time for both, so the path orders them.
        let at = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        for name in ["a.txt", "b.txt"] {
            let f = std::fs::File::options()
                .write(true)
                .open(t.path().join(name))
                .unwrap();
            f.set_modified(at).unwrap();
        }
        let mut s = spec(&["*.txt"], &[]);
        s.max_file_size_kb = None;
        s.max_context_tokens = Some(10); // 40 bytes: four 9-byte lines
        let chosen = select_context(&s, t.path(), &[]).unwrap();
        assert_eq!(chosen.files.len(), 1);
        let a = &chosen.files[0];
        assert_eq!(a.truncated_lines, Some(96));
        assert!(
            a.text.ends_with("line 003\n… [truncated: 96 more lines]\n"),
            "{}",
            a.text
        );
        assert_eq!(chosen.skipped[0].reason, "token_budget");
    }
}
