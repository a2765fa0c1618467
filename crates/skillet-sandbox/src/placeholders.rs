//! Placeholders for protected paths that do not exist yet, inside a write grant, with
//! namespaces.
//!
//! A mount needs something to cover, and a name that does not exist cannot be covered: so for
//! the run, an empty placeholder is made under that name in the user's tree (by handle, in the
//! directory the parent opened), bound read-only over itself in the private root (a mountpoint
//! the program can neither write in, remove nor rename), and removed when the run is over, if
//! it is still the empty placeholder that was made. Runs of this process that share one count
//! it, so the last one removes it. Names that look like files (`skillet.toml`, `.env*`) get an
//! empty file, the others an empty directory: what a tool of the user's that reads them during
//! the run expects to find (an empty directory named `.git` is no repository to git).

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::os::fd::OwnedFd;
use std::sync::Mutex;

use rustix::fs::{AtFlags, Mode, OFlags};

use crate::handles::FileId;

/// Placeholders alive in this process, with how many runs use each.
static LIVE: Mutex<Option<HashMap<FileId, usize>>> = Mutex::new(None);

fn with_live<T>(f: impl FnOnce(&mut HashMap<FileId, usize>) -> T) -> T {
    let mut guard = LIVE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    f(guard.get_or_insert_with(HashMap::new))
}

/// One placeholder a run uses.
#[derive(Debug)]
struct Placeholder {
    dir: OwnedFd,
    name: OsString,
    id: FileId,
    is_dir: bool,
}

/// The placeholders of one run, removed when it is dropped (after the run).
#[derive(Debug, Default)]
pub struct Placeholders(Vec<Placeholder>);

/// Whether a protected name gets a file rather than a directory.
fn file_like(name: &OsStr) -> bool {
    let name = name.to_string_lossy();
    name.starts_with(".env") || name.trim_start_matches('.').contains('.')
}

impl Placeholders {
    /// Makes `name` in the directory `dir` (a handle of the parent), or takes a share in the
    /// placeholder of another run of this process found there. Returns whether there is now
    /// something under that name to mount over (`false`: it could not be made, e.g. the
    /// directory is not writable, which leaves the program unable to make it either).
    pub(crate) fn make(&mut self, dir: &OwnedFd, name: &OsStr) -> std::io::Result<bool> {
        let is_dir = !file_like(name);
        let made = if is_dir {
            rustix::fs::mkdirat(dir, name, Mode::from_raw_mode(0o555)).map(|()| None)
        } else {
            rustix::fs::openat(
                dir,
                name,
                OFlags::CREATE | OFlags::EXCL | OFlags::WRONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW,
                Mode::from_raw_mode(0o444),
            )
            .map(Some)
        };
        match made {
            Ok(_) => {}
            // Made since the policy was listed: by another run of this process (then shared),
            // or by someone else (then it is theirs, and mounted over as it is).
            Err(rustix::io::Errno::EXIST) => {}
            Err(rustix::io::Errno::ACCESS | rustix::io::Errno::ROFS | rustix::io::Errno::PERM) => {
                return Ok(false);
            }
            Err(e) => return Err(e.into()),
        }
        let st = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)?;
        let id = (st.st_dev, st.st_ino);
        let ours = made.is_ok();
        let shared = with_live(|live| {
            if ours {
                live.insert(id, 1);
                true
            } else if let Some(n) = live.get_mut(&id) {
                *n += 1;
                true
            } else {
                false
            }
        });
        if shared {
            self.0.push(Placeholder {
                dir: rustix::io::fcntl_dupfd_cloexec(dir, 3)?,
                name: name.to_os_string(),
                id,
                is_dir,
            });
        }
        Ok(true)
    }
}

impl Drop for Placeholders {
    fn drop(&mut self) {
        for p in self.0.drain(..) {
            let last = with_live(|live| match live.get_mut(&p.id) {
                Some(n) if *n > 1 => {
                    *n -= 1;
                    false
                }
                _ => {
                    live.remove(&p.id);
                    true
                }
            });
            if !last {
                continue;
            }
            // Only the empty placeholder that was made goes: anything else there is the user's.
            let Ok(st) = rustix::fs::statat(&p.dir, &p.name, AtFlags::SYMLINK_NOFOLLOW) else {
                continue;
            };
            if (st.st_dev, st.st_ino) != p.id {
                continue;
            }
            if p.is_dir {
                // Fails when not empty, and so leaves what was put there.
                let _ = rustix::fs::unlinkat(&p.dir, &p.name, AtFlags::REMOVEDIR);
            } else if st.st_size == 0 {
                let _ = rustix::fs::unlinkat(&p.dir, &p.name, AtFlags::empty());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn placeholders_are_shared_and_removed_by_the_last_run() {
        let tmp = tempfile::tempdir().unwrap();
        let dir =
            rustix::fs::open(tmp.path(), OFlags::PATH | OFlags::DIRECTORY, Mode::empty()).unwrap();
        let (mut a, mut b) = (Placeholders::default(), Placeholders::default());
        assert!(a.make(&dir, OsStr::new(".git")).unwrap());
        assert!(a.make(&dir, OsStr::new("skillet.toml")).unwrap());
        assert!(b.make(&dir, OsStr::new(".git")).unwrap());
        assert!(tmp.path().join(".git").is_dir());
        assert!(tmp.path().join("skillet.toml").is_file());
        drop(a);
        assert!(
            tmp.path().join(".git").is_dir(),
            "still used by the other run"
        );
        assert!(!tmp.path().join("skillet.toml").exists());
        drop(b);
        assert!(!tmp.path().join(".git").exists());
        // What someone else made is never removed.
        std::fs::create_dir(tmp.path().join(".agents")).unwrap();
        let mut c = Placeholders::default();
        assert!(c.make(&dir, OsStr::new(".agents")).unwrap());
        drop(c);
        assert!(tmp.path().join(".agents").is_dir());
    }
}
