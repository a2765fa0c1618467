//! Walking an installed package's files and taking their digests, the same way for the receipt,
//! the lockfile and the integrity check, so they always agree on what a file is.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::RECEIPT_FILE;

/// Most files walked in one package: more is hostile, and every load walks a skill's folder.
pub(crate) const MAX_TREE_FILES: usize = 100_000;
/// Deepest folder nesting walked in one package: deeper is hostile, and the walk recurses.
pub(crate) const MAX_TREE_DEPTH: usize = 64;

/// What a directory entry is, told from its own metadata (links are never followed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    File,
    Symlink,
    /// A FIFO, socket or device: never installed, never opened.
    Special,
}

/// The metadata the cheap check compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stat {
    pub kind: Kind,
    pub size: u64,
    pub mtime_ns: i64,
    pub ctime_ns: i64,
}

impl Stat {
    pub(crate) fn of(meta: &std::fs::Metadata) -> Stat {
        let ty = meta.file_type();
        let kind = if ty.is_file() {
            Kind::File
        } else if ty.is_symlink() {
            Kind::Symlink
        } else {
            Kind::Special
        };
        let ns = |s: i64, n: i64| s.saturating_mul(1_000_000_000).saturating_add(n);
        Stat {
            kind,
            size: meta.len(),
            mtime_ns: ns(meta.mtime(), meta.mtime_nsec()),
            ctime_ns: ns(meta.ctime(), meta.ctime_nsec()),
        }
    }
}

/// One file found under a package's folder.
#[derive(Debug, Clone)]
pub(crate) struct TreeFile {
    /// Relative to the package's folder, `/`-separated.
    pub path: String,
    pub stat: Stat,
}

/// Every file under `root` (symlinks as themselves, directories entered), sorted by path, but
/// the receipt and its temporary files.
pub(crate) fn walk(root: &Path) -> std::io::Result<Vec<TreeFile>> {
    walk_under(root, "")
}

/// Every file under `root/prefix` (or `root/prefix` itself when it is not a directory), paths
/// relative to `root`, sorted. A missing `prefix` has none.
pub(crate) fn walk_under(root: &Path, prefix: &str) -> std::io::Result<Vec<TreeFile>> {
    let mut out = Vec::new();
    let start = if prefix.is_empty() {
        root.to_path_buf()
    } else {
        root.join(prefix)
    };
    let meta = match std::fs::symlink_metadata(&start) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e),
    };
    if meta.is_dir() {
        walk_dir(root, prefix, 0, &mut out)?;
    } else if prefix.is_empty() {
        // The package's folder itself must be a folder: through a link, its files would be
        // another folder's, and as one entry the link would have an empty path.
        let what = if meta.file_type().is_symlink() {
            "a symbolic link"
        } else {
            "not a folder"
        };
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "{} is {what}; a package is a real folder: remove it and reinstall the package",
                root.display()
            ),
        ));
    } else {
        out.push(TreeFile {
            path: prefix.to_owned(),
            stat: Stat::of(&meta),
        });
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

fn walk_dir(root: &Path, rel: &str, depth: usize, out: &mut Vec<TreeFile>) -> std::io::Result<()> {
    if depth > MAX_TREE_DEPTH {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "{} is nested more than {MAX_TREE_DEPTH} folders deep, the limit for a package",
                root.join(rel).display()
            ),
        ));
    }
    let dir = if rel.is_empty() {
        root.to_path_buf()
    } else {
        root.join(rel)
    };
    for entry in std::fs::read_dir(&dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{} has a name that is not UTF-8", entry.path().display()),
            ));
        };
        if rel.is_empty() && name.starts_with(RECEIPT_FILE) {
            continue;
        }
        let path = if rel.is_empty() {
            name.to_owned()
        } else {
            format!("{rel}/{name}")
        };
        let meta = entry.metadata()?;
        if meta.is_dir() {
            walk_dir(root, &path, depth + 1, out)?;
        } else {
            if out.len() >= MAX_TREE_FILES {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "{} holds more than {MAX_TREE_FILES} files, the limit for a package",
                        root.display()
                    ),
                ));
            }
            out.push(TreeFile {
                path,
                stat: Stat::of(&meta),
            });
        }
    }
    Ok(())
}

/// Opens a regular file for reading without following a final symlink and without blocking on
/// a FIFO, and checks it is a regular file once open (it may have been swapped since a stat).
pub(crate) fn open_regular(path: &Path) -> std::io::Result<std::fs::File> {
    use rustix::fs::{Mode, OFlags};
    let fd = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| {
        if e == rustix::io::Errno::LOOP {
            std::io::Error::other(format!("{} is a symlink", path.display()))
        } else {
            std::io::Error::from(e)
        }
    })?;
    let file = std::fs::File::from(fd);
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other(format!(
            "{} is not a regular file",
            path.display()
        )));
    }
    Ok(file)
}

/// The digest recorded for a file: the sha256 of a regular file's contents, `symlink:` and the
/// sha256 of a link's target. A FIFO, socket or device has none.
pub(crate) fn digest(path: &Path, stat: &Stat) -> std::io::Result<String> {
    match stat.kind {
        Kind::File => {
            let mut file = open_regular(path)?;
            let mut hasher = Sha256::new();
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = file.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
            }
            Ok(hex(&hasher.finalize()))
        }
        Kind::Symlink => {
            let target = std::fs::read_link(path)?;
            let digest = Sha256::digest(target.as_os_str().as_encoded_bytes());
            Ok(format!("symlink:{}", hex(&digest)))
        }
        Kind::Special => Err(std::io::Error::other(format!(
            "{} is not a regular file or a symlink",
            path.display()
        ))),
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The digest of every file under `root`, by path relative to it (`/`-separated), the receipt
/// excluded: what `skillet.lock` records for a package.
pub fn tree_digests(root: &Path) -> std::io::Result<BTreeMap<String, String>> {
    walk(root)?
        .into_iter()
        .map(|f| {
            let d = digest(&root.join(&f.path), &f.stat)?;
            Ok((f.path, d))
        })
        .collect()
}

/// Like [`tree_digests`], but a file whose digest cannot be taken (a FIFO, a socket, a device,
/// an unreadable file) is listed with the reason instead of failing the whole walk, so a check
/// can name it.
pub fn tree_digests_each(
    root: &Path,
) -> std::io::Result<BTreeMap<String, std::io::Result<String>>> {
    Ok(walk(root)?
        .into_iter()
        .map(|f| {
            let d = digest(&root.join(&f.path), &f.stat);
            (f.path, d)
        })
        .collect())
}
