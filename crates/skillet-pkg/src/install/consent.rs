//! What a package's skills ask for, in words, and what changed since the installed version:
//! what a user reads before saying yes. Asking is not granting: grants stay in the user's own
//! configuration, and installing never writes one.

use std::collections::BTreeSet;
use std::path::{Component, Path};

use serde::Serialize;
use skillet_spec::{NetworkAccess, SkillSpec};

use crate::manifest::PackageManifest;

/// One skill of a package, loaded.
#[derive(Debug, Clone)]
pub struct PackageSkill {
    /// Its path in the package, as the manifest lists it.
    pub path: String,
    /// Its name (the declared one, or the path when it has none).
    pub name: String,
    /// The skill, when it loaded without errors.
    pub spec: Option<SkillSpec>,
    /// Its errors, each on one line.
    pub errors: Vec<String>,
}

/// Loads every skill a manifest lists, opened beneath the package's root (a link out of it is
/// refused, not followed).
pub fn load_skills(root: &Path, manifest: &PackageManifest) -> Vec<PackageSkill> {
    manifest
        .skills
        .iter()
        .map(|rel| {
            let path = root.join(rel);
            let outside = Path::new(rel)
                .components()
                .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir));
            if outside {
                return PackageSkill {
                    path: rel.clone(),
                    name: rel.clone(),
                    spec: None,
                    errors: vec![format!("{rel}: the path leaves the package")],
                };
            }
            let file = skillet_registry::skill_file(&path);
            let loaded = skillet_spec::load_file_within(&file, root);
            let name = loaded
                .declared_name()
                .map(str::to_owned)
                .unwrap_or_else(|| rel.clone());
            let errors = loaded
                .diagnostics
                .iter()
                .filter(|d| d.is_error())
                .map(|d| d.message.clone())
                .collect();
            PackageSkill {
                path: rel.clone(),
                name,
                spec: loaded.spec,
                errors,
            }
        })
        .collect()
}

/// What a run gets without asking (the engine's defaults), so that only what goes beyond them
/// is shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defaults {
    /// Seconds of wall clock.
    pub timeout_s: u64,
    /// MiB of memory.
    pub memory_mb: u64,
    /// Processes and threads.
    pub processes: u32,
    /// KiB of output per stream.
    pub output_kb: u64,
    /// MiB of the largest file written.
    pub file_size_mb: u64,
    /// Environment variables passed without asking.
    pub env: Vec<String>,
}

/// What one skill asks for, one line per permission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkillPermissions {
    /// The skill.
    pub skill: String,
    /// Its type (`code_inline`, …), when it loaded.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Each permission in words ("network: any host"); empty when it asks for nothing beyond
    /// the defaults.
    pub asks: Vec<String>,
    /// Why it does not load, if it does not (it is installed, and listed as broken).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// What each skill asks for.
pub fn permissions(skills: &[PackageSkill], defaults: &Defaults) -> Vec<SkillPermissions> {
    skills
        .iter()
        .map(|s| SkillPermissions {
            skill: s.name.clone(),
            kind: s.spec.as_ref().map(|spec| spec.kind.as_str().to_owned()),
            asks: s
                .spec
                .as_ref()
                .map(|spec| asks(spec, defaults))
                .unwrap_or_default(),
            errors: s.errors.clone(),
        })
        .collect()
}

fn asks(spec: &SkillSpec, defaults: &Defaults) -> Vec<String> {
    let mut out = Vec::new();
    let security = spec.security.as_ref();
    if let Some(p) = security.and_then(|s| s.permissions.as_ref()) {
        match &p.network_access {
            Some(NetworkAccess::Enabled(true)) => out.push("network: any host".to_owned()),
            Some(NetworkAccess::Destinations(d)) if !d.is_empty() => {
                out.push(format!("network: {}", d.join(", ")))
            }
            _ => {}
        }
        for w in &p.file_write {
            out.push(format!("writes: {w}"));
        }
        for r in p.file_read.iter().filter(|r| outside_workspace(r)) {
            out.push(format!("reads outside the workspace: {r}"));
        }
        if p.allow_spawn == Some(true) {
            out.push("starts other processes".to_owned());
        }
        for v in p
            .env_passthrough
            .iter()
            .filter(|v| !defaults.env.contains(v))
        {
            out.push(format!("environment variable: {v}"));
        }
    }
    if let Some(tools) = allowed_tools(spec) {
        out.push(format!(
            "agent tools it may use without asking (allowed-tools): {tools}"
        ));
    }
    let limits = security.and_then(|s| s.resource_limits.as_ref());
    let timeout = limits
        .and_then(|l| l.max_execution_time)
        .or(spec.timeout)
        .filter(|t| *t > defaults.timeout_s);
    if let Some(t) = timeout {
        out.push(format!(
            "time limit: {t} s (default {} s)",
            defaults.timeout_s
        ));
    }
    if let Some(l) = limits {
        if let Some(m) = l.max_memory_mb.filter(|m| *m > defaults.memory_mb) {
            out.push(format!(
                "memory: {m} MB (default {} MB)",
                defaults.memory_mb
            ));
        }
        if let Some(p) = l.max_processes.filter(|p| *p > defaults.processes) {
            out.push(format!("processes: {p} (default {})", defaults.processes));
        }
        if let Some(o) = l.max_output_kb.filter(|o| *o > defaults.output_kb) {
            out.push(format!(
                "output: {o} KB (default {} KB)",
                defaults.output_kb
            ));
        }
        if let Some(f) = l.max_file_size_mb.filter(|f| *f > defaults.file_size_mb) {
            out.push(format!(
                "largest file written: {f} MB (default {} MB)",
                defaults.file_size_mb
            ));
        }
    }
    out
}

