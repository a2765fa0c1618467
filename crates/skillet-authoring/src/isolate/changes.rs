//! What the runs changed in the view, against the real tree.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::{Dir, Mode};
use serde::Serialize;

use super::handle::{self, DIR, Kind, READ, Stamp};
use super::{IsolateError, Policy, View, io, policy};

/// Files at most this large on both sides get a unified diff.
const DIFF_MAX_BYTES: u64 = 64 * 1024;

/// How an entry changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// New in the view.
    Added,
    /// Gone from the view.
    Removed,
    /// Different content (a file) or target (a link).
    Modified,
}

impl ChangeKind {
    /// The word for it in listings.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Added => "added",
            ChangeKind::Removed => "removed",
            ChangeKind::Modified => "modified",
        }
    }
}

/// One entry the runs changed.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    /// Its path relative to the workspace root.
    pub path: PathBuf,
    /// How it changed.
    pub change: ChangeKind,
    /// What it is (for a removal: what it was).
    pub kind: Kind,
    /// A unified diff, for a text file of at most 64 KiB on both sides.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
    /// The real entry as it was copied, for removals and modifications: applying refuses to
    /// touch it when it changed since.
    #[serde(skip)]
    pub(super) before: Option<Stamp>,
}

/// Everything the runs changed, parents before their children.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(transparent)]
pub struct Changes {
    /// The changed entries, in path order.
    pub entries: Vec<Change>,
}

