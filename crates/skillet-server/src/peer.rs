//! Who is on the other end of a connection: whether the process that connected runs more
//! confined than the daemon (in a skillet sandbox, under a seccomp filter, with no-new-privs, in
//! other namespaces). Such a peer may not weaken confinement through the daemon, whatever it
//! asks.
//!
//! The peer is named by a pidfd taken from the socket (`SO_PEERPIDFD`, Linux 6.5), so its pid
//! cannot be recycled by another process while it is inspected: `/proc/PID/…` is read, then the
//! pidfd is asked whether PID is still that process. Older kernels fall back to the pid of
//! `SO_PEERCRED`, whose process must have started before the connection was accepted.

#![allow(unsafe_code)] // one getsockopt: SO_PEERPIDFD has no safe wrapper in rustix yet.

use std::borrow::Cow;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use crate::api::{ErrorCode, ResponseError};

/// `SO_PEERPIDFD` on every architecture skillet builds for (x86_64, aarch64).
const SO_PEERPIDFD: libc::c_int = 77;

/// How a peer runs, as far as weakening confinement goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Confinement {
    /// No more confined than the daemon itself.
    AsDaemon,
    /// More confined than the daemon, or not verifiable: why.
    Confined(String),
}

impl Confinement {
    /// Why the peer counts as confined, if it does.
    pub(crate) fn reason(&self) -> Option<&str> {
        match self {
            Confinement::AsDaemon => None,
            Confinement::Confined(why) => Some(why),
        }
    }
}

/// The refusal of `method` with `params` from a peer of this confinement, if it is refused.
///
/// A confined peer may only ask the daemon's status. An override that weakens confinement
/// (`unsandboxed`, any grant, `raise_limits`) is refused with its own message; so is driving
/// sessions at all, since a session runs with the user's grants for its skill, outside the
/// peer's own sandbox, and its transcript may hold what the peer must not read.
pub(crate) fn refusal(
    method: &str,
    params: &serde_json::Value,
    peer: &Confinement,
) -> Option<ResponseError> {
    let why = peer.reason()?;
    if method == "daemon.status" {
        return None;
    }
    let overrides = params
        .get("overrides")
        .cloned()
        .and_then(|o| serde_json::from_value::<skillet_engine::RunOverrides>(o).ok());
    let weakens = match (params.get("overrides"), &overrides) {
        (None, _) => false,
        (Some(_), Some(o)) => o.unsandboxed || o.grant != skillet_registry::Grant::default(),
        // Unreadable overrides are judged as the worst they could mean.
        (Some(_), None) => true,
    };
    let message = if weakens {
        format!(
            "refused: a sandboxed process cannot weaken confinement ({why}); only the user can, by running `skillet session start` or `skillet run --detach` with --allow-… flags from their own shell"
        )
    } else {
        format!(
            "refused: a sandboxed process cannot drive the daemon's sessions or jobs ({why}); run skillet from your own shell"
        )
    };
    Some(ResponseError::new(ErrorCode::Forbidden, message))
}

/// Inspects the process that connected `socket`, whose `SO_PEERCRED` pid is `cred_pid`.
/// `accepted_ticks` is the boot time, in clock ticks, at which the connection was accepted.
pub(crate) fn inspect(
    socket: BorrowedFd<'_>,
    cred_pid: Option<i32>,
    accepted_ticks: Option<u64>,
) -> Confinement {
    match inspect_inner(socket, cred_pid, accepted_ticks) {
        Ok(None) => Confinement::AsDaemon,
        Ok(Some(why)) => Confinement::Confined(why),
        Err(why) => Confinement::Confined(format!("it cannot be inspected ({why})")),
    }
}

