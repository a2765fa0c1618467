//! From a policy and what the machine offers to a [`ChildPlan`], in the parent, before fork.

use std::collections::BTreeSet;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::mount::MountFlags;
use rustix::process::{Resource, Rlimit};

use crate::child::{ChildPlan, MountStep, NamespacePlan, RootPlan};
use crate::policy::{Isolation, NetworkPolicy, SECRET_FILES, SYSTEM_READ_DIRS, SandboxPolicy};
use crate::probe::Capabilities;
use crate::{Layers, SpawnError};

/// Device nodes bound into the private `/dev`.
const DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom"];

pub(crate) struct Prepared {
    pub plan: ChildPlan,
    pub layers: Layers,
}

/// Decides the layers and prepares the child's work. `scratch` is the per-execution directory,
/// `root_dir` an empty directory to assemble a private root in, `cwd` the working directory.
pub(crate) fn prepare(
    policy: &SandboxPolicy,
    caps: &Capabilities,
    scratch: &Path,
    root_dir: &Path,
    cwd: &Path,
    program: &std::ffi::OsStr,
    cgroup_procs: Vec<std::os::fd::OwnedFd>,
) -> Result<Prepared, SpawnError> {
    let mut layers = Layers {
        active: vec!["process hygiene", "rlimits"],
        missing: Vec::new(),
    };
    let want = policy.isolation != Isolation::Disabled;
    let mut need =
        |layer: &'static str, available: Result<(), &String>| -> Result<bool, SpawnError> {
            match (want, available) {
                (false, _) => Ok(false),
                (true, Ok(_)) => {
                    layers.active.push(layer);
                    Ok(true)
                }
                (true, Err(reason)) if policy.isolation == Isolation::BestEffort => {
                    layers.missing.push(format!("{layer}: {reason}"));
                    Ok(false)
                }
                (true, Err(reason)) => Err(SpawnError::Unavailable {
                    layer,
                    reason: reason.to_string(),
                }),
            }
        };
    let use_landlock = need("landlock", caps.landlock_abi.as_ref().map(drop))?;
    let use_seccomp = need("seccomp", caps.seccomp.as_ref().map(drop))?;
    let use_namespaces =
        policy.namespaces && need("namespaces", caps.namespaces.as_ref().map(drop))?;

    let executables = if policy.allow_spawn {
        Vec::new()
    } else {
        crate::exec_allow::executables(&program.to_string_lossy())
    };
    let ruleset = if use_landlock {
        crate::fs_rules::build(policy, Some(scratch), use_namespaces, &executables)
            .map_err(SpawnError::Setup)?
            .into()
    } else {
        None
    };
    let filter = if use_seccomp {
        Some(crate::syscall_filter::build(policy).map_err(SpawnError::Setup)?)
    } else {
        None
    };
    let namespaces = if use_namespaces {
        Some(namespace_plan(
            policy,
            caps,
            use_landlock,
            scratch,
            root_dir,
            cwd,
        )?)
    } else {
        None
    };
    let inner_rules = match (&caps.landlock_abi, use_landlock && use_namespaces) {
        (Ok(abi), true) => crate::fs_rules::inner_rules(policy.allow_spawn, *abi),
        _ => Vec::new(),
    };
    Ok(Prepared {
        plan: ChildPlan {
            ruleset,
            inner_rules,
            filter,
            rlimits: rlimits(policy),
            cgroup_procs,
            // Root's program would otherwise keep every capability, namespaces or not.
            drop_caps: caps.is_root && want,
            namespaces,
        },
        layers,
    })
}

fn rlimits(policy: &SandboxPolicy) -> Vec<(Resource, Rlimit)> {
    let fixed = |n: u64| Rlimit {
        current: Some(n),
        maximum: Some(n),
    };
    let mut out = vec![(Resource::Core, fixed(0))];
    if let Some(cpu) = policy.limits.cpu_time {
        // The soft limit sends SIGXCPU (reported as a CPU limit); the hard one kills a process
        // that ignores it.
        let secs = cpu.as_secs().max(1);
        out.push((
            Resource::Cpu,
            Rlimit {
                current: Some(secs),
                maximum: Some(secs + 1),
            },
        ));
    }
    if let Some(bytes) = policy.limits.max_file_size_bytes {
        out.push((Resource::Fsize, fixed(bytes)));
    }
    if let Some(n) = policy.limits.max_open_files {
        out.push((Resource::Nofile, fixed(n)));
    }
    out
}

