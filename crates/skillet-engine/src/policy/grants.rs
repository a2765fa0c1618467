//! The user's path grants, resolved by the kernel before they are trusted.
//!
//! A grant typed relative (it starts at the run's directory, inside the workspace) is opened
//! beneath the workspace's directory handle with
//! `openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)`: a symlink or `..` that leaves the
//! workspace fails there, so a repository shipping `out -> ..` or `out -> /home/user` cannot
//! widen `--allow-write ./out`. A grant typed absolute (or `~/`) is resolved one component at a
//! time: from the first prefix whose real path lies in the workspace, whatever spelling reached
//! it (`$PWD` through a symlink, `/proc/self/cwd`, a symlinked home), the rest is opened beneath
//! the workspace the same way. A grant that never enters the workspace is the user's choice and
//! is followed, but shown in its resolved form when that differs. The policy gets the real path
//! read back from the opened handle.

use std::os::fd::{AsRawFd as _, OwnedFd};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Component, Path, PathBuf};

use rustix::fs::{CWD, Mode, OFlags, ResolveFlags};

use super::PolicyError;
use super::paths::{Boundaries, lexical};

/// What a grant allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    Write,
}

impl Access {
    fn flag(self) -> &'static str {
        match self {
            Access::Read => "--allow-read",
            Access::Write => "--allow-write",
        }
    }
}

/// A grant after resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Resolved {
    /// The real path the policy uses.
    pub path: PathBuf,
    /// Whether the user typed exactly this path (no symlink on the way).
    pub exact: bool,
    /// The path as typed, made absolute and folded without resolving anything.
    pub typed: PathBuf,
}

/// Resolves the grant `typed`; a relative one starts at `base` (a real directory inside the
/// workspace; the workspace root when `None`). `Ok(None)` (with a warning) when it does not
/// exist yet: there is nothing to grant, and the sandbox would have nothing to mount.
pub(crate) fn resolve(
    typed: &str,
    access: Access,
    bounds: &Boundaries,
    base: Option<&Path>,
    warnings: &mut Vec<String>,
) -> Result<Option<Resolved>, PolicyError> {
    // The part of the base below the workspace, walked again by the kernel beneath the
    // workspace's handle; a base outside it is no base.
    let base_rel = match (base, &bounds.workspace) {
        (Some(b), Some(ws)) => b.strip_prefix(ws).ok().map(Path::to_path_buf),
        _ => None,
    }
    .unwrap_or_default();
    let refused = |reason: String| PolicyError::Grant {
        flag: access.flag(),
        typed: typed.to_owned(),
        reason,
    };
    let (expanded, typed_absolute) = match (typed, typed.strip_prefix("~/"), &bounds.home) {
        ("~", _, Some(home)) => (home.clone(), true),
        (_, Some(rest), Some(home)) => (home.join(rest), true),
        (_, Some(_), None) => return Err(refused("HOME is not set, so `~/` means nothing".into())),
        _ if Path::new(typed).is_absolute() => (PathBuf::from(typed), true),
        _ => match &bounds.workspace {
            Some(ws) => (ws.join(&base_rel).join(typed), false),
            None => {
                return Err(refused(
                    "a relative grant starts at the workspace, and there is none here; run from a \
                     project directory or give an absolute path"
                        .into(),
                ));
            }
        },
    };
    let mut shown = lexical(&expanded);
    let opened = if typed_absolute {
        match bounds.workspace.as_deref() {
            // Walked one component at a time: from the first prefix whose real path lies in the
            // workspace, whatever spelling reached it (a symlinked `$PWD`, `/proc/self/cwd`, a
            // symlinked home), the rest is resolved beneath the workspace.
            Some(ws) => match enter_workspace(&expanded, ws) {
                Ok(Walk::Inside { rel, rest, typed }) => {
                    // The user's words, with only the spelling of the workspace replaced; but
                    // not words a link outside supplied (`/tmp/out -> $WS/.git/hooks`): the
                    // user did not name `.git/hooks`, and the grant is not exact.
                    if typed {
                        shown = lexical(&ws.join(&rel).join(&rest));
                    }
                    open_beneath(ws, &rel.join(&rest))
                }
                Ok(Walk::Outside(real)) => open_outside(&real, ws),
                Err(e) => Err(e),
            },
            None => rustix::fs::openat2(
                CWD,
                &expanded,
                OFlags::PATH | OFlags::CLOEXEC,
                Mode::empty(),
                ResolveFlags::NO_MAGICLINKS,
            )
            .map_err(std::io::Error::from),
        }
    } else {
        match &bounds.workspace {
            Some(ws) if shown.starts_with(ws) => open_beneath(ws, &base_rel.join(typed)),
            // Typed relative, but `..` leaves the workspace before anything is even opened.
            _ => Err(std::io::Error::from_raw_os_error(libc_exdev())),
        }
    };
    let fd = match opened {
        Ok(fd) => fd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            warnings.push(format!(
                "{} {typed}: not granted: {} does not exist (create it, then run again)",
                access.flag(),
                shown.display()
            ));
            return Ok(None);
        }
        Err(e) if e.raw_os_error() == Some(libc_exdev()) => {
            let target = super::paths::real_path(&expanded);
            if let Some(refusal) = own_dir_refusal(bounds, access, typed, &target) {
                return Err(refusal);
            }
            let ws = bounds.workspace.as_deref().unwrap_or(Path::new("/"));
            return Err(refused(format!(
                "it resolves to {} (through a symlink or `..`), outside the workspace {}; \
                 if you mean that path, grant it by its absolute path: {} {}",
                target.display(),
                ws.display(),
                access.flag(),
                target.display()
            )));
        }
        Err(e) => return Err(refused(format!("cannot resolve {}: {e}", shown.display()))),
    };
    let real =
        fd_path(&fd).map_err(|e| refused(format!("cannot resolve {}: {e}", shown.display())))?;
    // Not even by its exact name: unlike a project's `.git`, nothing in skillet's own
    // directories is the user's to hand to a skill.
    if let Some(refusal) = own_dir_refusal(bounds, access, typed, &real) {
        return Err(refusal);
    }
    let exact = real == shown;
    if !exact {
        warnings.push(format!(
            "{} {typed}: resolved to {}",
            access.flag(),
            real.display()
        ));
    }
    if !exact && bounds.is_credential(&real) {
        return Err(refused(format!(
            "it resolves to {}, which holds credentials; grant that exact path if you mean it",
            real.display()
        )));
    }
    if access == Access::Write {
        check_hard_links(&fd, &real, warnings);
    }
    Ok(Some(Resolved {
        path: real,
        exact,
        typed: shown,
    }))
}