/// Why a peer could not be inspected; such a peer counts as confined.
#[derive(Debug, thiserror::Error)]
enum InspectError {
    /// No pid names it in the daemon's pid namespace.
    #[error("its process is in a pid namespace the daemon cannot see, or has exited")]
    Unseen,
    /// It went away while it was inspected.
    #[error("it exited while it was inspected")]
    Exited,
    /// Its pid now belongs to a process that started after the connection.
    #[error("its pid was taken by another process")]
    Recycled,
    /// A file of `/proc` could not be read.
    #[error("{path}: {source}")]
    Proc {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A file of `/proc` did not say what it should.
    #[error("{path}: {what}")]
    Unreadable {
        /// The file.
        path: String,
        /// What was missing.
        what: &'static str,
    },
}

fn read_proc(path: String) -> Result<String, InspectError> {
    std::fs::read_to_string(&path).map_err(|source| InspectError::Proc { path, source })
}

fn inspect_inner(
    socket: BorrowedFd<'_>,
    cred_pid: Option<i32>,
    accepted_ticks: Option<u64>,
) -> Result<Option<String>, InspectError> {
    let pidfd = peer_pidfd(socket);
    let pid = match &pidfd {
        Some(fd) => pidfd_pid(fd.as_fd())?,
        None => cred_pid.filter(|&p| p > 0).ok_or(InspectError::Unseen)?,
    };
    let started = start_ticks(pid)?;
    let peer = Snapshot::read(&format!("/proc/{pid}"))?;
    // Only now is it known that what was read belongs to the peer and not to a process that
    // took its pid afterwards.
    match &pidfd {
        Some(fd) => {
            if pidfd_pid(fd.as_fd())? != pid {
                return Err(InspectError::Exited);
            }
        }
        None => {
            let still = start_ticks(pid)?;
            if still != started || accepted_ticks.is_some_and(|at| started > at) {
                return Err(InspectError::Recycled);
            }
        }
    }
    Ok(own_marks()?.confined_beyond(&peer))
}

/// The daemon's own marks once they are read whole: every connection is compared with them,
/// and reading them again for each (five files of `/proc`) was half of what inspecting one
/// cost. What is kept cannot judge a peer less strictly than a fresh read would: a seccomp
/// filter or `no_new_privs` is never taken off the daemon (one added later would only make a
/// fresh read more lenient), and the daemon's own threads join no other namespace (a thread
/// that makes the shared network namespace is not the one `/proc/self` shows).
static OWN: std::sync::OnceLock<Snapshot> = std::sync::OnceLock::new();

/// The daemon's own marks: those kept (see [`OWN`]), else read now, and kept unless they must
/// be read again next time: when a part could not be read (a namespace link, the cgroups),
/// which would leave a check out for the daemon's whole life, or when the daemon is inside a
/// run's cgroup (started from a sandbox), which it could be moved out of.
fn own_marks() -> Result<Cow<'static, Snapshot>, InspectError> {
    if let Some(own) = OWN.get() {
        return Ok(Cow::Borrowed(own));
    }
    let own = Snapshot::read("/proc/self")?;
    if !own.lasting() {
        return Ok(Cow::Owned(own));
    }
    Ok(Cow::Borrowed(OWN.get_or_init(|| own)))
}

/// Reads the daemon's own marks ahead of its first connection (see [`OWN`]).
pub(crate) fn prepare() {
    let _ = own_marks();
}

/// The peer's pidfd, where the kernel gives one.
fn peer_pidfd(socket: BorrowedFd<'_>) -> Option<OwnedFd> {
    let mut fd: libc::c_int = -1;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `fd` and `len` are valid for writes of the sizes given; the kernel writes one int.
    let rc = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            SO_PEERPIDFD,
            (&raw mut fd).cast(),
            &raw mut len,
        )
    };
    // SAFETY: on success the kernel installed `fd` in our table and nothing else owns it.
    (rc == 0 && fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The pid (in our pid namespace) a pidfd stands for; an error once the process is gone.
fn pidfd_pid(pidfd: BorrowedFd<'_>) -> Result<i32, InspectError> {
    let path = format!("/proc/self/fdinfo/{}", pidfd.as_raw_fd());
    let info = read_proc(path.clone())?;
    let pid = field(&info, "Pid:")
        .and_then(|v| v.parse::<i32>().ok())
        .ok_or(InspectError::Unreadable {
            path,
            what: "its pidfd names no pid",
        })?;
    match pid {
        p if p > 0 => Ok(p),
        0 => Err(InspectError::Unseen),
        _ => Err(InspectError::Exited),
    }
}

/// When process `pid` started, in clock ticks since boot.
fn start_ticks(pid: i32) -> Result<u64, InspectError> {
    skillet_sandbox::ProcStat::read(pid)
        .map(|stat| stat.start_ticks)
        .map_err(|source| InspectError::Proc {
            path: format!("/proc/{pid}/stat"),
            source,
        })
}

/// Now, in the clock ticks of `/proc/PID/stat`'s start time.
pub(crate) fn now_ticks() -> Option<u64> {
    let uptime = std::fs::read_to_string("/proc/uptime").ok()?;
    let secs: f64 = uptime.split_whitespace().next()?.parse().ok()?;
    // `/proc` counts in USER_HZ, which Linux fixes at 100 on every architecture skillet
    // builds for. One tick of slack: both values are rounded.
    Some((secs * 100.0) as u64 + 1)
}

fn field<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|l| l.strip_prefix(name))
        .map(str::trim)
}

