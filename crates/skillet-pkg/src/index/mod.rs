//! Indexes of packages: skillet's own JSON index (`skillet-index.json`), and read-only a Claude
//! Code marketplace (`.claude-plugin/marketplace.json`). [`Index::parse`] tells them apart by
//! their content.
//!
//! An index is untrusted. One bad entry does not lose the others: it is left out and reported
//! in [`Index::warnings`]; only a file that is not an index at all is an error. Relative sources
//! are resolved against where the index came from ([`IndexOrigin`]) and may not leave it, and an
//! index fetched from another machine may not point at files on this one.

mod claude_marketplace;
mod origin;
mod skillet_index;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use skillet_spec::display::{Lines, terminal_safe};
use skillet_spec::files::FileError;

use crate::PackageName;
use crate::source::Source;

pub use origin::IndexOrigin;
pub(crate) use origin::{Resolver, check_git_ref, check_sha256, check_subdir};

/// skillet's own index file, at the root of a folder or repository.
pub const SKILLET_INDEX_FILE: &str = "skillet-index.json";

/// A Claude Code marketplace file, relative to the marketplace's root.
pub const CLAUDE_MARKETPLACE_FILE: &str = ".claude-plugin/marketplace.json";

/// The largest index skillet reads, in bytes (20,000 entries of a few hundred bytes fit).
pub const MAX_INDEX_BYTES: u64 = 32 * 1024 * 1024;

/// The skillet index format this skillet reads (`"skillet_index": 1`).
pub const SKILLET_INDEX_VERSION: u64 = 1;

/// Every package an index offers.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Index {
    /// The index's own name (a marketplace's `name`), when it gives one. Untrusted text: check
    /// it before using it as a file name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Its packages; one entry per version.
    pub packages: Vec<IndexEntry>,
    /// Entries left out, each with the reason: show them to the user.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<IndexWarning>,
}

/// One version of one package in an index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexEntry {
    /// The package.
    pub name: PackageName,
    /// This entry's version.
    pub version: semver::Version,
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// Where to fetch it (relative paths already resolved against the index's own location).
    pub source: Source,
    /// What it needs.
    #[serde(default)]
    pub dependencies: BTreeMap<PackageName, semver::VersionReq>,
    /// Its skills' paths, when the index lists them (a marketplace's `skills`): relative to the
    /// package's root, checked lexically (no absolute path, `..`, `.git` or `.skillet`); the
    /// package is then exactly these skills ([`crate::manifest::read_package_for`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skills: Vec<String>,
}

/// An index entry that was left out, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexWarning {
    /// The entry: its name when it has a readable one, else its position (`#3`).
    pub entry: String,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for IndexWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "entry {}: {}", self.entry, self.message)
    }
}

/// Why an index could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// The folder has no index file.
    #[error(
        "{} holds no index: it has neither {SKILLET_INDEX_FILE} nor {CLAUDE_MARKETPLACE_FILE}; check the path, or create one (see docs/packages.md)",
        dir.display()
    )]
    NotFound {
        /// The folder.
        dir: PathBuf,
    },
    /// The index file could not be read.
    #[error("cannot read the index {}: it {source}", file.display())]
    Read {
        /// The file.
        file: PathBuf,
        /// Why.
        source: FileError,
    },
    /// The folder could not be opened.
    #[error("cannot open the index folder {}: {source}", dir.display())]
    Dir {
        /// The folder.
        dir: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Too big to be an index.
    #[error(
        "the index from {origin} is {size} bytes, more than the {MAX_INDEX_BYTES} skillet reads; check that it is an index"
    )]
    TooLarge {
        /// Where it came from.
        origin: String,
        /// Its size.
        size: u64,
    },
    /// Not JSON, or JSON that is neither kind of index.
    #[error(
        "the file from {origin} is not a package index: {reason}; an index is a skillet-index.json or a Claude Code .claude-plugin/marketplace.json (see docs/packages.md)"
    )]
    NotAnIndex {
        /// Where it came from.
        origin: String,
        /// What it is instead.
        reason: String,
    },
    /// A skillet index of a format version this skillet does not know.
    #[error(
        "the index from {origin} is in skillet index format {found}, and this skillet reads format {SKILLET_INDEX_VERSION}: update skillet"
    )]
    UnsupportedVersion {
        /// Where it came from.
        origin: String,
        /// The version it declares.
        found: String,
    },
}