/// A `SKILL.md`'s `allowed-tools` (kept under `metadata`), as one line: the tools an agent
/// following the skill may use without asking its user (`Bash(git:*) Read`). skillet does not
/// enforce it, so a user must see it before saying yes. The value is untrusted text: control
/// characters are dropped so it cannot redraw the consent prompt.
fn allowed_tools(spec: &SkillSpec) -> Option<String> {
    let value = spec.metadata.get("allowed-tools")?;
    let text = match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(items) => items
            .iter()
            .map(|i| match i {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(", "),
        serde_json::Value::Null => return None,
        other => other.to_string(),
    };
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let clean = clean.split_whitespace().collect::<Vec<_>>().join(" ");
    (!clean.is_empty()).then_some(clean)
}

/// Whether a `file_read` entry (relative to the workspace) reaches outside it.
fn outside_workspace(path: &str) -> bool {
    if path.starts_with('~') || path.starts_with('$') {
        return true;
    }
    let mut depth = 0i32;
    for c in Path::new(path).components() {
        match c {
            Component::RootDir | Component::Prefix(_) => return true,
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
        }
        if depth < 0 {
            return true;
        }
    }
    false
}

/// What changed between the installed skills and the new ones, in words: skills added and
/// removed, permissions added ("+") and removed ("-").
pub fn changes(old: &[SkillPermissions], new: &[SkillPermissions]) -> Vec<String> {
    let mut out = Vec::new();
    for n in new {
        match old.iter().find(|o| o.skill == n.skill) {
            None => {
                out.push(format!("new skill {}", n.skill));
                out.extend(n.asks.iter().map(|a| format!("{}: + {a}", n.skill)));
            }
            Some(o) => {
                let before: BTreeSet<&String> = o.asks.iter().collect();
                let after: BTreeSet<&String> = n.asks.iter().collect();
                out.extend(
                    after
                        .difference(&before)
                        .map(|a| format!("{}: + {a}", n.skill)),
                );
                out.extend(
                    before
                        .difference(&after)
                        .map(|a| format!("{}: - {a}", n.skill)),
                );
            }
        }
    }
    for o in old
        .iter()
        .filter(|o| !new.iter().any(|n| n.skill == o.skill))
    {
        out.push(format!("skill {} removed", o.skill));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_outside_the_workspace_in_every_spelling() {
        for p in ["/etc", "~/.ssh", "../x", "a/../../x", "$HOME/x"] {
            assert!(outside_workspace(p), "{p}");
        }
        for p in [".", "src", "./a/../b", "a/b/.."] {
            assert!(!outside_workspace(p), "{p}");
        }
    }

    #[test]
    fn a_skill_md_allowed_tools_is_shown_whatever_its_shape() {
        let defaults = Defaults {
            timeout_s: 30,
            memory_mb: 512,
            processes: 64,
            output_kb: 1024,
            file_size_mb: 16,
            env: vec![],
        };
        let dir = tempfile::tempdir().unwrap();
        for (front, want) in [
            ("allowed-tools: Bash(git:*) Read", "Bash(git:*) Read"),
            ("allowed-tools: [Bash, \"Write\"]", "Bash, Write"),
            ("allowed-tools: \"Bash\\u001b[2J  Edit\"", "Bash [2J Edit"),
        ] {
            let skill = dir.path().join("s");
            std::fs::create_dir_all(&skill).unwrap();
            std::fs::write(
                skill.join("SKILL.md"),
                format!("---\nname: s\ndescription: d\n{front}\n---\nDo it.\n"),
            )
            .unwrap();
            let loaded = skillet_spec::load_file(&skill.join("SKILL.md"));
            let spec = loaded.spec.expect("loads");
            let shown = asks(&spec, &defaults);
            assert_eq!(
                shown,
                [format!(
                    "agent tools it may use without asking (allowed-tools): {want}"
                )],
                "{front}"
            );
        }
    }

    #[test]
    fn changes_name_added_and_removed_permissions() {
        let perm = |skill: &str, asks: &[&str]| SkillPermissions {
            skill: skill.into(),
            kind: None,
            asks: asks.iter().map(|s| s.to_string()).collect(),
            errors: vec![],
        };
        let old = [perm("a", &["writes: out"]), perm("gone", &[])];
        let new = [perm("a", &["network: any host"]), perm("b", &[])];
        assert_eq!(
            changes(&old, &new),
            [
                "a: + network: any host",
                "a: - writes: out",
                "new skill b",
                "skill gone removed"
            ]
        );
    }
}
