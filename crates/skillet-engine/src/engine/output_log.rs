//! The tails of a run's output, kept as log lines so that `skillet logs` can search them.

use skillet_store::{LogLevel, LogLine, Store, now_ms};

use super::Engine;
use crate::result::ExecutionResult;

/// Lines kept of each stream: its end, where a failure usually says why.
const TAIL_LINES: usize = 40;
/// Bytes kept of each stream at most.
const TAIL_BYTES: usize = 4_096;

impl Engine {
    /// Keeps the tails of `result`'s stdout and stderr, credentials redacted. Failing to keep
    /// them never fails the run: it says so.
    pub(crate) fn keep_output(&self, store: &dyn Store, result: &mut ExecutionResult) {
        if !self.settings.store_output || result.cached {
            return;
        }
        let at_ms = now_ms();
        let mut lines = Vec::new();
        for (source, text) in [("stdout", &result.stdout), ("stderr", &result.stderr)] {
            lines.extend(tail(text).map(|line| LogLine {
                id: 0,
                at_ms,
                level: LogLevel::Info,
                source: source.to_owned(),
                target: None,
                skill: Some(result.skill.clone()),
                execution_id: Some(result.execution_id.clone()),
                message: crate::redact_credentials(line).into_owned(),
            }));
        }
        if let Err(e) = store.append_logs(&lines) {
            result
                .warnings
                .push(format!("the output was not kept for `skillet logs`: {e}"));
        }
    }
}

/// The last [`TAIL_LINES`] lines of `text` within [`TAIL_BYTES`], oldest first; blank lines
/// are left out (they carry nothing to search).
fn tail(text: &str) -> impl Iterator<Item = &str> {
    let mut start = text.len().saturating_sub(TAIL_BYTES);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    let mut kept: Vec<&str> = text[start..]
        .lines()
        .rev()
        .filter(|l| !l.trim().is_empty())
        .take(TAIL_LINES)
        .collect();
    kept.reverse();
    kept.into_iter()
}

#[cfg(test)]
mod tests {
    use super::tail;

    #[test]
    fn the_tail_is_the_last_lines_within_the_byte_bound() {
        let text: String = (0..100).map(|n| format!("line {n}\n")).collect();
        let kept: Vec<&str> = tail(&text).collect();
        assert_eq!(kept.len(), 40);
        assert_eq!(kept[0], "line 60");
        assert_eq!(kept[39], "line 99");
        let wide = "é".repeat(5_000);
        let kept: Vec<&str> = tail(&wide).collect();
        assert_eq!(kept.len(), 1);
        assert!(kept[0].len() <= 4_096);
        assert_eq!(tail("\n\n  \n").count(), 0);
    }
}
