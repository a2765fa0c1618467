//! The walk that finds a skill's candidate context files: ripgrep's parallel walker, each
//! thread keeping its own list, and the order of relevance the candidates are sorted in.

use std::sync::{Mutex, PoisonError};

use globset::GlobSet;

use super::RECENT;

/// A matching file before the limits are applied.
pub(super) struct Candidate {
    pub(super) path: String,
    pub(super) size: u64,
    pub(super) modified_ms: i64,
    /// 0 explicit, 1 named, 2 recent, 3 the rest.
    class: u8,
    /// For explicit files, the position of their pattern.
    explicit_index: usize,
    depth: usize,
}

impl Candidate {
    pub(super) fn new(
        path: String,
        size: u64,
        modified: Option<std::time::SystemTime>,
        now: std::time::SystemTime,
        explicit: &[&str],
        named: &[String],
    ) -> Candidate {
        let modified_ms = modified
            .and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        let recent = modified
            .and_then(|m| now.duration_since(m).ok())
            .is_some_and(|age| age <= RECENT);
        let explicit_index = explicit.iter().position(|e| *e == path);
        let file_name = path.rsplit('/').next().unwrap_or(&path);
        let is_named = named
            .iter()
            .any(|n| *n == path || (!n.contains('/') && n == file_name));
        let class = match (explicit_index, is_named, recent) {
            (Some(_), _, _) => 0,
            (None, true, _) => 1,
            (None, false, true) => 2,
            (None, false, false) => 3,
        };
        Candidate {
            depth: path.matches('/').count(),
            explicit_index: explicit_index.unwrap_or(0),
            path,
            size,
            modified_ms,
            class,
        }
    }

    pub(super) fn key(&self) -> (u8, usize, usize, std::cmp::Reverse<i64>, &str) {
        (
            self.class,
            self.explicit_index,
            self.depth,
            std::cmp::Reverse(self.modified_ms),
            &self.path,
        )
    }

    pub(super) fn why(&self) -> &'static str {
        ["explicit", "named", "recent", "matched"][usize::from(self.class)]
    }
}

/// What decides whether a walked file is a candidate, shared by the walker's threads.
pub(super) struct Matcher<'a> {
    /// The walk's root, as bytes: stripping it from every path as bytes, not as path
    /// components, is a tenth of the walk's time saved on a large tree.
    pub(super) root: &'a [u8],
    pub(super) include: &'a GlobSet,
    pub(super) exclude: &'a GlobSet,
    pub(super) explicit: &'a [&'a str],
    /// Named paths, relative to the root when they were absolute under it.
    pub(super) named: &'a [String],
    pub(super) now: std::time::SystemTime,
}

impl Matcher<'_> {
    fn candidate(&self, entry: &ignore::DirEntry) -> Option<Candidate> {
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            return None;
        }
        let full = entry.path().as_os_str().as_encoded_bytes();
        let relative = full.strip_prefix(self.root)?;
        let relative = std::str::from_utf8(relative.strip_prefix(b"/").unwrap_or(relative)).ok()?;
        if !self.include.is_match(relative) || self.exclude.is_match(relative) {
            return None;
        }
        let meta = entry.metadata().ok();
        let modified = meta.as_ref().and_then(|m| m.modified().ok());
        Some(Candidate::new(
            relative.to_owned(),
            meta.map_or(0, |m| m.len()),
            modified,
            self.now,
            self.explicit,
            self.named,
        ))
    }
}

/// Gives each walker thread its own list, merged once when the thread's visitor is dropped,
/// so threads do not contend on a lock per file.
pub(super) struct CollectorBuilder<'a> {
    pub(super) matcher: &'a Matcher<'a>,
    pub(super) found: &'a Mutex<Vec<Candidate>>,
}

impl<'a> ignore::ParallelVisitorBuilder<'a> for CollectorBuilder<'a> {
    fn build(&mut self) -> Box<dyn ignore::ParallelVisitor + 'a> {
        Box::new(Collector {
            matcher: self.matcher,
            found: self.found,
            mine: Vec::new(),
        })
    }
}

struct Collector<'a> {
    matcher: &'a Matcher<'a>,
    found: &'a Mutex<Vec<Candidate>>,
    mine: Vec<Candidate>,
}

impl ignore::ParallelVisitor for Collector<'_> {
    fn visit(&mut self, entry: Result<ignore::DirEntry, ignore::Error>) -> ignore::WalkState {
        if let Some(candidate) = entry.ok().and_then(|e| self.matcher.candidate(&e)) {
            self.mine.push(candidate);
        }
        ignore::WalkState::Continue
    }
}

impl Drop for Collector<'_> {
    fn drop(&mut self) {
        let mut found = self.found.lock().unwrap_or_else(PoisonError::into_inner);
        found.append(&mut self.mine);
    }
}
