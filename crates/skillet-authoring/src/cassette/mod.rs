//! Cassettes: a conversation test's exchanges with the model, recorded once by `skillet test
//! --record` and replayed offline by every later `skillet test`.
//!
//! A cassette is `<skill folder>/__cassettes__/<skill>-<n>.json`, beside `__snapshots__`,
//! written whole (a fresh file renamed over the old one, never through a link) and
//! deterministic (sorted keys, no timestamps), so re-recording an unchanged conversation
//! changes nothing in the repository. It holds every request skillet sent (model, `max_tokens`,
//! system prompt, messages), the context files' SHA-256 hashes, the test's parameters, and each
//! answer. It never holds an API key or a header: the recorder sees requests before they
//! become HTTP, and refuses to keep a cassette in which the configured key appears.
//!
//! A replay answers the engine's model calls from the cassette (see [`transport`]), and the
//! first request that differs from the recorded one stops the conversation with a
//! [`Mismatch`](crate::Mismatch) naming what changed.

mod compare;
pub(crate) mod play;
pub mod transport;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use skillet_engine::conversation::Message;

use crate::beside::{self, BesideError};

pub use compare::{Difference, differences, file_differences, param_differences};

/// The folder cassettes live in, inside the skill's folder.
pub const CASSETTE_DIR: &str = "__cassettes__";

/// The largest cassette read or written: a conversation past it is too big to keep in a
/// repository, and a file past it is not read at all.
pub const MAX_CASSETTE_BYTES: u64 = 4 * 1024 * 1024;

/// The format version this skillet writes.
pub const FORMAT: u32 = 1;

/// Why a cassette could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum CassetteError {
    /// The folder or the file is a symbolic link (or not what it should be).
    #[error(
        "{} is not a plain file or folder (a symbolic link?); cassettes are never read or written \
         through a link: remove it and re-record with `skillet test --record {skill}`",
        path.display()
    )]
    NotPlain {
        /// The file or folder.
        path: PathBuf,
        /// The skill, for the hint.
        skill: String,
    },
    /// The file is past [`MAX_CASSETTE_BYTES`].
    #[error(
        "{} is {size} bytes, more than the {max} a cassette may hold; shorten the conversation \
         (fewer turns, smaller context_files limits) and re-record with `skillet test --record {skill}`",
        path.display()
    )]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size, or the size it would have had.
        size: u64,
        /// The bound.
        max: u64,
        /// The skill, for the hint.
        skill: String,
    },
    /// The file is not a cassette this skillet reads.
    #[error(
        "{} is not a cassette skillet can read ({reason}); re-record it with `skillet test --record {skill}`",
        path.display()
    )]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
        /// The skill, for the hint.
        skill: String,
    },
    /// The recorded conversation holds the configured API key (a context file or an answer
    /// quoted it), so it is not kept.
    #[error(
        "the recorded conversation contains the API key of [llm] (a context file, parameter or \
         answer quotes it), so no cassette was written; remove the key from what the skill sends \
         (add the file to context_files.exclude) and record again"
    )]
    HoldsKey,
    /// Reading or writing failed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// `read` or `write`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl CassetteError {
    fn from_beside(e: BesideError, skill: &str) -> CassetteError {
        match e {
            BesideError::NotPlain(path) => CassetteError::NotPlain {
                path,
                skill: skill.to_owned(),
            },
            BesideError::TooLarge { path, size, max } => CassetteError::TooLarge {
                path,
                size,
                max,
                skill: skill.to_owned(),
            },
            BesideError::Io {
                action,
                path,
                source,
            } => CassetteError::Io {
                action,
                path,
                source,
            },
        }
    }
}

/// One context file as the first request quoted it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedFile {
    /// Relative to the workspace root, `/`-separated.
    pub path: String,
    /// SHA-256 of the text sent (after any cut to the token budget), in hex.
    pub sha256: String,
}

/// One request as skillet sent it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedRequest {
    /// The model asked.
    pub model: String,
    /// The answer's token limit.
    pub max_tokens: u32,
    /// The instructions.
    pub system: Option<String>,
    /// The conversation so far, oldest first.
    pub messages: Vec<Message>,
}

