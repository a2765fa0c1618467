//! Where an index came from, and what its sources may point at from there.
//!
//! Relative sources resolve against the origin and may not leave it; an index fetched from
//! another machine may not point at files on this one; and every URL, reference and path an
//! index names is checked before `git` or an HTTP client sees it.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::manifest::paths::{normalize_relative, resolve_inside};
use crate::source::Source;

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

impl IndexOrigin {
    /// Whether the index was fetched from a local or private address (an index server on
    /// loopback): it may name others there.
    fn on_local_host(&self) -> bool {
        match self {
            IndexOrigin::Dir(_) => true,
            IndexOrigin::Git { url, .. } | IndexOrigin::Url(url) => names_local_host(url),
        }
    }
}

/// Whether `url`'s host, as written, is this machine or a private network: an address in any
/// spelling (`127.1`, `2130706433`, `[::ffff:127.0.0.1]`; read as a web URL whatever the
/// scheme, as git and ssh accept the same forms) or `localhost`.
fn names_local_host(url: &str) -> bool {
    let host = match url.split_once("://") {
        Some((_, rest)) => rest,
        // scp-like `user@host:path`
        None => match url.split_once('@') {
            Some((_, rest)) if rest.starts_with('[') => {
                rest.find(']').map_or(rest, |end| &rest[..=end])
            }
            Some((_, rest)) => rest.split(':').next().unwrap_or(rest),
            None => return false,
        },
    };
    let Ok(parsed) = reqwest::Url::parse(&format!("https://{host}")) else {
        return false;
    };
    let Some(host) = parsed.host_str() else {
        return false;
    };
    let bare = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase();
    bare == "localhost"
        || bare.ends_with(".localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(crate::download::is_local_ip)
}

impl fmt::Display for IndexOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IndexOrigin::Dir(p) => write!(f, "{}", p.display()),
            // Named without the credentials a URL was typed with.
            IndexOrigin::Git { url, commit } => {
                write!(f, "{} at {commit}", crate::source::without_credentials(url))
            }
            IndexOrigin::Url(u) => f.write_str(&crate::source::without_credentials(u)),
        }
    }
}

/// Turns the sources an index names into [`Source`]s, relative ones against the origin.
pub(crate) struct Resolver<'a> {
    pub(super) origin: &'a IndexOrigin,
    /// The origin's folder, canonical, when it is on this machine.
    root: Option<PathBuf>,
}

impl<'a> Resolver<'a> {
    pub(super) fn new(origin: &'a IndexOrigin, local: Option<&Path>) -> Self {
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
        // What an index names was written by whoever serves it, so it gets no transport anyone
        // on the way can read or rewrite (a user may still type such a URL themselves).
        let lower = url.to_ascii_lowercase();
        if let Some(scheme) = ["http://", "git://"]
            .iter()
            .find(|s| lower.starts_with(**s))
        {
            return Err(format!(
                "git URL {url:?} uses plain {scheme}, which anyone on the way can read and change: an index may only name git repositories over https:// or ssh:// (ask its publisher to fix the entry)"
            ));
        }
        self.check_host(url)?;
        if is_local_git_url(url) && !self.origin.is_local() {
            return Err(format!(
                "git URL {url:?} points at this machine, but the index came from {}: an index from elsewhere may not point at local files",
                self.origin
            ));
        }
        Ok(url.to_owned())
    }

    /// Refuses a URL naming this machine or a private network, in any spelling of its
    /// address, unless the index itself came from such a place (a local index, a test server):
    /// a document from elsewhere may not send skillet to the user's own services. A name that
    /// only resolves to such an address is caught when downloading (`crate::download`).
    fn check_host(&self, url: &str) -> Result<(), String> {
        if self.origin.is_local() || self.origin.on_local_host() || !names_local_host(url) {
            return Ok(());
        }
        Err(format!(
            "URL {url:?} points at this machine or its private network, but the index came from {}: an index from elsewhere may not send skillet to local addresses",
            self.origin
        ))
    }

    /// An archive URL an index names, a relative one resolved against the index.
    pub(crate) fn archive_url(&self, url: &str) -> Result<String, String> {
        if url.starts_with("https://") || url.starts_with("http://") {
            check_url_text(url)?;
            self.check_host(url)?;
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
    if crate::source::names_transport_helper(url) {
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
            "git URL {url:?} is not one skillet fetches: use https://, ssh:// or git@host:path"
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
        || reference.contains("@{")
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
