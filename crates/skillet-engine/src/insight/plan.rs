//! The one description of a prepared process and its sandbox policy: what `skillet run
//! --dry-run` shows, and what `--debug` shows of the run it made.
//!
//! Values that come from the user's environment are never part of it: the sandbox passes them
//! at spawn, and this only says that it will and how long they are.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use skillet_sandbox::{Isolation, NetworkPolicy, SECRET_FILES, SYSTEM_READ_DIRS, SandboxPolicy};

use crate::engine::{SKILL_DIR_ENV, WORKSPACE_ENV};
use crate::invocation::Invocation;
use crate::policy::PolicyPlan;

/// A prepared code skill: its process, its policy and the notes about them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanView {
    /// What is executed.
    pub process: ProcessView,
    /// What the sandbox enforces.
    pub policy: PolicyView,
    /// Asks not granted, requests capped, grants shown resolved.
    pub warnings: Vec<String>,
}

impl PlanView {
    /// The description of `invocation` run under `plan`.
    pub fn new(invocation: &Invocation, plan: &PolicyPlan) -> PlanView {
        PlanView {
            process: ProcessView::new(invocation, &plan.policy),
            policy: PolicyView::new(&plan.policy),
            warnings: plan.warnings.clone(),
        }
    }
}

/// The process as it is started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessView {
    /// The program.
    pub program: String,
    /// Its arguments after the program, one entry per argv element.
    pub argv: Vec<String>,
    /// Where it starts.
    pub cwd: PathBuf,
    /// Its whole environment, in the order it is built (a later entry of a name wins).
    pub env: Vec<EnvVar>,
}

/// Where an environment variable of the process comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnvOrigin {
    /// Passed through from the user's environment: its value is never shown.
    YourEnvironment,
    /// Passed through from the environment of the daemon that ran it (a pooled call, a
    /// job): its value is never shown either.
    DaemonEnvironment,
    /// Set by the sandbox (`HOME`, `TMPDIR`: the run's scratch directory).
    Sandbox,
    /// The skill's `env`.
    Skill,
    /// `SKILL_PARAM_<NAME>`: the user's own parameter value.
    Parameter,
    /// Set by skillet (`SKILLET_WORKSPACE`, `SKILLET_SKILL_DIR`).
    Skillet,
}

/// One environment variable of the process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvVar {
    /// Its name.
    pub name: String,
    /// Where it comes from.
    pub from: EnvOrigin,
    /// Its value, except for what comes from the user's environment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// How it is shown: the value, or `<from your environment, 40 chars>`.
    pub shown: String,
}

impl ProcessView {
    fn new(invocation: &Invocation, policy: &SandboxPolicy) -> ProcessView {
        let mut env = Vec::new();
        // A variable the skill (or skillet) sets is set over a passed-through one of that name:
        // shown once, with the value the program gets.
        let set_here = |name: &str| policy.env.iter().any(|(k, _)| k.as_os_str() == name);
        for name in policy.env_passthrough.iter().filter(|n| !set_here(n)) {
            // The sandbox reads the variable from this process at spawn: so does this, for its
            // length only.
            let shown = match std::env::var_os(name) {
                Some(v) => format!(
                    "<from your environment, {} chars>",
                    v.to_string_lossy().chars().count()
                ),
                None => "<not set in your environment: not passed>".to_owned(),
            };
            env.push(EnvVar {
                name: name.clone(),
                from: EnvOrigin::YourEnvironment,
                value: None,
                shown,
            });
        }
        if policy.isolation != Isolation::Disabled {
            for name in ["HOME", "TMPDIR"] {
                env.push(EnvVar {
                    name: name.to_owned(),
                    from: EnvOrigin::Sandbox,
                    value: None,
                    shown: "<the run's scratch directory>".to_owned(),
                });
            }
        }
        for (k, v) in &policy.env {
            let name = k.to_string_lossy().into_owned();
            let value = v.to_string_lossy().into_owned();
            let own = invocation.env.iter().any(|(n, _)| *n == name);
            let from = if own && name.starts_with(skillet_spec::param_env_var("").as_str()) {
                EnvOrigin::Parameter
            } else if own {
                EnvOrigin::Skill
            } else if name == WORKSPACE_ENV || name == SKILL_DIR_ENV {
                EnvOrigin::Skillet
            } else {
                EnvOrigin::Skill
            };
            env.push(EnvVar {
                name,
                from,
                shown: value.clone(),
                value: Some(value),
            });
        }
        ProcessView {
            program: invocation.program.clone(),
            argv: invocation.args.clone(),
            cwd: invocation.cwd.clone(),
            env,
        }
    }
}

/// One mount of the private root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountView {
    /// Where, as the program sees it.
    pub path: String,
    /// What is there and how.
    pub how: String,
}

