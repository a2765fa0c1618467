//! `skillet logs --grep RE`: a regular expression answered with the full-text index.
//!
//! The index finds substrings, not patterns, so the search asks it for what every match must
//! contain (the literals a match of the pattern starts with, when there are few and each is
//! long enough for the trigram index) and checks each candidate line against the pattern
//! itself. A pattern with no such literals (`\d+`, `a|b`) is checked against every line the
//! other filters leave.

use regex::Regex;
use regex_syntax::hir::literal::Extractor;
use skillet_store::{LogLine, LogQuery, LogStore, MIN_INDEXED_TEXT, StoreError};

/// A search of the log: the store's filters, and a pattern checked line by line.
#[derive(Debug, Clone)]
pub struct LogSearch {
    query: LogQuery,
    pattern: Option<Regex>,
}

/// Why a search cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum LogSearchError {
    /// `--grep` is not a regular expression.
    #[error("--grep {pattern:?} is not a regular expression: {reason}")]
    Pattern {
        /// What was given.
        pattern: String,
        /// What the parser said.
        reason: String,
    },
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl LogSearch {
    /// A search for lines matching `query` and, when given, the regular expression `grep`
    /// (Rust `regex` syntax; `(?i)` for any case).
    ///
    /// ```
    /// use skillet_observe::LogSearch;
    /// use skillet_store::LogQuery;
    /// let search = LogSearch::new(LogQuery::default(), Some("timeout|killed by \\w+"))?;
    /// assert_eq!(search.query().contains_any, ["timeout", "killed by "]);
    /// # Ok::<(), skillet_observe::LogSearchError>(())
    /// ```
    pub fn new(mut query: LogQuery, grep: Option<&str>) -> Result<LogSearch, LogSearchError> {
        let Some(grep) = grep else {
            return Ok(LogSearch {
                query,
                pattern: None,
            });
        };
        let invalid = |reason: String| LogSearchError::Pattern {
            pattern: grep.to_owned(),
            reason,
        };
        let pattern = Regex::new(grep).map_err(|e| invalid(e.to_string()))?;
        let hir = regex_syntax::parse(grep).map_err(|e| invalid(e.to_string()))?;
        query.contains_any = required_literals(&hir).unwrap_or_default();
        Ok(LogSearch {
            query,
            pattern: Some(pattern),
        })
    }

    /// What the store is asked for.
    pub fn query(&self) -> &LogQuery {
        &self.query
    }

    /// Whether `line` matches the pattern (every line does when there is none).
    pub fn matches(&self, line: &LogLine) -> bool {
        self.pattern
            .as_ref()
            .is_none_or(|p| p.is_match(&line.message))
    }

    /// Hands the newest `limit` matching lines to `visit`, oldest first; with `limit` 0, every
    /// matching line, streamed (memory stays flat however many match). Returns the id of the
    /// last line visited.
    pub fn newest(
        &self,
        store: &dyn LogStore,
        limit: usize,
        visit: &mut dyn FnMut(LogLine),
    ) -> Result<Option<i64>, LogSearchError> {
        let mut last = None;
        if limit == 0 {
            let query = LogQuery {
                oldest_first: true,
                ..self.query.clone()
            };
            store.scan_logs(&query, &mut |line| {
                if self.matches(&line) {
                    last = Some(line.id);
                    visit(line);
                }
                true
            })?;
            return Ok(last);
        }
        let mut found = Vec::new();
        store.scan_logs(&self.query, &mut |line| {
            if self.matches(&line) {
                found.push(line);
            }
            found.len() < limit
        })?;
        for line in found.into_iter().rev() {
            last = Some(line.id);
            visit(line);
        }
        Ok(last)
    }

    /// The matching lines kept after the line `after_id`, oldest first (`--follow`).
    pub fn after(
        &self,
        store: &dyn LogStore,
        after_id: i64,
    ) -> Result<Vec<LogLine>, LogSearchError> {
        let query = LogQuery {
            after_id: Some(after_id),
            oldest_first: true,
            ..self.query.clone()
        };
        let mut found = Vec::new();
        store.scan_logs(&query, &mut |line| {
            if self.matches(&line) {
                found.push(line);
            }
            true
        })?;
        Ok(found)
    }
}

/// Texts one of which every match of `hir` contains, each long enough to look up, without
/// repeats; `None` when there is no such short list. ASCII letters are lower-cased (the index
/// folds case itself; this only merges the variants `(?i)` makes): other letters are left as
/// they are, since a full lower-casing can change their length (`İ`).
fn required_literals(hir: &regex_syntax::hir::Hir) -> Option<Vec<String>> {
    let seq = Extractor::new().extract(hir);
    let literals = seq.literals()?;
    let mut texts: Vec<String> = Vec::with_capacity(literals.len());
    for literal in literals {
        let text = std::str::from_utf8(literal.as_bytes())
            .ok()?
            .to_ascii_lowercase();
        // The index's query syntax cannot hold a NUL; such a pattern is checked line by line.
        if text.chars().count() < MIN_INDEXED_TEXT || text.contains('\0') {
            return None;
        }
        if !texts.contains(&text) {
            texts.push(text);
        }
    }
    // An empty list would be "contains one of nothing": no line. A pattern that matches
    // nothing at all is rare enough to check line by line.
    (!texts.is_empty() && texts.len() <= 64).then_some(texts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn literals(pattern: &str) -> Option<Vec<String>> {
        required_literals(&regex_syntax::parse(pattern).unwrap())
    }

    #[test]
    fn the_index_is_asked_only_for_what_every_match_contains() {
        assert_eq!(literals("refused"), Some(vec!["refused".into()]));
        assert_eq!(
            literals("timeout|killed"),
            Some(vec!["timeout".into(), "killed".into()])
        );
        assert_eq!(literals("(?i)Timeout"), Some(vec!["timeout".into()]));
        assert_eq!(literals("exit code \\d+"), Some(vec!["exit code ".into()]));
        // No literal, a too-short one, or one a match may skip: every line is checked.
        assert_eq!(literals("\\d+"), None);
        assert_eq!(literals("ab|abcdef"), None);
        assert_eq!(literals("x?yz"), None);
        assert_eq!(literals(".*"), None);
        assert_eq!(literals("oo\\x00ps"), None);
        assert_eq!(literals("İstanbul"), Some(vec!["İstanbul".into()]));
    }

    #[test]
    fn a_bad_pattern_says_why() {
        let e = LogSearch::new(LogQuery::default(), Some("(unclosed")).unwrap_err();
        assert!(e.to_string().contains("not a regular expression"), "{e}");
    }
}
