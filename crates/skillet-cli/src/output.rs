//! Printing: exit codes, diagnostics, tables, JSON.

use std::io::Write;

use serde::Serialize;
use skillet_spec::Diagnostic;
use skillet_spec::display::{Lines, terminal_safe};

use crate::context::Context;

/// skillet itself could not do what was asked (as `env` and `timeout` use 125).
pub const EXIT_SKILLET_ERROR: u8 = 125;
/// The skill's wall-clock limit passed (as `timeout`).
pub const EXIT_TIMEOUT: u8 = 124;
/// No skill by that name (as a shell's "command not found").
pub const EXIT_NOT_FOUND: u8 = 127;
/// Parameters did not fit (as a usage error).
pub const EXIT_INVALID_PARAMS: u8 = 2;
/// The skill's circuit breaker is open: try again later (as EX_TEMPFAIL).
pub const EXIT_CIRCUIT_OPEN: u8 = 75;
/// A resource limit stopped the skill (as a SIGKILL'd process).
pub const EXIT_RESOURCE_LIMIT: u8 = 137;
/// The sandbox killed the skill for a forbidden system call (as SIGSYS).
pub const EXIT_SANDBOX_DENIED: u8 = 159;

/// `skillet history show` found no execution with that id, `doctor` found the store unreadable,
/// or `validate` found a broken skill.
pub const EXIT_FAILURE: u8 = 1;

/// An error that knows its exit code and what the user can do about it. Commands return it
/// (through `anyhow`) wherever the exit code is not the generic 125, so that `main` prints it
/// the same way with and without `--json`.
#[derive(Debug)]
pub struct Failure {
    /// What went wrong.
    pub message: String,
    /// What to do about it, when there is something to say.
    pub hint: Option<String>,
    /// The process exit code.
    pub exit_code: u8,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// A [`Failure`] as an `anyhow` error, ready for `?` or `return Err(..)`.
pub fn failure(exit_code: u8, message: impl Into<String>, hint: Option<String>) -> anyhow::Error {
    anyhow::Error::new(Failure {
        message: message.into(),
        hint,
        exit_code,
    })
}

/// Whether the command line asks for JSON: a `--json` before any `--`. Read from the raw
/// arguments so that even a command line clap refuses gets its error as JSON.
pub fn wants_json(args: &[std::ffi::OsString]) -> bool {
    args.iter()
        .skip(1)
        .take_while(|a| a.as_os_str() != "--")
        .any(|a| a.as_os_str() == "--json")
}

/// Exit code when stdout was closed under us, as a shell reports a process killed by SIGPIPE.
pub const EXIT_CLOSED_PIPE: u8 = 141;

/// Whether `e` is a write to a pipe whose reader has gone. The daemon's socket is not that
/// pipe: a daemon gone mid-request is an error to report, not a reader that had enough.
fn closed_pipe(e: &anyhow::Error) -> bool {
    if e.chain()
        .any(|cause| cause.is::<skillet_server::ClientError>())
    {
        return false;
    }
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .map(std::io::Error::kind)
            .or_else(|| {
                cause
                    .downcast_ref::<serde_json::Error>()
                    .and_then(serde_json::Error::io_error_kind)
            })
            == Some(std::io::ErrorKind::BrokenPipe)
    })
}

/// Prints an error the way every command does: `skillet: error: …` and a `hint:` line on
/// stderr, or, with `--json`, `{"error": {"message", "hint", "exit_code"}}` as the only thing on
/// stdout. Returns the exit code.
pub fn report_error(e: &anyhow::Error, as_json: bool) -> u8 {
    if closed_pipe(e) {
        // `skillet list --json | head`: the reader has all it wanted; nothing to say.
        return EXIT_CLOSED_PIPE;
    }
    let (message, hint, exit_code) = match e.downcast_ref::<Failure>() {
        Some(f) => (f.message.clone(), f.hint.clone(), f.exit_code),
        None => (with_hint(e, explain(e)), None, EXIT_SKILLET_ERROR),
    };
    // A URL typed with a token in it (a package or marketplace source) is quoted by errors
    // from many places; none of them may print the token.
    let message = skillet_pkg::source::without_credentials(&message);
    let hint = hint.map(|h| skillet_pkg::source::without_credentials(&h));
    if as_json {
        let mut error = serde_json::json!({"message": message, "exit_code": exit_code});
        if let Some(hint) = &hint {
            error["hint"] = hint.clone().into();
        }
        if json(&serde_json::json!({ "error": error })).is_ok() {
            return exit_code;
        }
    }
    // Errors quote skill names, paths and the engine's words about a skill file.
    eprintln!("skillet: error: {}", text(&message));
    if let Some(hint) = hint {
        eprintln!("  hint: {}", text(&hint));
    }
    exit_code
}

