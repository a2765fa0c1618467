//! From a skill's declarations and the user's defaults to what the sandbox enforces.

use std::time::Duration;

use skillet_registry::Defaults;
use skillet_sandbox::SandboxPolicy;
use skillet_spec::SkillSpec;

/// Wall-clock limit when neither the skill nor the configuration sets one.
pub const DEFAULT_TIMEOUT_S: u64 = 30;
/// Output kept per stream when neither the skill nor the configuration sets a cap.
pub const DEFAULT_MAX_OUTPUT_KB: u64 = 1024;
/// Parent variables every code skill sees: enough for programs to find themselves and speak the
/// user's language, nothing that identifies a service or holds a credential.
pub const DEFAULT_ENV_PASSTHROUGH: &[&str] = &[
    "PATH",
    "HOME",
    "LANG",
    "LANGUAGE",
    "LC_ALL",
    "LC_CTYPE",
    "LC_MESSAGES",
    "TERM",
    "TZ",
    "USER",
    "LOGNAME",
    "TMPDIR",
];

/// The sandbox policy of one run, and what the skill asked for that is not honoured.
#[derive(Debug, Clone)]
pub struct PolicyPlan {
    /// What the sandbox enforces.
    pub policy: SandboxPolicy,
    /// Sentences for the user about declarations that are refused or not enforced yet.
    pub warnings: Vec<String>,
}

/// Maps a skill's limits and environment onto a sandbox policy.
///
/// The timeout is the smaller of `timeout` and `security.resource_limits.max_execution_time`,
/// else the configured default, else [`DEFAULT_TIMEOUT_S`]. A skill may ask for more parent
/// variables with `env_passthrough`, but never for ones that look like credentials: those need a
/// user grant, which does not exist yet.
pub fn plan_policy(
    spec: &SkillSpec,
    defaults: &Defaults,
    env: Vec<(String, String)>,
) -> PolicyPlan {
    let limits = spec
        .security
        .as_ref()
        .and_then(|s| s.resource_limits.as_ref());
    let declared = [spec.timeout, limits.and_then(|l| l.max_execution_time)]
        .into_iter()
        .flatten()
        .min();
    let timeout = declared.or(defaults.timeout).unwrap_or(DEFAULT_TIMEOUT_S);
    let output_kb = limits
        .and_then(|l| l.max_output_kb)
        .or(defaults.max_output_kb)
        .unwrap_or(DEFAULT_MAX_OUTPUT_KB);
    let mut warnings = Vec::new();
    let mut passthrough: Vec<String> = DEFAULT_ENV_PASSTHROUGH
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let asked = spec
        .security
        .as_ref()
        .and_then(|s| s.permissions.as_ref())
        .map(|p| p.env_passthrough.clone())
        .unwrap_or_default();
    for name in asked {
        if looks_secret(&name) {
            warnings.push(format!("not passing {name}: it looks like a credential, and granting those is not supported yet"));
        } else if !passthrough.contains(&name) {
            passthrough.push(name);
        }
    }
    let unenforced = unenforced_fields(spec);
    if !unenforced.is_empty() {
        warnings.push(format!(
            "not enforced yet, the skill runs without them: {} (kernel sandboxing is not implemented yet)",
            unenforced.join(", ")
        ));
    }
    let policy = SandboxPolicy {
        env_passthrough: passthrough,
        env: env.into_iter().map(|(k, v)| (k.into(), v.into())).collect(),
        wall_time: Duration::from_secs(timeout),
        max_output_bytes: usize::try_from(output_kb.saturating_mul(1024)).unwrap_or(usize::MAX),
    };
    PolicyPlan { policy, warnings }
}

/// Declarations this version parses and validates but does not act on.
pub fn unenforced_fields(spec: &SkillSpec) -> Vec<&'static str> {
    let mut out = Vec::new();
    if let Some(sec) = &spec.security {
        if let Some(l) = &sec.resource_limits {
            for (name, set) in [
                ("max_memory_mb", l.max_memory_mb.is_some()),
                ("max_cpu_percent", l.max_cpu_percent.is_some()),
                ("max_processes", l.max_processes.is_some()),
                ("max_file_size_mb", l.max_file_size_mb.is_some()),
            ] {
                if set {
                    out.push(name);
                }
            }
        }
        if let Some(p) = &sec.permissions {
            for (name, set) in [
                ("file_read", !p.file_read.is_empty()),
                ("file_write", !p.file_write.is_empty()),
                ("network_access", p.network_access.is_some()),
                ("allow_spawn", p.allow_spawn.is_some()),
            ] {
                if set {
                    out.push(name);
                }
            }
        }
    }
    for (name, set) in [
        ("retry", spec.retry.is_some()),
        ("circuit_breaker", spec.circuit_breaker.is_some()),
        ("fallback", spec.fallback.is_some()),
        ("cache", spec.cache.is_some()),
        ("dependencies", !spec.dependencies.is_empty()),
    ] {
        if set {
            out.push(name);
        }
    }
    out
}

/// Whether a variable name looks like it holds a credential.
///
/// ```
/// use skillet_engine::looks_secret;
/// assert!(looks_secret("GITHUB_TOKEN") && looks_secret("AWS_REGION") && looks_secret("db_password"));
/// assert!(!looks_secret("PATH") && !looks_secret("LANG"));
/// ```
pub fn looks_secret(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    const PREFIXES: &[&str] = &[
        "AWS_",
        "AZURE_",
        "GCP_",
        "GOOGLE_",
        "SSH_",
        "GPG_",
        "OPENAI_",
        "ANTHROPIC_",
    ];
    const PARTS: &[&str] = &[
        "TOKEN",
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "CREDENTIAL",
        "API_KEY",
        "APIKEY",
        "PRIVATE",
        "SESSION",
        "COOKIE",
        "AUTH",
    ];
    PREFIXES.iter().any(|p| upper.starts_with(p))
        || upper.ends_with("_KEY")
        || PARTS.iter().any(|p| upper.contains(p))
}
