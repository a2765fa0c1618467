//! A Claude Code marketplace, read-only: `.claude-plugin/marketplace.json`.
//!
//! Lenient like Claude Code about keys skillet does not use (`owner`, `author`, `category`,
//! `strict`, `commands`, `hooks`…); an entry whose source skillet cannot fetch (`npm`, `pip`)
//! or whose name, paths or URLs are wrong is left out with a warning.

use std::path::Path;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{
    Index, IndexEntry, IndexWarning, Resolver, check_git_ref, check_subdir, entry_label, push_entry,
};
use crate::PackageName;
use crate::manifest::paths::normalize_relative;
use crate::manifest::{
    CLAUDE_PLUGIN_FILE, ClaudeDependency, MAX_MANIFEST_BYTES, OneOrMany, claude_dependencies,
    lenient_version,
};
use crate::source::Source;

#[derive(Deserialize)]
struct RawPlugin {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    version: Option<String>,
    source: Value,
    #[serde(default)]
    skills: Option<OneOrMany>,
    #[serde(default)]
    dependencies: Option<Vec<ClaudeDependency>>,
}

pub(super) fn parse(top: Map<String, Value>, resolver: &Resolver<'_>) -> Index {
    let mut index = Index {
        name: top.get("name").and_then(Value::as_str).map(str::to_owned),
        ..Index::default()
    };
    // `metadata.pluginRoot`: the folder a bare source name (`"formatter"`) is found in.
    let plugin_root = top
        .get("metadata")
        .and_then(|m| m.get("pluginRoot"))
        .and_then(Value::as_str);
    let plugin_root = match plugin_root.map(normalize_relative) {
        None => None,
        Some(Ok(root)) => Some(root),
        Some(Err(e)) => {
            index.warnings.push(IndexWarning {
                entry: "(the marketplace itself)".into(),
                message: format!("metadata.pluginRoot {e}; bare plugin sources are refused"),
            });
            Some(String::from("\0"))
        }
    };
    let plugins = match top.get("plugins") {
        Some(Value::Array(p)) => p.as_slice(),
        _ => &[],
    };
    for (i, value) in plugins.iter().enumerate() {
        match entry(value, resolver, plugin_root.as_deref()) {
            Ok(e) => push_entry(&mut index, e),
            Err(message) => index.warnings.push(IndexWarning {
                entry: entry_label(value, i),
                message,
            }),
        }
    }
    index
}

fn entry(
    value: &Value,
    resolver: &Resolver<'_>,
    plugin_root: Option<&str>,
) -> Result<IndexEntry, String> {
    let raw = RawPlugin::deserialize(value).map_err(|e| e.to_string())?;
    let name = PackageName::new(raw.name).map_err(|e| e.to_string())?;
    let source = source(&raw.source, resolver, plugin_root)?;
    let mut skills = Vec::new();
    for s in raw.skills.map(OneOrMany::into_vec).unwrap_or_default() {
        let rel = normalize_relative(&s).map_err(|e| format!("skill path {s:?} {e}"))?;
        skills.push(if rel.is_empty() { ".".into() } else { rel });
    }
    let version = match raw.version {
        Some(v) => {
            lenient_version(&v).ok_or_else(|| format!("version {v:?} is not a semantic version"))?
        }
        // Only a folder of the marketplace itself is on this machine to look into.
        None => raw
            .source
            .is_string()
            .then(|| local_plugin_version(&source, resolver.local_root()))
            .flatten()
            .unwrap_or(semver::Version::new(0, 0, 0)),
    };
    let dependencies = match raw.dependencies {
        Some(deps) => claude_dependencies(deps)?,
        None => Default::default(),
    };
    Ok(IndexEntry {
        name,
        version,
        description: raw.description.unwrap_or_default(),
        source,
        dependencies,
        skills,
    })
}

