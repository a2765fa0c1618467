//! A cgroup per run: memory (swap 0), pids and CPU share, joined by the child before exec, read
//! afterwards to tell an out-of-memory kill from other deaths, removed when the run ends.
//!
//! A [`RunCgroup`] is a guard: its directories are removed when it is dropped, so a run that
//! fails anywhere between making its group and starting (a limit the kernel refuses, a grant
//! that cannot be opened, a program that cannot be executed, a panic) leaves no group behind.

use std::fs;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::policy::Limits;
use crate::probe::CgroupMode;
use crate::setup_error::CgroupError;

/// The cgroup directories of one run, removed when it is dropped.
#[derive(Debug)]
pub(crate) struct RunCgroup {
    dirs: Vec<PathBuf>,
    memory_dir: Option<PathBuf>,
    pids_dir: Option<PathBuf>,
    v2: bool,
}

impl RunCgroup {
    /// Creates the groups and writes the limits. Returns the group and the files the child
    /// writes itself into (`cgroup.procs` under v2, `tasks` under v1).
    pub(crate) fn create(
        mode: &CgroupMode,
        name: &str,
        limits: &Limits,
    ) -> Result<(RunCgroup, Vec<OwnedFd>), CgroupError> {
        let mut group = RunCgroup {
            dirs: Vec::new(),
            memory_dir: None,
            pids_dir: None,
            v2: false,
        };
        let mkdir = |dir: &Path| {
            fs::create_dir_all(dir).map_err(|source| CgroupError::Create {
                dir: dir.to_path_buf(),
                source,
            })
        };
        let write = |dir: &Path, file: &str, value: String| {
            let file = dir.join(file);
            fs::write(&file, &value).map_err(|source| CgroupError::Limit {
                file,
                value,
                source,
            })
        };
        match mode {
            CgroupMode::V2(parent) => {
                let dir = parent.join("skillet").join(name);
                mkdir(&dir)?;
                group.dirs.push(dir.clone());
                group.v2 = true;
                if let Some(bytes) = limits.memory_bytes {
                    write(&dir, "memory.max", bytes.to_string())?;
                    let _ = write(&dir, "memory.swap.max", "0".into());
                    group.memory_dir = Some(dir.clone());
                }
                if let Some(n) = limits.max_processes {
                    write(&dir, "pids.max", n.to_string())?;
                    group.pids_dir = Some(dir.clone());
                }
                if let Some(pct) = limits.cpu_percent {
                    write(&dir, "cpu.max", format!("{} 100000", u64::from(pct) * 1000))?;
                }
            }
            CgroupMode::V1 { memory, pids, cpu } => {
                if let Some(bytes) = limits.memory_bytes {
                    let dir = memory.join("skillet").join(name);
                    mkdir(&dir)?;
                    group.dirs.push(dir.clone());
                    write(&dir, "memory.limit_in_bytes", bytes.to_string())?;
                    // Without this, a limited group just swaps; absent when swap accounting is off.
                    let _ = write(&dir, "memory.memsw.limit_in_bytes", bytes.to_string());
                    let _ = write(&dir, "memory.swappiness", "0".into());
                    group.memory_dir = Some(dir);
                }
                if let Some(n) = limits.max_processes {
                    let dir = pids.join("skillet").join(name);
                    mkdir(&dir)?;
                    group.dirs.push(dir.clone());
                    write(&dir, "pids.max", n.to_string())?;
                    group.pids_dir = Some(dir);
                }
                if let Some(pct) = limits.cpu_percent {
                    let dir = cpu.join("skillet").join(name);
                    mkdir(&dir)?;
                    group.dirs.push(dir.clone());
                    write(&dir, "cpu.cfs_period_us", "100000".into())?;
                    write(
                        &dir,
                        "cpu.cfs_quota_us",
                        (u64::from(pct) * 1000).to_string(),
                    )?;
                }
            }
        }
        // The child joins by writing "0" (itself) to one of these. Under v1 that is `tasks`,
        // which moves the calling thread only: the kernel then skips the global
        // threadgroup lock that `cgroup.procs` takes, whose first writer in a while waits out
        // an RCU grace period (~10 ms here, on every fresh `skillet run` as root). The child is
        // a process of one thread (cloned without CLONE_THREAD) that has not run anything
        // yet, so moving its thread moves all of it, and everything it starts is born inside.
        // v2 has no such file for a domain group.
        let join_file = if group.v2 { "cgroup.procs" } else { "tasks" };
        // On an error the group drops here, and with it the directories made so far.
        let procs = group
            .dirs
            .iter()
            .map(|d| {
                fs::OpenOptions::new()
                    .write(true)
                    .open(d.join(join_file))
                    .map(OwnedFd::from)
                    .map_err(|source| CgroupError::Join {
                        file: d.join(join_file),
                        source,
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok((group, procs))
    }

    /// Whether the kernel killed something in the group for lack of memory.
    pub(crate) fn oom_killed(&self) -> bool {
        let file = if self.v2 {
            "memory.events"
        } else {
            "memory.oom_control"
        };
        self.memory_dir
            .as_deref()
            .is_some_and(|dir| event_seen(dir, file, "oom_kill "))
    }

    /// Whether the pids controller refused a fork because the group was at its limit.
    pub(crate) fn pids_exhausted(&self) -> bool {
        self.pids_dir
            .as_deref()
            .is_some_and(|dir| event_seen(dir, "pids.events", "max "))
    }

    /// The most processes the group held at once (`pids.peak`, Linux 6.1 and later), when
    /// its pids controller is in use.
    pub(crate) fn peak_processes(&self) -> Option<u64> {
        let dir = self.pids_dir.as_deref()?;
        fs::read_to_string(dir.join("pids.peak"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Bytes the group's processes wrote to block devices (v2 `io.stat`, `wbytes=` summed over
    /// devices); `None` on v1 or when the io controller is not enabled for the group.
    pub(crate) fn bytes_written(&self) -> Option<u64> {
        if !self.v2 {
            return None;
        }
        let stat = fs::read_to_string(self.dirs.first()?.join("io.stat")).ok()?;
        Some(
            stat.split_whitespace()
                .filter_map(|field| field.strip_prefix("wbytes="))
                .filter_map(|n| n.parse::<u64>().ok())
                .sum(),
        )
    }

    /// CPU time (user + system) used by every process that ran in the group, whoever reaped
    /// it: v2 `cpu.stat`, or v1 `cpuacct.usage` where that controller is mounted with `cpu`.
    /// Unlike the supervisor's own child accounting, it counts processes the kernel reaped
    /// when a namespace ended, and no other run's.
    pub(crate) fn cpu_time(&self) -> Option<std::time::Duration> {
        self.dirs.iter().find_map(|dir| {
            if self.v2 {
                let stat = fs::read_to_string(dir.join("cpu.stat")).ok()?;
                let usec = stat.lines().find_map(|l| {
                    l.strip_prefix("usage_usec ")
                        .and_then(|n| n.trim().parse::<u64>().ok())
                })?;
                Some(std::time::Duration::from_micros(usec))
            } else {
                let nanos = fs::read_to_string(dir.join("cpuacct.usage")).ok()?;
                Some(std::time::Duration::from_nanos(nanos.trim().parse().ok()?))
            }
        })
    }

    /// Kills everything left in the group, including processes that left the process group
    /// (v2 `cgroup.kill`; on v1, every task listed, twice to catch ones forked meanwhile).
    pub(crate) fn kill_all(&self) {
        for dir in &self.dirs {
            if self.v2 {
                let _ = fs::write(dir.join("cgroup.kill"), "1");
                continue;
            }
            for _ in 0..2 {
                let procs = fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
                for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
                    if let Some(pid) = rustix::process::Pid::from_raw(pid) {
                        let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
                    }
                }
            }
        }
    }
}

impl Drop for RunCgroup {
    /// Removes the groups. The kernel may still be releasing the last tasks (a stray the
    /// supervisor killed can still be exiting), and waiting for it would cost every run
    /// milliseconds, so a group that is still busy is handed to [`remove_later`].
    fn drop(&mut self) {
        for dir in self.dirs.drain(..) {
            match fs::remove_dir(&dir) {
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) => remove_later(dir),
                _ => {}
            }
        }
    }
}

/// How long a busy group is retried before it is left for [`sweep`] to remove after this
/// process has exited.
const BUSY_RETRY_FOR: std::time::Duration = std::time::Duration::from_secs(10);

/// Removes `dir` on a background thread once its last tasks are gone: in a daemon that runs
/// for weeks, [`sweep`] (which only removes groups of processes that have exited) would
/// otherwise leave it until a restart.
fn remove_later(dir: PathBuf) {
    use std::sync::{Condvar, Mutex};
    use std::time::{Duration, Instant};
    static BUSY: Mutex<Vec<(PathBuf, Instant)>> = Mutex::new(Vec::new());
    static WAKE: Condvar = Condvar::new();
    static REMOVER: std::sync::Once = std::sync::Once::new();
    let Ok(mut busy) = BUSY.lock() else {
        return;
    };
    busy.push((dir, Instant::now()));
    drop(busy);
    WAKE.notify_one();
    REMOVER.call_once(|| {
        let spawned = std::thread::Builder::new()
            .name("skillet-cgroup-remover".into())
            .spawn(|| {
                let mut pause = Duration::from_millis(1);
                loop {
                    let Ok(mut busy) = BUSY.lock() else {
                        return;
                    };
                    while busy.is_empty() {
                        pause = Duration::from_millis(1);
                        busy = match WAKE.wait(busy) {
                            Ok(b) => b,
                            Err(_) => return,
                        };
                    }
                    busy.retain(|(dir, since)| {
                        let gone = !matches!(fs::remove_dir(dir),
                            Err(e) if e.raw_os_error() == Some(libc::EBUSY));
                        !gone && since.elapsed() < BUSY_RETRY_FOR
                    });
                    drop(busy);
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(100));
                }
            });
        // Without the thread the group stays for `sweep`, as before.
        drop(spawned);
    });
}

/// Whether the counter `key` in the `file` of a cgroup (a `name count` per line, as in
/// `memory.events` or `pids.events`) is above zero.
fn event_seen(dir: &Path, file: &str, key: &str) -> bool {
    fs::read_to_string(dir.join(file))
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix(key)
                    .and_then(|n| n.trim().parse::<u64>().ok())
            })
        })
        .is_some_and(|n| n > 0)
}

