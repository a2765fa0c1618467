//! One bound on all live scratch together ([`crate::Limits::scratch_total_bytes`]), across
//! every process of the user that runs skills (the daemon's sessions, each `skillet run`).
//!
//! Each run's scratch is capped on its own ([`crate::Limits::scratch_bytes`]); without this,
//! many sessions each under their cap could still fill the machine. Before a scratch is made,
//! what the live ones hold is measured: host directories by walking them (no namespaces, and
//! scratch kept with `--keep-tmp`), private tmpfs scratches by asking their file system. A
//! process sees its own tmpfs roots directly; another process's are reached through
//! `/proc/<pid>/fd/<n>`, which each owner lists in a file of its owner directory (see
//! scratch_owner.rs) whenever one starts or ends, with the device of each so that a reused
//! descriptor number is never measured as the scratch it replaced. A new scratch is refused
//! when too little is left, and otherwise capped at what is left, so the kernel (or the
//! supervisor) stops a skill that writes past the bound exactly as at its own cap.

use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};

/// Less than this left and a new scratch is refused: a smaller one could hold next to nothing
/// (and a tmpfs is at least 1 MiB).
const MIN_LEFT: u64 = 1 << 20;

/// The file in an owner directory that lists its live tmpfs scratches.
pub(crate) const TMPFS_LIST: &str = "tmpfs";

/// This process's live tmpfs scratches, with the base their parent is in: held weakly, so a
/// finished run drops out by itself.
static LIVE: Mutex<Vec<(PathBuf, Weak<OwnedFd>)>> = Mutex::new(Vec::new());

/// Registers a live tmpfs scratch of this process, made in `parent`, and tells other
/// processes about it.
pub(crate) fn register(root: &Arc<OwnedFd>, parent: &Path) {
    let base = base_of(parent);
    if let Ok(mut live) = LIVE.lock() {
        live.retain(|(_, w)| w.strong_count() > 0);
        live.push((base, Arc::downgrade(root)));
    }
    publish();
}

/// Rewrites this process's list of live tmpfs scratches (after one has ended, say).
pub(crate) fn publish() {
    let Some(owner) = crate::scratch_owner::own_dir() else {
        return;
    };
    let mut text = String::new();
    for fd in own_roots(None) {
        if let Ok(st) = rustix::fs::fstat(&fd) {
            text.push_str(&format!("{} {}\n", fd.as_raw_fd(), st.st_dev));
        }
    }
    // Written aside and renamed, so a reader never sees half a list.
    let aside = owner.join(format!(".{TMPFS_LIST}.new"));
    if std::fs::write(&aside, text).is_ok() {
        let _ = std::fs::rename(&aside, owner.join(TMPFS_LIST));
    }
}

/// This process's live tmpfs scratches, all or those under `base`.
fn own_roots(base: Option<&Path>) -> Vec<Arc<OwnedFd>> {
    LIVE.lock()
        .map(|live| {
            live.iter()
                .filter(|(b, _)| base.is_none_or(|base| b == base))
                .filter_map(|(_, w)| w.upgrade())
                .collect()
        })
        .unwrap_or_default()
}

/// Bytes in use on the file system of `fd` (a tmpfs root).
fn used_on(fd: &impl std::os::fd::AsFd) -> u64 {
    rustix::fs::fstatvfs(fd).map_or(0, |st| {
        st.f_blocks
            .saturating_sub(st.f_bfree)
            .saturating_mul(st.f_frsize)
    })
}

/// What one holder of scratch space holds.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Holder {
    /// Who: a process, or the kept directories.
    who: String,
    /// How many scratch directories.
    scratches: usize,
    /// Bytes they take.
    bytes: u64,
}

/// The live scratch under one scratch parent, by holder.
#[derive(Debug, Default)]
struct Usage {
    holders: Vec<Holder>,
}

impl Usage {
    fn total(&self) -> u64 {
        self.holders.iter().map(|h| h.bytes).sum()
    }
}