/// The confinement marks of one process.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Snapshot {
    no_new_privs: bool,
    /// `Seccomp:` 0 none, 1 strict, 2 filter.
    seccomp: u8,
    /// `Seccomp_filters:` (Linux 5.9+).
    seccomp_filters: Option<u32>,
    /// The paths of `/proc/PID/cgroup`.
    cgroups: Vec<String>,
    /// `mnt`, `pid` and `user` namespace identities, where readable.
    namespaces: Vec<(&'static str, Option<String>)>,
}

impl Snapshot {
    fn read(proc_dir: &str) -> Result<Snapshot, InspectError> {
        let status = read_proc(format!("{proc_dir}/status"))?;
        let cgroup = std::fs::read_to_string(format!("{proc_dir}/cgroup")).unwrap_or_default();
        Ok(Snapshot {
            no_new_privs: field(&status, "NoNewPrivs:") == Some("1"),
            seccomp: field(&status, "Seccomp:")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
            seccomp_filters: field(&status, "Seccomp_filters:").and_then(|v| v.parse().ok()),
            cgroups: cgroup
                .lines()
                .filter_map(|l| l.splitn(3, ':').nth(2))
                .map(str::to_owned)
                .collect(),
            namespaces: ["mnt", "pid", "user"]
                .into_iter()
                .map(|ns| {
                    let link = std::fs::read_link(format!("{proc_dir}/ns/{ns}")).ok();
                    (ns, link.map(|l| l.to_string_lossy().into_owned()))
                })
                .collect(),
        })
    }

    /// Whether the daemon may keep these, its own marks, instead of reading them for every
    /// connection (see [`OWN`]): every part was read, and it is outside any run's cgroup.
    fn lasting(&self) -> bool {
        !self.cgroups.is_empty()
            && self.namespaces.iter().all(|(_, link)| link.is_some())
            && !self.cgroups.iter().any(|p| is_run_cgroup(p))
    }

    /// Why `peer` is confined beyond `self` (the daemon), if it is.
    fn confined_beyond(&self, peer: &Snapshot) -> Option<String> {
        let mut why = Vec::new();
        if peer.seccomp != 0 {
            let more_filters = match (self.seccomp_filters, peer.seccomp_filters) {
                (Some(own), Some(theirs)) => theirs > own,
                _ => self.seccomp == 0,
            };
            if more_filters || self.seccomp == 0 {
                why.push("it runs under a seccomp filter".to_owned());
            }
        }
        if peer.no_new_privs && !self.no_new_privs {
            why.push("it runs with no_new_privs".to_owned());
        }
        let in_run_group = |paths: &[String]| paths.iter().any(|p| is_run_cgroup(p));
        if in_run_group(&peer.cgroups) && !in_run_group(&self.cgroups) {
            why.push("it runs in a skillet sandbox's cgroup".to_owned());
        }
        for ((ns, own), (_, theirs)) in self.namespaces.iter().zip(&peer.namespaces) {
            // A namespace the daemon may not read (an undumpable peer) says nothing either way;
            // the marks above are world-readable and every sandbox sets no_new_privs.
            if let (Some(own), Some(theirs)) = (own, theirs)
                && own != theirs
            {
                why.push(format!("it runs in another {ns} namespace"));
            }
        }
        (!why.is_empty()).then(|| why.join(", "))
    }
}