/// [`sweep`], unless this process swept in the last minute: a process of one run (`skillet run`)
/// sweeps once, on the preparation thread beside its other work (see `prepare`), and a server
/// once a minute at most, rather than a directory listing per run on the run's own clock.
pub(crate) fn sweep_now_and_then(mode: &CgroupMode) {
    use std::sync::Mutex;
    use std::time::{Duration, Instant};
    static LAST: Mutex<Option<Instant>> = Mutex::new(None);
    const EVERY: Duration = Duration::from_secs(60);
    {
        let mut last = LAST
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if last.is_some_and(|at| at.elapsed() < EVERY) {
            return;
        }
        *last = Some(Instant::now());
    }
    sweep(mode);
}

/// Removes run groups that earlier runs left behind. Groups are named
/// `<pid>-<pid namespace>-<run>` after the process that made them (see [`run_name`]); only
/// those of processes that no longer exist are touched, so a concurrent run's group (empty
/// between its creation and its child joining) is never removed. A pid says nothing of a
/// process in another pid namespace (another container on the same cgroup tree), so such a
/// group is removed only once it is old enough that no run is still joining it; a group with a
/// process in it cannot be removed at all.
pub(crate) fn sweep(mode: &CgroupMode) {
    let parents: Vec<PathBuf> = match mode {
        CgroupMode::V2(parent) => vec![parent.join("skillet")],
        CgroupMode::V1 { memory, pids, cpu } => [memory, pids, cpu]
            .iter()
            .map(|c| c.join("skillet"))
            .collect(),
    };
    let own = pid_namespace();
    let alive = |pid: u32| Path::new(&format!("/proc/{pid}")).exists();
    for parent in parents {
        let Ok(entries) = fs::read_dir(&parent) else {
            continue;
        };
        for entry in entries.flatten() {
            // The listing says which entries are directories (a v1 parent holds ~30 control
            // files beside the groups), so only groups cost a `stat`, for their age.
            if !entry.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let Ok(meta) = entry.metadata() else {
                continue;
            };
            let age = meta.modified().ok().and_then(|m| m.elapsed().ok());
            let name = entry.file_name();
            if name
                .to_str()
                .is_some_and(|n| sweepable(n, age, &own, alive))
            {
                let _ = fs::remove_dir(entry.path());
            }
        }
    }
}

