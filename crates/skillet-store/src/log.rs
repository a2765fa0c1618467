//! Searchable log lines: skillet's own events and the tails of each execution's output, kept
//! (bounded) so that `skillet logs` can find them later.

use serde::Serialize;

use crate::StoreError;

/// The most log lines kept; the oldest go as new ones come.
pub const MAX_LOG_LINES: i64 = 200_000;

/// The most bytes of messages kept (the full-text index takes a few times as much again); the
/// oldest lines go as new ones come.
pub const MAX_LOG_BYTES: i64 = 32 << 20;

/// The longest message kept, in bytes; a longer one is cut (at a character boundary) and says
/// so.
pub const MAX_LOG_MESSAGE_BYTES: usize = 2_000;

/// How serious a line is, most serious first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Something failed.
    Error,
    /// Something is wrong but went on.
    Warn,
    /// What happened (and every line of a skill's output).
    Info,
    /// Detail for whoever debugs skillet.
    Debug,
}

impl LogLevel {
    /// Its name, as stored and shown (`warn`).
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
        }
    }

    /// The level named `name` (`warning` and `err` too, any case).
    ///
    /// ```
    /// use skillet_store::LogLevel;
    /// assert_eq!(LogLevel::parse("WARNING"), Some(LogLevel::Warn));
    /// assert_eq!(LogLevel::parse("loud"), None);
    /// ```
    pub fn parse(name: &str) -> Option<LogLevel> {
        match name.to_ascii_lowercase().as_str() {
            "error" | "err" => Some(LogLevel::Error),
            "warn" | "warning" => Some(LogLevel::Warn),
            "info" => Some(LogLevel::Info),
            "debug" | "trace" => Some(LogLevel::Debug),
            _ => None,
        }
    }
}

/// One line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogLine {
    /// Its place in the log (grows with each line; 0 for a line not yet kept).
    pub id: i64,
    /// When, in ms since the epoch.
    pub at_ms: i64,
    /// How serious.
    pub level: LogLevel,
    /// `skillet` for skillet's own events, `stdout` or `stderr` for a skill's output.
    pub source: String,
    /// For skillet's events, the part of skillet that spoke (`skillet::daemon`).
    pub target: Option<String>,
    /// The skill it concerns.
    pub skill: Option<String>,
    /// The execution it belongs to.
    pub execution_id: Option<String>,
    /// The text, one line.
    pub message: String,
}

/// Which lines [`LogStore::scan_logs`] visits. Every field narrows; the default is every line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogQuery {
    /// Only lines about this skill.
    pub skill: Option<String>,
    /// Only lines of the execution whose id is this or starts with it (lower case).
    pub execution: Option<String>,
    /// Only lines at least this serious.
    pub level: Option<LogLevel>,
    /// Only lines from this time on (ms since the epoch).
    pub since_ms: Option<i64>,
    /// Only lines whose id is above this one (`--follow` asks for what came after).
    pub after_id: Option<i64>,
    /// Only lines whose message contains one of these, in any case. Each must be at least
    /// [`MIN_INDEXED_TEXT`] characters (the full-text index works on trigrams); a shorter
    /// one is an error.
    pub contains_any: Vec<String>,
    /// Oldest first (to follow) instead of newest first.
    pub oldest_first: bool,
}

/// The shortest text [`LogQuery::contains_any`] can look up.
pub const MIN_INDEXED_TEXT: usize = 3;

/// Where log lines are kept, whatever the database.
pub trait LogStore {
    /// Adds lines (their `id` is ignored) and drops the oldest beyond [`MAX_LOG_LINES`] or
    /// [`MAX_LOG_BYTES`].
    /// Messages longer than [`MAX_LOG_MESSAGE_BYTES`] are cut.
    fn append_logs(&self, lines: &[LogLine]) -> Result<(), StoreError>;
    /// Brings the full-text index up to date with the lines added since it last was (a
    /// search does it first; the daemon does it as it goes, so searches find little to do);
    /// returns how many lines it indexed.
    fn index_logs(&self) -> Result<u64, StoreError>;
    /// The lines matching `query`, handed to `visit` one at a time (it returns `false` to
    /// stop), newest first unless the query says otherwise.
    fn scan_logs(
        &self,
        query: &LogQuery,
        visit: &mut dyn FnMut(LogLine) -> bool,
    ) -> Result<(), StoreError>;
}

/// `text` cut to [`MAX_LOG_MESSAGE_BYTES`] at a character boundary, saying how long it was.
pub(crate) fn capped_message(text: &str) -> std::borrow::Cow<'_, str> {
    if text.len() <= MAX_LOG_MESSAGE_BYTES {
        return text.into();
    }
    let mut end = MAX_LOG_MESSAGE_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… [{} bytes in all]", &text[..end], text.len()).into()
}