/// The refusal of the grant `typed` when `real` is, or lies in, one of skillet's own
/// directories.
fn own_dir_refusal(
    bounds: &Boundaries,
    access: Access,
    typed: &str,
    real: &Path,
) -> Option<PolicyError> {
    bounds.own_holding(real).map(|own| PolicyError::OwnDir {
        flag: access.flag(),
        typed: typed.to_owned(),
        real: real.to_path_buf(),
        own: own.to_path_buf(),
    })
}

/// Where walking an absolute path component by component ends.
enum Walk {
    /// A prefix's real path lies in the workspace, `rel` below its root; `rest` is what follows
    /// that prefix, still to be resolved beneath the workspace; `typed` says whether the user
    /// typed all of `rest` (no link's target supplied any of it).
    Inside {
        rel: PathBuf,
        rest: PathBuf,
        typed: bool,
    },
    /// The whole path resolves outside the workspace, to this real path.
    Outside(PathBuf),
}

/// Resolves `path` one component at a time, following symlinks as the kernel does (a link's
/// target is walked the same way), until the path reached lies in the workspace `ws` (a real
/// path); from there on nothing is resolved here, so a link inside the workspace is only ever
/// followed beneath it, even when the user's own link outside led into the workspace.
fn enter_workspace(path: &Path, ws: &Path) -> std::io::Result<Walk> {
    // The components still to walk, the next one last, each with whether the user typed it
    // (or a link's target supplied it).
    let mut todo: Vec<(std::ffi::OsString, bool)> = Vec::new();
    let push_front = |todo: &mut Vec<(std::ffi::OsString, bool)>, p: &Path, typed: bool| {
        for c in p.components().rev() {
            match c {
                Component::Normal(n) => todo.push((n.to_owned(), typed)),
                Component::ParentDir => todo.push(("..".into(), typed)),
                Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
            }
        }
    };
    push_front(&mut todo, path, true);
    let mut cur = PathBuf::from("/");
    let mut links = 0;
    loop {
        if let Ok(rel) = cur.strip_prefix(ws) {
            let rest: PathBuf = todo.iter().rev().map(|(part, _)| part).collect();
            return Ok(Walk::Inside {
                rel: rel.to_path_buf(),
                rest,
                typed: todo.iter().all(|(_, typed)| *typed),
            });
        }
        let Some((part, _)) = todo.pop() else {
            return Ok(Walk::Outside(cur));
        };
        if part == ".." {
            cur.pop();
            continue;
        }
        let next = cur.join(&part);
        let meta = std::fs::symlink_metadata(&next)?;
        if !meta.file_type().is_symlink() {
            if !todo.is_empty() && !meta.is_dir() {
                return Err(std::io::Error::from_raw_os_error(
                    rustix::io::Errno::NOTDIR.raw_os_error(),
                ));
            }
            cur = next;
            continue;
        }
        links += 1;
        if links > MAX_LINKS {
            return Err(std::io::Error::from_raw_os_error(
                rustix::io::Errno::LOOP.raw_os_error(),
            ));
        }
        let target = std::fs::read_link(&next)?;
        if target.is_absolute() {
            cur = PathBuf::from("/");
        }
        push_front(&mut todo, &target, false);
    }
}

