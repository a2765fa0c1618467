//! `marketplaces.toml`: the marketplaces a user added, one table each, readable and editable by
//! hand.
//!
//! ```toml
//! [marketplace.team-skills]
//! dir = "/home/me/src/team-skills"
//!
//! [marketplace.anthropic-agent-skills]
//! git = "https://github.com/anthropics/skills.git"
//! ref = "main"
//! commit = "0123456789abcdef0123456789abcdef01234567"
//! fetched_ms = 1796287561250
//! ```

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Marketplace, MarketplaceError, MarketplaceSource};
use crate::PackageName;

/// The list's file name, in skillet's global configuration directory.
pub const LIST_FILE: &str = "marketplaces.toml";

/// The file as written on disk.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListFile {
    #[serde(default)]
    marketplace: BTreeMap<String, Stored>,
}

/// One marketplace as written on disk: exactly one of `dir`, `git` and `url`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dir: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    git: Option<String>,
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    commit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fetched_ms: Option<i64>,
}

const HEADER: &str = "\
# The marketplaces skillet searches and installs from, one [marketplace.NAME] table each:
# `dir` (a folder, read in place), `git` (with an optional `ref`) or `url` (an index JSON).
# `commit`, `sha256` and `fetched_ms` record the last fetch. `skillet marketplace add|update|remove`
# rewrite this file (comments other than this one are not kept).

";

/// Reads the list at `path`; a missing file is an empty list.
pub(super) fn read(path: &Path) -> Result<Vec<Marketplace>, MarketplaceError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(MarketplaceError::ReadList {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let broken = |message: String| MarketplaceError::BrokenList {
        path: path.to_path_buf(),
        message,
    };
    let file: ListFile = toml::from_str(&text).map_err(|e| broken(e.to_string()))?;
    let mut list = Vec::with_capacity(file.marketplace.len());
    for (name, stored) in file.marketplace {
        if PackageName::new(name.as_str()).is_err() {
            return Err(broken(format!(
                "[marketplace.{name}]: {name:?} is not a marketplace name (1 to 64 lowercase letters, digits, '-' or '_')"
            )));
        }
        let source = match (stored.dir, stored.git, stored.url) {
            (Some(path), None, None) => MarketplaceSource::Dir { path },
            (None, Some(url), None) => MarketplaceSource::Git {
                url,
                reference: stored.reference.clone(),
            },
            (None, None, Some(url)) => MarketplaceSource::Url { url },
            _ => {
                return Err(broken(format!(
                    "[marketplace.{name}] needs exactly one of `dir`, `git` or `url`"
                )));
            }
        };
        if let MarketplaceSource::Git { url, reference } = &source
            && let Err(why) = super::source::check_git(url, reference.as_deref())
        {
            return Err(broken(format!("[marketplace.{name}]: {why}")));
        }
        if stored.reference.is_some() && !matches!(source, MarketplaceSource::Git { .. }) {
            return Err(broken(format!(
                "[marketplace.{name}]: `ref` only goes with `git`"
            )));
        }
        list.push(Marketplace {
            name,
            source,
            commit: stored.commit,
            sha256: stored.sha256,
            fetched_ms: stored.fetched_ms,
        });
    }
    Ok(list)
}

/// Writes `list` to `path`: beside it first, then renamed over it, so a crash leaves the old
/// list or the new one, never half of one.
pub(super) fn write(path: &Path, list: &[Marketplace]) -> Result<(), MarketplaceError> {
    let mut file = ListFile::default();
    for m in list {
        let mut stored = Stored {
            commit: m.commit.clone(),
            sha256: m.sha256.clone(),
            fetched_ms: m.fetched_ms,
            ..Stored::default()
        };
        match &m.source {
            MarketplaceSource::Dir { path } => stored.dir = Some(path.clone()),
            MarketplaceSource::Git { url, reference } => {
                stored.git = Some(url.clone());
                stored.reference = reference.clone();
            }
            MarketplaceSource::Url { url } => stored.url = Some(url.clone()),
        }
        file.marketplace.insert(m.name.clone(), stored);
    }
    let write_err = |source| MarketplaceError::WriteList {
        path: path.to_path_buf(),
        source,
    };
    let body = toml::to_string(&file).map_err(|e| write_err(std::io::Error::other(e)))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(write_err)?;
    }
    let partial = path.with_extension("toml.partial");
    // Whatever is there (a leftover, or a link someone planted) goes; the new file is created
    // afresh, never written through a link.
    match std::fs::remove_file(&partial) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(write_err(e)),
        _ => {}
    }
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&partial)
        .map_err(write_err)?;
    out.write_all(HEADER.as_bytes()).map_err(write_err)?;
    out.write_all(body.as_bytes()).map_err(write_err)?;
    out.sync_all().map_err(write_err)?;
    drop(out);
    std::fs::rename(&partial, path).map_err(write_err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_list_survives_a_round_trip_and_reads_as_written_by_hand() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("skillet").join(LIST_FILE);
        let list = vec![
            Marketplace {
                name: "team".into(),
                source: MarketplaceSource::Dir {
                    path: "/srv/team".into(),
                },
                commit: None,
                sha256: None,
                fetched_ms: None,
            },
            Marketplace {
                name: "up".into(),
                source: MarketplaceSource::Git {
                    url: "https://example.test/up.git".into(),
                    reference: Some("v1".into()),
                },
                commit: Some("ab".repeat(20)),
                sha256: None,
                fetched_ms: Some(5),
            },
        ];
        write(&path, &list).unwrap();
        assert_eq!(read(&path).unwrap(), list);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("[marketplace.up]\ngit = "), "{text}");

        std::fs::write(
            &path,
            "[marketplace.mine]\nurl = \"https://example.test/i.json\"\n",
        )
        .unwrap();
        assert_eq!(
            read(&path).unwrap()[0].source,
            MarketplaceSource::Url {
                url: "https://example.test/i.json".into()
            }
        );
    }

    #[test]
    fn a_broken_list_is_an_error_naming_the_file_and_the_fault() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join(LIST_FILE);
        for (text, says) in [
            ("[marketplace.a\n", "marketplaces.toml"),
            (
                "[marketplace.a]\ndir = \"/x\"\nurl = \"https://x\"\n",
                "exactly one",
            ),
            ("[marketplace.a]\nfolder = \"/x\"\n", "folder"),
            (
                "[marketplace.\"Bad Name\"]\ndir = \"/x\"\n",
                "not a marketplace name",
            ),
            (
                "[marketplace.a]\nurl = \"https://x\"\nref = \"v1\"\n",
                "`ref` only",
            ),
            // The list is a file anyone with the user's files can edit: what reaches `git`
            // is checked again.
            (
                "[marketplace.a]\ngit = \"ext::sh -c id\"\n",
                "transport helper",
            ),
            (
                "[marketplace.a]\ngit = \"https://x\"\nref = \"--upload-pack=id\"\n",
                "#REF may not",
            ),
            (
                "[marketplace.a]\ngit = \"-ohno\"\n",
                "may not start with `-`",
            ),
        ] {
            std::fs::write(&path, text).unwrap();
            let e = read(&path).unwrap_err().to_string();
            assert!(e.contains(&path.display().to_string()), "{e}");
            assert!(e.contains(says), "{text:?}: {e}");
        }
    }
}
