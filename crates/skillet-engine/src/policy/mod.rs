//! From a skill's declarations, skillet's defaults and the user's grants to the sandbox policy.
//!
//! The rule: a skill may *ask* (its `security` block); only the user *grants* (`[grants.<skill>]`
//! in the global `skillet.toml`, or `--allow-…` flags). A skill may always ask for less than the
//! default policy; anything more needs a grant, and an ask without a grant becomes a warning that
//! says how to grant it.

use crate::hint::Hint;
use std::path::{Path, PathBuf};
use std::time::Duration;

use skillet_registry::{Grant, GrantedNetwork, LayeredDefaults};

mod env;
mod filesystem;
#[cfg(test)]
pub(crate) mod fixtures;
mod grants;
mod limits;
mod paths;
mod protected;
mod toolchain;

pub use env::{DEFAULT_ENV_PASSTHROUGH, credential_reason, looks_secret, redact_credentials};
pub(crate) use env::{credential_forms, passed_credentials};
pub(crate) use grants::{is_escape, resolve_beneath};
pub use limits::{
    DEFAULT_MAX_FILE_SIZE_MB, DEFAULT_MAX_MEMORY_MB, DEFAULT_MAX_OUTPUT_KB, DEFAULT_MAX_PROCESSES,
    DEFAULT_TIMEOUT_S, MAX_GRANTED_TIMEOUT_S, RunLimits, run_limits, wall_time_s,
};
pub(crate) use limits::{Kind, settle};
pub use paths::Boundaries;
pub(crate) use paths::{OneResolution, real_path};
use skillet_sandbox::{Isolation, Limits, NetworkPolicy, SandboxPolicy};
use skillet_spec::{NetworkAccess, SkillSpec};
pub use toolchain::{Toolchain, toolchain};

/// Where the run happens, and what the user allows, independent of the skill.
#[derive(Debug, Clone, Default)]
pub struct PolicyContext {
    /// `[defaults]` of the global (the user's caps) and workspace (lowerings) `skillet.toml`.
    pub defaults: LayeredDefaults,
    /// The user's grant for this skill: config and command-line flags together.
    pub grant: Grant,
    /// How strict the sandbox must be.
    pub isolation: Option<Isolation>,
    /// Keep the scratch directory after the run.
    pub keep_scratch: bool,
    /// All live scratch together, in MiB (the global `[sandbox] max_scratch_total_mb`).
    pub scratch_total_mb: Option<u64>,
    /// The workspace root (readable).
    pub workspace: Option<PathBuf>,
    /// Where relative grant paths typed for this run start: the run's directory, inside the
    /// workspace. `None` (or a directory outside the workspace) starts them at the root.
    pub dir: Option<PathBuf>,
    /// Where this run's own grants (the `--allow-read`/`--allow-write` flags) begin in
    /// `grant.read` and `grant.write`: the entries before come from `skillet.toml`, whose
    /// relative paths always start at the workspace root, wherever skillet is called from.
    pub flags_from: (usize, usize),
    /// The user's home, for `~/` in grants.
    pub home: Option<PathBuf>,
    /// skillet's own configuration, data and runtime directories: never granted, read-only
    /// inside any write grant, their history and settings masked inside readable trees.
    pub protected: Vec<PathBuf>,
    /// Every directory skills are discovered in: read-only inside any write grant (a run must
    /// not plant a skill, least of all a global one served in every workspace); a skill's
    /// folder outside the workspace is only read when it lies in a global one.
    pub skill_dirs: Vec<skillet_registry::SkillDir>,
    /// For a workspace's skill: the workspace a configured grant must list
    /// (`workspaces = [...]`) to be this skill's, which the hints on how to grant say.
    pub grant_workspace: Option<PathBuf>,
    /// Why a configured grant of the skill's name is not this skill's: said on every run.
    pub grant_withheld: Option<String>,
}