/// How old a group of another pid namespace (or of a name skillet cannot read) must be before
/// a sweep removes it: far longer than any run takes to join its group.
const FOREIGN_GRACE: Duration = Duration::from_secs(600);

/// This process's pid namespace, as run group names carry it (`ns4026531836`).
fn pid_namespace() -> String {
    use std::os::unix::fs::MetadataExt as _;
    match fs::metadata("/proc/self/ns/pid") {
        Ok(meta) => format!("ns{}", meta.ino()),
        Err(_) => "ns0".to_owned(),
    }
}

/// The name of a run group this process makes for run `run`.
pub(crate) fn run_name(run: &str) -> String {
    format!("{}-{}-{run}", std::process::id(), pid_namespace())
}

/// Whether a sweep by a process of pid namespace `own` may remove group `name`, `age` old.
fn sweepable(name: &str, age: Option<Duration>, own: &str, alive: impl Fn(u32) -> bool) -> bool {
    let old = age.is_some_and(|a| a >= FOREIGN_GRACE);
    let mut parts = name.splitn(3, '-');
    let pid = parts.next().and_then(|p| p.parse::<u32>().ok());
    let namespace = parts.next();
    match (pid, namespace) {
        (Some(pid), Some(ns)) if ns == own => !alive(pid),
        // Another namespace's, or named by an older skillet (`<pid>-<run>`): its pid may be
        // of a live process this one cannot see.
        (Some(_), Some(_)) => old,
        // Not a run group of any skillet: left alone.
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_groups_of_gone_processes_of_this_namespace_go_at_once() {
        let own = pid_namespace();
        let young = Some(Duration::from_secs(1));
        let old = Some(FOREIGN_GRACE);
        let dead = |_| false;
        let live = |_| true;
        let mine = format!("42-{own}-skillet-run-abc");
        assert!(sweepable(&mine, young, &own, dead));
        assert!(!sweepable(&mine, old, &own, live));
        // Another container's run, just made and not yet joined: its pid means nothing here.
        let foreign = "42-ns1-skillet-run-abc";
        assert!(!sweepable(foreign, young, &own, dead));
        assert!(sweepable(foreign, old, &own, dead));
        // An older skillet's name, the same.
        assert!(!sweepable("42-skillet-run-abc", young, &own, dead));
        assert!(sweepable("42-skillet-run-abc", old, &own, dead));
        assert!(!sweepable("not-a-run", old, &own, dead));
        assert!(!sweepable("42", old, &own, dead));
        assert!(run_name("r").ends_with(&format!("-{own}-r")));
    }
}
