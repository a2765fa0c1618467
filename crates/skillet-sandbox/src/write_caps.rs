//! Write grants with a byte cap ([`crate::FsPolicy::capped`]): directories the caller made for
//! one run whose whole contents must stay small while the run goes on, whatever the run does in
//! them (many files, big files, deep trees). Nothing in the kernel caps a directory on a shared
//! file system, so the supervisor opens each one before the run and measures it through that
//! handle, often, and once more when the run ended; a run found past a cap is killed at once
//! (all of its processes, not the program first) and reported as [`crate::LimitHit::WriteCap`].
//!
//! What is counted: the blocks each file takes, and at least [`ENTRY_BYTES`] for every entry
//! (an empty file or a directory costs memory on a tmpfs too). Links are not followed and the
//! walk stays on the directory's device, as for the scratch (see scratch.rs). A directory with
//! more entries than a walk looks at counts as past any cap.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How often capped grants are measured. A walk of a directory the size of a cap takes tens
/// of microseconds; what a fast writer adds between two looks is the overshoot.
const POLL: Duration = Duration::from_millis(10);

/// The least an entry counts for, whatever its size: a tmpfs inode and its directory entry.
pub(crate) const ENTRY_BYTES: u64 = 1024;

/// The capped grants of one run, held open.
#[derive(Debug, Default)]
pub(crate) struct Capped {
    dirs: Vec<(Arc<File>, u64)>,
}

impl Capped {
    /// Opens each capped grant, refusing one that is not a directory or is a link: the
    /// supervisor must measure the directory the run was given, not one a path leads to later.
    pub(crate) fn open(caps: &[(PathBuf, u64)]) -> std::io::Result<Capped> {
        use std::os::unix::fs::OpenOptionsExt;
        let mut dirs = Vec::with_capacity(caps.len());
        for (path, cap) in caps {
            let dir = std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC)
                .open(path)
                .map_err(|e| {
                    std::io::Error::new(
                        e.kind(),
                        format!("cannot open the capped directory {}: {e}", path.display()),
                    )
                })?;
            dirs.push((Arc::new(dir), *cap));
        }
        Ok(Capped { dirs })
    }

    /// Whether any capped grant holds more than its cap now.
    pub(crate) fn over(&self) -> bool {
        self.dirs.iter().any(|(dir, cap)| usage(dir) > *cap)
    }

    /// Returns once a capped grant holds more than its cap; never, when there is none.
    pub(crate) async fn watch(&self) {
        if self.dirs.is_empty() {
            return std::future::pending().await;
        }
        let mut tick = tokio::time::interval(POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let dirs = self.dirs.clone();
            let over = tokio::task::spawn_blocking(move || {
                dirs.iter().any(|(dir, cap)| usage(dir) > *cap)
            })
            .await
            // A walk that could not finish proves nothing either way; the next one decides.
            .unwrap_or(false);
            if over {
                return;
            }
        }
    }
}

/// What the directory open as `dir` holds, by the rule in the module's comment.
fn usage(dir: &File) -> u64 {
    let top = PathBuf::from(format!("/proc/self/fd/{}", dir.as_raw_fd()));
    let mut total = 0u64;
    let mut entries = 0usize;
    let complete = crate::scratch::walk(top, |_, meta| {
        entries += 1;
        total = total.saturating_add(meta.blocks().saturating_mul(512).max(ENTRY_BYTES));
        true
    });
    // A directory the run made unreadable to its own user hides what it holds: over the cap.
    if !complete || entries >= crate::scratch::MAX_ENTRIES {
        return u64::MAX;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_entries_and_subdirectories_count_and_links_are_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let capped = |cap| Capped::open(&[(dir.path().to_path_buf(), cap)]).unwrap();
        assert!(!capped(0).over(), "empty");
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/big"), vec![1u8; 200_000]).unwrap();
        std::os::unix::fs::symlink("/usr", dir.path().join("link")).unwrap();
        assert!(capped(100_000).over());
        assert!(
            !capped(1 << 20).over(),
            "/usr behind the link is not counted"
        );
        for i in 0..100 {
            std::fs::write(dir.path().join(format!("e{i}")), b"").unwrap();
        }
        assert!(
            usage(&File::open(dir.path()).unwrap()) >= 200_000 + 100 * ENTRY_BYTES,
            "empty files count"
        );
    }

    /// A folder its own user cannot list: as root the walk reads it anyway and counts what is
    /// in it; as a user it cannot, and the unread folder counts as over any cap.
    #[test]
    fn a_folder_that_cannot_be_listed_is_over_the_cap() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let hidden = dir.path().join("h");
        std::fs::create_dir(&hidden).unwrap();
        std::fs::write(hidden.join("big"), vec![1u8; 400_000]).unwrap();
        for mode in [0o300, 0o000] {
            std::fs::set_permissions(&hidden, std::fs::Permissions::from_mode(mode)).unwrap();
            let capped = Capped::open(&[(dir.path().to_path_buf(), 100_000)]).unwrap();
            assert!(capped.over(), "mode {mode:o}");
        }
        assert!(crate::scratch::remove_tree(dir.path()));
        assert!(!dir.path().exists());
    }

    #[test]
    fn a_link_or_a_file_is_refused_as_a_capped_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(dir.path(), dir.path().join("link")).unwrap();
        std::fs::write(dir.path().join("file"), b"x").unwrap();
        assert!(Capped::open(&[(dir.path().join("link"), 1)]).is_err());
        assert!(Capped::open(&[(dir.path().join("file"), 1)]).is_err());
    }
}
