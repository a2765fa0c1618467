//! Where a package comes from, and fetching it into a staging directory.
//!
//! A [`Source`] is what a user or an index names; fetching it yields a [`Pinned`] source (the
//! exact git commit, the archive's digest) that `skillet.lock` records, so a second machine gets
//! the same bytes.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

mod archive;
mod archive_file;
mod dir;
mod error;
mod git;
pub(crate) mod progress;
mod request;

pub use error::SourceError;
pub(crate) use git::names_transport_helper;
pub use progress::{NoProgress, Progress};
pub use request::{ACCEPTED_FORMS, Request, RequestError};

/// Where a package's files come from, as named by a user or an index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Source {
    /// A folder on this machine (copied, never linked).
    Dir {
        /// The folder.
        path: PathBuf,
    },
    /// A git repository, fetched with the `git` program.
    Git {
        /// Anything `git` accepts: `https://…`, `file://…`, `git@host:org/repo.git`, a path.
        #[serde(serialize_with = "serialize_url")]
        url: String,
        /// A branch, tag or commit; the remote's default branch when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
        /// The package's folder inside the repository, when it is not the root.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        subdir: Option<String>,
    },
    /// A `.tar.gz` archive over `https://` or `file://`, which must match its digest.
    Archive {
        /// The archive's URL.
        #[serde(serialize_with = "serialize_url")]
        url: String,
        /// Its sha256, lowercase hex. Required: an archive is never installed unchecked.
        sha256: String,
    },
}

impl Source {
    /// A warning to show when the user asked for this source themselves and it travels over
    /// a transport anyone on the way can read and rewrite (a git repository over plain
    /// `http://` or `git://` to another machine). An index may not name such a source at all.
    pub fn transport_warning(&self) -> Option<String> {
        match self {
            Source::Git { url, .. } => git_transport_warning(url),
            Source::Dir { .. } | Source::Archive { .. } => None,
        }
    }
}

/// [`Source::transport_warning`] for a git URL the user typed (`skillet marketplace add`
/// takes one too).
pub fn git_transport_warning(url: &str) -> Option<String> {
    let lower = url.to_ascii_lowercase();
    let scheme = ["http://", "git://"]
        .into_iter()
        .find(|s| lower.starts_with(s))?;
    let to_this_machine = reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .is_some_and(|h| {
            let bare = h.trim_start_matches('[').trim_end_matches(']');
            bare == "localhost"
                || bare
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        });
    (!to_this_machine).then(|| {
        let url = without_credentials(url);
        format!(
            "{url} is fetched over plain {scheme}, which anyone on the way can read and change; use an https:// or ssh:// URL of the same repository if it has one"
        )
    })
}

/// A fetched source, exact enough to fetch the same bytes again: what `skillet.lock` records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Pinned {
    /// A folder; its files' digests in the lockfile are what pin it.
    Dir {
        /// The folder, as given.
        path: PathBuf,
    },
    /// A git repository at one commit.
    Git {
        /// The repository.
        #[serde(serialize_with = "serialize_url")]
        url: String,
        /// The full commit hash that was checked out.
        commit: String,
        /// The branch, tag or commit the user asked for (`git+URL#v1.2`), when one was:
        /// `skillet update` fetches it again, so an update stays on the line the user chose
        /// instead of following the default branch.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
        /// The package's folder inside the repository, when it is not the root.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        subdir: Option<String>,
    },
    /// An archive with its digest.
    Archive {
        /// The archive's URL.
        #[serde(serialize_with = "serialize_url")]
        url: String,
        /// Its sha256, lowercase hex.
        sha256: String,
    },
}

/// A fetched package, in staging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The package's folder inside staging (`<staging>/package`): only regular files and
    /// folders, no `.git`, ready to be read and moved into place.
    pub root: PathBuf,
    /// What was fetched, exactly: for `skillet.lock`.
    pub pinned: Pinned,
}

/// The limits a fetch runs under. [`fetch`] uses [`FetchOptions::default`]; a caller with a
/// user's setting (a CLI flag, the global config) passes its own to [`fetch_with`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FetchOptions {
    /// How long connecting to an HTTP server may take.
    pub connect_timeout: Duration,
    /// How long a download may go without a byte before it is abandoned.
    pub stall_timeout: Duration,
    /// How long every `git` command of one fetch may take together before git is killed.
    pub git_timeout: Duration,
    /// The largest archive downloaded, in bytes.
    pub max_download_bytes: u64,
    /// The largest package, in bytes of its files.
    pub max_tree_bytes: u64,
    /// The most files and folders a package (or an archive) may hold.
    pub max_entries: u64,
    /// The `git` program: found on `PATH` by default.
    pub git_program: PathBuf,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            connect_timeout: Duration::from_secs(30),
            stall_timeout: Duration::from_secs(60),
            git_timeout: Duration::from_secs(600),
            max_download_bytes: 512 * 1024 * 1024,
            max_tree_bytes: 512 * 1024 * 1024,
            max_entries: 100_000,
            git_program: PathBuf::from("git"),
        }
    }
}

