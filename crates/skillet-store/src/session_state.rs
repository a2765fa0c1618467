//! The words a session row and a turn row are in: typed, spelled in the database and in JSON as
//! they always were, so existing databases and `--json` output read the same.

use std::fmt;

use rusqlite::ToSql;
use rusqlite::types::{FromSql, FromSqlResult, ToSqlOutput, ValueRef};
use serde::{Deserialize, Serialize};

/// Where a session is in its life.
///
/// A value this build does not know (written by a newer skillet, or by hand) is kept as
/// [`SessionStatus::Unknown`] rather than refused, so one odd row never hides the others.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum SessionStatus {
    /// A `code_session` interpreter that is running.
    Live,
    /// A conversation that can be continued.
    Open,
    /// Closed by the user.
    Closed,
    /// Ended by its session or idle timeout.
    Expired,
    /// Its interpreter exited by itself, or stopped answering.
    Dead,
    /// Ended by the daemon stopping (and not restored).
    Ended,
    /// Being brought back by a daemon that restarted: requests wait for it. Only shown, never
    /// stored (the row stays `live`).
    Restoring,
    /// A spelling this build does not know, kept as it was.
    Unknown(String),
}

impl SessionStatus {
    /// The word stored and shown (`live`, `open`, …).
    pub fn as_str(&self) -> &str {
        match self {
            SessionStatus::Live => "live",
            SessionStatus::Open => "open",
            SessionStatus::Closed => "closed",
            SessionStatus::Expired => "expired",
            SessionStatus::Dead => "dead",
            SessionStatus::Ended => "ended",
            SessionStatus::Restoring => "restoring",
            SessionStatus::Unknown(other) => other,
        }
    }
}

impl From<&str> for SessionStatus {
    fn from(word: &str) -> Self {
        match word {
            "live" => SessionStatus::Live,
            "open" => SessionStatus::Open,
            "closed" => SessionStatus::Closed,
            "expired" => SessionStatus::Expired,
            "dead" => SessionStatus::Dead,
            "ended" => SessionStatus::Ended,
            "restoring" => SessionStatus::Restoring,
            other => SessionStatus::Unknown(other.to_owned()),
        }
    }
}

/// How one exchange of a session ended.
///
/// As with [`SessionStatus`], an unknown stored word is kept as [`TurnOutcome::Unknown`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum TurnOutcome {
    /// Answered, and the input succeeded.
    Ok,
    /// Answered, and the input failed (an exception, a non-zero status), or the model call failed.
    Error,
    /// No answer within the time allowed.
    Timeout,
    /// The interpreter went away before answering.
    Dead,
    /// A spelling this build does not know, kept as it was.
    Unknown(String),
}

impl TurnOutcome {
    /// The word stored and shown (`ok`, `error`, …).
    pub fn as_str(&self) -> &str {
        match self {
            TurnOutcome::Ok => "ok",
            TurnOutcome::Error => "error",
            TurnOutcome::Timeout => "timeout",
            TurnOutcome::Dead => "dead",
            TurnOutcome::Unknown(other) => other,
        }
    }
}

impl From<&str> for TurnOutcome {
    fn from(word: &str) -> Self {
        match word {
            "ok" => TurnOutcome::Ok,
            "error" => TurnOutcome::Error,
            "timeout" => TurnOutcome::Timeout,
            "dead" => TurnOutcome::Dead,
            other => TurnOutcome::Unknown(other.to_owned()),
        }
    }
}

/// The plumbing both words share: text in SQLite and JSON, `Display` as the word.
macro_rules! stored_word {
    ($ty:ty) => {
        impl From<String> for $ty {
            fn from(word: String) -> Self {
                <$ty>::from(word.as_str())
            }
        }
        impl From<$ty> for String {
            fn from(value: $ty) -> String {
                value.as_str().to_owned()
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl ToSql for $ty {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.as_str()))
            }
        }
        impl FromSql for $ty {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                value.as_str().map(<$ty>::from)
            }
        }
    };
}

stored_word!(SessionStatus);
stored_word!(TurnOutcome);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_reads_back_as_itself() {
        for word in [
            "live", "open", "closed", "expired", "dead", "ended", "paused",
        ] {
            let status = SessionStatus::from(word);
            assert_eq!(status.as_str(), word);
            let json = serde_json::to_string(&status).unwrap();
            assert_eq!(json, format!("\"{word}\""));
            assert_eq!(
                serde_json::from_str::<SessionStatus>(&json).unwrap(),
                status
            );
        }
        assert_eq!(
            SessionStatus::from("paused"),
            SessionStatus::Unknown("paused".into())
        );
        for word in ["ok", "error", "timeout", "dead", "cancelled"] {
            let outcome = TurnOutcome::from(word);
            assert_eq!(outcome.to_string(), word);
            let json = serde_json::to_string(&outcome).unwrap();
            assert_eq!(serde_json::from_str::<TurnOutcome>(&json).unwrap(), outcome);
        }
        assert_eq!(TurnOutcome::from("ok"), TurnOutcome::Ok);
    }
}
