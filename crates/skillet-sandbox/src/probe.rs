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
    pub landlock_abi: Result<i32, Unavailable>,
    /// Whether seccomp filters can be installed.
    pub seccomp: Result<(), Unavailable>,
    /// Whether this user may create user namespaces (or is root).
    pub namespaces: Result<(), Unavailable>,
    /// Which cgroup hierarchy can be used for limits.
    pub cgroups: Result<CgroupMode, Unavailable>,
    /// Whether skillet runs as root.
    pub is_root: bool,
}

/// Why a layer cannot be used on this machine, and what would make it work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unavailable {
    /// The kernel has no Landlock.
    #[error(
        "the kernel was built without Landlock (needs Linux 5.13+ with CONFIG_SECURITY_LANDLOCK)"
    )]
    LandlockNotBuilt,
    /// Landlock is built but not enabled.
    #[error("Landlock is disabled: add `landlock` to the kernel's lsm= boot parameter")]
    LandlockDisabled,
    /// The Landlock version query failed otherwise (the errno).
    #[error("the Landlock version query failed: {}", std::io::Error::from_raw_os_error(*.0))]
    LandlockQuery(i32),
    /// seccomp cannot be queried (the errno): the kernel was built without it.
    #[error(
        "seccomp is unavailable ({}): the kernel needs CONFIG_SECCOMP_FILTER",
        std::io::Error::from_raw_os_error(*.0)
    )]
    Seccomp(i32),
    /// `user.max_user_namespaces` is 0.
    #[error("user namespaces are disabled: set the sysctl user.max_user_namespaces above 0")]
    UserNamespacesOff,
    /// `kernel.unprivileged_userns_clone` is 0.
    #[error(
        "unprivileged user namespaces are disabled: set the sysctl \
         kernel.unprivileged_userns_clone = 1"
    )]
    UnprivilegedUserNamespacesOff,
    /// AppArmor keeps unprivileged processes from making user namespaces.
    #[error(
        "AppArmor restricts unprivileged user namespaces \
         (kernel.apparmor_restrict_unprivileged_userns = 1): set it to 0, or give skillet an \
         AppArmor profile that allows `userns`"
    )]
    AppArmorRestrictsUserNamespaces,
    /// The unified hierarchy is there, but not delegated to this user.
    #[error(
        "cgroup v2 is not delegated to this user ({} is not writable with memory and pids \
         enabled): run under a delegated scope (systemd-run --user --scope -p Delegate=yes) or \
         as root",
        .0.display()
    )]
    CgroupNotDelegated(PathBuf),
    /// Only cgroup v1, where only root may make groups.
    #[error("cgroup v1 controllers exist but only root may create groups in them")]
    CgroupV1RootOnly,
    /// Only cgroup v1, and this root cannot write it: root of a user namespace (a rootless
    /// container), whose uid 0 is not the machine's.
    #[error(
        "cgroup v1 controllers exist but {} is not writable here: this is root of a user \
         namespace (a rootless container), not of the machine",
        .0.display()
    )]
    CgroupV1NotWritable(PathBuf),
    /// No hierarchy with the controllers limits need.
    #[error("no usable cgroup hierarchy: the memory, pids and cpu controllers were not found")]
    NoCgroupHierarchy,
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

fn landlock_abi() -> Result<i32, Unavailable> {
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
        Some(libc::ENOSYS) => Unavailable::LandlockNotBuilt,
        Some(libc::EOPNOTSUPP) => Unavailable::LandlockDisabled,
        errno => Unavailable::LandlockQuery(errno.unwrap_or(libc::EIO)),
    })
}

fn seccomp_available() -> Result<(), Unavailable> {
    // PR_GET_SECCOMP answers EINVAL when the kernel has no seccomp.
    // SAFETY: PR_GET_SECCOMP takes no pointers.
    let r = unsafe { libc::prctl(libc::PR_GET_SECCOMP, 0, 0, 0, 0) };
    if r >= 0 {
        Ok(())
    } else {
        Err(Unavailable::Seccomp(
            std::io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EIO),
        ))
    }
}

