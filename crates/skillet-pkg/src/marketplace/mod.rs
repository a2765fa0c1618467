//! Marketplaces: the indexes of packages a user added with `skillet marketplace add`, where
//! `skillet search` looks and `skillet install NAME[@MARKETPLACE]` finds a package.
//!
//! The list lives in `$XDG_CONFIG_HOME/skillet/marketplaces.toml` (see [`LIST_FILE`]). A folder
//! is read in place each time; a git repository is fetched (shallow, at one exact commit, which
//! the list records) and an index URL downloaded, into `$XDG_DATA_HOME/skillet/marketplaces/<name>/`,
//! and read from there until `skillet marketplace update` fetches them again.

mod catalog;
mod edit;
mod fetch;
mod search;
mod source;
mod store;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;
use skillet_registry::Environment;

pub use catalog::{FindError, MarketplaceCatalog, Offer};
pub use fetch::FetchOptions;
pub use search::{SearchHit, search};
pub use source::MarketplaceSource;
pub use store::LIST_FILE;

use crate::PackageName;
use crate::index::{Index, IndexOrigin};

/// One added marketplace, as the list records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Marketplace {
    /// The name to refer to it by (`PACKAGE@NAME`).
    pub name: String,
    /// Where it comes from.
    pub source: MarketplaceSource,
    /// The commit last fetched (git).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The sha256 of the index last downloaded (URL).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// When it was last fetched, in milliseconds since the Unix epoch (git, URL).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fetched_ms: Option<i64>,
}

/// Why a marketplace could not be added, read, updated or removed.
#[derive(Debug, thiserror::Error)]
pub enum MarketplaceError {
    /// No home directory to keep the list or the copies in.
    #[error("no {0} directory: set $HOME (or $XDG_CONFIG_HOME and $XDG_DATA_HOME)")]
    NoDirectory(&'static str),
    /// The list could not be read.
    #[error("cannot read {path}: {source}")]
    ReadList {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The list is not valid.
    #[error("{path} is broken: {message}; fix it by hand, or move it away to start a new list")]
    BrokenList {
        /// The file.
        path: PathBuf,
        /// What is wrong, where.
        message: String,
    },
    /// The list could not be written.
    #[error("cannot write {path}: {source}")]
    WriteList {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// What was typed names no marketplace.
    #[error("{source_text:?} is not a marketplace: {why}")]
    BadSource {
        /// As typed.
        source_text: String,
        /// Why, and what to write.
        why: String,
    },
    /// A URL that is not fetched.
    #[error("{url}: {why}")]
    BadUrl {
        /// The URL.
        url: String,
        /// Why.
        why: String,
    },
    /// Downloading an index failed.
    #[error("cannot download {url}: {why}")]
    Download {
        /// The URL.
        url: String,
        /// Why.
        why: String,
    },
    /// Fetching a git repository failed.
    #[error("cannot fetch {url}: {why}")]
    Git {
        /// The repository.
        url: String,
        /// Why.
        why: String,
    },
    /// What was fetched is not an index.
    #[error("{source_text} is not a marketplace index: {why}")]
    NotIndex {
        /// Where it came from.
        source_text: String,
        /// Why.
        why: String,
    },
    /// An index that could not be read.
    #[error("{}{error}", .marketplace.as_ref().map(|m| format!("marketplace `{m}`: ")).unwrap_or_default())]
    Index {
        /// The marketplace's name, once it has one.
        marketplace: Option<String>,
        /// Why.
        #[source]
        error: crate::index::IndexError,
    },
    /// The name is taken.
    #[error(
        "a marketplace named `{name}` is already added (from {source_text}): choose another name with --name NAME"
    )]
    Duplicate {
        /// The name.
        name: String,
        /// What it names now.
        source_text: String,
    },
    /// The same source is already added.
    #[error(
        "{source_text} is already added as `{name}`: `skillet marketplace update {name}` fetches it again"
    )]
    SameSource {
        /// Its name.
        name: String,
        /// The source.
        source_text: String,
    },
    /// `--name` is not a valid name.
    #[error(
        "{0:?} is not a marketplace name: use 1 to 64 lowercase letters, digits, '-' or '_', starting with a letter or digit"
    )]
    BadName(String),
    /// No name could be made from the index or its source.
    #[error("cannot make a name for {0}: give one with --name NAME")]
    NoName(String),
    /// No marketplace of that name.
    #[error("no marketplace named `{name}`{}: `skillet marketplace list` shows them", known_list(.known))]
    Unknown {
        /// The name asked for.
        name: String,
        /// The names there are.
        known: Vec<String>,
    },
    /// A file in skillet's data directory could not be changed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

fn known_list(known: &[String]) -> String {
    if known.is_empty() {
        " (none is added)".to_owned()
    } else {
        format!(" (added: {})", known.join(", "))
    }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> MarketplaceError + '_ {
    move |source| MarketplaceError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A marketplace just added, and what it offers.
#[derive(Debug)]
pub struct Added {
    /// As recorded in the list.
    pub marketplace: Marketplace,
    /// Its index.
    pub index: Index,
}

/// What changed in one marketplace on `update`.
#[derive(Debug, Serialize)]
pub struct Updated {
    /// As recorded in the list now.
    pub marketplace: Marketplace,
    /// The commit before (git).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_commit: Option<String>,
    /// Whether it is a folder, read in place (nothing was fetched).
    pub in_place: bool,
    /// How many packages it offers now.
    pub packages: usize,
    /// Packages and versions that came or went.
    pub changes: Vec<PackageChange>,
}

/// A package that came, went or changed versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageChange {
    /// The package.
    pub name: PackageName,
    /// Whether the package itself is new, gone, or only some versions changed.
    pub status: ChangeStatus,
    /// Versions now offered that were not.
    pub added: Vec<semver::Version>,
    /// Versions no longer offered.
    pub removed: Vec<semver::Version>,
}