/// How many symlinks one walk follows, as the kernel's limit.
const MAX_LINKS: usize = 40;

/// The real path `real`, outside the workspace `ws`, opened without following any link: one
/// appearing since it was resolved, or the path now reaching the workspace, is a race lost.
fn open_outside(real: &Path, ws: &Path) -> std::io::Result<OwnedFd> {
    let fd = rustix::fs::openat2(
        CWD,
        real,
        OFlags::PATH | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS,
    )?;
    if fd_path(&fd)?.starts_with(ws) {
        return Err(std::io::Error::from_raw_os_error(libc_exdev()));
    }
    Ok(fd)
}

/// The real path of `rel` beneath the directory `root`, resolved by the kernel so that no `..`,
/// absolute symlink or magic link leaves `root` (an error of kind `CrossesDevices`, EXDEV,
/// says one tried). Components that do not exist yet are appended as they are, after their
/// existing parent is resolved.
pub(crate) fn resolve_beneath(root: &Path, rel: &Path) -> std::io::Result<PathBuf> {
    match open_beneath(root, rel) {
        Ok(fd) => fd_path(&fd),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let (Some(parent), Some(name)) = (rel.parent(), rel.file_name()) else {
                return Err(e);
            };
            Ok(resolve_beneath(root, parent)?.join(name))
        }
        Err(e) => Err(e),
    }
}

/// Whether `e` is the kernel refusing a path that leaves the directory it was resolved beneath.
pub(crate) fn is_escape(e: &std::io::Error) -> bool {
    e.raw_os_error() == Some(libc_exdev())
}

/// `rel` opened beneath the directory `root`: no `..`, absolute symlink or magic link may leave it.
fn open_beneath(root: &Path, rel: &Path) -> std::io::Result<OwnedFd> {
    let dir = rustix::fs::open(
        root,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let rel = if rel.as_os_str().is_empty() {
        Path::new(".")
    } else {
        rel
    };
    // The kernel answers EAGAIN when a rename or mount anywhere on the machine raced a `..`
    // step (it cannot then vouch the walk stayed beneath): asked again, as openat2(2) advises.
    let mut tries = 0;
    loop {
        match rustix::fs::openat2(
            &dir,
            rel,
            OFlags::PATH | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS,
        ) {
            Err(rustix::io::Errno::AGAIN) if tries < MAX_RETRIES => tries += 1,
            other => return Ok(other?),
        }
    }
}

/// How often a walk beneath a directory is retried after the kernel's EAGAIN.
const MAX_RETRIES: usize = 64;

/// The path the kernel reached for `fd`.
fn fd_path(fd: &OwnedFd) -> std::io::Result<PathBuf> {
    std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

fn libc_exdev() -> i32 {
    rustix::io::Errno::XDEV.raw_os_error()
}

/// A file with several names is written through all of them; no resolution can tell which name
/// the user meant, so it is said.
fn check_hard_links(fd: &OwnedFd, real: &Path, warnings: &mut Vec<String>) {
    let Ok(meta) = std::fs::metadata(format!("/proc/self/fd/{}", fd.as_raw_fd())) else {
        return;
    };
    if meta.is_file() && meta.nlink() > 1 {
        warnings.push(format!(
            "--allow-write {}: this file has {} hard links; writing it changes every one of them",
            real.display(),
            meta.nlink()
        ));
    }
}

/// The (device, inode) of `path`, to recognise a hard link to it.
pub(crate) fn inode(path: &Path) -> Option<(u64, u64)> {
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

#[cfg(test)]
mod tests;
