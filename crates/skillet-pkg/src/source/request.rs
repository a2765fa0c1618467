//! What a user types after `skillet install`, told apart into a package name or a source.

use std::path::PathBuf;

use super::Source;
use crate::{PackageName, PackageNameError};

/// What `skillet install` was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// A package by name, found in the added marketplaces.
    Named {
        /// The package.
        name: PackageName,
        /// `name@marketplace`: only that marketplace is searched.
        marketplace: Option<String>,
        /// `name@^2.1`: the versions that may be chosen.
        req: Option<semver::VersionReq>,
    },
    /// A folder, a git repository or an archive, installed directly.
    Source(Source),
}

/// The forms [`Request::parse`] accepts, for the errors that list them.
pub const ACCEPTED_FORMS: &str = "  NAME                          a package from an added marketplace (review-kit)
  NAME@MARKETPLACE              from that marketplace only (document-skills@anthropic-agent-skills)
  NAME@REQUIREMENT              a semver requirement (review-kit@^2.1, review-kit@=1.0.0)
  ./PATH, ../PATH, /PATH        a folder on this machine
  git+URL[#REF]                 a git repository at a branch, tag or commit
  https://HOST/REPO.git[#REF]   also git@HOST:ORG/REPO.git[#REF], ssh://… and file:///….git
  https://HOST/PKG.tar.gz       an archive, with --sha256 HEX (also file:///….tar.gz, ./PKG.tar.gz)";

/// A request that cannot be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// Nothing was given.
    #[error("no package given; write one of:\n{ACCEPTED_FORMS}")]
    Empty,
    /// A form that is none of the accepted ones.
    #[error("{text:?} is not a package request ({why}); write one of:\n{ACCEPTED_FORMS}")]
    Unrecognised {
        /// What was given.
        text: String,
        /// Why it was not understood.
        why: &'static str,
    },
    /// A name that breaks the package-name rule.
    #[error(transparent)]
    Name(#[from] PackageNameError),
    /// A marketplace name that breaks the rule.
    #[error(
        "{0:?} is neither a marketplace name nor a version requirement: a marketplace name is lowercase letters, digits, '-', '_' and '.'; a requirement starts with a digit or an operator (^2.1, =1.0.0, >=1, ~1.2)"
    )]
    Marketplace(String),
    /// An archive without its digest.
    #[error(
        "{url} is an archive: give its sha256 with --sha256 HEX (`sha256sum FILE`), so skillet can check what it downloads"
    )]
    MissingSha256 {
        /// The archive's URL.
        url: String,
    },
    /// A digest given for something that is not an archive.
    #[error(
        "--sha256 applies only to an archive (https://…/PKG.tar.gz or file://…/PKG.tar.gz), not to {text:?}"
    )]
    Sha256NotApplicable {
        /// What was given.
        text: String,
    },
    /// A digest that is not 64 hexadecimal digits.
    #[error(
        "{0:?} is not a sha256 digest: give the archive's 64 hexadecimal digits (`sha256sum FILE`)"
    )]
    BadSha256(String),
    /// A path starting with `~`, which skillet does not expand.
    #[error(
        "{0:?}: skillet does not expand '~'; write the path without quotes so your shell expands it, or use $HOME/…"
    )]
    Tilde(String),
    /// A `#ref` in a form that does not take one, or an empty one.
    #[error("{text:?}: {why}")]
    Reference {
        /// What was given.
        text: String,
        /// What is wrong.
        why: &'static str,
    },
}

impl Request {
    /// Parses what follows `skillet install`, with the `--sha256` value when one was given.
    ///
    /// ```
    /// use skillet_pkg::source::{Request, Source};
    /// let named = Request::parse("review-kit@^2.1", None).unwrap();
    /// assert!(matches!(named, Request::Named { req: Some(_), .. }));
    /// let git = Request::parse("git+https://example.test/kit.git#v2", None).unwrap();
    /// assert!(matches!(git, Request::Source(Source::Git { .. })));
    /// assert!(Request::parse("https://example.test/kit.tar.gz", None).is_err());
    /// ```
    pub fn parse(text: &str, sha256: Option<&str>) -> Result<Request, RequestError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(RequestError::Empty);
        }
        let request = parse_form(text, sha256)?;
        if sha256.is_some() && !matches!(request, Request::Source(Source::Archive { .. })) {
            return Err(RequestError::Sha256NotApplicable { text: text.into() });
        }
        Ok(request)
    }
}

