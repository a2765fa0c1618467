//! Adding, updating and removing marketplaces: fetching into a staging folder beside the
//! copies, then moving into place, under a lock so two skillet commands do not lose each
//! other's edits of the list.

use std::fs::File;
use std::path::{Path, PathBuf};

use sha2::Digest;

use super::source::slug;
use super::{
    Added, Marketplace, MarketplaceError, MarketplaceSource, Marketplaces, URL_INDEX_FILE, Updated,
    changes, io_error, store,
};
use crate::PackageName;
use crate::index::{Index, IndexOrigin};
use crate::source::{Progress, Source};

/// Now, in milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A folder removed when dropped: a fetch that failed half way leaves nothing behind.
struct Staging(PathBuf);

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What a fetch brought: the folder holding the index, and what pins it.
struct Fetched {
    index: Index,
    /// The folder to move into place as the marketplace's copy.
    copy: PathBuf,
    commit: Option<String>,
    sha256: Option<String>,
    _staging: Staging,
}

impl Marketplaces {
    /// Holds the list's lock and reads the list afresh: another command may have changed it.
    fn lock(&mut self) -> Result<File, MarketplaceError> {
        std::fs::create_dir_all(&self.data_dir).map_err(io_error(&self.data_dir))?;
        let path = self.data_dir.join(".lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_error(&path))?;
        file.lock().map_err(io_error(&path))?;
        self.list = store::read(&self.list_file)?;
        Ok(file)
    }

    fn staging(&self) -> Result<Staging, MarketplaceError> {
        let dir =
            self.data_dir
                .join(".staging")
                .join(format!("{}-{}", std::process::id(), now_ms()));
        std::fs::create_dir_all(&dir).map_err(io_error(&dir))?;
        Ok(Staging(dir))
    }

    /// Fetches `source` (nothing for a folder) and reads its index.
    fn fetch(
        &self,
        source: &MarketplaceSource,
        progress: &dyn Progress,
    ) -> Result<Option<Fetched>, MarketplaceError> {
        match source {
            MarketplaceSource::Dir { .. } => Ok(None),
            MarketplaceSource::Git { url, reference } => {
                let staging = self.staging()?;
                let git = Source::Git {
                    url: url.clone(),
                    reference: reference.clone(),
                    subdir: None,
                };
                let fetched = crate::source::fetch(&git, &staging.0, progress).map_err(|e| {
                    MarketplaceError::Git {
                        url: source.to_string(),
                        why: e.to_string(),
                    }
                })?;
                let commit = match fetched.pinned {
                    crate::source::Pinned::Git { commit, .. } => commit,
                    other => {
                        return Err(MarketplaceError::Git {
                            url: source.to_string(),
                            why: format!("fetched as {other:?}, not as a git commit"),
                        });
                    }
                };
                let origin = IndexOrigin::Git {
                    url: url.clone(),
                    commit: commit.clone(),
                };
                let index = Index::read_dir(&fetched.root, &origin).map_err(|error| {
                    MarketplaceError::Index {
                        marketplace: None,
                        error,
                    }
                })?;
                Ok(Some(Fetched {
                    index,
                    copy: fetched.root,
                    commit: Some(commit),
                    sha256: None,
                    _staging: staging,
                }))
            }
            MarketplaceSource::Url { url } => {
                let bytes = super::fetch::download(url, &self.fetch_options)?;
                let index = Index::parse(&bytes, &IndexOrigin::Url(url.clone()))
                    .map_err(|e| not_an_index(url, &bytes, e))?;
                let staging = self.staging()?;
                let copy = staging.0.join("copy");
                std::fs::create_dir_all(&copy).map_err(io_error(&copy))?;
                let file = copy.join(URL_INDEX_FILE);
                std::fs::write(&file, &bytes).map_err(io_error(&file))?;
                Ok(Some(Fetched {
                    index,
                    copy,
                    commit: None,
                    sha256: Some(hex(&sha2::Sha256::digest(&bytes))),
                    _staging: staging,
                }))
            }
        }
    }

    /// Moves `fetched` into place as `name`'s copy, replacing the one there.
    fn install_copy(&self, name: &str, fetched: &Fetched) -> Result<(), MarketplaceError> {
        let dest = self.copy_dir(name);
        let old = fetched._staging.0.join("old");
        match std::fs::rename(&dest, &old) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io_error(&dest)(e)),
            _ => {}
        }
        std::fs::rename(&fetched.copy, &dest).map_err(io_error(&dest))
    }

    /// Adds the marketplace at `source_text` (a folder, a git URL or an index URL, as
    /// [`MarketplaceSource::parse`] reads it) under `name`, or the name its index gives, or one
    /// made from its source. Refused when the name is taken or the source is not an index.
    pub fn add(
        &mut self,
        source_text: &str,
        cwd: &Path,
        name: Option<&str>,
        progress: &dyn Progress,
    ) -> Result<Added, MarketplaceError> {
        if let Some(name) = name
            && PackageName::new(name).is_err()
        {
            return Err(MarketplaceError::BadName(name.to_owned()));
        }
        let source = MarketplaceSource::parse(source_text, cwd)?;
        let _lock = self.lock()?;
        if let Some(taken) = name.and_then(|n| self.list.iter().find(|m| m.name == n)) {
            return Err(duplicate(taken));
        }
        if let Some(same) = self.list.iter().find(|m| m.source == source) {
            return Err(MarketplaceError::SameSource {
                name: same.name.clone(),
                source_text: source.to_string(),
            });
        }
        let fetched = self.fetch(&source, progress)?;
        let index = match (&fetched, &source) {
            (Some(f), _) => f.index.clone(),
            (None, MarketplaceSource::Dir { path }) => {
                Index::read_dir(path, &IndexOrigin::Dir(path.clone())).map_err(|error| {
                    MarketplaceError::Index {
                        marketplace: None,
                        error,
                    }
                })?
            }
            (None, _) => unreachable!("only a folder is not fetched"),
        };
        let name = match name {
            Some(n) => n.to_owned(),
            None => index
                .name
                .as_deref()
                .and_then(slug)
                .or_else(|| source.derived_name())
                .ok_or_else(|| MarketplaceError::NoName(source.to_string()))?,
        };
        if let Some(taken) = self.list.iter().find(|m| m.name == name) {
            return Err(duplicate(taken));
        }
        let marketplace = Marketplace {
            name: name.clone(),
            source,
            commit: fetched.as_ref().and_then(|f| f.commit.clone()),
            sha256: fetched.as_ref().and_then(|f| f.sha256.clone()),
            fetched_ms: fetched.as_ref().map(|_| now_ms()),
        };
        if let Some(f) = &fetched {
            self.install_copy(&name, f)?;
        }
        let mut list = self.list.clone();
        list.push(marketplace.clone());
        list.sort_by(|a, b| a.name.cmp(&b.name));
        store::write(&self.list_file, &list)?;
        self.list = list;
        Ok(Added { marketplace, index })
    }

    /// Fetches `name` again (every marketplace when `None`), and says what changed. With every
    /// marketplace, one that fails does not stop the others: each has its own result.
    pub fn update(
        &mut self,
        name: Option<&str>,
        progress: &dyn Progress,
    ) -> Result<Vec<Result<Updated, MarketplaceError>>, MarketplaceError> {
        let _lock = self.lock()?;
        let names: Vec<String> = match name {
            Some(n) => vec![self.get(n)?.name.clone()],
            None => self.list.iter().map(|m| m.name.clone()).collect(),
        };
        let mut results = Vec::with_capacity(names.len());
        for name in names {
            let result = self.update_one(&name, progress);
            results.push(result);
        }
        Ok(results)
    }

    fn update_one(
        &mut self,
        name: &str,
        progress: &dyn Progress,
    ) -> Result<Updated, MarketplaceError> {
        let before = self.get(name)?.clone();
        let old_index = self.index(&before).ok();
        let Some(fetched) = self.fetch(&before.source, progress)? else {
            let index = self.index(&before)?;
            return Ok(Updated {
                packages: index.packages.len(),
                marketplace: before,
                previous_commit: None,
                in_place: true,
                changes: Vec::new(),
            });
        };
        self.install_copy(name, &fetched)?;
        let after = Marketplace {
            commit: fetched.commit.clone(),
            sha256: fetched.sha256.clone(),
            fetched_ms: Some(now_ms()),
            ..before.clone()
        };
        let mut list = self.list.clone();
        if let Some(slot) = list.iter_mut().find(|m| m.name == name) {
            *slot = after.clone();
        }
        store::write(&self.list_file, &list)?;
        self.list = list;
        Ok(Updated {
            packages: fetched.index.packages.len(),
            changes: old_index
                .map(|old| changes(&old, &fetched.index))
                .unwrap_or_default(),
            marketplace: after,
            previous_commit: before.commit,
            in_place: false,
        })
    }

    /// Forgets `name` and deletes its fetched copy (a folder marketplace is left as it is).
    /// Installed packages are not touched.
    pub fn remove(&mut self, name: &str) -> Result<Marketplace, MarketplaceError> {
        let _lock = self.lock()?;
        let removed = self.get(name)?.clone();
        let list: Vec<Marketplace> = self
            .list
            .iter()
            .filter(|m| m.name != name)
            .cloned()
            .collect();
        store::write(&self.list_file, &list)?;
        self.list = list;
        let copy = self.copy_dir(name);
        match std::fs::remove_dir_all(&copy) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io_error(&copy)(e)),
            _ => {}
        }
        Ok(removed)
    }
}

fn duplicate(taken: &Marketplace) -> MarketplaceError {
    MarketplaceError::Duplicate {
        name: taken.name.clone(),
        source_text: taken.source.to_string(),
    }
}

/// Why a downloaded body is not an index, said plainly when it is a web page.
fn not_an_index(url: &str, bytes: &[u8], error: crate::index::IndexError) -> MarketplaceError {
    let start = String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).to_ascii_lowercase();
    let start = start.trim_start();
    let why = if start.starts_with('<') {
        "it is a web page (HTML), not an index JSON: give the address of the raw JSON file"
    } else if bytes.is_empty() {
        "the server sent an empty body: give the address of the index JSON file"
    } else {
        return MarketplaceError::Index {
            marketplace: None,
            error,
        };
    };
    MarketplaceError::NotIndex {
        source_text: crate::source::without_credentials(url),
        why: why.to_owned(),
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