/// The base every owner's directory lives in, for a run whose scratch goes in `parent`: the
/// directory above this process's owner directory, or `parent` itself when the policy names
/// its own.
fn base_of(parent: &Path) -> PathBuf {
    match crate::scratch_owner::own_dir() {
        Some(own) if own == parent => parent.parent().unwrap_or(parent).to_path_buf(),
        _ => parent.to_path_buf(),
    }
}

/// The cap a new scratch in `parent` may have: `cap`, or less when the scratch already live
/// leaves less than that under `total`. An error, saying what holds the space and what to do,
/// when less than [`MIN_LEFT`] is left.
pub(crate) fn admit(parent: &Path, cap: u64, total: Option<u64>) -> Result<u64, String> {
    let Some(total) = total else {
        return Ok(cap);
    };
    let base = base_of(parent);
    // A process that died since this one started (kill -9) must not hold space forever.
    crate::scratch_owner::sweep(&base);
    let usage = measure(&base);
    let used = usage.total();
    let left = total.saturating_sub(used);
    if left >= MIN_LEFT {
        return Ok(cap.min(left));
    }
    Err(refusal(&base, &usage, total))
}

fn refusal(base: &Path, usage: &Usage, total: u64) -> String {
    let mib = |b: u64| b.div_ceil(1 << 20);
    let mut holders: Vec<&Holder> = usage.holders.iter().filter(|h| h.bytes > 0).collect();
    holders.sort_by_key(|h| std::cmp::Reverse(h.bytes));
    let list = holders
        .iter()
        .map(|h| {
            format!(
                "{} ({} scratch director{}, {} MiB)",
                h.who,
                h.scratches,
                if h.scratches == 1 { "y" } else { "ies" },
                mib(h.bytes)
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    format!(
        "scratch space is full: live scratch directories hold {} MiB of the {} MiB allowed to all \
         runs and sessions together ([sandbox] max_scratch_total_mb), in {}: {list}. \
         End the sessions you no longer need (`skillet session list`, then `skillet session close ID`), \
         wait for running skills to finish, remove scratch kept with --keep-tmp, or raise \
         max_scratch_total_mb in the global skillet.toml",
        mib(usage.total()),
        mib(total),
        base.display(),
    )
}

/// Measures the live scratch under `base`: this process's, each live owner's, and kept
/// directories. Owners whose lock is free are not counted (a sweep removes them).
fn measure(base: &Path) -> Usage {
    let own = crate::scratch_owner::own_dir();
    let own_parent = own.as_deref().and_then(Path::parent) == Some(base);
    let mut usage = Usage::default();
    let mut mine = Holder {
        who: format!("this process (pid {})", std::process::id()),
        scratches: 0,
        bytes: 0,
    };
    let roots = own_roots(Some(base));
    // Every scratch has a host directory; a tmpfs one has its tmpfs too, counted once.
    let mut mine_dirs = 0;
    mine.scratches = roots.len();
    mine.bytes += roots.iter().map(used_on).sum::<u64>();
    let mut kept = Holder {
        who: format!("scratch directories in {}", base.display()),
        scratches: 0,
        bytes: 0,
    };
    let entries = std::fs::read_dir(base).into_iter().flatten();
    for entry in entries.flatten() {
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if own.as_deref() == Some(path.as_path()) {
            // Host directories: the tmpfs ones are empty until kept, the others are the scratch.
            let (n, bytes) = host_runs(&path);
            mine_dirs += n;
            mine.bytes = mine.bytes.saturating_add(bytes);
        } else if let Some(pid) = crate::scratch_owner::live_owner_pid(&path, &name) {
            let (n, host) = host_runs(&path);
            let (m, tmpfs) = others_tmpfs(&path, pid);
            usage.holders.push(Holder {
                who: describe(pid),
                scratches: n.max(m),
                bytes: host.saturating_add(tmpfs),
            });
        } else if name.starts_with("run-") {
            let bytes = crate::scratch::usage(&path);
            // Directly under the base, a run directory was kept, unless the base is this
            // process's own parent (a policy's own `scratch_parent`): then it is this
            // process's, live or kept.
            if own_parent {
                kept.scratches += 1;
                kept.bytes = kept.bytes.saturating_add(bytes);
            } else {
                mine_dirs += 1;
                mine.bytes = mine.bytes.saturating_add(bytes);
            }
        }
    }
    mine.scratches = mine.scratches.max(mine_dirs);
    usage.holders.push(mine);
    usage.holders.push(kept);
    usage
}

/// The run directories directly in `dir` and the bytes under them.
fn host_runs(dir: &Path) -> (usize, u64) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return (0, 0);
    };
    let mut n = 0;
    let mut bytes = 0u64;
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with("run-")
            && entry.file_type().is_ok_and(|t| t.is_dir())
        {
            n += 1;
            bytes = bytes.saturating_add(crate::scratch::usage(&entry.path()));
        }
    }
    (n, bytes)
}