/// The sandbox policy, layer by layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyView {
    /// `required`, `best-effort` or `disabled (--allow-unsandboxed)`.
    pub isolation: String,
    /// Readable paths beyond the system directories.
    pub read: Vec<PathBuf>,
    /// Writable paths beyond the scratch directory.
    pub write: Vec<PathBuf>,
    /// Paths kept read-only inside write grants.
    pub read_only: Vec<PathBuf>,
    /// Paths masked inside readable trees.
    pub hidden: Vec<PathBuf>,
    /// `none`, `host network` or `TCP to ports …`.
    pub network: String,
    /// Whether the program may start other programs.
    pub allow_spawn: bool,
    /// Names passed through from the user's environment.
    pub env_passthrough: Vec<String>,
    /// Resource limits.
    pub limits: LimitsView,
    /// The namespaces the program runs in.
    pub namespaces: Vec<String>,
    /// The private root, mount by mount (empty without one).
    pub mounts: Vec<MountView>,
    /// The Landlock rules.
    pub landlock: Vec<String>,
    /// The seccomp filter.
    pub seccomp: Vec<String>,
}

/// Resource limits of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitsView {
    /// Wall clock.
    pub timeout_s: u64,
    /// CPU seconds.
    pub cpu_s: Option<u64>,
    /// Memory.
    pub memory_mb: Option<u64>,
    /// Processes and threads.
    pub max_processes: Option<u32>,
    /// Largest file written.
    pub max_file_size_mb: Option<u64>,
    /// Output kept per stream.
    pub max_output_kb: usize,
    /// CPU share of one core.
    pub max_cpu_percent: Option<u32>,
    /// All writable scratch together.
    pub scratch_mb: u64,
}

impl PolicyView {
    /// The description of `p`.
    pub fn new(p: &SandboxPolicy) -> PolicyView {
        let l = &p.limits;
        let confined = p.isolation != Isolation::Disabled;
        let private_root = confined && p.namespaces;
        PolicyView {
            isolation: match p.isolation {
                Isolation::Required => "required",
                Isolation::BestEffort => "best-effort",
                Isolation::Disabled => "disabled (--allow-unsandboxed)",
            }
            .to_owned(),
            read: p.fs.read.clone(),
            write: p.fs.write.clone(),
            read_only: p.fs.read_only.clone(),
            hidden: p.fs.hidden.clone(),
            network: network_name(&p.network),
            allow_spawn: p.allow_spawn,
            env_passthrough: p.env_passthrough.clone(),
            limits: LimitsView {
                timeout_s: l.wall_time.as_secs(),
                cpu_s: l.cpu_time.map(|d| d.as_secs()),
                memory_mb: l.memory_bytes.map(|b| b >> 20),
                max_processes: l.max_processes,
                max_file_size_mb: l.max_file_size_bytes.map(|b| b >> 20),
                max_output_kb: l.max_output_bytes / 1024,
                max_cpu_percent: l.cpu_percent,
                scratch_mb: l.scratch_bytes >> 20,
            },
            namespaces: if private_root {
                let mut ns = vec!["user (unless root)", "mount", "pid", "ipc", "uts"];
                if p.network == NetworkPolicy::Off {
                    ns.push("network (loopback only)");
                }
                ns.into_iter().map(str::to_owned).collect()
            } else {
                Vec::new()
            },
            mounts: if private_root { mounts(p) } else { Vec::new() },
            landlock: if confined { landlock(p) } else { Vec::new() },
            seccomp: if confined { seccomp(p) } else { Vec::new() },
        }
    }
}

fn network_name(n: &NetworkPolicy) -> String {
    match n {
        NetworkPolicy::Off => "none".into(),
        NetworkPolicy::Host => "host network".into(),
        NetworkPolicy::TcpPorts(ports) => format!("TCP to ports {}", join(ports)),
    }
}

fn join<T: ToString>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn paths(list: &[PathBuf]) -> String {
    join(&list.iter().map(|p| p.display()).collect::<Vec<_>>())
}

fn mounts(p: &SandboxPolicy) -> Vec<MountView> {
    let mut m = vec![MountView {
        path: "/".into(),
        how: "private root (tmpfs); nothing of the host but what follows".into(),
    }];
    let mut add = |path: &Path, how: &str| {
        m.push(MountView {
            path: path.display().to_string(),
            how: how.to_owned(),
        })
    };
    for dir in SYSTEM_READ_DIRS
        .iter()
        .map(Path::new)
        .filter(|d| d.exists())
    {
        add(dir, "system, read-only (ro,nosuid,nodev)");
    }
    for dir in &p.fs.read {
        add(dir, "bound by handle, read-only (ro,nosuid,nodev)");
    }
    for dir in &p.fs.write {
        add(dir, "bound by handle, read-write (nosuid,nodev)");
    }
    for dir in &p.fs.read_only {
        add(dir, "kept read-only over its write grant");
    }
    for file in p.fs.hidden.iter().map(PathBuf::as_path) {
        add(file, "masked (unreadable)");
    }
    for file in SECRET_FILES.iter().map(Path::new).filter(|f| f.exists()) {
        add(file, "masked (unreadable)");
    }
    add(
        Path::new("/proc"),
        "a fresh proc of the run's own PID namespace",
    );
    add(Path::new("/dev"), "minimal: null zero full random urandom");
    let scratch = format!(
        "private tmpfs; with the scratch directory (HOME, TMPDIR) at most {} MiB together",
        p.limits.scratch_bytes >> 20
    );
    for dir in ["/tmp", "/var/tmp", "/run", "/dev/shm"] {
        add(Path::new(dir), &scratch);
    }
    m
}