impl FetchOptions {
    fn tree_limits(&self) -> dir::TreeLimits {
        dir::TreeLimits {
            max_bytes: self.max_tree_bytes,
            max_entries: self.max_entries,
        }
    }
}

/// Fetches `source` into `staging` (created if missing; scratch files go inside it and are
/// removed), with the default limits.
pub fn fetch(
    source: &Source,
    staging: &Path,
    progress: &dyn Progress,
) -> Result<Fetched, SourceError> {
    fetch_with(source, staging, progress, &FetchOptions::default())
}

/// [`fetch`] under the given limits.
pub fn fetch_with(
    source: &Source,
    staging: &Path,
    progress: &dyn Progress,
    options: &FetchOptions,
) -> Result<Fetched, SourceError> {
    match source {
        Source::Dir { path } => fetch_dir(path, staging, options, progress),
        Source::Git {
            url,
            reference,
            subdir,
        } => git::fetch_git(
            &git::GitTarget {
                url,
                reference: reference.as_deref(),
                commit: None,
                subdir: subdir.as_deref(),
            },
            staging,
            options,
            progress,
        ),
        Source::Archive { url, sha256 } => {
            archive::fetch_archive(url, sha256, staging, options, progress)
        }
    }
}

/// Fetches exactly what a lockfile recorded (`install --locked`): the same git commit (an error
/// if the repository no longer has it), the same archive digest.
pub fn fetch_pinned(
    pinned: &Pinned,
    staging: &Path,
    progress: &dyn Progress,
) -> Result<Fetched, SourceError> {
    fetch_pinned_with(pinned, staging, progress, &FetchOptions::default())
}

/// [`fetch_pinned`] under the given limits.
pub fn fetch_pinned_with(
    pinned: &Pinned,
    staging: &Path,
    progress: &dyn Progress,
    options: &FetchOptions,
) -> Result<Fetched, SourceError> {
    match pinned {
        Pinned::Dir { path } => fetch_dir(path, staging, options, progress),
        Pinned::Git {
            url,
            commit,
            reference,
            subdir,
        } => git::fetch_git(
            &git::GitTarget {
                url,
                reference: reference.as_deref(),
                commit: Some(commit),
                subdir: subdir.as_deref(),
            },
            staging,
            options,
            progress,
        ),
        Pinned::Archive { url, sha256 } => {
            archive::fetch_archive(url, sha256, staging, options, progress)
        }
    }
}

fn fetch_dir(
    path: &Path,
    staging: &Path,
    options: &FetchOptions,
    progress: &dyn Progress,
) -> Result<Fetched, SourceError> {
    std::fs::create_dir_all(staging).map_err(|e| SourceError::io("cannot create", staging, e))?;
    let root = staging.join("package");
    copy_tree(
        path,
        &root,
        &path.display().to_string(),
        options.tree_limits(),
        progress,
    )
    .map_err(|e| match e {
        // The folder the user named is missing: say what to give instead.
        SourceError::Io {
            path: ref p,
            ref source,
            ..
        } if p == path && source.kind() == std::io::ErrorKind::NotFound => {
            SourceError::NoSuchDir { path: path.into() }
        }
        e => e,
    })?;
    Ok(Fetched {
        root,
        pinned: Pinned::Dir { path: path.into() },
    })
}

use dir::copy_tree;

/// `text` with the credentials of every URL in it left out (`https://user:token@host/x` becomes
/// `https://host/x`; an ssh user stays): what skillet writes down or prints of a source. A token
/// typed into a URL is used for the fetch at hand and nowhere else: `skillet.lock` is meant to
/// be committed. git runs without the user's credential helper, so updating such a package
/// means installing it again from the URL with its token (docs/packages.md, "Git").
///
/// ```
/// use skillet_pkg::source::without_credentials;
/// assert_eq!(
///     without_credentials("fetch failed for https://me:ghp_x@example.com/r.git: 403"),
///     "fetch failed for https://example.com/r.git: 403"
/// );
/// ```
pub fn without_credentials(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (before, after) = rest.split_at(at + 3);
        out.push_str(before);
        // The authority ends where the path or the text around the URL begins. Not at `?` or
        // `#`: a password typed unencoded may hold them (`https://u:p#ss@host/`), and leaving
        // it whole would print it; a URL with an `@` in a query and no path is mangled instead.
        let end = after
            .find(|c: char| c == '/' || c.is_whitespace() || "'\"<>`".contains(c))
            .unwrap_or(after.len());
        let authority = &after[..end];
        // An ssh URL's user is who to log in as (`ssh://git@host/…`, `git+ssh://`,
        // `ssh+git://`), never a secret (git takes no ssh password from a URL); anywhere else
        // a user may be a token.
        let scheme = before[..before.len() - 3]
            .rsplit(|c: char| !(c.is_ascii_alphanumeric() || "+-.".contains(c)))
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let ssh = scheme.split('+').any(|part| part == "ssh");
        // `https://host?pkg=@scope/x`: an `@` in a query of a URL with no path is no userinfo.
        let in_query = authority
            .split_once('?')
            .is_some_and(|(_, query)| query.contains('='));
        match authority.rsplit_once('@').filter(|_| !in_query) {
            Some((userinfo, host)) if ssh => {
                let user = userinfo.split(':').next().unwrap_or_default();
                out.push_str(&format!("{user}@{host}"));
            }
            Some((_, host)) => out.push_str(host),
            None => out.push_str(&without_secret_params(authority)),
        }
        // The rest of this URL: its path, query and fragment.
        let rest_of_url = &after[end..];
        let url_end = rest_of_url
            .find(|c: char| c.is_whitespace() || "'\"<>`".contains(c))
            .unwrap_or(rest_of_url.len());
        out.push_str(&without_secret_params(&rest_of_url[..url_end]));
        rest = &rest_of_url[url_end..];
    }
    out.push_str(rest);
    out
}

