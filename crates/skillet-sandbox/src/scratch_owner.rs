//! Scratch directories that a crash would otherwise leave behind.
//!
//! Each process that runs skills (the daemon, a `skillet run`) puts its scratch directories in
//! a directory of its own, `owner-<pid>-<random>`, under the per-user scratch parent, and holds
//! an exclusive `flock` on the `lock` file in it for as long as it lives. The kernel lets the
//! lock go when the process dies, however it dies (`kill -9` included), so a later process can
//! tell a dead owner's directory from a live one's without trusting a pid, and removes it with
//! everything its sessions and runs wrote. Scratch kept on purpose (`--keep-tmp`,
//! `cleanup_on_exit: false`) is moved out of the owner's directory when it is kept, so a sweep
//! never takes it.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

/// Prefix of an owner's directory.
const OWNER: &str = "owner-";
/// Prefix of an owner's directory being made: not yet locked, so not swept until it is old
/// enough that its maker must be gone.
const STAGING: &str = ".owner-new-";
/// The lock file inside an owner's directory.
const LOCK: &str = "lock";
/// How old a half-made owner directory must be to be swept.
const STAGING_GRACE: Duration = Duration::from_secs(60);

/// This process's owner directory and the held lock that marks it alive.
struct Claim {
    dir: PathBuf,
    _lock: File,
}

static CLAIM: OnceLock<Option<Claim>> = OnceLock::new();

/// This process's scratch directory under `base` (created 0700, locked, and held for the
/// process's life), after sweeping the directories of owners that are gone. `None` when it
/// cannot be made: scratch then goes in `base` itself, as before owners existed.
pub(crate) fn owned_dir(base: &Path) -> Option<PathBuf> {
    CLAIM
        .get_or_init(|| {
            crate::scratch::create_private_dir(base).ok()?;
            sweep(base);
            claim(base).ok()
        })
        .as_ref()
        .map(|c| c.dir.clone())
}

/// This process's owner directory, once claimed.
pub(crate) fn own_dir() -> Option<PathBuf> {
    CLAIM.get()?.as_ref().map(|c| c.dir.clone())
}

/// The pid of the owner of `dir` (named `name`), when it is an owner directory whose owner
/// is alive (holds its lock).
pub(crate) fn live_owner_pid(dir: &Path, name: &str) -> Option<u32> {
    let pid = name.strip_prefix(OWNER)?.split('-').next()?.parse().ok()?;
    (!owner_is_gone(dir)).then_some(pid)
}

fn claim(base: &Path) -> std::io::Result<Claim> {
    // Made under a name a sweep leaves alone, locked, then renamed into place: a sweeper
    // never sees an owner directory whose lock is not yet held.
    let staging = tempfile::Builder::new()
        .prefix(STAGING)
        .tempdir_in(base)?
        .keep();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&staging, std::fs::Permissions::from_mode(0o700))?;
    }
    let lock = File::create_new(staging.join(LOCK))?;
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::NonBlockingLockExclusive)?;
    let suffix = staging
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix(STAGING))
        .unwrap_or_default()
        .to_owned();
    let dir = base.join(format!("{OWNER}{}-{suffix}", std::process::id()));
    if let Err(e) = std::fs::rename(&staging, &dir) {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    Ok(Claim { dir, _lock: lock })
}

/// Removes, under `base`, the owner directories whose lock is free (their process is gone)
/// and half-made ones older than [`STAGING_GRACE`]. Returns how many were removed.
pub(crate) fn sweep(base: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(base) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        // Only real directories: a link planted here is not followed.
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let path = entry.path();
        let dead = if name.starts_with(OWNER) {
            owner_is_gone(&path)
        } else if name.starts_with(STAGING) {
            entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > STAGING_GRACE))
        } else {
            false
        };
        if dead && crate::scratch::remove_tree(&path) {
            removed += 1;
        }
    }
    removed
}

/// Whether the owner of `dir` is gone: its lock can be taken (and is let go at once; the
/// directory is removed next), or it has no lock file at all. Every owner directory has its
/// lock, held, before it has its name, and a live owner never removes it, so a directory
/// without one is what a sweep that died halfway through removing it left.
fn owner_is_gone(dir: &Path) -> bool {
    use rustix::fs::{Mode, OFlags};
    match rustix::fs::open(
        dir.join(LOCK),
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK,
        Mode::empty(),
    ) {
        Ok(fd) => {
            rustix::fs::flock(&fd, rustix::fs::FlockOperation::NonBlockingLockExclusive).is_ok()
        }
        Err(rustix::io::Errno::NOENT) => true,
        Err(_) => false,
    }
}

/// Moves a kept scratch directory out of this process's owner directory, to `base` beside
/// it, so that sweeping the owner's directory after this process ends does not take it.
/// Returns where it now is (where it was, if it could not be moved).
pub(crate) fn outlive_owner(kept: PathBuf) -> PathBuf {
    let Some(owner) = CLAIM.get().and_then(Option::as_ref) else {
        return kept;
    };
    if kept.parent() != Some(owner.dir.as_path()) {
        return kept;
    }
    let (Some(base), Some(name)) = (owner.dir.parent(), kept.file_name()) else {
        return kept;
    };
    let to = base.join(name);
    match std::fs::rename(&kept, &to) {
        Ok(()) => to,
        Err(_) => kept,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dead_owners_directory_is_swept_and_a_live_ones_is_not() {
        let base = tempfile::tempdir().unwrap();
        let live = claim(base.path()).unwrap();
        std::fs::write(live.dir.join("file"), b"x").unwrap();
        let dead = claim(base.path()).unwrap();
        std::fs::write(dead.dir.join("big"), vec![0u8; 1 << 20]).unwrap();
        let dead_dir = dead.dir.clone();
        drop(dead);
        std::fs::create_dir(base.path().join("run-kept")).unwrap();
        assert_eq!(sweep(base.path()), 1);
        assert!(!dead_dir.exists());
        assert!(live.dir.join("file").exists());
        assert!(base.path().join("run-kept").exists(), "kept scratch stays");
    }

    #[test]
    fn an_owner_directory_left_without_its_lock_is_swept() {
        let base = tempfile::tempdir().unwrap();
        let live = claim(base.path()).unwrap();
        // What a sweep that died halfway through a removal leaves: no lock, some of the rest.
        let half = base.path().join(format!("{OWNER}4242-halfgone"));
        std::fs::create_dir_all(half.join(".root")).unwrap();
        assert_eq!(sweep(base.path()), 1);
        assert!(!half.exists());
        assert!(
            live.dir.join(LOCK).exists(),
            "a live owner keeps its directory"
        );
    }

    #[test]
    fn a_link_named_like_an_owner_is_not_followed() {
        let base = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        std::fs::write(elsewhere.path().join(LOCK), b"").unwrap();
        std::fs::write(elsewhere.path().join("precious"), b"x").unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), base.path().join("owner-1-x")).unwrap();
        assert_eq!(sweep(base.path()), 0);
        assert!(elsewhere.path().join("precious").exists());
    }
}