/// One answer as the model gave it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedAnswer {
    /// Its text.
    pub text: String,
    /// Why the model stopped, as the provider said it.
    pub stop_reason: Option<String>,
    /// Tokens of the request, when the provider counted them.
    pub input_tokens: Option<u64>,
    /// Tokens of the answer, when the provider counted them.
    pub output_tokens: Option<u64>,
}

/// One request and its answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exchange {
    /// What skillet sent.
    pub request: RecordedRequest,
    /// What came back.
    pub answer: RecordedAnswer,
}

/// A whole recorded conversation test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cassette {
    /// The format's version ([`FORMAT`]).
    pub format: u32,
    /// The skill.
    pub skill: String,
    /// The test's number within the skill, from 1.
    pub test: usize,
    /// The test's parameters.
    pub params: Map<String, Value>,
    /// The context files the first request quoted, in the order sent.
    pub context_files: Vec<RecordedFile>,
    /// Every request, in the order sent.
    pub exchanges: Vec<Exchange>,
}

/// The file name of test `index` (counted from 1) of `skill`.
pub fn file_name(skill: &str, index: usize) -> String {
    format!("{skill}-{index}.json")
}

/// Where the cassette of test `index` of `skill` is, for messages.
pub fn path(skill_dir: &Path, skill: &str, index: usize) -> PathBuf {
    skill_dir.join(CASSETTE_DIR).join(file_name(skill, index))
}

/// The stored cassette of test `index` of `skill`; `None` when there is none yet.
pub fn read(
    skill_dir: &Path,
    skill: &str,
    index: usize,
) -> Result<Option<Cassette>, CassetteError> {
    let bytes = beside::read(
        skill_dir,
        CASSETTE_DIR,
        &file_name(skill, index),
        MAX_CASSETTE_BYTES,
    )
    .map_err(|e| CassetteError::from_beside(e, skill))?;
    let Some(bytes) = bytes else {
        return Ok(None);
    };
    let malformed = |reason: String| CassetteError::Malformed {
        path: path(skill_dir, skill, index),
        reason,
        skill: skill.to_owned(),
    };
    let cassette: Cassette =
        serde_json::from_slice(&bytes).map_err(|e| malformed(e.to_string()))?;
    if cassette.format != FORMAT {
        return Err(malformed(format!(
            "format {} where this skillet reads {FORMAT}",
            cassette.format
        )));
    }
    if cassette.skill != skill || cassette.test != index {
        return Err(malformed(format!(
            "it was recorded for {} test {}",
            cassette.skill, cassette.test
        )));
    }
    Ok(Some(cassette))
}

/// The text a cassette is stored as: pretty JSON with every object's keys sorted.
pub fn to_text(cassette: &Cassette) -> String {
    let value = serde_json::to_value(cassette).unwrap_or(Value::Null);
    let mut text = serde_json::to_string_pretty(&sorted(value)).unwrap_or_default();
    text.push('\n');
    text
}

/// Stores `cassette` beside the skill in `skill_dir`, replacing the old one whole; refused
/// past [`MAX_CASSETTE_BYTES`].
pub fn write(skill_dir: &Path, cassette: &Cassette) -> Result<PathBuf, CassetteError> {
    let text = to_text(cassette);
    let size = u64::try_from(text.len()).unwrap_or(u64::MAX);
    if size > MAX_CASSETTE_BYTES {
        return Err(CassetteError::TooLarge {
            path: path(skill_dir, &cassette.skill, cassette.test),
            size,
            max: MAX_CASSETTE_BYTES,
            skill: cassette.skill.clone(),
        });
    }
    beside::write(
        skill_dir,
        CASSETTE_DIR,
        &file_name(&cassette.skill, cassette.test),
        text.as_bytes(),
    )
    .map_err(|e| CassetteError::from_beside(e, &cassette.skill))
}

