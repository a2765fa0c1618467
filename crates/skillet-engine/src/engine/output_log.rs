//! The tails of a run's output, kept as log lines so that `skillet logs` can search them.

use skillet_store::{LogLevel, LogLine, now_ms};

use super::Engine;
use crate::result::ExecutionResult;

/// Lines kept of each stream: its end, where a failure usually says why.
const TAIL_LINES: usize = 40;
/// Bytes kept of each stream at most.
const TAIL_BYTES: usize = 4_096;
/// Bytes of each stream's end that are redacted before the tail is cut from them: more than
/// the tail, so that a credential the cut would split is whole when it is looked for.
const REDACTED_BYTES: usize = 16_384;

impl Engine {
    /// The tails of `result`'s stdout and stderr as log lines, credentials redacted; none when
    /// the user keeps no output or the result came from the cache (its run was kept then).
    pub(crate) fn output_lines(&self, result: &ExecutionResult) -> Vec<LogLine> {
        if !self.settings.store_output || result.cached {
            return Vec::new();
        }
        let at_ms = now_ms();
        let mut lines = Vec::new();
        for (source, text) in [("stdout", &result.stdout), ("stderr", &result.stderr)] {
            let seen = without_given(&window(text), &result.given_credentials);
            let redacted = crate::redact_credentials(&seen);
            lines.extend(tail(&redacted).map(|line| LogLine {
                id: 0,
                at_ms,
                level: LogLevel::Info,
                source: source.to_owned(),
                target: None,
                skill: Some(result.skill.clone()),
                execution_id: Some(result.execution_id.clone()),
                message: line.to_owned(),
            }));
        }
        lines
    }
}

/// `text` with each credential the run was given, in each encoding a program commonly prints
/// one in (as it is, base64 with and without padding or URL-safe, hex), replaced by
/// `[redacted]`: a skill given a token must not leave it in the store by encoding it first.
fn without_given(text: &str, given: &[(String, String)]) -> String {
    let mut out = text.to_owned();
    for form in given
        .iter()
        .flat_map(|(_, value)| crate::policy::credential_forms(value))
    {
        if out.contains(&form) {
            out = out.replace(&form, "[redacted]");
        }
    }
    out
}

/// The end of `text` that is redacted: its last [`REDACTED_BYTES`], from the start of a line
/// (a line the cut would split could leave the end of a secret without what names it as one),
/// without terminal control sequences (a colour code glued to a token hides it from the
/// redaction, and a search needs none of them).
fn window(text: &str) -> String {
    without_control_sequences(&text[line_start(text, REDACTED_BYTES)..])
}

/// `text` without ANSI/ECMA-48 escape sequences: CSI (`ESC [ … final`), OSC (`ESC ] … BEL` or
/// `ESC \\`, hyperlinks and titles) and two-character escapes.
fn without_control_sequences(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('[') => {
                // Parameters and intermediates, then one final byte in @..~.
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            Some(']') => {
                while let Some(c) = chars.next() {
                    if c == '\u{7}' {
                        break;
                    }
                    if c == '\u{1b}' && chars.peek() == Some(&'\\') {
                        chars.next();
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// Where the last `bytes` of `text` start, moved to the start of the next line when that cut
/// would split one (unless no line starts after it).
fn line_start(text: &str, bytes: usize) -> usize {
    let mut start = floor_boundary(text, text.len().saturating_sub(bytes));
    if start > 0
        && !text[..start].ends_with('\n')
        && let Some(newline) = text[start..].find('\n')
    {
        start += newline + 1;
    }
    start
}

/// The first character boundary at or after `at`.
fn floor_boundary(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at += 1;
    }
    at
}

/// The last [`TAIL_LINES`] lines of `text` within [`TAIL_BYTES`], oldest first. A line the
/// byte bound cuts is left out (unless it is the only one); so are blank lines (they carry
/// nothing to search).
fn tail(text: &str) -> impl Iterator<Item = &str> {
    let start = line_start(text, TAIL_BYTES);
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
    use super::{REDACTED_BYTES, tail, window, without_given};

    #[test]
    fn a_given_credential_is_redacted_in_its_common_encodings() {
        let token = ("GITHUB_TOKEN".to_owned(), "ghp_CACHEDSECRET123".to_owned());
        let text = "tok=ghp_CACHEDSECRET123\nB64=Z2hwX0NBQ0hFRFNFQ1JFVDEyMw==\n\
                    b64u=Z2hwX0NBQ0hFRFNFQ1JFVDEyMw\nhex=6768705f43414348454453454352455431323 3\n";
        let text = text.replace(' ', "");
        let out = without_given(&text, std::slice::from_ref(&token));
        assert!(!out.contains("ghp_CACHED"), "{out}");
        assert!(!out.contains("Z2hwX0NBQ0hFRFNFQ1JFVDEyMw"), "{out}");
        assert!(!out.contains("6768705f"), "{out}");
        assert_eq!(out.matches("[redacted]").count(), 4, "{out}");
        // Short values are left alone: they would redact ordinary words.
        assert_eq!(
            without_given("abc", &[("PW".to_owned(), "abc".to_owned())]),
            "abc"
        );
    }

    #[test]
    fn the_redacted_window_starts_at_a_line_and_holds_no_control_sequences() {
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        let coloured = format!(
            "\u{1b}[32m{jwt}\u{1b}[0m and \u{1b}[1mAKIAIOSFODNN7EXAMPLE \u{1b}]8;;https://x\u{1b}\\link\u{1b}]8;;\u{7}\n"
        );
        let seen = window(&coloured);
        assert_eq!(seen, format!("{jwt} and AKIAIOSFODNN7EXAMPLE link\n"));
        let kept = crate::redact_credentials(&seen);
        assert!(
            !kept.contains("IOSFODNN") && !kept.contains("dozjgN"),
            "{kept}"
        );
        // A secret whose name the cut would leave behind is not kept in part.
        let cut = format!(
            "db_password=Hunter2WindowSecret99\n{}\nend\n",
            "x".repeat(REDACTED_BYTES - 20)
        );
        assert!(!window(&cut).contains("Secret99"));
    }

    #[test]
    fn the_tail_is_the_last_lines_within_the_byte_bound() {
        let text: String = (0..100).map(|n| format!("line {n}\n")).collect();
        let kept: Vec<&str> = tail(&text).collect();
        assert_eq!(kept.len(), 40);
        assert_eq!(kept[0], "line 60");
        assert_eq!(kept[39], "line 99");
        // A line the byte bound cuts is left out, not kept in part.
        let long = format!(
            "my token is ghp_0123456789abcdefghij\n{}\nend\n",
            "x".repeat(4_060)
        );
        let kept: Vec<&str> = tail(&long).collect();
        assert!(kept.iter().all(|l| !l.contains("0123456789")), "{kept:?}");
        let wide = "é".repeat(5_000);
        let kept: Vec<&str> = tail(&wide).collect();
        assert_eq!(kept.len(), 1);
        assert!(kept[0].len() <= 4_096);
        assert_eq!(tail("\n\n  \n").count(), 0);
    }
}
