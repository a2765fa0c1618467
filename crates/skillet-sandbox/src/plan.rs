//! From a policy and what the machine offers to a [`ChildPlan`], in the parent, before fork.

use std::path::Path;

use rustix::process::{Resource, Rlimit};

use crate::child::{ChildPlan, NamespacePlan};
use crate::handles::OpenedFs;
use crate::policy::{Isolation, NetworkPolicy, SandboxPolicy};
use crate::probe::{Capabilities, Unavailable};
use crate::{Layers, SpawnError};

pub(crate) struct Prepared {
    pub plan: ChildPlan,
    pub layers: Layers,
    /// Made for the run's mounts; removed when dropped, after the run.
    pub placeholders: crate::placeholders::Placeholders,
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
        |layer: &'static str, available: Result<(), &Unavailable>| -> Result<bool, SpawnError> {
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
    // Every path is opened once, here, and rules and mounts come from what was opened.
    let opened = if use_landlock || use_namespaces {
        Some(OpenedFs::open(
            &policy.fs,
            (!use_namespaces).then_some(scratch),
            use_namespaces,
        )?)
    } else {
        None
    };
    let ruleset = match &opened {
        Some(fs) if use_landlock => {
            crate::fs_rules::build(policy, fs, use_namespaces, &executables)?.into()
        }
        _ => None,
    };
    let filter = if use_seccomp {
        // Without a private root the host's unix sockets are in reach (see syscall_filter.rs).
        Some(crate::syscall_filter::build(policy, use_namespaces)?)
    } else {
        None
    };
    let namespaces = if use_namespaces {
        let fs = opened
            .as_ref()
            .ok_or_else(|| SpawnError::Setup("the policy's paths were not opened".into()))?;
        Some(namespace_plan(
            policy,
            caps,
            use_landlock,
            fs,
            scratch,
            root_dir,
            cwd,
        )?)
    } else {
        None
    };
    let inner_rules = match (&caps.landlock_abi, use_landlock && use_namespaces) {
        (Ok(abi), true) => {
            let split: Vec<&Path> = opened
                .iter()
                .flat_map(|fs| {
                    fs.write
                        .iter()
                        .filter(|w| !fs.unmounted_in(&w.path).is_empty())
                        .map(|w| w.path.as_path())
                })
                .collect();
            crate::fs_rules::inner_rules(policy.allow_spawn, *abi, &split)
        }
        _ => Vec::new(),
    };
    let placeholders = opened.map(|o| o.placeholders).unwrap_or_default();
    Ok(Prepared {
        placeholders,
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

fn namespace_plan(
    policy: &SandboxPolicy,
    caps: &Capabilities,
    use_landlock: bool,
    fs: &OpenedFs,
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
        root: crate::root_plan::root_plan(policy, caps.is_root, fs, scratch, root_dir, cwd)?,
    })
}