/// Whether a cgroup path is a skillet run's: `…/skillet/<supervisor pid>-<run>` (see
/// skillet-sandbox's `cgroup.rs`), or anything below one.
fn is_run_cgroup(path: &str) -> bool {
    let parts: Vec<&str> = path.split('/').collect();
    parts.windows(2).any(|w| {
        w[0] == "skillet"
            && w[1]
                .split_once('-')
                .is_some_and(|(pid, run)| !run.is_empty() && pid.parse::<u32>().is_ok())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_cgroups_are_recognised() {
        assert!(is_run_cgroup("/user.slice/skillet/1234-skillet-run-abc"));
        assert!(is_run_cgroup("/skillet/99-x/sub"));
        assert!(!is_run_cgroup("/user.slice/skillet.service"));
        assert!(!is_run_cgroup("/skillet"));
        assert!(!is_run_cgroup("/skillet/notapid-x"));
    }

    #[test]
    fn only_a_whole_reading_outside_any_run_is_kept() {
        let whole = Snapshot {
            cgroups: vec!["/user.slice/session-1.scope".into()],
            namespaces: ["mnt", "pid", "user"]
                .into_iter()
                .map(|ns| (ns, Some(format!("{ns}:[4026531840]"))))
                .collect(),
            ..Snapshot::default()
        };
        assert!(whole.lasting());
        // A link that could not be read would leave its namespace unchecked for good.
        let mut unread = whole.clone();
        unread.namespaces[1].1 = None;
        assert!(!unread.lasting());
        // So would cgroups that could not be read.
        let no_cgroups = Snapshot {
            cgroups: Vec::new(),
            ..whole.clone()
        };
        assert!(!no_cgroups.lasting());
        // A daemon started inside a run may be moved out of its cgroup: read again each time.
        let in_a_run = Snapshot {
            cgroups: vec!["/skillet/4242-run-abc".into()],
            ..whole
        };
        assert!(!in_a_run.lasting());
    }

    #[test]
    fn a_peer_is_compared_with_the_daemon() {
        let free = Snapshot::default();
        let sandboxed = Snapshot {
            no_new_privs: true,
            seccomp: 2,
            seccomp_filters: Some(3),
            ..Snapshot::default()
        };
        let why = free.confined_beyond(&sandboxed).unwrap();
        assert!(
            why.contains("seccomp") && why.contains("no_new_privs"),
            "{why}"
        );
        // A daemon in a container under the same filter as its clients: those are its equals.
        let container = Snapshot {
            no_new_privs: true,
            seccomp: 2,
            seccomp_filters: Some(1),
            ..Snapshot::default()
        };
        let client = Snapshot {
            no_new_privs: true,
            seccomp: 2,
            seccomp_filters: Some(1),
            ..Snapshot::default()
        };
        assert_eq!(container.confined_beyond(&client), None);
        // …but a sandbox inside the container adds its own filter.
        assert!(container.confined_beyond(&sandboxed).is_some());
        let other_ns = Snapshot {
            namespaces: vec![("mnt", Some("mnt:[2]".into()))],
            ..Snapshot::default()
        };
        let own = Snapshot {
            namespaces: vec![("mnt", Some("mnt:[1]".into()))],
            ..Snapshot::default()
        };
        assert!(
            own.confined_beyond(&other_ns)
                .unwrap()
                .contains("mnt namespace")
        );
        let in_group = Snapshot {
            cgroups: vec!["/skillet/12-run".into()],
            ..Snapshot::default()
        };
        assert!(free.confined_beyond(&in_group).unwrap().contains("cgroup"));
    }

    #[test]
    fn the_pidfd_names_the_peer_where_the_kernel_gives_one() {
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        match peer_pidfd(a.as_fd()) {
            Some(fd) => assert_eq!(pidfd_pid(fd.as_fd()).unwrap(), std::process::id() as i32),
            None => eprintln!("SKIPPED: this kernel has no SO_PEERPIDFD (Linux 6.5+)"),
        }
    }

    #[test]
    fn without_a_pidfd_a_gone_or_recycled_pid_is_not_trusted() {
        // A pipe is no socket: no pidfd, so the SO_PEERCRED pid is all there is.
        let (read, _write) = rustix::pipe::pipe().unwrap();
        let me = std::process::id() as i32;
        assert_eq!(
            inspect(read.as_fd(), Some(me), now_ticks()),
            Confinement::AsDaemon
        );
        // A process that started after the connection was accepted holds a recycled pid.
        let reused = inspect(read.as_fd(), Some(me), Some(0));
        assert!(
            reused
                .reason()
                .is_some_and(|r| r.contains("taken by another process")),
            "{reused:?}"
        );
        // A peer that has gone cannot be inspected, and so counts as confined.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let gone = child.id() as i32;
        child.wait().unwrap();
        assert!(
            inspect(read.as_fd(), Some(gone), now_ticks())
                .reason()
                .is_some()
        );
        assert!(inspect(read.as_fd(), None, now_ticks()).reason().is_some());
        assert!(
            inspect(read.as_fd(), Some(0), now_ticks())
                .reason()
                .is_some()
        );
    }

    #[test]
    fn this_process_is_its_own_equal() {
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        assert_eq!(
            inspect(a.as_fd(), Some(std::process::id() as i32), now_ticks()),
            Confinement::AsDaemon
        );
        drop(b);
    }
}
