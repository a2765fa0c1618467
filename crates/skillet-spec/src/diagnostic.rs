//! Problems found in a skill file, each with a position and a hint saying what to write instead.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

/// How bad a problem is: an error stops the skill from loading, a warning does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The skill loads; the author should still look.
    Warning,
    /// The skill cannot be used until this is fixed.
    Error,
}

/// A 1-based line and column (columns count characters, not bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Position {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub column: usize,
}

impl Position {
    /// The first character of a file.
    pub const START: Position = Position { line: 1, column: 1 };
}

/// One problem in a skill file.
///
/// Displays as `file:line:col: error: message` followed by an indented `hint:` line, the form
/// editors and terminals turn into links.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong.
    pub message: String,
    /// What to write instead, when skillet can tell.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// The file, when the problem came from one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    /// Where in the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<Position>,
    /// The JSON path of the offending value (`parameters[0].type`), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

impl Diagnostic {
    /// An error with no position yet.
    pub fn error(message: impl Into<String>) -> Self {
        Self::new(Severity::Error, message)
    }

    /// A warning with no position yet.
    pub fn warning(message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, message)
    }

    /// A problem of the given severity with no position yet.
    pub fn new(severity: Severity, message: impl Into<String>) -> Self {
        Diagnostic {
            severity,
            message: message.into(),
            hint: None,
            file: None,
            position: None,
            path: None,
        }
    }

    /// Adds a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Sets the position.
    pub fn at(mut self, position: Position) -> Self {
        self.position = Some(position);
        self
    }

    /// Sets the file.
    pub fn in_file(mut self, file: impl Into<PathBuf>) -> Self {
        self.file = Some(file.into());
        self
    }

    /// Whether this is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{}:", file.display())?;
            if let Some(p) = self.position {
                write!(f, "{}:{}:", p.line, p.column)?;
            }
            f.write_str(" ")?;
        }
        let label = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{label}: {}", self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

/// Suggests the candidate closest to `word`, if one is close enough to be a likely typo.
///
/// ```
/// assert_eq!(
///     skillet_spec::did_you_mean("prompt_templte", ["prompt_template", "parameters"]),
///     Some("prompt_template")
/// );
/// assert_eq!(skillet_spec::did_you_mean("zzz", ["name"]), None);
/// ```
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    // No field, parameter or placeholder name is longer than a name may be; comparing a
    // hostile 250-character key with every candidate, for each of a thousand keys, took most
    // of a listing's time.
    if word.len() > crate::limits::MAX_NAME_CHARS * 4
        || word.chars().count() > crate::limits::MAX_NAME_CHARS
    {
        return None;
    }
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}