fn cstr(path: &Path) -> Result<CString, SpawnError> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| SpawnError::Setup(format!("path {} contains a NUL byte", path.display())))
}

fn namespace_plan(
    policy: &SandboxPolicy,
    caps: &Capabilities,
    use_landlock: bool,
    scratch: &Path,
    root_dir: &Path,
    cwd: &Path,
) -> Result<NamespacePlan, SpawnError> {
    let mut clone_flags =
        libc::CLONE_NEWNS | libc::CLONE_NEWPID | libc::CLONE_NEWIPC | libc::CLONE_NEWUTS;
    // Offline runs join the process's one empty network namespace where Landlock keeps each
    // run's abstract sockets to itself (see offline_netns.rs); without that scope, a new one.
    let (mut join_net, mut join_user_net) = (None, None);
    if policy.network == NetworkPolicy::Off {
        let scoped = use_landlock && caps.landlock_abi.as_ref().is_ok_and(|&abi| abi >= 6);
        if scoped && caps.is_root {
            join_net = crate::offline_netns::shared();
        } else if scoped {
            join_user_net = crate::offline_netns::shared_unprivileged();
        }
        if join_net.is_none() && join_user_net.is_none() {
            clone_flags |= libc::CLONE_NEWNET;
        }
    }
    let id_maps = if caps.is_root {
        None
    } else {
        clone_flags |= libc::CLONE_NEWUSER;
        let uid = rustix::process::getuid().as_raw();
        let gid = rustix::process::getgid().as_raw();
        Some((
            format!("{uid} {uid} 1\n").into_bytes(),
            format!("{gid} {gid} 1\n").into_bytes(),
        ))
    };
    // Init lives in the namespace too.
    let nproc = if caps.is_root {
        None
    } else {
        policy.limits.max_processes.map(|n| u64::from(n) + 1)
    };
    Ok(NamespacePlan {
        clone_flags,
        join_net,
        join_user_net,
        id_maps,
        nproc,
        root: root_plan(policy, caps.is_root, scratch, root_dir, cwd)?,
    })
}

