//! A Claude Code plugin, read-only: `.claude-plugin/plugin.json` and its skills.
//!
//! Lenient where Claude Code is (keys skillet does not use, such as `author`, `commands`,
//! `hooks` or `mcpServers`, are left alone: skillet installs only a plugin's skills), strict
//! where it matters: the name, the version when given, and every skill path.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::{CLAUDE_PLUGIN_FILE, ManifestError, PackageManifest, paths, read_text};
use crate::PackageName;

/// A list Claude Code lets be written as one string or an array of them.
#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub(crate) fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

/// One entry of a plugin's `dependencies`: `"name"`, `"name@marketplace"`, or
/// `{"name": …, "version": "^2.0", "marketplace": …}`.
#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum ClaudeDependency {
    Name(String),
    Full {
        name: String,
        #[serde(default)]
        version: Option<String>,
        #[serde(default)]
        #[allow(dead_code)]
        marketplace: Option<String>,
    },
}

#[derive(Deserialize)]
struct PluginJson {
    name: String,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    license: Option<String>,
    #[serde(default)]
    skills: Option<OneOrMany>,
    #[serde(default)]
    dependencies: Option<Vec<ClaudeDependency>>,
}

/// Reads a Claude Code plugin at `root` (canonical). Its skills are every skill under
/// `skills/`, plus those its `skills` key names (Claude Code adds them to the default folder
/// rather than replacing it).
pub(super) fn read(root: &Path) -> Result<PackageManifest, ManifestError> {
    let file = root.join(CLAUDE_PLUGIN_FILE);
    let text = read_text(root, CLAUDE_PLUGIN_FILE)?;
    let plugin: PluginJson = serde_json::from_str(&text).map_err(|e| ManifestError::Syntax {
        file: file.clone(),
        message: format!("{e}; a plugin.json needs at least a string `name`"),
    })?;
    let invalid = |problem: String| ManifestError::Invalid {
        file: file.clone(),
        problem,
    };
    let name = PackageName::new(plugin.name).map_err(|e| invalid(format!("name: {e}")))?;
    let version = match plugin.version {
        None => semver::Version::new(0, 0, 0),
        Some(v) => lenient_version(&v).ok_or_else(|| {
            invalid(format!(
                "version {v:?} is not a semantic version: write MAJOR.MINOR.PATCH, such as \"1.0.0\""
            ))
        })?,
    };
    let dependencies = match plugin.dependencies {
        None => BTreeMap::new(),
        Some(deps) => claude_dependencies(deps).map_err(invalid)?,
    };
    let listed_in = file.display().to_string();
    let mut skills = paths::default_skills(root, name.as_str(), &listed_in)?;
    if let Some(listed) = plugin.skills {
        skills.extend(paths::resolve_skills(
            root,
            &listed.into_vec(),
            name.as_str(),
            &listed_in,
        )?);
        paths::dedup_in_order(&mut skills);
    }
    if skills.is_empty() {
        return Err(ManifestError::NoSkills {
            package: name.to_string(),
            root: root.to_path_buf(),
            hint: "it is a Claude Code plugin without skills (skills/<name>/SKILL.md); skillet installs a plugin's skills only, not its commands, agents, hooks or MCP servers",
        });
    }
    Ok(PackageManifest {
        name,
        version,
        description: plugin.description.unwrap_or_default(),
        license: plugin.license,
        skills,
        dependencies,
        skillet: None,
    })
}

/// A Claude Code `dependencies` list as skillet's map. A bare name accepts any version; a
/// `name@marketplace` is looked up by name (skillet searches every added marketplace).
pub(crate) fn claude_dependencies(
    deps: Vec<ClaudeDependency>,
) -> Result<BTreeMap<PackageName, semver::VersionReq>, String> {
    let mut out = BTreeMap::new();
    for dep in deps {
        let (name, version) = match dep {
            ClaudeDependency::Name(n) => (n, None),
            ClaudeDependency::Full { name, version, .. } => (name, version),
        };
        let bare = name.split_once('@').map_or(name.as_str(), |(n, _)| n);
        let dep_name = PackageName::new(bare).map_err(|e| format!("dependencies: {e}"))?;
        let req = match version {
            None => semver::VersionReq::STAR,
            Some(v) => lenient_req(&v).ok_or_else(|| {
                format!(
                    "dependencies: {bare} version {v:?} is not a version requirement: write one such as \"^2.0\""
                )
            })?,
        };
        out.insert(dep_name, req);
    }
    Ok(out)
}

/// A version as other tools write it: `1.2.3`, `v1.2.3`, `1.2` or `1` (padded with zeros).
pub(crate) fn lenient_version(text: &str) -> Option<semver::Version> {
    let t = text.trim();
    let t = t.strip_prefix(['v', 'V']).unwrap_or(t);
    if let Ok(v) = semver::Version::parse(t) {
        return Some(v);
    }
    let parts: Vec<&str> = t.split('.').collect();
    let numeric = |p: &&str| !p.is_empty() && p.len() <= 9 && p.bytes().all(|b| b.is_ascii_digit());
    if parts.len() > 2 || !parts.iter().all(numeric) {
        return None;
    }
    let mut padded = parts.join(".");
    for _ in parts.len()..3 {
        padded.push_str(".0");
    }
    semver::Version::parse(&padded).ok()
}

/// A requirement as npm writes it too: `>=1.0 <2.0` (comparators separated by spaces).
fn lenient_req(text: &str) -> Option<semver::VersionReq> {
    let t = text.trim();
    semver::VersionReq::parse(t).ok().or_else(|| {
        let joined = t.split_whitespace().collect::<Vec<_>>().join(", ");
        semver::VersionReq::parse(&joined).ok()
    })
}

#[cfg(test)]
mod tests {
    use super::{lenient_req, lenient_version};

    #[test]
    fn versions_as_other_tools_write_them() {
        assert_eq!(
            lenient_version("1.2.3").map(|v| v.to_string()).as_deref(),
            Some("1.2.3")
        );
        assert_eq!(
            lenient_version("v1.2").map(|v| v.to_string()).as_deref(),
            Some("1.2.0")
        );
        assert_eq!(
            lenient_version("2").map(|v| v.to_string()).as_deref(),
            Some("2.0.0")
        );
        assert!(lenient_version("latest").is_none());
        assert!(lenient_version("1.2.3.4").is_none());
        assert!(
            lenient_req(">=1.0 <2.0").is_some_and(|r| r.matches(&semver::Version::new(1, 5, 0)))
        );
        assert!(lenient_req("~2.1.0").is_some());
        assert!(lenient_req("soon").is_none());
    }
}