/// `part` of a URL (its path, query and fragment) with the query parameters that carry a
/// credential left out (`?access_token=…`, `private_token`, `X-Amz-Signature`, `sig`, …): a
/// token in a query is as secret as one before the `@`.
fn without_secret_params(part: &str) -> String {
    let Some((path, query)) = part.split_once('?') else {
        return part.to_owned();
    };
    let (query, fragment) = match query.split_once('#') {
        Some((q, f)) => (q, Some(f)),
        None => (query, None),
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| !names_a_credential(pair.split('=').next().unwrap_or_default()))
        .collect();
    let mut out = path.to_owned();
    if !kept.is_empty() {
        out.push('?');
        out.push_str(&kept.join("&"));
    }
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

/// Whether a query parameter named `key` carries a credential: a name that says so anywhere
/// (`access_token`, `X-Amz-Signature`, `client_secret`), or one of its words does (`key`,
/// `api-key`, `auth`, `sig`, `pat`), so that `keyword` or `monkey` stay.
fn names_a_credential(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    [
        "token",
        "secret",
        "password",
        "passwd",
        "signature",
        "credential",
    ]
    .iter()
    .any(|part| key.contains(part))
        || key
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|word| ["key", "apikey", "auth", "sig", "pat", "pwd"].contains(&word))
}

/// Serializes a source's URL without its credentials (see [`without_credentials`]).
pub(crate) fn serialize_url<S: serde::Serializer>(
    url: &str,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&without_credentials(url))
}

#[cfg(test)]
mod tests {
    use super::without_credentials as w;

    #[test]
    fn only_the_userinfo_of_each_url_goes() {
        assert_eq!(w("https://u:p@h.example/r.git"), "https://h.example/r.git");
        assert_eq!(w("https://tok@h.example:8443"), "https://h.example:8443");
        assert_eq!(
            w("'http://a:b@x/1' and \"https://c@y/2?q=z@w\""),
            "'http://x/1' and \"https://y/2?q=z@w\""
        );
        // No credentials, or none in the authority: as it was.
        for same in [
            "https://h.example/a@b/r.git",
            "git@github.com:org/repo.git",
            "file:///srv/repo.git",
            "ssh://git@h.example/r.git#v1",
            "a path, no URL",
        ] {
            assert_eq!(w(same), same);
        }
        // An ssh user stays (it is who logs in); a password beside it goes.
        assert_eq!(w("git+ssh://git:pw@h/r"), "git+ssh://git@h/r");
        assert_eq!(w("ssh+git://me:pw@h/r"), "ssh+git://me@h/r");
        // A password typed with `#` or `?` in it goes whole.
        assert_eq!(w("https://u:p#ss@h/r.git"), "https://h/r.git");
        assert_eq!(w("https://u:p?ss@h"), "https://h");
        // Credentials in a query go; other parameters and the fragment stay.
        assert_eq!(
            w("http://h/p.tar.gz?access_token=T1&x=.tar.gz"),
            "http://h/p.tar.gz?x=.tar.gz"
        );
        assert_eq!(w("https://h/i.json?token=T2"), "https://h/i.json");
        assert_eq!(
            w("git failed for https://h/r.git?private_token=T3#v1: 401"),
            "git failed for https://h/r.git#v1: 401"
        );
        assert_eq!(
            w("https://b.s3/x?X-Amz-Credential=A&X-Amz-Signature=S&v=1"),
            "https://b.s3/x?v=1"
        );
        assert_eq!(
            w("https://h/search?q=rust&page=2"),
            "https://h/search?q=rust&page=2"
        );
        assert_eq!(
            w("https://h/x?keyword=a&api-key=K&auth=A"),
            "https://h/x?keyword=a"
        );
        // An `@` in the query of a URL with no path is left alone.
        assert_eq!(
            w("https://reg.example?pkg=@scope"),
            "https://reg.example?pkg=@scope"
        );
        // IPv6 hosts and ports stay.
        assert_eq!(w("http://t@[::1]:8080/x"), "http://[::1]:8080/x");
    }
}