/// The steps that assemble the private root in `root_dir`.
fn root_plan(
    policy: &SandboxPolicy,
    is_root: bool,
    scratch: &Path,
    root_dir: &Path,
    cwd: &Path,
) -> Result<RootPlan, SpawnError> {
    let mut b = RootBuilder {
        root: root_dir.to_path_buf(),
        steps: Vec::new(),
        dirs: BTreeSet::new(),
    };
    for dir in SYSTEM_READ_DIRS.iter().map(Path::new) {
        match std::fs::symlink_metadata(dir) {
            Ok(m) if m.file_type().is_symlink() => {
                let target = std::fs::read_link(dir)
                    .map_err(|e| SpawnError::Setup(format!("{}: {e}", dir.display())))?;
                b.steps.push(MountStep::Symlink {
                    target: cstr(&target)?,
                    link: b.inside(dir)?,
                });
            }
            Ok(m) if m.is_dir() => b.bind(dir, true)?,
            _ => {}
        }
    }
    // Other users cannot read these anyway; root can, so they are masked.
    if is_root {
        for secret in SECRET_FILES.iter().map(Path::new).filter(|p| p.is_file()) {
            b.steps.push(MountStep::Bind {
                from: c"/dev/null".into(),
                to: b.inside(secret)?,
                read_only: false,
                keep: MountFlags::empty(),
            });
        }
    }
    // A minimal /dev, and the private writable directories, all inside the root's own tmpfs
    // (its size caps them together; Landlock keeps the rest of the root read-only).
    b.mkdir_p(Path::new("/dev"))?;
    for dev in DEVICES {
        let host = Path::new("/dev").join(dev);
        b.steps.push(MountStep::Touch(b.inside(&host)?));
        b.steps.push(MountStep::Bind {
            from: cstr(&host)?,
            to: b.inside(&host)?,
            read_only: false,
            keep: MountFlags::empty(),
        });
    }
    for (link, target) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        b.steps.push(MountStep::Symlink {
            target: cstr(Path::new(target))?,
            link: b.inside(&Path::new("/dev").join(link))?,
        });
    }
    for private in ["/dev/shm", "/tmp", "/run", "/var/tmp"] {
        b.mkdir_p(Path::new(private))?;
        b.steps.push(MountStep::Chmod {
            path: b.inside(Path::new(private))?,
            mode: 0o1777,
        });
    }
    b.mkdir_p(Path::new("/proc"))?;
    b.steps.push(MountStep::Proc(b.inside(Path::new("/proc"))?));

    let under_system = |p: &Path| SYSTEM_READ_DIRS.iter().any(|d| p.starts_with(d));
    let writable: Vec<&Path> = policy
        .fs
        .write
        .iter()
        .map(PathBuf::as_path)
        .chain(std::iter::once(scratch))
        .collect();
    // A path inside another read path is visible through it already.
    let reads: Vec<&Path> = policy
        .fs
        .read
        .iter()
        .map(PathBuf::as_path)
        .filter(|p| !under_system(p) && !writable.contains(p) && p.exists())
        .collect();
    for path in &reads {
        if !reads
            .iter()
            .any(|other| other != path && path.starts_with(other))
        {
            b.bind(path, true)?;
        }
    }
    for path in writable {
        if under_system(path) {
            return Err(SpawnError::Setup(format!(
                "cannot make {} writable: it is inside a system directory",
                path.display()
            )));
        }
        if path.exists() {
            b.bind(path, false)?;
        }
    }
    // A protected path outside everything mounted is invisible already.
    let mounted: Vec<&Path> = policy
        .fs
        .read
        .iter()
        .chain(&policy.fs.write)
        .map(PathBuf::as_path)
        .collect();
    for path in policy
        .fs
        .read_only
        .iter()
        .filter(|p| p.exists() && mounted.iter().any(|m| p.starts_with(m)))
    {
        let keep = mount_flags(path);
        b.steps.push(MountStep::Bind {
            from: cstr(path)?,
            to: b.inside(path)?,
            read_only: true,
            keep,
        });
    }
    let old = root_dir.join(".oldroot");
    b.steps.push(MountStep::Mkdir(cstr(&old)?));
    Ok(RootPlan {
        root: cstr(root_dir)?,
        root_options: CString::new(format!("size={},mode=755", policy.limits.tmpfs_bytes))
            .map_err(|e| SpawnError::Setup(e.to_string()))?,
        steps: b.steps,
        old_root: cstr(&old)?,
        old_root_inside: c"/.oldroot".into(),
        cwd: cstr(cwd)?,
    })
}

struct RootBuilder {
    root: PathBuf,
    steps: Vec<MountStep>,
    dirs: BTreeSet<PathBuf>,
}

impl RootBuilder {
    /// `path` as seen from the host, inside the root being assembled.
    fn inside(&self, path: &Path) -> Result<CString, SpawnError> {
        cstr(&self.root.join(path.strip_prefix("/").unwrap_or(path)))
    }

    fn mkdir_p(&mut self, path: &Path) -> Result<(), SpawnError> {
        let mut ancestors: Vec<&Path> = path.ancestors().filter(|a| a.parent().is_some()).collect();
        ancestors.reverse();
        for dir in ancestors {
            if self.dirs.insert(dir.to_path_buf()) {
                let inside = self.inside(dir)?;
                self.steps.push(MountStep::Mkdir(inside));
            }
        }
        Ok(())
    }

    fn bind(&mut self, path: &Path, read_only: bool) -> Result<(), SpawnError> {
        if path.is_dir() {
            self.mkdir_p(path)?;
        } else {
            if let Some(parent) = path.parent() {
                self.mkdir_p(parent)?;
            }
            self.steps.push(MountStep::Touch(self.inside(path)?));
        }
        let keep = if read_only {
            mount_flags(path)
        } else {
            MountFlags::empty()
        };
        self.steps.push(MountStep::Bind {
            from: cstr(path)?,
            to: self.inside(path)?,
            read_only,
            keep,
        });
        Ok(())
    }
}

/// The flags a remount of `path`'s mount must keep (nosuid, nodev, noexec, atime settings).
fn mount_flags(path: &Path) -> MountFlags {
    let Ok(st) = rustix::fs::statvfs(path) else {
        return MountFlags::NOSUID | MountFlags::NODEV;
    };
    const KEEP: u64 = 0x2 | 0x4 | 0x8 | 0x400 | 0x800 | 0x1000; // NOSUID NODEV NOEXEC NOATIME NODIRATIME RELATIME
    MountFlags::from_bits_truncate((st.f_flag.bits() & KEEP) as _) | MountFlags::NOSUID
}