fn landlock(p: &SandboxPolicy) -> Vec<String> {
    let mut rules = vec![format!(
        "read{}: the system directories{}",
        if p.allow_spawn { " and execute" } else { "" },
        if p.fs.read.is_empty() {
            String::new()
        } else {
            format!(", {}", paths(&p.fs.read))
        }
    )];
    rules.push(format!(
        "read and write: the scratch directory{}",
        if p.fs.write.is_empty() {
            String::new()
        } else {
            format!(", {}", paths(&p.fs.write))
        }
    ));
    if !p.fs.read_only.is_empty() {
        rules.push(format!(
            "read-only inside the write grants: {}",
            paths(&p.fs.read_only)
        ));
    }
    if !p.allow_spawn {
        rules.push("execute: only the program, its #! interpreter and their ELF loader".into());
    }
    rules.push(match &p.network {
        NetworkPolicy::Off => "TCP bind and connect: denied".into(),
        NetworkPolicy::Host => "TCP: not restricted (host network granted)".into(),
        NetworkPolicy::TcpPorts(ports) => format!("TCP connect: only to ports {}", join(ports)),
    });
    rules.push("abstract unix sockets and signals: scoped to the sandbox".into());
    rules
}

fn seccomp(p: &SandboxPolicy) -> Vec<String> {
    let mut rules = vec![
        "kill (sandbox_denied): ptrace, pidfd_getfd, process_vm_*, the mount family, \
         pivot_root, chroot, kexec_*, module loading, bpf, perf_event_open, userfaultfd, \
         io_uring_*, keyrings, setns, namespace-making unshare/clone, reboot, swapon/off, \
         open_by_handle_at; x32 and foreign-architecture calls"
            .to_owned(),
        "EPERM: setting a set-user-ID or set-group-ID bit, TIOCSTI/TIOCLINUX, personality \
         changes"
            .to_owned(),
        "ENOSYS: clone3 and openat2 (libc falls back to clone and openat, which are inspected)"
            .to_owned(),
    ];
    if p.network == NetworkPolicy::Off {
        rules.push("EAFNOSUPPORT: every socket family but AF_UNIX".into());
    }
    // Without a private root the host's unix sockets are in sight, and Landlock does not check
    // a connect to one.
    let no_unix = "EPERM: making an AF_UNIX socket or a datagram socket pair (stream pairs work)";
    if !p.namespaces {
        rules.push(no_unix.into());
    } else if p.isolation == Isolation::BestEffort {
        rules.push(format!("{no_unix}, if namespaces are unavailable here"));
    }
    if !p.allow_spawn {
        rules.push(
            "EPERM: fork, vfork, process-making clone, execveat, and every execve but the one \
             that starts the program"
                .into(),
        );
    }
    rules
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn values_from_the_users_environment_are_never_shown() {
        // A name this test process surely has, with a value it must not print.
        let (name, value) = std::env::vars()
            .find(|(_, v)| v.len() > 3)
            .expect("some environment");
        let mut policy = SandboxPolicy::new(Duration::from_secs(1));
        policy.env_passthrough = vec![name.clone(), "SKILLET_SURELY_UNSET_VAR".into()];
        let inv = Invocation {
            program: "true".into(),
            args: vec![],
            cwd: "/".into(),
            env: vec![],
        };
        let view = ProcessView::new(&inv, &policy);
        let text = serde_json::to_string(&view).unwrap();
        assert!(!text.contains(&value), "{text}");
        let shown = &view.env[0];
        assert_eq!(shown.from, EnvOrigin::YourEnvironment);
        assert_eq!(
            shown.shown,
            format!("<from your environment, {} chars>", value.chars().count())
        );
        assert!(view.env[1].shown.contains("not set"), "{:?}", view.env[1]);
    }

    #[test]
    fn the_policy_names_its_network_rule_and_mounts() {
        let mut policy = SandboxPolicy::new(Duration::from_secs(1));
        policy.fs.read = vec!["/work/space".into()];
        let view = PolicyView::new(&policy);
        assert_eq!(view.network, "none");
        assert!(view.mounts.iter().any(|m| m.path == "/work/space"));
        assert!(
            view.landlock
                .iter()
                .any(|r| r.contains("TCP bind and connect: denied"))
        );
        assert!(view.seccomp.iter().any(|r| r.contains("AF_UNIX")));
        policy.isolation = Isolation::Disabled;
        let open = PolicyView::new(&policy);
        assert!(open.mounts.is_empty() && open.landlock.is_empty() && open.seccomp.is_empty());
    }
}
