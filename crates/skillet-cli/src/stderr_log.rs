//! Diagnostic logs (`tracing`) on stderr: off unless `--verbose` or `RUST_LOG` asks for them, so
//! that stdout stays the command's answer and stderr its messages. `--log-format json` makes
//! them (and the daemon's log, through skillet-observe's journal) JSON Lines.

use std::io::Write;

use skillet_spec::display::{Lines, terminal_safe};
use tracing_subscriber::EnvFilter;

use crate::cli::LogFormatArg;

/// The crates whose events `--verbose` shows; everything else stays at warnings.
const OURS: &[&str] = &[
    "skillet",
    "skillet_engine",
    "skillet_llm",
    "skillet_mcp",
    "skillet_registry",
    "skillet_sandbox",
    "skillet_server",
    "skillet_spec",
    "skillet_store",
];

/// Starts the log writer: `RUST_LOG` (the usual `tracing` filter syntax) wins; else `-v` shows
/// skillet's debug events and `-vv` its trace events; else nothing is set up.
pub fn init(verbose: u8, format: LogFormatArg) {
    let json = format == LogFormatArg::Json;
    if json {
        skillet_observe::journal::set_format(skillet_observe::journal::LogFormat::Json);
    }
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.trim().is_empty() => match EnvFilter::try_new(&spec) {
            Ok(filter) => filter,
            Err(e) => {
                eprintln!(
                    "skillet: warning: RUST_LOG={spec:?} is not a log filter ({e}); logs are off"
                );
                return;
            }
        },
        _ if verbose == 0 => return,
        _ => {
            let level = if verbose == 1 { "debug" } else { "trace" };
            let directives: Vec<String> = std::iter::once("warn".to_owned())
                .chain(OURS.iter().map(|c| format!("{c}={level}")))
                .collect();
            match EnvFilter::try_new(directives.join(",")) {
                Ok(filter) => filter,
                Err(_) => return,
            }
        }
    };
    // Another subscriber already set (never, in the binary) only means these logs are lost.
    // JSON escapes every field itself, so it needs no terminal-safe writer.
    let _ = if json {
        tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_target(true)
            .try_init()
    } else {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(|| SafeStderr)
            .with_target(true)
            .try_init()
    };
}

/// Longest log event shown; a longer one (a 100,000-character field) is cut with its length.
const EVENT_CHARS: usize = 16_000;

/// Stderr for log events, each made safe and kept on one line. Events quote skill names,
/// paths and clients' words, and `tracing-subscriber` escapes only the message, and only
/// ANSI: a `%`-formatted field would reach the terminal raw.
struct SafeStderr;

impl Write for SafeStderr {
    /// Takes one whole event: `tracing-subscriber` formats an event into a buffer and hands
    /// it over with one `write_all`.
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let mut events = String::with_capacity(text.len());
        for event in text.split_inclusive('\n') {
            let (body, end) = match event.strip_suffix('\n') {
                Some(body) => (body, "\n"),
                None => (event, ""),
            };
            events.push_str(&terminal_safe(body, Lines::Escape, EVENT_CHARS));
            events.push_str(end);
        }
        std::io::stderr().lock().write_all(events.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}
