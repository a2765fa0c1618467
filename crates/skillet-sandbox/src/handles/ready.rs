//! Readying the protected paths inside write grants to be mounted over, with namespaces: the
//! walk from each grant to each protected path, the pins on the way and the placeholders
//! (placeholders.rs) at its end.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::OFlags;

use super::{Guard, Guarded, Handle, OpenedFs, open_guarded, open_strict, open_with};
use crate::SpawnError;
use crate::placeholders::{self, Held, Placeholders};

impl OpenedFs {
    /// Walks from each write grant to each protected path inside it, by handle: the
    /// directories on the way become pins, and the first name missing on the way gets a
    /// placeholder, which is then guarded in the protected path's place. A placeholder met on
    /// the way (another run's) is held like one made here, and counts as missing.
    ///
    /// What the walk ends on replaces what [`OpenedFs::open`] found there: another run may
    /// have made or removed a placeholder since, and a guarded path left without a handle
    /// would split the grant (fs_rules.rs) and take its writing away. Then every other
    /// guarded path that is a placeholder (a masked `.env` another run made) is held too.
    pub(super) fn ready_mounts(&mut self) -> Result<(), SpawnError> {
        // Where each walk ended, and the handle to guard that path with.
        let mut found: Vec<(PathBuf, Option<Handle>)> = Vec::new();
        for w in &self.write {
            for g in &self.guarded {
                if g.guard != Guard::ReadOnly {
                    continue;
                }
                let Some(rel) = g
                    .path
                    .strip_prefix(&w.path)
                    .ok()
                    .filter(|r| !r.as_os_str().is_empty())
                else {
                    continue;
                };
                let mut at = w.path.clone();
                let mut dir = rustix::io::fcntl_dupfd_cloexec(&w.fd, 3)
                    .map_err(|e| SpawnError::Setup(format!("{}: {e}", w.path.display())))?;
                let mut parts = rel.components().peekable();
                while let Some(part) = parts.next() {
                    let name = part.as_os_str();
                    let last = parts.peek().is_none();
                    at.push(name);
                    if found.iter().any(|(p, _)| *p == at) {
                        break;
                    }
                    let child = match open_with(&at, OFlags::NOFOLLOW)? {
                        Some(h) if !placeholders::looks_made(&h.fd, name) => h,
                        // Missing, or a placeholder: made or held for this run.
                        _ => {
                            let h = hold(&mut self.placeholders, &dir, &at, true)?;
                            found.push((at.clone(), h));
                            break;
                        }
                    };
                    // A link or a file on the way ends the walk: what lies beyond is not
                    // reached through this grant.
                    if last || !child.is_dir {
                        if last {
                            found.push((at.clone(), (!child.is_link).then_some(child)));
                        }
                        break;
                    }
                    if !self.pins.iter().any(|p| p.path == at) {
                        dir = rustix::io::fcntl_dupfd_cloexec(&child.fd, 3)
                            .map_err(|e| SpawnError::Setup(format!("{}: {e}", at.display())))?;
                        self.pins.push(child);
                    } else {
                        dir = child.fd;
                    }
                }
            }
        }
        for (path, handle) in found {
            // A masked path there is masked on the file the walk found.
            for o in self.guarded.iter_mut().filter(|o| o.path == path) {
                o.handle = handle.as_ref().map(Handle::try_clone).transpose()?;
            }
            if !self
                .guarded
                .iter()
                .any(|o| o.path == path && o.guard == Guard::ReadOnly)
            {
                self.guarded.push(Guarded {
                    path,
                    guard: Guard::ReadOnly,
                    handle,
                });
            }
        }
        for i in 0..self.guarded.len() {
            let g = &self.guarded[i];
            let (Some(h), Some(parent), Some(name)) =
                (&g.handle, g.path.parent(), g.path.file_name())
            else {
                continue;
            };
            if self.placeholders.holds(h.id) || !placeholders::looks_made(&h.fd, name) {
                continue;
            }
            let path = g.path.clone();
            let Some(dir) = open_strict(parent)? else {
                self.guarded[i].handle = None;
                continue;
            };
            self.guarded[i].handle = hold(&mut self.placeholders, &dir.fd, &path, false)?;
        }
        Ok(())
    }
}