fn namespaces_available(is_root: bool) -> Result<(), Unavailable> {
    if is_root {
        return Ok(());
    }
    let read = |p: &str| std::fs::read_to_string(p).ok().map(|s| s.trim().to_owned());
    if read("/proc/sys/user/max_user_namespaces").as_deref() == Some("0") {
        return Err(Unavailable::UserNamespacesOff);
    }
    if read("/proc/sys/kernel/unprivileged_userns_clone").as_deref() == Some("0") {
        return Err(Unavailable::UnprivilegedUserNamespacesOff);
    }
    if read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns").as_deref() == Some("1") {
        return Err(Unavailable::AppArmorRestrictsUserNamespaces);
    }
    Ok(())
}

fn cgroup_mode(is_root: bool) -> Result<CgroupMode, Unavailable> {
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
        return Err(Unavailable::CgroupNotDelegated(dir));
    }
    let v1 = |c: &str| Some(root.join(c)).filter(|p| p.join("cgroup.procs").exists());
    // Where run groups go: `skillet/` under each controller once it exists, else the root.
    let unwritable = |controller: &Path| {
        let ours = controller.join("skillet");
        let dir = if ours.is_dir() {
            ours
        } else {
            controller.to_path_buf()
        };
        rustix::fs::access(&dir, rustix::fs::Access::WRITE_OK)
            .is_err()
            .then_some(dir)
    };
    match (v1("memory"), v1("pids"), v1("cpu")) {
        (Some(memory), Some(pids), Some(cpu)) if is_root => {
            let blocked = [&memory, &pids, &cpu]
                .into_iter()
                .find_map(|c| unwritable(c));
            match blocked {
                Some(dir) => Err(Unavailable::CgroupV1NotWritable(dir)),
                None => Ok(CgroupMode::V1 { memory, pids, cpu }),
            }
        }
        (Some(_), Some(_), Some(_)) => Err(Unavailable::CgroupV1RootOnly),
        _ => Err(Unavailable::NoCgroupHierarchy),
    }
}

/// The state of every layer, for `skillet doctor`.
pub fn report() -> Vec<LayerReport> {
    let caps = capabilities();
    let line = |layer, r: Result<String, Unavailable>| match r {
        Ok(detail) => LayerReport {
            layer,
            state: LayerState::Active,
            detail,
        },
        Err(reason) => LayerReport {
            layer,
            state: LayerState::Unavailable,
            detail: reason.to_string(),
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
        line("seccomp", caps.seccomp.clone().map(|()| {
            let mut d = String::from("system call filter (x86_64 only, x32 and foreign ABIs refused)");
            if caps.namespaces.is_err() {
                // What stands in for the missing private root, which would hide host sockets.
                d.push_str("; without namespaces, no unix sockets (stream socket pairs only)");
            }
            d
        })),
        line("namespaces", caps.namespaces.clone().map(|()| {
            let who = if caps.is_root { "as root" } else { "through a user namespace" };
            format!("user, mount, pid, network, ipc, uts ({who}): private root with tmpfs /tmp, /run, /dev/shm")
        })),
        line("cgroups", caps.cgroups.clone().map(|m| match m {
            CgroupMode::V2(dir) => format!("v2 delegated at {}: memory, pids, cpu", dir.display()),
            CgroupMode::V1 { .. } => "v1 (root): memory (swap 0), pids, cpu".into(),
        })),
        line("rlimits", Ok("CPU seconds, file size, open files, core dumps off; processes inside the user namespace when not root".into())),
        LayerReport {
            layer: "disk I/O limit",
            state: LayerState::Unavailable,
            detail: "not enforced: no io.max control yet".into(),
        },
    ]
}