/// The tmpfs scratches another live owner (`pid`) lists, and the bytes in use on them. A
/// listed descriptor whose device is not the one listed was reused for something else, and
/// is skipped.
fn others_tmpfs(owner: &Path, pid: u32) -> (usize, u64) {
    let Ok(text) = std::fs::read_to_string(owner.join(TMPFS_LIST)) else {
        return (0, 0);
    };
    let mut n = 0;
    let mut bytes = 0u64;
    for line in text.lines() {
        let mut parts = line.split_whitespace();
        let (Some(Ok(fd)), Some(Ok(dev))) = (
            parts.next().map(str::parse::<u32>),
            parts.next().map(str::parse::<u64>),
        ) else {
            continue;
        };
        let path = format!("/proc/{pid}/fd/{fd}");
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if meta.dev() != dev || !meta.is_dir() {
            continue;
        }
        let Ok(st) = rustix::fs::statvfs(path.as_str()) else {
            continue;
        };
        n += 1;
        bytes = bytes.saturating_add(
            st.f_blocks
                .saturating_sub(st.f_bfree)
                .saturating_mul(st.f_frsize),
        );
    }
    (n, bytes)
}

/// "process 1234 (skillet serve …)", from its command line.
fn describe(pid: u32) -> String {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let args: Vec<String> = cmdline
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .take(4)
        .enumerate()
        .map(|(i, a)| {
            let a = String::from_utf8_lossy(a).into_owned();
            if i == 0 {
                Path::new(&a)
                    .file_name()
                    .map_or(a.clone(), |n| n.to_string_lossy().into_owned())
            } else {
                a
            }
        })
        .collect();
    if args.is_empty() {
        format!("process {pid}")
    } else {
        format!("process {pid} ({})", args.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_directories_count_and_the_refusal_names_them() {
        let base = tempfile::tempdir().unwrap();
        let kept = base.path().join("run-kept");
        std::fs::create_dir(&kept).unwrap();
        std::fs::write(kept.join("big"), vec![1u8; 3 << 20]).unwrap();
        let usage = measure(base.path());
        assert!(usage.total() >= 3 << 20, "{usage:?}");
        let err = admit(base.path(), 256 << 20, Some(3 << 20)).unwrap_err();
        assert!(err.contains("scratch space is full"), "{err}");
        assert!(err.contains("1 scratch directory, "), "{err}");
        assert!(err.contains("max_scratch_total_mb"), "{err}");
        // With room left, a new scratch is capped at what is left.
        let cap = admit(base.path(), 256 << 20, Some(10 << 20)).unwrap();
        assert!((MIN_LEFT..=7 << 20).contains(&cap), "{cap}");
        assert_eq!(admit(base.path(), 256 << 20, None).unwrap(), 256 << 20);
    }
}
