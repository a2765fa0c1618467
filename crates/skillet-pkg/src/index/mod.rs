//! Indexes of packages: skillet's own JSON index (`skillet-index.json`), and read-only a Claude
//! Code marketplace (`.claude-plugin/marketplace.json`). [`Index::parse`] tells them apart by
//! their content.
//!
//! An index is untrusted. One bad entry does not lose the others: it is left out and reported
//! in [`Index::warnings`]; only a file that is not an index at all is an error. Relative sources
//! are resolved against where the index came from ([`IndexOrigin`]) and may not leave it, and an
//! index fetched from another machine may not point at files on this one.

mod claude_marketplace;
mod skillet_index;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use skillet_spec::display::{Lines, terminal_safe};
use skillet_spec::files::FileError;

use crate::PackageName;
use crate::manifest::paths::{normalize_relative, resolve_inside};
use crate::source::Source;

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

/// Where an index was read from: relative sources in it are resolved against this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum IndexOrigin {
    /// A folder on this machine: the one holding `skillet-index.json`, or `.claude-plugin/`.
    Dir(PathBuf),
    /// A git repository, at the commit that was read; relative sources are folders of the
    /// repository at that commit.
    Git {
        /// The repository.
        url: String,
        /// The full commit hash.
        commit: String,
    },
    /// A file downloaded from a URL: it has no files beside it, so relative folder sources are
    /// refused (a relative archive URL is resolved against it).
    Url(String),
}

impl IndexOrigin {
    /// Whether the index came from this machine (a folder, a `file://` URL, a local git
    /// repository). Only such an index may point at files here: one from a server naming
    /// `file:///home/me/.ssh` or a local repository would make skillet copy it.
    pub fn is_local(&self) -> bool {
        match self {
            IndexOrigin::Dir(_) => true,
            IndexOrigin::Git { url, .. } => is_local_git_url(url),
            IndexOrigin::Url(url) => url.starts_with("file://"),
        }
    }
}

impl fmt::Display for IndexOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IndexOrigin::Dir(p) => write!(f, "{}", p.display()),
            IndexOrigin::Git { url, commit } => write!(f, "{url} at {commit}"),
            IndexOrigin::Url(u) => f.write_str(u),
        }
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

/// Turns the sources an index names into [`Source`]s, relative ones against the origin.
pub(crate) struct Resolver<'a> {
    origin: &'a IndexOrigin,
    /// The origin's folder, canonical, when it is on this machine.
    root: Option<PathBuf>,
}

impl<'a> Resolver<'a> {
    fn new(origin: &'a IndexOrigin, local: Option<&Path>) -> Self {
        let root = match (local, origin) {
            (Some(dir), _) => Some(dir.to_path_buf()),
            (None, IndexOrigin::Dir(dir)) => std::fs::canonicalize(dir).ok(),
            (None, _) => None,
        };
        Resolver { origin, root }
    }

    /// The folder of the index on this machine, when there is one.
    pub(crate) fn local_root(&self) -> Option<&Path> {
        self.root.as_deref()
    }

    /// A folder source written relative to the index (`./plugins/x`).
    pub(crate) fn relative(&self, raw: &str) -> Result<Source, String> {
        let rel = normalize_relative(raw).map_err(|e| format!("source {raw:?} {e}"))?;
        match self.origin {
            IndexOrigin::Dir(dir) => {
                let root = self.root.as_deref().ok_or_else(|| {
                    format!(
                        "source {raw:?}: the index's folder {} cannot be opened",
                        dir.display()
                    )
                })?;
                let target = self.inside(root, &rel, raw)?;
                Ok(Source::Dir { path: target })
            }
            IndexOrigin::Git { url, commit } => {
                // With the checkout at hand, a folder that is a link leading out of the
                // repository is refused here already, and the folder is named as resolved.
                let rel = match self.root.as_deref() {
                    Some(root) => {
                        let target = self.inside(root, &rel, raw)?;
                        target
                            .strip_prefix(root)
                            .map(|p| p.to_string_lossy().into_owned())
                            .unwrap_or(rel)
                    }
                    None => rel,
                };
                Ok(Source::Git {
                    url: url.clone(),
                    reference: Some(commit.clone()),
                    subdir: (!rel.is_empty()).then_some(rel),
                })
            }
            IndexOrigin::Url(url) => Err(format!(
                "source {raw:?} is a folder relative to the index, but the index was downloaded from {url} and has no folders beside it: list the package with a git or archive source instead"
            )),
        }
    }

    /// `rel` beneath `root`, resolved through links, and still inside it (and out of `.git`).
    fn inside(&self, root: &Path, rel: &str, raw: &str) -> Result<PathBuf, String> {
        resolve_inside(root, rel).map_err(|e| format!("source {raw:?} {e}"))
    }