/// `message`, and the command that gets it through when the engine (directly or through the
/// daemon) or the store named one.
fn with_hint(e: &anyhow::Error, mut message: String) -> String {
    use crate::commands::hints;
    let said = e.chain().find_map(|cause| {
        if let Some(skillet_server::ClientError::Refused(refused)) = cause.downcast_ref() {
            return refused.hint.as_ref().map(hints::in_words);
        }
        if let Some(e) = cause.downcast_ref::<skillet_engine::PolicyError>() {
            return e.hint().as_ref().map(hints::in_words);
        }
        if let Some(e) = cause.downcast_ref::<skillet_engine::ContextRequestError>() {
            return e.hint().as_ref().map(hints::in_words);
        }
        if let Some(skillet_store::StoreError::Corrupt { path, .. }) = cause.downcast_ref() {
            return Some(hints::repair_store(path));
        }
        None
    });
    if let Some(said) = said {
        message.push_str(&said);
    }
    message
}

/// A diagnostic with its file shown relative to the working directory, exactly as it is: for
/// JSON, which escapes what it must by itself.
pub fn diagnostic_exact(ctx: &Context, d: &Diagnostic) -> String {
    let mut d = d.clone();
    d.file = d.file.map(|f| ctx.shown(&f));
    d.to_string()
}

/// A diagnostic with its file shown relative to the working directory, each part made safe
/// for a terminal: diagnostics quote the skill file they are about.
pub fn diagnostic(ctx: &Context, d: &Diagnostic) -> String {
    let mut d = d.clone();
    d.file = d.file.map(|f| path(&ctx.shown(&f)).into());
    d.message = field(&d.message).into_owned();
    d.hint = d.hint.map(|h| field(&h).into_owned());
    d.to_string()
}

/// Longest table cell shown; longer values are cut, so one hostile value cannot make every
/// row of the table as wide as itself.
const CELL_CHARS: usize = 200;
/// Longest one-line value shown (a `label: value` line of `info`, a diagnostic's message).
const FIELD_CHARS: usize = 2_000;
/// Longest block of text shown (an error, a diff line, a prompt).
const TEXT_CHARS: usize = 20_000;

/// Untrusted text as a table cell: on one line, cut at [`CELL_CHARS`].
pub fn cell(value: &str) -> std::borrow::Cow<'_, str> {
    terminal_safe(value, Lines::Escape, CELL_CHARS)
}

/// Untrusted text as one line of its own (`description: …`): cut at [`FIELD_CHARS`].
pub fn field(value: &str) -> std::borrow::Cow<'_, str> {
    terminal_safe(value, Lines::Escape, FIELD_CHARS)
}

/// Untrusted text whose line breaks mean something (an error, a prompt): cut at
/// [`TEXT_CHARS`].
pub fn text(value: &str) -> std::borrow::Cow<'_, str> {
    terminal_safe(value, Lines::Keep, TEXT_CHARS)
}

/// A path as [`field`] shows it: file names in a workspace are someone else's text too.
pub fn path(path: &std::path::Path) -> String {
    field(&path.display().to_string()).into_owned()
}

/// Prints `value` as pretty JSON on stdout, with what a terminal would act on escaped
/// ([`skillet_spec::display::json_inert`]).
pub fn json(value: &impl Serialize) -> anyhow::Result<()> {
    // Stdout is line-buffered, and pretty JSON is all lines: a large answer (every file
    // `skillet context` left out, say) would otherwise cost one write call per line.
    let mut out = InertJson::new(std::io::BufWriter::new(std::io::stdout().lock()));
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    out.flush()?;
    Ok(())
}