impl Changes {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Lists the view's tracked entries by handle, never following a link.
pub(super) fn list(
    dir: &OwnedFd,
    rel: &Path,
    out: &mut BTreeMap<PathBuf, Stamp>,
    root: &Path,
    max: usize,
) -> Result<(), IsolateError> {
    use std::os::unix::ffi::OsStrExt as _;
    if rel.components().count() > super::MAX_DEPTH {
        return Err(IsolateError::TooManyChanges {
            what: format!("folders nested more than {} deep", super::MAX_DEPTH),
        });
    }
    let here = root.join(rel);
    let mut names = Vec::new();
    for entry in Dir::read_from(dir).map_err(io("cannot list", &here))? {
        let entry = entry.map_err(io("cannot list", &here))?;
        let name = entry.file_name().to_bytes();
        if name != b"." && name != b".." {
            names.push(std::ffi::OsStr::from_bytes(name).to_os_string());
        }
    }
    for name in names {
        let child = rel.join(&name);
        if policy(&child) != Policy::Tracked {
            continue;
        }
        let Some(stat) = handle::stat_at(dir, Path::new(&name))
            .map_err(io("cannot read", &root.join(&child)))?
        else {
            continue;
        };
        let Some(stamp) = Stamp::of(&stat) else {
            continue;
        };
        out.insert(child.clone(), stamp);
        if out.len() > max {
            return Err(IsolateError::TooManyChanges {
                what: format!("more than {max} files and folders"),
            });
        }
        if stamp.kind == Kind::Dir {
            match rustix::fs::openat(dir, &name, DIR, Mode::empty()) {
                Ok(inner) => list(&inner, &child, out, root, max)?,
                // Swapped for a link or file since it was listed: seen as it is now next time.
                Err(rustix::io::Errno::LOOP | rustix::io::Errno::NOTDIR) => {}
                Err(e) => return Err(io("cannot open", &root.join(&child))(e)),
            }
        }
    }
    Ok(())
}

/// The content of the file or link `rel` under `root`, by handle; `None` past `max` bytes.
pub(super) fn read_under(
    root: &OwnedFd,
    rel: &Path,
    kind: Kind,
    max: u64,
) -> Result<Option<Vec<u8>>, rustix::io::Errno> {
    let (parent, name) = handle::split(rel).ok_or(rustix::io::Errno::INVAL)?;
    let dir = handle::open_dir_under(root, parent)?;
    if kind == Kind::Symlink {
        let target = rustix::fs::readlinkat(&dir, name, Vec::new())?;
        return Ok(Some(target.into_bytes()));
    }
    let fd = rustix::fs::openat(&dir, name, READ, Mode::empty())?;
    let stat = rustix::fs::fstat(&fd)?;
    if Kind::of(&stat) != Some(Kind::File) {
        return Err(rustix::io::Errno::INVAL);
    }
    let mut out = Vec::new();
    let mut file = std::fs::File::from(fd);
    (&mut file)
        .take(max.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| rustix::io::Errno::from_io_error(&e).unwrap_or(rustix::io::Errno::IO))?;
    Ok((out.len() as u64 <= max).then_some(out))
}

/// Whether two files' contents are equal, read by handle in chunks.
fn same_content(
    a: &OwnedFd,
    b: &OwnedFd,
    rel: &Path,
    kind: Kind,
) -> Result<bool, rustix::io::Errno> {
    if kind == Kind::Symlink {
        return Ok(read_under(a, rel, kind, u64::MAX)? == read_under(b, rel, kind, u64::MAX)?);
    }
    let open = |root: &OwnedFd| -> Result<std::fs::File, rustix::io::Errno> {
        let (parent, name) = handle::split(rel).ok_or(rustix::io::Errno::INVAL)?;
        let dir = handle::open_dir_under(root, parent)?;
        Ok(std::fs::File::from(rustix::fs::openat(
            &dir,
            name,
            READ,
            Mode::empty(),
        )?))
    };
    let (mut fa, mut fb) = (open(a)?, open(b)?);
    let (mut ba, mut bb) = (vec![0u8; 64 * 1024], vec![0u8; 64 * 1024]);
    let to_errno =
        |e: std::io::Error| rustix::io::Errno::from_io_error(&e).unwrap_or(rustix::io::Errno::IO);
    loop {
        let na = read_full(&mut fa, &mut ba).map_err(to_errno)?;
        let nb = read_full(&mut fb, &mut bb).map_err(to_errno)?;
        if na != nb || ba[..na] != bb[..nb] {
            return Ok(false);
        }
        if na == 0 {
            return Ok(true);
        }
    }
}

fn read_full(file: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// A unified diff of two small text files; `None` when either is binary or large.
fn text_diff(path: &Path, before: Option<&[u8]>, after: Option<&[u8]>) -> Option<String> {
    let text = |b: Option<&[u8]>| -> Option<String> {
        match b {
            None => Some(String::new()),
            Some(b) if b.contains(&0) => None,
            Some(b) => String::from_utf8(b.to_vec()).ok(),
        }
    };
    let (old, new) = (text(before)?, text(after)?);
    let label = |side| skillet_spec::display::diff_label(side, path);
    Some(
        similar::TextDiff::from_lines(&old, &new)
            .unified_diff()
            .context_radius(3)
            .header(
                &if before.is_some() {
                    label("a")
                } else {
                    "/dev/null".to_owned()
                },
                &if after.is_some() {
                    label("b")
                } else {
                    "/dev/null".to_owned()
                },
            )
            .to_string(),
    )
}

pub(super) fn compare(view: &View) -> Result<Changes, IsolateError> {
    let view_root = view.root();
    let view_fd = handle::open_root(&view_root).map_err(io("cannot open the view", &view_root))?;
    let real_fd = handle::open_root(view.real_root())
        .map_err(io("cannot open the workspace", view.real_root()))?;
    let mut now = BTreeMap::new();
    let max = view.copied.len() + super::MAX_NEW_ENTRIES;
    list(&view_fd, Path::new(""), &mut now, &view_root, max)?;
    let mut entries = Vec::new();
    let small = |root: &OwnedFd, rel: &Path, kind: Kind, size: u64| -> Option<Vec<u8>> {
        if kind != Kind::File || size > DIFF_MAX_BYTES {
            return None;
        }
        read_under(root, rel, kind, DIFF_MAX_BYTES).ok().flatten()
    };
    for (rel, stamp) in &now {
        let copied = view
            .copied
            .get(rel)
            .filter(|_| policy(rel) == Policy::Tracked);
        match copied {
            Some((real, copy)) if real.kind == stamp.kind => {
                if stamp.kind == Kind::Dir || copy == stamp {
                    continue;
                }
                let same = same_content(&view_fd, &real_fd, rel, stamp.kind)
                    .map_err(io("cannot compare", &view.real_root().join(rel)))?;
                if same {
                    continue;
                }
                let diff = match (
                    small(&real_fd, rel, real.kind, real.size),
                    small(&view_fd, rel, stamp.kind, stamp.size),
                ) {
                    (Some(a), Some(b)) => text_diff(rel, Some(&a), Some(&b)),
                    _ => None,
                };
                entries.push(Change {
                    path: rel.clone(),
                    change: ChangeKind::Modified,
                    kind: stamp.kind,
                    diff,
                    before: Some(*real),
                });
            }
            Some((real, _)) => {
                // A file became a folder, or the like: the old one goes, the new one comes.
                entries.push(Change {
                    path: rel.clone(),
                    change: ChangeKind::Removed,
                    kind: real.kind,
                    diff: None,
                    before: Some(*real),
                });
                entries.push(added(&view_fd, rel, stamp, &small));
            }
            None => entries.push(added(&view_fd, rel, stamp, &small)),
        }
    }
    for (rel, (real, _)) in &view.copied {
        if policy(rel) == Policy::Tracked && !now.contains_key(rel) {
            let diff = small(&real_fd, rel, real.kind, real.size)
                .and_then(|b| text_diff(rel, Some(&b), None));
            entries.push(Change {
                path: rel.clone(),
                change: ChangeKind::Removed,
                kind: real.kind,
                diff,
                before: Some(*real),
            });
        }
    }
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Changes { entries })
}

fn added(
    view_fd: &OwnedFd,
    rel: &Path,
    stamp: &Stamp,
    small: &impl Fn(&OwnedFd, &Path, Kind, u64) -> Option<Vec<u8>>,
) -> Change {
    let diff =
        small(view_fd, rel, stamp.kind, stamp.size).and_then(|b| text_diff(rel, None, Some(&b)));
    Change {
        path: rel.to_path_buf(),
        change: ChangeKind::Added,
        kind: stamp.kind,
        diff,
        before: None,
    }
}