    /// A git repository URL an index names.
    pub(crate) fn git_url(&self, url: &str) -> Result<String, String> {
        check_git_url(url)?;
        if is_local_git_url(url) && !self.origin.is_local() {
            return Err(format!(
                "git URL {url:?} points at this machine, but the index came from {}: an index from elsewhere may not point at local files",
                self.origin
            ));
        }
        Ok(url.to_owned())
    }

    /// An archive URL an index names, a relative one resolved against the index.
    pub(crate) fn archive_url(&self, url: &str) -> Result<String, String> {
        if url.starts_with("https://") || url.starts_with("http://") {
            check_url_text(url)?;
            return Ok(url.to_owned());
        }
        if url.starts_with("file://") {
            if !self.origin.is_local() {
                return Err(format!(
                    "archive URL {url:?} points at this machine, but the index came from {}: an index from elsewhere may not point at local files",
                    self.origin
                ));
            }
            check_url_text(url)?;
            return Ok(url.to_owned());
        }
        if url.contains("://") {
            return Err(format!(
                "archive URL {url:?} is neither https://, http:// nor file://"
            ));
        }
        // A relative archive: beside the index.
        let rel = normalize_relative(url).map_err(|e| format!("archive URL {url:?} {e}"))?;
        if rel.contains('%') || rel.contains('?') || rel.contains('#') {
            return Err(format!(
                "archive URL {url:?}: a relative archive path may not hold `%`, `?` or `#`"
            ));
        }
        match self.origin {
            IndexOrigin::Url(base) => {
                let end = base.find(['?', '#']).unwrap_or(base.len());
                let dir = base[..end]
                    .rfind('/')
                    .map_or(base.as_str(), |i| &base[..=i]);
                Ok(format!("{dir}{rel}"))
            }
            IndexOrigin::Dir(_) => {
                let root = self.root.as_deref().ok_or_else(|| {
                    format!("archive {url:?}: the index's folder cannot be opened")
                })?;
                let target = self.inside(root, &rel, url)?;
                Ok(format!("file://{}", target.display()))
            }
            IndexOrigin::Git { .. } => Err(format!(
                "archive URL {url:?} is relative, and an index in a git repository cannot name a file of it as an archive: give a full https:// URL"
            )),
        }
    }
}

/// Whether a git URL names this machine: `file://`, or a plain path.
fn is_local_git_url(url: &str) -> bool {
    url.starts_with("file://")
        || url.starts_with('/')
        || url.starts_with('.')
        || url.starts_with('~')
}

/// Refuses git URLs that would make `git` do more than fetch: an option (`-…`), a transport
/// helper (`ext::sh -c …`, `fd::`), control characters or spaces.
fn check_git_url(url: &str) -> Result<(), String> {
    if url.is_empty() {
        return Err("the git URL is empty".into());
    }
    if url.starts_with('-') {
        return Err(format!(
            "git URL {url:?} starts with `-`, which git would take as an option"
        ));
    }
    if url.contains("::") {
        return Err(format!(
            "git URL {url:?} names a git transport helper (`…::`), which could run a command: use https://, ssh:// or git@host:path"
        ));
    }
    check_url_text(url)?;
    let known = ["https://", "http://", "ssh://", "git://", "file://"];
    let scp_like = !url.contains("://") && url.contains('@') && url.contains(':');
    if known.iter().any(|k| url.starts_with(k)) || scp_like || is_local_git_url(url) {
        Ok(())
    } else {
        Err(format!(
            "git URL {url:?} is not one skillet fetches: use https://, ssh://, git://, git@host:path or file://"
        ))
    }
}

/// Refuses a URL with spaces or control characters: `git` and HTTP clients read them
/// differently, and no real URL has them.
fn check_url_text(url: &str) -> Result<(), String> {
    if url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        Err(format!(
            "URL {url:?} contains a space or a control character"
        ))
    } else {
        Ok(())
    }
}

/// Checks a git reference an index names (a branch, tag or commit) before `git` sees it.
pub(crate) fn check_git_ref(reference: &str) -> Result<(), String> {
    if reference.is_empty()
        || reference.starts_with('-')
        || reference.contains("..")
        || reference.chars().any(|c| {
            c.is_control()
                || c.is_whitespace()
                || matches!(c, '~' | '^' | ':' | '?' | '*' | '[' | '\\')
        })
    {
        Err(format!(
            "{reference:?} is not a git branch, tag or commit name"
        ))
    } else {
        Ok(())
    }
}

/// Checks an archive's digest: 64 hex digits, returned in lowercase.
pub(crate) fn check_sha256(digest: &str) -> Result<String, String> {
    if digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(digest.to_ascii_lowercase())
    } else {
        Err(format!(
            "sha256 {digest:?} is not 64 hexadecimal digits: give the archive's sha256"
        ))
    }
}

/// A subfolder of a repository an index names: a relative path that stays inside it.
pub(crate) fn check_subdir(raw: &str) -> Result<Option<String>, String> {
    let rel = normalize_relative(raw).map_err(|e| format!("path {raw:?} {e}"))?;
    Ok((!rel.is_empty()).then_some(rel))
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