fn parse_form(text: &str, sha256: Option<&str>) -> Result<Request, RequestError> {
    let unrecognised = |why| RequestError::Unrecognised {
        text: text.into(),
        why,
    };
    if text.starts_with('~') {
        return Err(RequestError::Tilde(text.into()));
    }
    if let Some(url) = text.strip_prefix("git+") {
        if url.is_empty() {
            return Err(unrecognised("git+ needs a URL after it"));
        }
        return git(text, url);
    }
    if let Some((scheme, _)) = text.split_once("://") {
        let (base, _) = split_ref(text);
        let lower = base.to_ascii_lowercase();
        return match scheme.to_ascii_lowercase().as_str() {
            "https" | "http" | "file" if is_archive(&lower) => {
                if text.contains('#') {
                    return Err(RequestError::Reference {
                        text: text.into(),
                        why: "an archive takes no #REF; a #REF names a git branch, tag or commit",
                    });
                }
                archive(text.into(), sha256)
            }
            "https" | "http" | "file" if lower.ends_with(".git") || lower.ends_with(".git/") => {
                git(text, text)
            }
            "ssh" | "git" => git(text, text),
            "https" | "http" | "file" => Err(unrecognised(
                "a URL must end in .git for a git repository or .tar.gz for an archive; write git+URL for a git repository with another name",
            )),
            _ => Err(unrecognised("an unknown URL scheme")),
        };
    }
    if is_scp_like(text) {
        return git(text, text);
    }
    if is_path(text) {
        let lower = text.to_ascii_lowercase();
        if is_archive(&lower) {
            let absolute = std::path::absolute(text)
                .map_err(|_| unrecognised("a path that cannot be made absolute"))?;
            // Percent-encoded, so a name with a space or '#' survives as a URL.
            let url = reqwest::Url::from_file_path(&absolute)
                .map_err(|()| unrecognised("a path that cannot be written as a file:// URL"))?
                .to_string();
            return archive(url, sha256);
        }
        return Ok(Request::Source(Source::Dir {
            path: PathBuf::from(text),
        }));
    }
    if text.contains('/') || text.contains('\\') {
        return Err(unrecognised(
            "a folder must start with ./, ../ or /, and a URL with a scheme",
        ));
    }
    named(text)
}

fn named(text: &str) -> Result<Request, RequestError> {
    let (name, rest) = match text.split_once('@') {
        Some((name, rest)) => (name, Some(rest)),
        None => (text, None),
    };
    let name = PackageName::new(name)?;
    let Some(rest) = rest else {
        return Ok(Request::Named {
            name,
            marketplace: None,
            req: None,
        });
    };
    // A marketplace may start with a digit too ("1password-skills"): only what parses is a
    // requirement.
    if rest.starts_with(|c: char| c.is_ascii_digit() || "^~=<>*".contains(c))
        && let Ok(req) = semver::VersionReq::parse(rest)
    {
        return Ok(Request::Named {
            name,
            marketplace: None,
            req: Some(req),
        });
    }
    if is_marketplace_name(rest) {
        return Ok(Request::Named {
            name,
            marketplace: Some(rest.into()),
            req: None,
        });
    }
    Err(RequestError::Marketplace(rest.into()))
}

/// A marketplace's name, as Claude Code marketplace files spell them (`anthropic-agent-skills`).
fn is_marketplace_name(text: &str) -> bool {
    let mut chars = text.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && text.len() <= 64
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c))
}

fn git(text: &str, url: &str) -> Result<Request, RequestError> {
    let (url, reference) = split_ref(url);
    if let Some(reference) = reference
        && reference.is_empty()
    {
        return Err(RequestError::Reference {
            text: text.into(),
            why: "the #REF after the URL is empty; name a branch, tag or commit, or leave out the #",
        });
    }
    if url.starts_with('-') {
        return Err(RequestError::Unrecognised {
            text: text.into(),
            why: "a URL cannot start with '-'",
        });
    }
    Ok(Request::Source(Source::Git {
        url: url.into(),
        reference: reference.map(str::to_owned),
        subdir: None,
    }))
}

fn archive(url: String, sha256: Option<&str>) -> Result<Request, RequestError> {
    let Some(sha256) = sha256 else {
        return Err(RequestError::MissingSha256 { url });
    };
    let sha256 = sha256.trim().to_ascii_lowercase();
    if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(RequestError::BadSha256(sha256));
    }
    Ok(Request::Source(Source::Archive { url, sha256 }))
}

fn split_ref(text: &str) -> (&str, Option<&str>) {
    match text.split_once('#') {
        Some((url, reference)) => (url, Some(reference)),
        None => (text, None),
    }
}

fn is_archive(lower: &str) -> bool {
    lower.ends_with(".tar.gz") || lower.ends_with(".tgz")
}

fn is_path(text: &str) -> bool {
    text == "."
        || text == ".."
        || text.starts_with("./")
        || text.starts_with("../")
        || text.starts_with('/')
}

/// `user@host:path`, git's scp-like syntax: a ':' before any '/', with a user before it.
fn is_scp_like(text: &str) -> bool {
    let Some(colon) = text.find(':') else {
        return false;
    };
    let (before, after) = (&text[..colon], &text[colon + 1..]);
    match before.split_once('@') {
        Some((user, host)) => {
            !user.is_empty() && !host.is_empty() && !before.contains('/') && !after.is_empty()
        }
        None => false,
    }
}