impl PolicyContext {
    /// How the user grants `setting` to `skill` for good, e.g. `[grants.fetch] network = true`
    /// (with the workspace a workspace's skill is granted in).
    pub(crate) fn grant_hint(&self, skill: &str, setting: &str) -> String {
        match &self.grant_workspace {
            None => format!("[grants.{skill}] {setting}"),
            Some(ws) => format!(
                "[grants.{skill}] {setting} with workspaces = [\"{}\"]",
                ws.display()
            ),
        }
    }
}

/// Why no policy can be given to a run: a grant that does not mean what was typed, or a place
/// that cannot be a workspace. The run is refused with this message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// A grant that leaves the workspace, or resolves to credentials, or cannot be resolved.
    #[error("{flag} {typed} refused: {reason}")]
    Grant {
        /// `--allow-read` or `--allow-write`.
        flag: &'static str,
        /// The grant as the user typed it.
        typed: String,
        /// Why, and what to type instead.
        reason: String,
    },
    /// A write grant that reaches, through a symlink or `..`, a path that stays read-only.
    #[error(
        "--allow-write {typed} refused: it resolves to {}, inside {}, which stays read-only \
         (git metadata, skill folders, skillet.toml, .env files and skillet's own directories are \
         never writable through another name); grant that exact path if you mean it",
        real.display(), protected.display()
    )]
    Protected {
        /// The grant as typed.
        typed: String,
        /// What it resolves to.
        real: PathBuf,
        /// The protected path it reaches.
        protected: PathBuf,
    },
    /// A grant of one of skillet's own directories, or of something in one: they hold the
    /// history, every skill's state, the trust list, the concurrency slots and the user's
    /// global skills, which no run may read or change, whoever grants it.
    #[error(
        "{flag} {typed} refused: it resolves to {}, inside {}, one of skillet's own \
         directories (its configuration, data, cache or runtime files), which no grant may \
         cover; grant a folder of your own instead",
        real.display(), own.display()
    )]
    OwnDir {
        /// The flag it was given with (`--allow-read`, `--allow-write`).
        flag: &'static str,
        /// The grant as typed.
        typed: String,
        /// What it resolves to.
        real: PathBuf,
        /// skillet's directory it lies in.
        own: PathBuf,
    },
    /// A write grant of a file that is another name (hard link) of a protected file.
    #[error(
        "--allow-write {typed} refused: {} is a hard link to {}, which stays read-only; \
         copy the file instead of linking it",
        real.display(), protected.display()
    )]
    HardLink {
        /// The grant as typed.
        typed: String,
        /// The file granted.
        real: PathBuf,
        /// The protected file it is another name of.
        protected: PathBuf,
    },
    /// A working directory that resolves outside everything the run may read.
    #[error(
        "working directory {} resolves to {}, outside what the skill may read (the workspace, \
         its own folder and its grants); set the skill's working_dir inside them, or grant the \
         directory with --allow-read",
        dir.display(), real.display()
    )]
    WorkingDir {
        /// As the skill names it.
        dir: PathBuf,
        /// What it resolves to.
        real: PathBuf,
    },
    /// A workspace skill whose folder leads out of the workspace (a symlinked folder, a
    /// workspace `skill_dirs` entry elsewhere): reading its folder would read whatever is there.
    #[error(
        "refusing to run `{skill}`: its folder {} (real path {}) is outside the workspace {}; a \
         workspace skill may only read its folder inside the workspace (a symlink or a \
         workspace skill_dirs entry leading out of it would make that whole directory \
         readable). Move the skill into the workspace, or install it as a global skill",
        dir.display(), real.display(), workspace.display()
    )]
    SkillFolder {
        /// The skill.
        skill: String,
        /// Its folder as discovered.
        dir: PathBuf,
        /// What that resolves to.
        real: PathBuf,
        /// The workspace root.
        workspace: PathBuf,
    },
    /// A tree the run would see holds too many entries to be searched whole for what must be
    /// masked or kept read-only; searching part of it would leave the rest unmasked.
    #[error(
        "refusing to run: {} holds more than {entries} files and folders, too many to search \
         whole for .env files, credentials, git settings and sockets to mask (a partial search \
         would leave the rest readable); run from a smaller workspace (--workspace DIR), grant a \
         narrower directory, or remove generated trees (node_modules, target) from it",
        tree.display()
    )]
    TooLarge {
        /// The tree (a workspace, a grant, a skill folder).
        tree: PathBuf,
        /// The bound it passed.
        entries: usize,
    },
    /// Code skills do not run with `/`, the home directory or a parent of it as the workspace.
    #[error(
        "refusing to let a skill read {} as its workspace: outside a project, the workspace would be {}, \
         which holds far more than one project (your home, credentials, other projects)",
        cwd.display(), cwd.display()
    )]
    NoWorkspace {
        /// Where skillet was started.
        cwd: PathBuf,
    },
}