/// How a package changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeStatus {
    /// It was not offered before.
    New,
    /// It is no longer offered.
    Removed,
    /// Some versions came or went.
    Changed,
}

/// The versions each package has in `index`.
fn versions(index: &Index) -> BTreeMap<&PackageName, BTreeSet<&semver::Version>> {
    let mut out: BTreeMap<_, BTreeSet<_>> = BTreeMap::new();
    for e in &index.packages {
        out.entry(&e.name).or_default().insert(&e.version);
    }
    out
}

/// What came and went between two indexes, by package.
pub fn changes(before: &Index, after: &Index) -> Vec<PackageChange> {
    let (old, new) = (versions(before), versions(after));
    let names: BTreeSet<&PackageName> = old.keys().chain(new.keys()).copied().collect();
    let empty = BTreeSet::new();
    names
        .into_iter()
        .filter_map(|name| {
            let (o, n) = (
                old.get(name).unwrap_or(&empty),
                new.get(name).unwrap_or(&empty),
            );
            let added: Vec<_> = n.difference(o).map(|v| (*v).clone()).collect();
            let removed: Vec<_> = o.difference(n).map(|v| (*v).clone()).collect();
            let status = if o.is_empty() {
                ChangeStatus::New
            } else if n.is_empty() {
                ChangeStatus::Removed
            } else {
                ChangeStatus::Changed
            };
            (!added.is_empty() || !removed.is_empty()).then(|| PackageChange {
                name: name.clone(),
                status,
                added,
                removed,
            })
        })
        .collect()
}

/// The added marketplaces: the list, and where their copies live.
#[derive(Debug)]
pub struct Marketplaces {
    list_file: PathBuf,
    data_dir: PathBuf,
    list: Vec<Marketplace>,
    /// Limits on downloading an index.
    pub fetch_options: FetchOptions,
}

impl Marketplaces {
    /// The user's marketplaces: the list in the global configuration directory, the copies in
    /// the data directory.
    pub fn open(env: &Environment) -> Result<Marketplaces, MarketplaceError> {
        let config = env
            .global_dir()
            .ok_or(MarketplaceError::NoDirectory("configuration"))?;
        let data = env
            .data_dir()
            .ok_or(MarketplaceError::NoDirectory("data"))?;
        Marketplaces::at(config.join(LIST_FILE), data.join("marketplaces"))
    }

    /// The marketplaces listed in `list_file`, with their copies under `data_dir`.
    pub fn at(list_file: PathBuf, data_dir: PathBuf) -> Result<Marketplaces, MarketplaceError> {
        let list = store::read(&list_file)?;
        Ok(Marketplaces {
            list_file,
            data_dir,
            list,
            fetch_options: FetchOptions::default(),
        })
    }

    /// The list's file.
    pub fn list_file(&self) -> &Path {
        &self.list_file
    }

    /// Every added marketplace, by name.
    pub fn list(&self) -> &[Marketplace] {
        &self.list
    }

    /// The marketplace called `name`.
    pub fn get(&self, name: &str) -> Result<&Marketplace, MarketplaceError> {
        self.list
            .iter()
            .find(|m| m.name == name)
            .ok_or_else(|| MarketplaceError::Unknown {
                name: name.to_owned(),
                known: self.list.iter().map(|m| m.name.clone()).collect(),
            })
    }

    fn copy_dir(&self, name: &str) -> PathBuf {
        self.data_dir.join(name)
    }

    /// The index of `m`, read from its folder or from its fetched copy.
    pub fn index(&self, m: &Marketplace) -> Result<Index, MarketplaceError> {
        let not_index = |error| MarketplaceError::Index {
            marketplace: Some(m.name.clone()),
            error,
        };
        let not_fetched = || MarketplaceError::NotIndex {
            source_text: format!("marketplace `{}` ({})", m.name, m.source),
            why: format!(
                "its copy is missing: `skillet marketplace update {}` fetches it again",
                m.name
            ),
        };
        match &m.source {
            MarketplaceSource::Dir { path } => {
                Index::read_dir(path, &IndexOrigin::Dir(path.clone())).map_err(not_index)
            }
            MarketplaceSource::Git { url, .. } => {
                let commit = m.commit.clone().ok_or_else(not_fetched)?;
                let copy = self.copy_dir(&m.name);
                if !copy.is_dir() {
                    return Err(not_fetched());
                }
                Index::read_dir(
                    &copy,
                    &IndexOrigin::Git {
                        url: url.clone(),
                        commit,
                    },
                )
                .map_err(not_index)
            }
            MarketplaceSource::Url { url } => {
                let file = self.copy_dir(&m.name).join(URL_INDEX_FILE);
                let bytes = std::fs::read(&file).map_err(|_| not_fetched())?;
                Index::parse(&bytes, &IndexOrigin::Url(url.clone())).map_err(not_index)
            }
        }
    }

    /// Every added marketplace's packages, and the marketplaces that could not be read (each
    /// an error to show as a warning: one broken marketplace does not hide the others).
    pub fn catalog(&self) -> (MarketplaceCatalog, Vec<MarketplaceError>) {
        let mut indexes = Vec::new();
        let mut errors = Vec::new();
        for m in &self.list {
            match self.index(m) {
                Ok(index) => indexes.push((m.name.clone(), index)),
                Err(e) => errors.push(e),
            }
        }
        (MarketplaceCatalog::new(indexes), errors)
    }
}

/// The downloaded index's name in a URL marketplace's copy.
const URL_INDEX_FILE: &str = "index.json";
