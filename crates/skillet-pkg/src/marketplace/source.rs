//! What a user types after `skillet marketplace add`, read into a [`MarketplaceSource`].

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{MarketplaceError, fetch};
use crate::PackageName;

/// Where a marketplace's index comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MarketplaceSource {
    /// A folder on this machine, read in place each time.
    Dir {
        /// The folder, absolute and resolved.
        path: PathBuf,
    },
    /// A git repository, fetched into skillet's data directory.
    Git {
        /// Anything `git` accepts.
        #[serde(serialize_with = "crate::source::serialize_url")]
        url: String,
        /// A branch, tag or commit; the remote's default branch when absent.
        #[serde(skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
    },
    /// An index JSON file on the web, downloaded into skillet's data directory.
    Url {
        /// Its https address.
        #[serde(serialize_with = "crate::source::serialize_url")]
        url: String,
    },
}

impl std::fmt::Display for MarketplaceSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MarketplaceSource::Dir { path } => write!(f, "{}", path.display()),
            // Shown without the credentials a URL was typed with (kept, to fetch it again).
            MarketplaceSource::Git { url, reference } => {
                let url = crate::source::without_credentials(url);
                match reference {
                    Some(r) => write!(f, "{url}#{r}"),
                    None => f.write_str(&url),
                }
            }
            MarketplaceSource::Url { url } => f.write_str(&crate::source::without_credentials(url)),
        }
    }
}

impl MarketplaceSource {
    /// Reads what a user typed after `skillet marketplace add`: an `https://…​.json` index URL, a
    /// git URL (`https://…`, `git+…`, `ssh://…`, `git@host:path`, `file://…`, with `#REF`), or
    /// else a folder, relative to `cwd`.
    pub fn parse(text: &str, cwd: &Path) -> Result<MarketplaceSource, MarketplaceError> {
        let bad = |why: &str| MarketplaceError::BadSource {
            source_text: crate::source::without_credentials(text),
            why: why.to_owned(),
        };
        let git = |url: &str| {
            let (url, reference) = match url.split_once('#') {
                Some((_, "")) => {
                    return Err(bad(
                        "nothing follows `#`: write URL#BRANCH, URL#TAG or URL#COMMIT",
                    ));
                }
                Some((url, r)) => (url, Some(r.to_owned())),
                None => (url, None),
            };
            check_git(url, reference.as_deref()).map_err(bad)?;
            Ok(MarketplaceSource::Git {
                url: url.to_owned(),
                reference,
            })
        };
        if let Some(rest) = text.strip_prefix("git+") {
            return git(rest);
        }
        if let Some((scheme, _)) = text.split_once("://") {
            return match scheme {
                "https" | "http" => {
                    let path = text.split(['#', '?']).next().unwrap_or(text);
                    if path.to_ascii_lowercase().ends_with(".json") {
                        if text.contains('#') {
                            return Err(bad("an index URL takes no #REF (that is for git)"));
                        }
                        fetch::check_url(text)?;
                        Ok(MarketplaceSource::Url {
                            url: text.to_owned(),
                        })
                    } else {
                        git(text)
                    }
                }
                "ssh" | "git" | "file" => git(text),
                _ => Err(bad(
                    "use a folder, a git URL (https, ssh, git@host:path, file) or an https URL of an index JSON",
                )),
            };
        }
        // `git@host:org/repo.git`: scp-like, a user before the host and no slash before the colon.
        if let Some((before, _)) = text.split_once(':')
            && before.contains('@')
            && !before.contains('/')
        {
            return git(text);
        }
        let path = cwd.join(text);
        match std::fs::metadata(&path) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(bad(
                    "that is a file: name the folder holding skillet-index.json or .claude-plugin/marketplace.json",
                ));
            }
            Err(_) => {
                return Err(bad(
                    "no such folder (and not a URL): use a folder, a git URL or an https URL of an index JSON",
                ));
            }
        }
        let path = std::fs::canonicalize(&path).map_err(|e| bad(&e.to_string()))?;
        Ok(MarketplaceSource::Dir { path })
    }

    /// A name for a marketplace that gives none itself: the folder's or repository's name, or
    /// the web host's.
    pub(super) fn derived_name(&self) -> Option<String> {
        let last = |s: &str| {
            s.trim_end_matches('/')
                .rsplit(['/', ':'])
                .next()
                .map(str::to_owned)
        };
        match self {
            MarketplaceSource::Dir { path } => {
                path.file_name().and_then(|n| slug(&n.to_string_lossy()))
            }
            MarketplaceSource::Git { url, .. } => {
                last(url).and_then(|n| slug(n.strip_suffix(".git").unwrap_or(&n)))
            }
            MarketplaceSource::Url { url } => {
                let parsed = reqwest::Url::parse(url).ok()?;
                let file = parsed.path_segments()?.next_back()?.to_owned();
                let stem = file.strip_suffix(".json").unwrap_or(&file);
                match stem {
                    "" | "index" | "marketplace" | "skillet-index" => slug(parsed.host_str()?),
                    stem => slug(stem),
                }
            }
        }
    }
}