/// Makes (with `create`) or holds the placeholder at `path`, whose parent is `dir`, and
/// opens what is there now: for a placeholder, the very file held, or the run is refused.
fn hold(
    placeholders: &mut Placeholders,
    dir: &OwnedFd,
    path: &Path,
    create: bool,
) -> Result<Option<Handle>, SpawnError> {
    let name = path.file_name().unwrap_or_default();
    let setup =
        |e: std::io::Error| SpawnError::Setup(format!("cannot protect {}: {e}", path.display()));
    let held = if create {
        placeholders.make(dir, name)
    } else {
        placeholders.hold(dir, name)
    }
    .map_err(setup)?;
    let h = match held {
        Held::Missing => return Ok(None),
        Held::Other => return open_guarded(path),
        Held::Placeholder(id) => open_guarded(path)?.filter(|h| h.id == id),
    };
    // Held, so no run removes it: only someone else can have swapped it.
    h.map(Some).ok_or_else(|| {
        setup(std::io::Error::other(
            "the placeholder made for it was replaced while the run started; check what \
             changed there and run again",
        ))
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::handles::FileId;
    use crate::policy::FsPolicy;

    fn policy(dir: &Path) -> FsPolicy {
        FsPolicy {
            write: vec![dir.to_path_buf()],
            read_only: [".git", ".claude", "skillet.toml", ".env"]
                .iter()
                .map(|n| dir.join(n))
                .collect(),
            ..FsPolicy::default()
        }
    }

    fn id_of(path: &Path) -> Option<FileId> {
        let st = rustix::fs::lstat(path).ok()?;
        Some((st.st_dev, st.st_ino))
    }

    /// Run B opens its policy before run A makes its placeholders, and readies its mounts
    /// after: it must hold A's placeholders, mount them, and keep them after A ends.
    #[test]
    fn a_placeholder_made_by_another_run_while_one_starts_is_held_and_mounted() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().canonicalize().unwrap();
        let mut b = OpenedFs::open(&policy(&dir), None, false).unwrap();
        assert!(b.guarded.iter().all(|g| g.handle.is_none()));
        let a = OpenedFs::open(&policy(&dir), None, true).unwrap();
        b.ready_mounts().unwrap();
        assert!(
            b.unmounted_in(&dir).is_empty(),
            "a protected path left unmounted splits the grant: {:?}",
            b.unmounted_in(&dir)
        );
        drop(a);
        for g in &b.guarded {
            let h = g.handle.as_ref().unwrap();
            assert_eq!(
                id_of(&g.path),
                Some(h.id),
                "{} was removed",
                g.path.display()
            );
        }
        drop(b);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "left behind");
    }

    /// Run B lists A's placeholders as ordinary entries (a masked `.env` among them): it
    /// holds each, so A's end removes none of what B mounts.
    #[test]
    fn a_run_that_finds_another_runs_placeholders_holds_them() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().canonicalize().unwrap();
        let a = OpenedFs::open(&policy(&dir), None, true).unwrap();
        let mut listed = policy(&dir);
        listed.hidden.push(dir.join(".env"));
        // Read elsewhere too: masked there, and held as well.
        let b = OpenedFs::open(&listed, None, true).unwrap();
        let c = OpenedFs::open(
            &FsPolicy {
                read: vec![dir.clone()],
                hidden: vec![dir.join(".env")],
                ..FsPolicy::default()
            },
            None,
            true,
        )
        .unwrap();
        drop(a);
        for g in b.guarded.iter().chain(&c.guarded) {
            let h = g.handle.as_ref().unwrap();
            assert_eq!(
                id_of(&g.path),
                Some(h.id),
                "{} was removed",
                g.path.display()
            );
        }
        drop(b);
        assert!(dir.join(".env").exists(), "still held by the reading run");
        drop(c);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "left behind");
        // A user's own entry that looks like none is never taken for one, nor removed.
        std::fs::create_dir(dir.join(".claude")).unwrap();
        std::fs::write(dir.join(".env"), "SECRET=1").unwrap();
        drop(OpenedFs::open(&listed, None, true).unwrap());
        assert!(dir.join(".claude").is_dir());
        assert_eq!(
            std::fs::read_to_string(dir.join(".env")).unwrap(),
            "SECRET=1"
        );
    }

    /// Run B opens A's placeholders as ordinary entries, A ends and removes them, then B
    /// readies its mounts: B makes them again and guards the new files, never the ones gone.
    #[test]
    fn placeholders_removed_while_a_run_starts_are_made_again_for_it() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().canonicalize().unwrap();
        let a = OpenedFs::open(&policy(&dir), None, true).unwrap();
        let mut listed = policy(&dir);
        listed.hidden.push(dir.join(".env"));
        let mut b = OpenedFs::open(&listed, None, false).unwrap();
        let stale: Vec<FileId> = b
            .guarded
            .iter()
            .map(|g| g.handle.as_ref().unwrap().id)
            .collect();
        drop(a);
        assert!(!dir.join(".git").exists());
        b.ready_mounts().unwrap();
        assert!(
            b.unmounted_in(&dir).is_empty(),
            "{:?}",
            b.unmounted_in(&dir)
        );
        for g in &b.guarded {
            let h = g.handle.as_ref().unwrap();
            assert_eq!(id_of(&g.path), Some(h.id), "{}", g.path.display());
            assert!(
                !stale.contains(&h.id),
                "{} guards a file gone",
                g.path.display()
            );
        }
        drop(b);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "left behind");
    }
}