/// `value` as one line of JSON, with what a terminal would act on escaped (JSON Lines output).
pub fn json_line(value: &impl Serialize) -> anyhow::Result<String> {
    let mut line = String::new();
    skillet_spec::display::json_inert(&serde_json::to_string(value)?, &mut line);
    Ok(line)
}

/// A writer of JSON text that passes it through [`skillet_spec::display::json_inert`] as it
/// goes, holding back the few bytes of a character split across two writes.
struct InertJson<W: Write> {
    inner: W,
    pending: Vec<u8>,
    text: String,
}

impl<W: Write> InertJson<W> {
    fn new(inner: W) -> Self {
        InertJson {
            inner,
            pending: Vec::new(),
            text: String::new(),
        }
    }
}

impl<W: Write> Write for InertJson<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        let valid = match std::str::from_utf8(&self.pending) {
            Ok(all) => all.len(),
            Err(e) => e.valid_up_to(),
        };
        self.text.clear();
        // The prefix is valid UTF-8 by `valid_up_to`.
        let ready = std::str::from_utf8(&self.pending[..valid]).unwrap_or_default();
        skillet_spec::display::json_inert(ready, &mut self.text);
        self.inner.write_all(self.text.as_bytes())?;
        self.pending.drain(..valid);
        // More than a character's worth left is not UTF-8 at all: passed on as it is.
        if self.pending.len() >= 4 {
            self.inner.write_all(&self.pending)?;
            self.pending.clear();
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.pending.is_empty() {
            self.inner.write_all(&self.pending)?;
            self.pending.clear();
        }
        self.inner.flush()
    }
}

/// Prints the items `items` yields as one pretty JSON array, serialized as they are made, so a
/// long listing is never held whole. `items` is called once.
pub fn json_seq<I>(items: impl Fn() -> I) -> anyhow::Result<()>
where
    I: Iterator,
    I::Item: Serialize,
{
    struct Seq<F>(F);
    impl<F, I> Serialize for Seq<F>
    where
        F: Fn() -> I,
        I: Iterator,
        I::Item: Serialize,
    {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_seq((self.0)())
        }
    }
    json(&Seq(items))
}

/// Renders rows as left-aligned columns; the last column is not padded. Every cell goes
/// through [`cell`], so the table is one line per row and no wider than its cut cells.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = Vec::new();
    // Writing to a vector does not fail.
    let _ = write_table(&mut out, header, || rows.iter());
    String::from_utf8_lossy(&out).into_owned()
}

const SPACES: [u8; 64] = [b' '; 64];

/// [`table`] written to `out` as it is made, for tables too long to hold whole (`skillet list`
/// of 10,000 skills): `rows` is called twice, once to measure the columns and once to write,
/// so no row is kept.
pub fn write_table<I, C>(
    out: &mut impl Write,
    header: &[&str],
    rows: impl Fn() -> I,
) -> std::io::Result<()>
where
    I: Iterator,
    I::Item: IntoIterator<Item = C>,
    C: AsRef<str>,
{
    let mut widths: Vec<usize> = header.iter().map(|h| cell(h).chars().count()).collect();
    for row in rows() {
        for (i, c) in row.into_iter().enumerate() {
            let width = cell(c.as_ref()).chars().count();
            match widths.get_mut(i) {
                Some(w) => *w = (*w).max(width),
                None => widths.push(width),
            }
        }
    }
    let mut line = |cells: &mut dyn Iterator<Item = std::borrow::Cow<'_, str>>| {
        let cells: Vec<_> = cells.collect();
        let last = cells.len().saturating_sub(1);
        for (i, c) in cells.iter().enumerate() {
            out.write_all(c.as_bytes())?;
            if i != last {
                // Padding by hand: a `format!` width past u16::MAX panics, and widths come
                // from the data.
                let mut pad = widths[i].saturating_sub(c.chars().count()) + 2;
                while pad > 0 {
                    let n = pad.min(SPACES.len());
                    out.write_all(&SPACES[..n])?;
                    pad -= n;
                }
            }
        }
        out.write_all(b"\n")
    };
    line(&mut header.iter().map(|h| cell(h)))?;
    for row in rows() {
        let row: Vec<C> = row.into_iter().collect();
        line(&mut row.iter().map(|c| cell(c.as_ref())))?;
    }
    Ok(())
}

