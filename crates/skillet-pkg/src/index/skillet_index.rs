//! skillet's own index: `{"skillet_index": 1, "name": …, "packages": [ … ]}`.
//!
//! Strict about each entry (an unknown key, a missing sha256 or a hostile path leaves that
//! entry out, with a warning) and lenient about the whole (the other entries still load).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{
    Index, IndexEntry, IndexError, IndexWarning, Resolver, SKILLET_INDEX_VERSION, check_git_ref,
    check_sha256, check_subdir, entry_label, push_entry,
};
use crate::PackageName;
use crate::manifest::paths::normalize_relative;
use crate::source::Source;

/// Keys of the index itself.
const TOP_KEYS: &[&str] = &[
    "$schema",
    "skillet_index",
    "name",
    "description",
    "packages",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    name: String,
    version: String,
    #[serde(default)]
    description: String,
    source: Value,
    #[serde(default)]
    dependencies: BTreeMap<String, String>,
    #[serde(default)]
    skills: Vec<String>,
}

pub(super) fn parse(top: Map<String, Value>, resolver: &Resolver<'_>) -> Result<Index, IndexError> {
    let origin = resolver.origin.to_string();
    match top.get("skillet_index") {
        Some(Value::Number(n)) if n.as_u64() == Some(SKILLET_INDEX_VERSION) => {}
        Some(other) => {
            return Err(IndexError::UnsupportedVersion {
                origin,
                found: other.to_string(),
            });
        }
        None => {}
    }
    let mut index = Index {
        name: top.get("name").and_then(Value::as_str).map(str::to_owned),
        ..Index::default()
    };
    for key in top.keys() {
        if !TOP_KEYS.contains(&key.as_str()) {
            index.warnings.push(IndexWarning {
                entry: "(the index itself)".into(),
                message: format!(
                    "unknown key `{key}` ignored; an index has {}",
                    TOP_KEYS.join(", ")
                ),
            });
        }
    }
    let Some(Value::Array(packages)) = top.get("packages") else {
        return Err(IndexError::NotAnIndex {
            origin,
            reason: "it is a skillet index without a `packages` array".into(),
        });
    };
    for (i, value) in packages.iter().enumerate() {
        match entry(value, resolver) {
            Ok(e) => push_entry(&mut index, e),
            Err(message) => index.warnings.push(IndexWarning {
                entry: entry_label(value, i),
                message,
            }),
        }
    }
    Ok(index)
}

fn entry(value: &Value, resolver: &Resolver<'_>) -> Result<IndexEntry, String> {
    let raw = RawEntry::deserialize(value).map_err(|e| e.to_string())?;
    let name = PackageName::new(raw.name).map_err(|e| e.to_string())?;
    let version = semver::Version::parse(raw.version.trim())
        .map_err(|e| format!("version {:?} is not a semantic version ({e})", raw.version))?;
    let mut dependencies = BTreeMap::new();
    for (dep, req) in raw.dependencies {
        let dep_name = PackageName::new(dep.as_str()).map_err(|e| format!("dependencies: {e}"))?;
        let req = semver::VersionReq::parse(req.trim()).map_err(|e| {
            format!("dependencies: {dep} = {req:?} is not a version requirement ({e})")
        })?;
        dependencies.insert(dep_name, req);
    }
    let mut skills = Vec::new();
    for s in &raw.skills {
        let rel = normalize_relative(s).map_err(|e| format!("skill path {s:?} {e}"))?;
        skills.push(if rel.is_empty() { ".".into() } else { rel });
    }
    Ok(IndexEntry {
        name,
        version,
        description: raw.description,
        source: source(&raw.source, resolver)?,
        dependencies,
        skills,
    })
}

/// The keys each kind of source may have, besides `type`.
fn source_keys(kind: &str) -> Option<&'static [&'static str]> {
    match kind {
        "dir" => Some(&["path"]),
        "git" => Some(&["url", "reference", "subdir"]),
        "archive" => Some(&["url", "sha256"]),
        _ => None,
    }
}

/// An entry's `source`: `{"type": "dir" | "git" | "archive", …}`, the shape of [`Source`].
fn source(value: &Value, resolver: &Resolver<'_>) -> Result<Source, String> {
    let Value::Object(obj) = value else {
        return Err("source is not an object such as {\"type\": \"git\", \"url\": …}".into());
    };
    let kind = obj.get("type").and_then(Value::as_str).unwrap_or_default();
    let Some(allowed) = source_keys(kind) else {
        return Err(format!(
            "source type {kind:?} is not one skillet knows: use \"dir\", \"git\" or \"archive\""
        ));
    };
    for key in obj.keys() {
        if key != "type" && !allowed.contains(&key.as_str()) {
            return Err(format!(
                "source has an unknown key `{key}`; a {kind} source has {}",
                allowed.join(", ")
            ));
        }
    }
    let text = |key: &str| -> Result<Option<&str>, String> {
        match obj.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(format!("source `{key}` is not a string")),
        }
    };
    let required = |key: &str| -> Result<&str, String> {
        text(key)?.ok_or_else(|| format!("a {kind} source needs `{key}`"))
    };
    match kind {
        "dir" => {
            let path = required("path")?;
            resolver.relative(path)
        }
        "git" => {
            let url = resolver.git_url(required("url")?)?;
            let reference = match text("reference")? {
                Some(r) => {
                    check_git_ref(r)?;
                    Some(r.to_owned())
                }
                None => None,
            };
            let subdir = match text("subdir")? {
                Some(s) => check_subdir(s)?,
                None => None,
            };
            Ok(Source::Git {
                url,
                reference,
                subdir,
            })
        }
        _ => {
            let url = resolver.archive_url(required("url")?)?;
            let sha256 = text("sha256")?.ok_or(
                "an archive source needs `sha256`: skillet never installs an archive it cannot check",
            )?;
            Ok(Source::Archive {
                url,
                sha256: check_sha256(sha256)?,
            })
        }
    }
}
