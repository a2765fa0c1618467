//! From a skill's declarations, skillet's defaults and the user's grants to the sandbox policy.
//!
//! The rule: a skill may *ask* (its `security` block); only the user *grants* (`[grants.<skill>]`
//! in the global `skillet.toml`, or `--allow-…` flags). A skill may always ask for less than the
//! default policy; anything more needs a grant, and an ask without a grant becomes a warning that
//! says how to grant it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use skillet_registry::{Grant, GrantedNetwork, LayeredDefaults};

mod env;
mod limits;
mod paths;

pub use env::{DEFAULT_ENV_PASSTHROUGH, credential_reason, looks_secret};
pub use limits::{
    DEFAULT_MAX_FILE_SIZE_MB, DEFAULT_MAX_MEMORY_MB, DEFAULT_MAX_OUTPUT_KB, DEFAULT_MAX_PROCESSES,
    DEFAULT_TIMEOUT_S, MAX_GRANTED_TIMEOUT_S, RunLimits, run_limits, wall_time_s,
};
use paths::resolve_grant_path;
pub use paths::toolchain_dirs;
use skillet_sandbox::{Isolation, Limits, NetworkPolicy, SandboxPolicy};
use skillet_spec::{NetworkAccess, SkillSpec};

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
    /// The workspace root (readable; relative grant paths start here).
    pub workspace: Option<PathBuf>,
    /// The user's home, for `~/` in grants.
    pub home: Option<PathBuf>,
    /// Paths kept read-only even when a grant makes their parent writable.
    pub protected: Vec<PathBuf>,
}

/// The sandbox policy of one run, and notes for the user.
#[derive(Debug, Clone)]
pub struct PolicyPlan {
    /// What the sandbox enforces.
    pub policy: SandboxPolicy,
    /// What the user should know: asks that were not granted, requests that were capped.
    pub warnings: Vec<String>,
}

/// Maps a skill, in `skill_dir`, onto a sandbox policy under `ctx`. `program` is the program
/// the skill runs, as the invocation names it.
pub fn plan_policy(
    spec: &SkillSpec,
    skill_dir: &Path,
    program: &str,
    ctx: &PolicyContext,
    env: Vec<(String, String)>,
) -> PolicyPlan {
    let mut warnings = Vec::new();
    let asked = spec.security.as_ref();
    let asked_limits = asked
        .and_then(|s| s.resource_limits.clone())
        .unwrap_or_default();
    let asked_perms = asked
        .and_then(|s| s.permissions.clone())
        .unwrap_or_default();
    let grant = &ctx.grant;

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
    limits.cpu_percent = asked_limits.max_cpu_percent;
    // A run cannot use more CPU seconds than its wall-clock budget on one core.
    limits.cpu_time = Some(Duration::from_secs(wall));

    let resolve = |p: &str| {
        resolve_grant_path(
            p,
            ctx.workspace.as_deref().unwrap_or(skill_dir),
            ctx.home.as_deref(),
        )
    };
    let mut fs = skillet_sandbox::FsPolicy::default();
    fs.read.extend(ctx.workspace.iter().cloned());
    fs.read.push(skill_dir.to_path_buf());
    // An interpreter installed under a home directory (pyenv, nvm, cargo, ~/.local) must be
    // visible to run at all; its installation is code, not user data.
    fs.read.extend(toolchain_dirs(program, &spec.args));
    fs.read.extend(grant.read.iter().map(|p| resolve(p)));
    fs.write.extend(grant.write.iter().map(|p| resolve(p)));
    fs.read_only = ctx.protected.clone();
    if let Some(ws) = &ctx.workspace {
        fs.read_only.extend([
            ws.join(".git/hooks"),
            ws.join(".git/config"),
            ws.join(".skillet"),
        ]);
    }
    let flag = format!("--allow-write PATH or [grants.{}] write = [...]", spec.name);
    for path in &asked_perms.file_write {
        if !grant.write.iter().any(|g| resolve(g) == resolve(path)) {
            warnings.push(format!("asks to write {path}: not granted ({flag})"));
        }
    }
    for path in &asked_perms.file_read {
        let p = resolve(path);
        if !fs.read.iter().any(|r| p.starts_with(r)) {
            warnings.push(format!(
                "asks to read {path}: not granted (--allow-read PATH or [grants.{}] read = [...])",
                spec.name
            ));
        }
    }

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
                warnings.push(format!("asks for network access: not granted (--allow-net or [grants.{}] network = true)", spec.name));
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
            warnings.push(format!("not passing {name}: {why}, so only the user can pass it (--allow-env {name} or [grants.{}] env = [\"{name}\"])", spec.name));
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
    PolicyPlan { policy, warnings }
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
        let ctx = PolicyContext {
            workspace: Some("/ws".into()),
            ..Default::default()
        };
        let plan = plan_policy(&s, Path::new("/ws/.skillet/skills"), "x", &ctx, vec![]);
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
        assert!(
            plan.policy
                .fs
                .read_only
                .contains(&PathBuf::from("/ws/.git/hooks"))
        );
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
        };
        let ctx = PolicyContext {
            grant,
            workspace: Some("/ws".into()),
            home: Some("/home/u".into()),
            ..Default::default()
        };
        let plan = plan_policy(&s, Path::new("/ws/s"), "x", &ctx, vec![]);
        assert_eq!(plan.policy.fs.write, [PathBuf::from("/ws/out")]);
        assert!(plan.policy.fs.read.contains(&PathBuf::from("/home/u/data")));
        assert_eq!(plan.policy.network, NetworkPolicy::TcpPorts(vec![443]));
        assert!(
            plan.policy
                .env_passthrough
                .contains(&"GITHUB_TOKEN".to_string())
        );
        assert_eq!(plan.policy.limits.memory_bytes, Some(1024 << 20));
        assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
    }
}
