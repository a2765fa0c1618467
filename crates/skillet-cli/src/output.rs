//! Printing: exit codes, diagnostics, tables, JSON.

use std::io::Write;

use serde::Serialize;
use skillet_spec::Diagnostic;

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

/// A diagnostic with its file shown relative to the working directory.
pub fn diagnostic(ctx: &Context, d: &Diagnostic) -> String {
    let mut d = d.clone();
    d.file = d.file.map(|f| ctx.shown(&f));
    d.to_string()
}

/// Prints `value` as pretty JSON on stdout.
pub fn json(value: &impl Serialize) -> anyhow::Result<()> {
    // Stdout is line-buffered, and pretty JSON is all lines: a large answer (every file
    // `skillet context` left out, say) would otherwise cost one write call per line.
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    out.flush()?;
    Ok(())
}

/// Renders rows as left-aligned columns; the last column is not padded.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let all = std::iter::once(header.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .chain(rows.iter().cloned());
    for row in all {
        let last = row.len().saturating_sub(1);
        for (i, cell) in row.iter().enumerate() {
            if i == last {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            }
        }
        out.push('\n');
    }
    out
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