/// A past moment as "42s ago", "3m ago", … from its distance in milliseconds.
pub fn ago(ms: i64) -> String {
    let s = (ms / 1000).max(0);
    match s {
        0..60 => format!("{s}s ago"),
        60..3600 => format!("{}m ago", s / 60),
        3600..86400 => format!("{}h ago", s / 3600),
        _ => format!("{}d ago", s / 86400),
    }
}

/// `word` as a shell would need it to be one argument, for commands shown as hints that a user
/// copies: left alone when it is plain, else in single quotes.
pub fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && !word.starts_with('-')
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:,+@%=".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// Text on one line: line breaks and runs of blanks become one space, for table cells.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub use skillet_store::rfc3339;

/// A size as people read it: `512 B`, `3.4 KiB`, `12.0 MiB`, `1.5 GiB`.
pub fn bytes(n: u64) -> String {
    const KIB: f64 = 1024.0;
    match n {
        n if n >= 1 << 30 => format!("{:.1} GiB", n as f64 / (KIB * KIB * KIB)),
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / (KIB * KIB)),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / KIB),
        n => format!("{n} B"),
    }
}

/// A moment as people read it: `2026-12-03 08:46:01 UTC`.
pub fn timestamp(ms: i64) -> String {
    let text = rfc3339(ms);
    format!("{} {} UTC", &text[..10], &text[11..19])
}

/// [`explain`], and the command that gets past it when the error names one (a damaged store:
/// `skillet doctor --repair`), for warnings that go on without what failed.
pub fn explain_with_hint(e: &anyhow::Error) -> String {
    with_hint(e, explain(e))
}

/// The error and its causes, each said once: library errors often quote their cause in their
/// own message already, and `{:#}` would repeat it.
pub fn explain(e: &anyhow::Error) -> String {
    let mut message = e.to_string();
    for cause in e.chain().skip(1) {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_in_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(rfc3339(1_796_287_561_250), "2026-12-03T08:46:01.250Z");
        assert_eq!(timestamp(1_796_287_561_250), "2026-12-03 08:46:01 UTC");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(shell_word("count-lines"), "count-lines");
        assert_eq!(
            shell_word(".skillet/skills/x.json"),
            ".skillet/skills/x.json"
        );
        assert_eq!(shell_word("PDF Tools"), "'PDF Tools'");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
        assert_eq!(shell_word("{a,b}"), "'{a,b}'");
        assert_eq!(shell_word("$(rm -rf x)"), "'$(rm -rf x)'");
        assert_eq!(shell_word("-x"), "'-x'");
        assert_eq!(shell_word(""), "''");
    }

    #[test]
    fn tables_cut_and_escape_their_cells_instead_of_panicking() {
        let long = "n".repeat(100_000);
        let table = table(
            &["NAME", "DESCRIPTION"],
            &[
                vec![long.clone(), "\u{1b}]52;c;aGVsbG8=\u{7}".into()],
                vec!["good".into(), "two\nlines".into()],
            ],
        );
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3, "one line a row: {table}");
        assert!(lines[1].contains("…(100000 chars)"));
        assert!(
            lines[1].ends_with(r"\x1b]52;c;aGVsbG8=\x07"),
            "{}",
            lines[1]
        );
        assert!(lines[2].starts_with("good ") && lines[2].ends_with(r"two\nlines"));
        // The columns still line up after the cut.
        assert_eq!(lines[0].find("DESCRIPTION"), lines[2].find("two"));
    }

    #[test]
    fn ago_says_ago_once() {
        assert_eq!(ago(3_400), "3s ago");
        assert_eq!(ago(-5), "0s ago");
        assert_eq!(ago(7_200_000), "2h ago");
    }
}