impl PolicyError {
    /// What would get the run going; each interface says it in its own words.
    pub fn hint(&self) -> Option<Hint> {
        match self {
            PolicyError::NoWorkspace { .. } => Some(Hint::NameWorkspace),
            _ => None,
        }
    }
}

/// The sandbox policy of one run, and notes for the user.
#[derive(Debug, Clone)]
pub struct PolicyPlan {
    /// What the sandbox enforces.
    pub policy: SandboxPolicy,
    /// What the user should know: asks that were not granted, requests that were capped,
    /// grants shown in their resolved form.
    pub warnings: Vec<String>,
    /// The real path of the program, when the sandbox must run it by that path (it was found
    /// through a symlink that is not visible inside the sandbox).
    pub program: Option<PathBuf>,
    /// The one descriptor the run is handed: its channel broker's socket, for a skill that
    /// declares `channels` (see channels/).
    pub inherit_fd: Option<skillet_sandbox::InheritedFd>,
}

/// Maps a skill, in `skill_dir`, onto a sandbox policy under `ctx`. `program` is the program
/// the skill runs, as the invocation names it. Every path is resolved first (see
/// [`Boundaries`]); a grant that does not hold is an error, never a wider rule.
pub fn plan_policy(
    spec: &SkillSpec,
    skill_dir: &Path,
    program: &str,
    ctx: &PolicyContext,
    env: Vec<(String, String)>,
) -> Result<PolicyPlan, PolicyError> {
    let mut warnings = Vec::new();
    let asked = spec.security.as_ref();
    let asked_limits = asked
        .and_then(|s| s.resource_limits.clone())
        .unwrap_or_default();
    let asked_perms = asked
        .and_then(|s| s.permissions.clone())
        .unwrap_or_default();
    let grant = &ctx.grant;
    warnings.extend(ctx.grant_withheld.clone());

    let settled = run_limits(spec, ctx);
    warnings.extend(settled.warnings);
    let wall = settled.wall_time_s;
    let mib = |n: u64| n.saturating_mul(1 << 20);
    let mut limits = Limits::new(Duration::from_secs(wall));
    limits.max_output_bytes =
        usize::try_from(settled.max_output_kb.saturating_mul(1024)).unwrap_or(usize::MAX);
    limits.memory_bytes = Some(mib(settled.max_memory_mb));
    limits.max_processes = Some(u32::try_from(settled.max_processes).unwrap_or(u32::MAX));
    limits.max_file_size_bytes = Some(mib(settled.max_file_size_mb));
    limits.scratch_bytes = mib(settled.max_scratch_mb);
    limits.scratch_total_bytes = ctx.scratch_total_mb.map(mib);
    limits.cpu_percent = asked_limits.max_cpu_percent;
    // A run cannot use more CPU seconds than its wall-clock budget on one core, and one more:
    // with the two equal, a run spinning on one core reached both at once and was reported
    // as stopped by either, by chance.
    limits.cpu_time = Some(Duration::from_secs(wall.saturating_add(1)));

    let planned = filesystem::plan_fs(spec, skill_dir, program, ctx, &mut warnings)?;
    let fs = planned.fs;

    let network = match &grant.network {
        Some(GrantedNetwork::All(true)) => NetworkPolicy::Host,
        Some(GrantedNetwork::Destinations(list)) => NetworkPolicy::TcpPorts(
            list.iter()
                .filter_map(|d| d.rsplit_once(':')?.1.parse().ok())
                .collect(),
        ),
        Some(GrantedNetwork::All(false)) | None => {
            let wants = matches!(
                asked_perms.network_access,
                Some(NetworkAccess::Enabled(true)) | Some(NetworkAccess::Destinations(_))
            );
            if wants {
                warnings.push(format!(
                    "asks for network access: not granted (--allow-net or {})",
                    ctx.grant_hint(&spec.name, "network = true")
                ));
            }
            NetworkPolicy::Off
        }
    };

    let mut passthrough: Vec<String> = DEFAULT_ENV_PASSTHROUGH
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    for name in &asked_perms.env_passthrough {
        if grant.env.contains(name) {
            continue;
        } else if let Some(why) = credential_reason(name, std::env::var_os(name).as_deref()) {
            // The value is read here as the sandbox will read it at spawn, in this process.
            warnings.push(format!("not passing {name}: {why}, so only the user can pass it (--allow-env {name} or {})", ctx.grant_hint(&spec.name, &format!("env = [\"{name}\"]"))));
        } else if !passthrough.contains(name) {
            passthrough.push(name.clone());
        }
    }
    passthrough.extend(
        grant
            .env
            .iter()
            .filter(|n| !passthrough.contains(n))
            .cloned()
            .collect::<Vec<_>>(),
    );

    let policy = SandboxPolicy {
        env_passthrough: passthrough,
        env: env.into_iter().map(|(k, v)| (k.into(), v.into())).collect(),
        fs,
        network,
        allow_spawn: asked_perms.allow_spawn.unwrap_or(true),
        limits,
        isolation: ctx.isolation.unwrap_or(Isolation::Required),
        keep_scratch: ctx.keep_scratch,
        namespaces: true,
    };
    Ok(PolicyPlan {
        policy,
        warnings,
        program: planned.program,
        inherit_fd: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(security: serde_json::Value) -> SkillSpec {
        serde_json::from_value(
            json!({"name": "s", "type": "code_inline", "command": "x", "security": security}),
        )
        .unwrap()
    }

    #[test]
    fn asks_without_grants_are_not_given() {
        let s = spec(
            json!({"permissions": {"network_access": true, "file_write": ["out"], "env_passthrough": ["GITHUB_TOKEN", "MY_VAR"]},
                            "resource_limits": {"max_memory_mb": 4096}}),
        );
        let t = tempfile::tempdir().unwrap();
        let ws = std::fs::canonicalize(t.path()).unwrap();
        let ctx = PolicyContext {
            workspace: Some(ws.clone()),
            ..Default::default()
        };
        let plan = plan_policy(&s, &ws.join(".skillet/skills"), "x", &ctx, vec![]).unwrap();
        assert_eq!(plan.policy.network, NetworkPolicy::Off);
        assert!(plan.policy.fs.write.is_empty());
        assert_eq!(
            plan.policy.limits.memory_bytes,
            Some(DEFAULT_MAX_MEMORY_MB << 20)
        );
        assert!(plan.policy.env_passthrough.contains(&"MY_VAR".to_string()));
        assert!(
            !plan
                .policy
                .env_passthrough
                .contains(&"GITHUB_TOKEN".to_string())
        );
        assert_eq!(plan.warnings.len(), 4, "{:?}", plan.warnings);
        assert!(plan.policy.fs.read_only.is_empty(), "nothing is writable");
    }

    #[test]
    fn grants_are_given() {
        let s = spec(json!({"resource_limits": {"max_memory_mb": 1024}}));
        let grant = Grant {
            write: vec!["out".into()],
            read: vec!["~/data".into()],
            network: Some(GrantedNetwork::Destinations(vec![
                "api.example.com:443".into(),
            ])),
            env: vec!["GITHUB_TOKEN".into()],
            raise_limits: true,
            workspaces: Vec::new(),
        };
        let t = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(t.path()).unwrap();
        let (ws, home) = (root.join("ws"), root.join("home"));
        std::fs::create_dir_all(ws.join("out")).unwrap();
        std::fs::create_dir_all(home.join("data")).unwrap();
        let ctx = PolicyContext {
            grant,
            workspace: Some(ws.clone()),
            home: Some(home.clone()),
            protected: vec![ws.join("out/cfg/skillet")],
            ..Default::default()
        };
        let plan = plan_policy(&s, &ws.join("s"), "x", &ctx, vec![]).unwrap();
        assert_eq!(plan.policy.fs.write, [ws.join("out")]);
        assert!(plan.policy.fs.read.contains(&home.join("data")));
        for protected in [
            ".git",
            ".skillet",
            ".claude",
            "skillet.toml",
            ".env",
            "cfg/skillet",
        ] {
            let p = ws.join("out").join(protected);
            assert!(plan.policy.fs.read_only.contains(&p), "{}", p.display());
        }
        assert_eq!(plan.policy.network, NetworkPolicy::TcpPorts(vec![443]));
        assert!(
            plan.policy
                .env_passthrough
                .contains(&"GITHUB_TOKEN".to_string())
        );
        assert_eq!(plan.policy.limits.memory_bytes, Some(1024 << 20));
        assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
    }

    #[test]
    fn a_write_grant_through_a_symlink_into_git_is_refused() {
        let t = tempfile::tempdir().unwrap();
        let ws = std::fs::canonicalize(t.path()).unwrap();
        std::fs::create_dir_all(ws.join(".git/hooks")).unwrap();
        std::fs::write(ws.join(".git/config"), "[core]").unwrap();
        std::os::unix::fs::symlink(".git/hooks", ws.join("hooks")).unwrap();
        std::fs::hard_link(ws.join(".git/config"), ws.join("notes.txt")).unwrap();
        let s = spec(json!({}));
        for (typed, want) in [("hooks", "stays read-only"), ("notes.txt", "hard link")] {
            let ctx = PolicyContext {
                grant: Grant {
                    write: vec![typed.into()],
                    ..Default::default()
                },
                workspace: Some(ws.clone()),
                ..Default::default()
            };
            let e = plan_policy(&s, &ws, "x", &ctx, vec![]).unwrap_err();
            assert!(e.to_string().contains(want), "{typed}: {e}");
        }
    }

    #[test]
    fn an_absolute_grant_through_a_link_into_another_repository_is_refused() {
        let t = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(t.path()).unwrap();
        let (ws, other) = (root.join("ws"), root.join("other"));
        std::fs::create_dir_all(&ws).unwrap();
        std::fs::create_dir_all(other.join(".git/hooks")).unwrap();
        std::fs::create_dir_all(other.join(".claude/skills")).unwrap();
        std::os::unix::fs::symlink(other.join(".git/hooks"), root.join("hooks")).unwrap();
        std::os::unix::fs::symlink(other.join(".claude"), root.join("agent")).unwrap();
        let s = spec(json!({}));
        for typed in ["hooks", "agent"] {
            let ctx = PolicyContext {
                grant: Grant {
                    write: vec![root.join(typed).to_string_lossy().into_owned()],
                    ..Default::default()
                },
                workspace: Some(ws.clone()),
                ..Default::default()
            };
            let e = plan_policy(&s, &ws, "x", &ctx, vec![]).unwrap_err();
            assert!(e.to_string().contains("stays read-only"), "{typed}: {e}");
        }
        // Typed exactly, the user means it.
        let ctx = PolicyContext {
            grant: Grant {
                write: vec![other.join(".git/hooks").to_string_lossy().into_owned()],
                ..Default::default()
            },
            workspace: Some(ws.clone()),
            ..Default::default()
        };
        assert!(plan_policy(&s, &ws, "x", &ctx, vec![]).is_ok());
    }
}