impl Index {
    /// Parses an index: a skillet index (it has `"skillet_index"`) or a Claude Code marketplace
    /// (it has `"plugins"`). Entries that are wrong are left out and listed in `warnings`.
    pub fn parse(bytes: &[u8], origin: &IndexOrigin) -> Result<Index, IndexError> {
        parse_with(bytes, origin, None)
    }

    /// Reads the index in the folder `root` (a checkout of `origin`, or `origin`'s folder):
    /// `skillet-index.json`, else `.claude-plugin/marketplace.json`. A marketplace entry with a
    /// folder source and no `version` takes its version from that folder's plugin.json.
    pub fn read_dir(root: &Path, origin: &IndexOrigin) -> Result<Index, IndexError> {
        let root = std::fs::canonicalize(root).map_err(|source| IndexError::Dir {
            dir: root.to_path_buf(),
            source,
        })?;
        for rel in [SKILLET_INDEX_FILE, CLAUDE_MARKETPLACE_FILE] {
            match skillet_spec::files::read_reference(&root, Path::new(rel), MAX_INDEX_BYTES) {
                Ok(bytes) => return parse_with(&bytes, origin, Some(&root)),
                Err(FileError::NotFound) => continue,
                Err(FileError::TooLarge { size, .. }) => {
                    return Err(IndexError::TooLarge {
                        origin: root.join(rel).display().to_string(),
                        size,
                    });
                }
                Err(source) => {
                    return Err(IndexError::Read {
                        file: root.join(rel),
                        source,
                    });
                }
            }
        }
        Err(IndexError::NotFound { dir: root })
    }
}

/// [`Index::parse`], with the index's folder on this machine when there is one.
fn parse_with(
    bytes: &[u8],
    origin: &IndexOrigin,
    local: Option<&Path>,
) -> Result<Index, IndexError> {
    let not_index = |reason: String| IndexError::NotAnIndex {
        origin: origin.to_string(),
        reason,
    };
    if bytes.len() as u64 > MAX_INDEX_BYTES {
        return Err(IndexError::TooLarge {
            origin: origin.to_string(),
            size: bytes.len() as u64,
        });
    }
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| not_index(format!("it is not JSON ({e})")))?;
    let Value::Object(top) = value else {
        return Err(not_index("it is JSON, but not an object".into()));
    };
    let resolver = Resolver::new(origin, local);
    let mut index = if top.contains_key("skillet_index") {
        skillet_index::parse(top, &resolver)?
    } else if top.get("plugins").is_some_and(Value::is_array) {
        claude_marketplace::parse(top, &resolver)
    } else {
        return Err(not_index(
            "it has neither a `skillet_index` key nor a `plugins` array".into(),
        ));
    };
    // Warnings quote the index's own text (names, keys, URLs): made inert here, once, so an
    // escape sequence in a hostile index cannot reach the user's terminal.
    for w in &mut index.warnings {
        w.entry = terminal_safe(&w.entry, Lines::Escape, 100).into_owned();
        w.message = terminal_safe(&w.message, Lines::Escape, 1000).into_owned();
    }
    Ok(index)
}

/// Adds `entry` unless an entry of the same name and version came first.
pub(crate) fn push_entry(index: &mut Index, entry: IndexEntry) {
    if index
        .packages
        .iter()
        .any(|e| e.name == entry.name && e.version == entry.version)
    {
        index.warnings.push(IndexWarning {
            entry: entry.name.to_string(),
            message: format!(
                "version {} is listed twice; the first entry is used",
                entry.version
            ),
        });
    } else {
        index.packages.push(entry);
    }
}

/// The label of entry `i` in warnings: its name when it has a string one.
pub(crate) fn entry_label(value: &Value, i: usize) -> String {
    match value.get("name").and_then(Value::as_str) {
        Some(name) if name.len() <= 80 && !name.chars().any(char::is_control) => name.to_owned(),
        _ => format!("#{}", i + 1),
    }
}