/// Why `git` must not be given `url` (and `reference`): `git` would read a leading `-` as an
/// option and `ext::…` as a command to run. Checked for what a user types and for what the
/// list file says, which anyone with the user's files may have edited.
pub(super) fn check_git(url: &str, reference: Option<&str>) -> Result<(), &'static str> {
    if url.is_empty() {
        return Err("the git URL is empty");
    }
    if url.starts_with('-') || crate::source::names_transport_helper(url) {
        return Err("a git URL may not start with `-` or name a transport helper (`…::`)");
    }
    if reference.is_some_and(|r| r.is_empty() || r.starts_with('-')) {
        return Err("a #REF may not be empty or start with `-`");
    }
    let text = [url, reference.unwrap_or_default()];
    if text
        .iter()
        .any(|t| t.chars().any(|c| c.is_control() || c.is_whitespace()))
    {
        return Err("a git URL or #REF has no spaces or control characters");
    }
    Ok(())
}

/// `text` made into a valid name: lowercase, other characters as `-`.
pub(super) fn slug(text: &str) -> Option<String> {
    let mut out = String::new();
    for c in text.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let out: String = out.trim_end_matches('-').chars().take(64).collect();
    let out = out.trim_end_matches('-').to_owned();
    PackageName::new(out.as_str()).is_ok().then_some(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn parse(text: &str) -> Result<MarketplaceSource, String> {
        MarketplaceSource::parse(text, Path::new("/nonexistent")).map_err(|e| e.to_string())
    }

    fn git(url: &str, reference: Option<&str>) -> MarketplaceSource {
        MarketplaceSource::Git {
            url: url.into(),
            reference: reference.map(Into::into),
        }
    }

    #[test]
    fn what_was_typed_is_told_apart_by_its_shape() {
        assert_eq!(
            parse("https://example.test/skills/index.json").unwrap(),
            MarketplaceSource::Url {
                url: "https://example.test/skills/index.json".into()
            }
        );
        assert_eq!(
            parse("https://example.test/org/repo.git").unwrap(),
            git("https://example.test/org/repo.git", None)
        );
        assert_eq!(
            parse("git@example.test:org/skills.git#v1.2").unwrap(),
            git("git@example.test:org/skills.git", Some("v1.2"))
        );
        assert_eq!(
            parse("git+https://example.test/x#main").unwrap(),
            git("https://example.test/x", Some("main"))
        );
        assert_eq!(
            parse("file:///srv/skills.git").unwrap(),
            git("file:///srv/skills.git", None)
        );
        // An IPv6 address has `::` too, but names no transport helper.
        for url in [
            "https://[::1]/team/skills.git",
            "ssh://git@[fe80::1]:22/skills.git",
        ] {
            assert_eq!(parse(&format!("git+{url}")).unwrap(), git(url, None));
        }
        for (bad, says) in [
            ("https://example.test/i.json#v1", "no #REF"),
            ("http://example.test/i.json", "use https"),
            ("ftp://example.test/x", "use a folder"),
            ("git+ext::sh -c touch% /tmp/x", "transport helper"),
            ("git+fd::17", "transport helper"),
            ("git+git+ext::x", "transport helper"),
            ("git+-uhelp", "start with `-`"),
            ("git@host:org/x.git#-f", "#REF may not"),
            ("https://example.test/x.git#", "nothing follows"),
            ("./not-here", "no such folder"),
        ] {
            let e = parse(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn a_folder_is_stored_resolved() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(t.path().join("a/team")).unwrap();
        std::os::unix::fs::symlink(t.path().join("a/team"), t.path().join("link")).unwrap();
        let got = MarketplaceSource::parse("link", t.path()).unwrap();
        assert_eq!(
            got,
            MarketplaceSource::Dir {
                path: t.path().canonicalize().unwrap().join("a/team")
            }
        );
        std::fs::write(t.path().join("file.json"), "{}").unwrap();
        let e = MarketplaceSource::parse("file.json", t.path()).unwrap_err();
        assert!(e.to_string().contains("name the folder"), "{e}");
    }

    #[test]
    fn names_are_made_from_the_source_when_the_index_has_none() {
        let name = |text: &str| parse(text).unwrap().derived_name();
        assert_eq!(
            name("https://example.test/org/Team_Skills.git").as_deref(),
            Some("team_skills")
        );
        assert_eq!(
            name("git@example.test:org/skills.git#main").as_deref(),
            Some("skills")
        );
        assert_eq!(
            name("https://skills.example.test/index.json").as_deref(),
            Some("skills-example-test")
        );
        assert_eq!(
            name("https://example.test/pdf-tools.json").as_deref(),
            Some("pdf-tools")
        );
        assert_eq!(
            slug("Anthropic Agent Skills!").as_deref(),
            Some("anthropic-agent-skills")
        );
        assert_eq!(slug("../.."), None);
        assert_eq!(slug(&"x".repeat(100)).map(|s| s.len()), Some(64));
    }
}