/// A plugin's `source`: a path relative to the marketplace, or an object whose `source` says
/// which kind: `github`, `url` and `git-subdir` are git repositories skillet fetches.
fn source(
    value: &Value,
    resolver: &Resolver<'_>,
    plugin_root: Option<&str>,
) -> Result<Source, String> {
    let obj = match value {
        Value::String(path) => {
            // Only a bare name (`formatter`) is looked for under pluginRoot; anything else,
            // `./x`, `../x` or `/x` included, is resolved (and checked) as written.
            let explicit = !path.starts_with(|c: char| c.is_ascii_alphanumeric());
            return match plugin_root {
                Some("\0") if !explicit => Err(format!(
                    "source {path:?} is a bare name, and the marketplace's pluginRoot is refused"
                )),
                Some(root) if !explicit && !root.is_empty() => {
                    resolver.relative(&format!("{root}/{path}"))
                }
                _ => resolver.relative(path),
            };
        }
        Value::Object(obj) => obj,
        _ => return Err("source is neither a path nor an object".into()),
    };
    let text = |key: &str| -> Result<Option<&str>, String> {
        match obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(format!("source `{key}` is not a string")),
        }
    };
    let kind = text("source")?.unwrap_or_default();
    let url = match kind {
        "github" => {
            let repo = text("repo")?.ok_or("a github source needs `repo` (\"owner/name\")")?;
            check_github_repo(repo)?;
            format!("https://github.com/{repo}.git")
        }
        "url" | "git" | "git-subdir" => {
            let url = text("url")?.ok_or_else(|| format!("a {kind} source needs `url`"))?;
            resolver.git_url(url)?
        }
        "" => {
            return Err(
                "source has no `source` kind (\"github\", \"url\" or \"git-subdir\")".into(),
            );
        }
        other => {
            return Err(format!(
                "source kind {other:?} is not supported by skillet (it fetches relative folders, \"github\", \"url\" and \"git-subdir\" sources)"
            ));
        }
    };
    // `sha` pins the exact commit; `ref` (a branch or tag) is the fallback.
    let reference = match (text("sha")?, text("ref")?) {
        (Some(sha), _) => {
            if !(sha.len() == 40 || sha.len() == 64) || !sha.bytes().all(|b| b.is_ascii_hexdigit())
            {
                return Err(format!("sha {sha:?} is not a full git commit hash"));
            }
            Some(sha.to_ascii_lowercase())
        }
        (None, Some(r)) => {
            check_git_ref(r)?;
            Some(r.to_owned())
        }
        (None, None) => None,
    };
    let subdir = match text("path")? {
        Some(p) => check_subdir(p)?,
        None => None,
    };
    if kind == "git-subdir" && subdir.is_none() {
        return Err(
            "a git-subdir source needs `path`, the plugin's folder in the repository".into(),
        );
    }
    Ok(Source::Git {
        url,
        reference,
        subdir,
    })
}

/// `owner/name`, as GitHub spells repositories.
fn check_github_repo(repo: &str) -> Result<(), String> {
    let ok_part = |p: &str| {
        !p.is_empty()
            && p != "."
            && p != ".."
            && !p.starts_with('-')
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    };
    match repo.split_once('/') {
        Some((owner, name)) if ok_part(owner) && ok_part(name) => Ok(()),
        _ => Err(format!(
            "github repo {repo:?} is not of the form \"owner/name\""
        )),
    }
}

/// The version in the plugin.json of a relative folder source, when the marketplace is on this
/// machine, for an entry that gives none (Claude Code marketplaces often leave it to the plugin).
fn local_plugin_version(source: &Source, root: Option<&Path>) -> Option<semver::Version> {
    let root = root?;
    let folder = match source {
        Source::Dir { path } => path.clone(),
        Source::Git {
            subdir: Some(sub), ..
        } => root.join(sub),
        Source::Git { subdir: None, .. } => root.to_path_buf(),
        Source::Archive { .. } => return None,
    };
    if !folder.starts_with(root) {
        return None;
    }
    let bytes = skillet_spec::files::read_reference(
        &folder,
        Path::new(CLAUDE_PLUGIN_FILE),
        MAX_MANIFEST_BYTES,
    )
    .ok()?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    lenient_version(value.get("version")?.as_str()?)
}