/// `value` with every object's keys in order: `serde_json` keeps insertion order here, and a
/// cassette must not change when nothing recorded did.
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn cassette() -> Cassette {
        Cassette {
            format: FORMAT,
            skill: "review".into(),
            test: 1,
            params: serde_json::from_str(r#"{"z": 1, "a": "x"}"#).unwrap(),
            context_files: vec![RecordedFile {
                path: "src/lib.rs".into(),
                sha256: "ab".repeat(32),
            }],
            exchanges: vec![Exchange {
                request: RecordedRequest {
                    model: "m".into(),
                    max_tokens: 10,
                    system: Some("s".into()),
                    messages: vec![Message::user("hi")],
                },
                answer: RecordedAnswer {
                    text: "hello".into(),
                    stop_reason: Some("stop".into()),
                    input_tokens: Some(3),
                    output_tokens: None,
                },
            }],
        }
    }

    #[test]
    fn written_sorted_and_read_back() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(read(tmp.path(), "review", 1).unwrap().is_none());
        let at = write(tmp.path(), &cassette()).unwrap();
        assert_eq!(at, tmp.path().join("__cassettes__/review-1.json"));
        let text = std::fs::read_to_string(&at).unwrap();
        assert!(
            text.find("\"a\"").unwrap() < text.find("\"z\"").unwrap(),
            "{text}"
        );
        assert!(text.find("\"context_files\"").unwrap() < text.find("\"exchanges\"").unwrap());
        assert_eq!(read(tmp.path(), "review", 1).unwrap().unwrap(), cassette());
        // Deterministic: the same conversation is the same bytes.
        write(tmp.path(), &cassette()).unwrap();
        assert_eq!(std::fs::read_to_string(&at).unwrap(), text);
        // Another test's cassette copied over this one is refused.
        assert!(matches!(read(tmp.path(), "review", 2), Ok(None)));
        std::fs::copy(&at, tmp.path().join("__cassettes__/review-2.json")).unwrap();
        assert!(matches!(
            read(tmp.path(), "review", 2),
            Err(CassetteError::Malformed { .. })
        ));
    }

    #[test]
    fn too_large_is_refused_both_ways() {
        let tmp = tempfile::tempdir().unwrap();
        let mut big = cassette();
        big.exchanges[0].answer.text = "x".repeat(usize::try_from(MAX_CASSETTE_BYTES).unwrap());
        let err = write(tmp.path(), &big).unwrap_err();
        assert!(matches!(err, CassetteError::TooLarge { .. }), "{err}");
        assert!(err.to_string().contains("skillet test --record review"));
        assert!(!path(tmp.path(), "review", 1).exists());
        std::fs::create_dir_all(tmp.path().join(CASSETTE_DIR)).unwrap();
        std::fs::write(path(tmp.path(), "review", 1), to_text(&big)).unwrap();
        assert!(matches!(
            read(tmp.path(), "review", 1),
            Err(CassetteError::TooLarge { .. })
        ));
    }

    #[test]
    fn links_are_never_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let victim = outside.path().join("review-1.json");
        std::fs::write(&victim, "precious\n").unwrap();
        // The folder a link: refused both ways, nothing written outside.
        std::os::unix::fs::symlink(outside.path(), tmp.path().join(CASSETTE_DIR)).unwrap();
        assert!(matches!(
            write(tmp.path(), &cassette()),
            Err(CassetteError::NotPlain { .. })
        ));
        assert!(matches!(
            read(tmp.path(), "review", 1),
            Err(CassetteError::NotPlain { .. })
        ));
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
        // The file a link or a hard link: reading refuses the link, writing replaces either.
        std::fs::remove_file(tmp.path().join(CASSETTE_DIR)).unwrap();
        std::fs::create_dir(tmp.path().join(CASSETTE_DIR)).unwrap();
        std::os::unix::fs::symlink(&victim, path(tmp.path(), "review", 1)).unwrap();
        assert!(matches!(
            read(tmp.path(), "review", 1),
            Err(CassetteError::NotPlain { .. })
        ));
        write(tmp.path(), &cassette()).unwrap();
        std::fs::remove_file(path(tmp.path(), "review", 1)).unwrap();
        std::fs::hard_link(&victim, path(tmp.path(), "review", 1)).unwrap();
        write(tmp.path(), &cassette()).unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    }
}
