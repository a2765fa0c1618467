//! What this machine can enforce, layer by layer, for `skillet doctor` and for deciding whether
//! a policy can be honoured.

#![allow(unsafe_code)] // one raw syscall: Landlock's version query has no safe wrapper.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub use crate::{LayerReport, LayerState};

/// What the kernel and the machine offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    /// Landlock ABI version, or why there is none.
    pub landlock_abi: Result<i32, String>,
    /// Whether seccomp filters can be installed.
    pub seccomp: Result<(), String>,
    /// Whether this user may create user namespaces (or is root).
    pub namespaces: Result<(), String>,
    /// Which cgroup hierarchy can be used for limits.
    pub cgroups: Result<CgroupMode, String>,
    /// Whether skillet runs as root.
    pub is_root: bool,
}

/// A usable cgroup hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CgroupMode {
    /// cgroup v2, delegated to this user: the directory to create run groups in.
    V2(PathBuf),
    /// cgroup v1 (root only): the mount points of the memory, pids and cpu controllers.
    V1 {
        /// `.../memory`
        memory: PathBuf,
        /// `.../pids`
        pids: PathBuf,
        /// `.../cpu`
        cpu: PathBuf,
    },
}

/// Probes once per process.
pub fn capabilities() -> &'static Capabilities {
    static CAPS: OnceLock<Capabilities> = OnceLock::new();
    CAPS.get_or_init(|| {
        let is_root = rustix::process::geteuid().is_root();
        Capabilities {
            landlock_abi: landlock_abi(),
            seccomp: seccomp_available(),
            namespaces: namespaces_available(is_root),
            cgroups: cgroup_mode(is_root),
            is_root,
        }
    })
}

fn landlock_abi() -> Result<i32, String> {
    const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1;
    // SAFETY: with a null attribute pointer, size 0 and the VERSION flag, the syscall only
    // returns the ABI version (or an error); it reads and writes no memory.
    let abi = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<u8>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    if abi > 0 {
        return Ok(abi as i32);
    }
    let err = std::io::Error::last_os_error();
    Err(match err.raw_os_error() {
        Some(libc::ENOSYS) => "the kernel was built without Landlock (needs Linux 5.13+)".into(),
        Some(libc::EOPNOTSUPP) => {
            "Landlock is disabled: add `landlock` to the kernel's lsm= boot parameter".into()
        }
        _ => format!("Landlock query failed: {err}"),
    })
}

fn seccomp_available() -> Result<(), String> {
    // PR_GET_SECCOMP answers EINVAL when the kernel has no seccomp.
    // SAFETY: PR_GET_SECCOMP takes no pointers.
    let r = unsafe { libc::prctl(libc::PR_GET_SECCOMP, 0, 0, 0, 0) };
    if r >= 0 {
        Ok(())
    } else {
        Err(format!(
            "seccomp unavailable: {}",
            std::io::Error::last_os_error()
        ))
    }
}

fn namespaces_available(is_root: bool) -> Result<(), String> {
    if is_root {
        return Ok(());
    }
    let read = |p: &str| std::fs::read_to_string(p).ok().map(|s| s.trim().to_owned());
    if read("/proc/sys/user/max_user_namespaces").as_deref() == Some("0") {
        return Err("user namespaces are disabled (user.max_user_namespaces = 0)".into());
    }
    if read("/proc/sys/kernel/unprivileged_userns_clone").as_deref() == Some("0") {
        return Err(
            "unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone = 0)"
                .into(),
        );
    }
    if read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns").as_deref() == Some("1") {
        return Err("AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns = 1)".into());
    }
    Ok(())
}

fn cgroup_mode(is_root: bool) -> Result<CgroupMode, String> {
    let root = Path::new("/sys/fs/cgroup");
    if root.join("cgroup.controllers").exists() {
        // Unified hierarchy: usable when our own cgroup is delegated (writable) with the controllers.
        let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
        let rel = own
            .lines()
            .find_map(|l| l.strip_prefix("0::"))
            .unwrap_or("/");
        let dir = root.join(rel.trim_start_matches('/'));
        let controllers =
            std::fs::read_to_string(dir.join("cgroup.subtree_control")).unwrap_or_default();
        let writable = rustix::fs::access(&dir, rustix::fs::Access::WRITE_OK).is_ok();
        if writable && controllers.contains("memory") && controllers.contains("pids") {
            return Ok(CgroupMode::V2(dir));
        }
        return Err(format!(
            "cgroup v2 is not delegated to this user ({} is not writable with memory and pids enabled)",
            dir.display()
        ));
    }
    let v1 = |c: &str| Some(root.join(c)).filter(|p| p.join("cgroup.procs").exists());
    match (v1("memory"), v1("pids"), v1("cpu")) {
        (Some(memory), Some(pids), Some(cpu)) if is_root => {
            Ok(CgroupMode::V1 { memory, pids, cpu })
        }
        (Some(_), Some(_), Some(_)) => {
            Err("cgroup v1 controllers exist but only root may create groups in them".into())
        }
        _ => Err("no usable cgroup hierarchy (memory, pids and cpu controllers not found)".into()),
    }
}

/// The state of every layer, for `skillet doctor`.
pub fn report() -> Vec<LayerReport> {
    let caps = capabilities();
    let line = |layer, r: Result<String, String>| match r {
        Ok(detail) => LayerReport {
            layer,
            state: LayerState::Active,
            detail,
        },
        Err(detail) => LayerReport {
            layer,
            state: LayerState::Unavailable,
            detail,
        },
    };
    vec![
        line("process hygiene", Ok("clean environment, fds closed, new session, parent-death signal, no-new-privs, stdin never a terminal".into())),
        line("landlock", caps.landlock_abi.clone().map(|abi| {
            let mut d = format!("ABI {abi}: filesystem read/write allowlist");
            if abi >= 4 {
                d.push_str(", TCP bind/connect control");
            }
            if abi >= 6 {
                d.push_str(", abstract unix socket and signal scoping");
            }
            d
        })),
        line("seccomp", caps.seccomp.clone().map(|()| "system call filter (x86_64 only, x32 and foreign ABIs refused)".into())),
        line("namespaces", caps.namespaces.clone().map(|()| {
            let who = if caps.is_root { "as root" } else { "through a user namespace" };
            format!("user, mount, pid, network, ipc, uts ({who}): private root with tmpfs /tmp, /run, /dev/shm")
        })),
        line("cgroups", caps.cgroups.clone().map(|m| match m {
            CgroupMode::V2(dir) => format!("v2 delegated at {}: memory, pids, cpu", dir.display()),
            CgroupMode::V1 { .. } => "v1 (root): memory (swap 0), pids, cpu".into(),
        })),
        line("rlimits", Ok("CPU seconds, file size, open files, core dumps off; processes inside the user namespace when not root".into())),
        line("disk I/O limit", Err("not enforced: no io.max control yet".into())),
    ]
}
