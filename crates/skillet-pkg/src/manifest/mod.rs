//! A package's manifest: skillet's `skillet-package.toml`, or read-only a Claude Code plugin's
//! `.claude-plugin/plugin.json` with its `skills/` folder, or a folder that is itself one skill.
//!
//! Everything read here is untrusted: each skill path is checked lexically and then on disk
//! ([`paths`]), the manifest files are opened beneath the package's root so a symbolic link
//! cannot make skillet read a file outside it, and errors name the file and what to do.

mod claude_plugin;
pub(crate) mod paths;
mod skillet;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use skillet_spec::files::FileError;

use crate::PackageName;
use crate::index::IndexEntry;

pub(crate) use claude_plugin::{ClaudeDependency, OneOrMany, claude_dependencies, lenient_version};

/// skillet's own manifest file, at a package's root.
pub const MANIFEST_FILE: &str = "skillet-package.toml";

/// A Claude Code plugin's manifest, relative to the plugin's root.
pub const CLAUDE_PLUGIN_FILE: &str = ".claude-plugin/plugin.json";

/// What to do about a skillet package, or an index entry, without skills.
pub(crate) const NO_SKILLS_LISTED: &str = "list them in `skills = [...]` of skillet-package.toml (or the index entry's `skills`), or put each in its own folder under skills/";

/// The largest manifest file skillet reads, in bytes.
pub const MAX_MANIFEST_BYTES: u64 = 1024 * 1024;

/// What a package is, whatever file described it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageManifest {
    /// The package's name.
    pub name: PackageName,
    /// Its version (`0.0.0` when a Claude Code plugin names none).
    pub version: semver::Version,
    /// One line saying what it is for.
    #[serde(default)]
    pub description: String,
    /// An SPDX expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    /// The skills it contains: paths relative to the package root, each a `<name>.json` file, a
    /// `<name>/skill.json` folder or an Agent Skills `<name>/SKILL.md` folder; `"."` when the
    /// package's root is itself the one skill. Already checked: inside the package, resolved
    /// through symbolic links, never through `.git` or `.skillet`.
    #[serde(default)]
    pub skills: Vec<String>,
    /// Other packages it needs, with semver requirements.
    #[serde(default)]
    pub dependencies: BTreeMap<PackageName, semver::VersionReq>,
    /// The skillet versions it works with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skillet: Option<semver::VersionReq>,
}

/// Why a package's manifest could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The folder has none of the files that make a package.
    #[error(
        "{} is not a package: it has no {MANIFEST_FILE}, no {CLAUDE_PLUGIN_FILE} and no SKILL.md or skill.json at its root; add a {MANIFEST_FILE} (see docs/packages.md)",
        root.display()
    )]
    NotAPackage {
        /// The folder.
        root: PathBuf,
    },
    /// A folder of `skills/` with no manifest: a Claude Code plugin, which its marketplace
    /// entry defines (its name and version are not in the folder).
    #[error(
        "{} has skills/ but no {MANIFEST_FILE} or {CLAUDE_PLUGIN_FILE}, so nothing in it says the package's name or version: a Claude Code plugin like this is defined by its marketplace entry, so install it from there (`skillet marketplace add OWNER/REPO`, then `skillet install NAME@MARKETPLACE`), or add a {MANIFEST_FILE} (see docs/packages.md)",
        root.display()
    )]
    PluginWithoutManifest {
        /// The folder.
        root: PathBuf,
    },
    /// The package's folder itself cannot be opened.
    #[error("cannot open the package folder {}: {source}", root.display())]
    Root {
        /// The folder.
        root: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A manifest file could not be read.
    #[error("cannot read {}: it {source}", file.display())]
    Read {
        /// The file.
        file: PathBuf,
        /// Why.
        source: FileError,
    },
    /// A manifest file is not valid TOML or JSON, or has a key skillet does not know.
    #[error("{}: {message}", file.display())]
    Syntax {
        /// The file.
        file: PathBuf,
        /// The parser's message (with the line and column, and the key it did not expect).
        message: String,
    },
    /// A value in a manifest is wrong.
    #[error("{}: {problem}", file.display())]
    Invalid {
        /// The file.
        file: PathBuf,
        /// What is wrong and what to write instead.
        problem: String,
    },
    /// The package needs a newer skillet than this one.
    #[error(
        "package {package} needs skillet {requires} ({}), but this is skillet {running}: update skillet, or install an older version of {package}",
        file.display()
    )]
    TooOld {
        /// The manifest that says so.
        file: PathBuf,
        /// The package.
        package: String,
        /// The skillet versions it works with.
        requires: semver::VersionReq,
        /// This skillet's version.
        running: semver::Version,
    },
    /// A skill path is hostile, missing or not a skill.
    #[error(
        "package {package}: the skill path {path:?} listed in {listed_in} {problem}; fix the list, or ask the package's author to"
    )]
    SkillPath {
        /// The package.
        package: String,
        /// Where the path was written (a file, or an index entry).
        listed_in: String,
        /// The path as written.
        path: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The package contains no skill at all.
    #[error("package {package} ({}) contains no skill: {hint}", root.display())]
    NoSkills {
        /// The package.
        package: String,
        /// Its folder.
        root: PathBuf,
        /// What to do, for the kind of package it is.
        hint: &'static str,
    },
}

/// Reads the package whose files are at `root`: its `skillet-package.toml`, else its
/// `.claude-plugin/plugin.json`, else the one skill at its root (`SKILL.md` or `skill.json`: a
/// one-skill package named after the skill).
pub fn read_package(root: &Path) -> Result<PackageManifest, ManifestError> {
    let root = canonical_root(root)?;
    own_manifest(&root)?.ok_or_else(|| {
        if root.join("skills").is_dir() {
            ManifestError::PluginWithoutManifest { root }
        } else {
            ManifestError::NotAPackage { root }
        }
    })
}

/// Reads the package at `root` as the index `entry` describes it, for a package fetched from an
/// index or a marketplace.
///
/// - When the entry lists `skills` (a Claude Code marketplace entry such as
///   `"skills": ["./skills/xlsx"]` with `"source": "./"`), the package is exactly those skills,
///   each checked like any skill path; otherwise the package's own list (or default) stands.
/// - The package is known by the entry's name, the name the user asked for.
/// - When the folder has no manifest of its own, the entry is the whole definition: its
///   version, description and dependencies, and its skills (or every skill under `skills/`).
///   Otherwise the folder's own version, description and dependencies stand, the entry's
///   dependencies added to them.
pub fn read_package_for(root: &Path, entry: &IndexEntry) -> Result<PackageManifest, ManifestError> {
    let root = canonical_root(root)?;
    let listed_in = format!("the index entry for {}", entry.name);
    let mut manifest = match own_manifest(&root)? {
        Some(mut own) => {
            // A skillet-package.toml names its package: an index may not rename it, or an
            // entry could pass a package off under another (trusted-looking) name. A Claude
            // plugin takes its marketplace entry's name (Claude Code's own rule: the entry
            // defines the plugin, and several entries may share one folder), and a folder
            // that is one skill takes it too (a skill's name is not a package's).
            if present(&root.join(MANIFEST_FILE)) && own.name != entry.name {
                return Err(ManifestError::Invalid {
                    file: root.join(MANIFEST_FILE),
                    problem: format!(
                        "names the package {}, but the index entry that points here names it {}; the names must match: fix the index entry (or ask its publisher to)",
                        own.name, entry.name
                    ),
                });
            }
            own.name = entry.name.clone();
            if own.description.is_empty() {
                own.description = entry.description.clone();
            }
            for (dep, req) in &entry.dependencies {
                own.dependencies
                    .entry(dep.clone())
                    .or_insert_with(|| req.clone());
            }
            own
        }
        None => PackageManifest {
            name: entry.name.clone(),
            version: entry.version.clone(),
            description: entry.description.clone(),
            license: None,
            // The entry's own list, when it has one, replaces the default below.
            skills: if entry.skills.is_empty() {
                paths::default_skills(&root, entry.name.as_str(), &listed_in)?
            } else {
                Vec::new()
            },
            dependencies: entry.dependencies.clone(),
            skillet: None,
        },
    };
    if !entry.skills.is_empty() {
        manifest.skills =
            paths::resolve_skills(&root, &entry.skills, entry.name.as_str(), &listed_in)?;
    }
    if manifest.skills.is_empty() {
        return Err(ManifestError::NoSkills {
            package: entry.name.to_string(),
            root,
            hint: NO_SKILLS_LISTED,
        });
    }
    Ok(manifest)
}

/// The package's folder, resolved once: every check below compares against this path.
fn canonical_root(root: &Path) -> Result<PathBuf, ManifestError> {
    std::fs::canonicalize(root).map_err(|source| ManifestError::Root {
        root: root.to_path_buf(),
        source,
    })
}

/// The manifest the folder itself has, if any, in order of precedence.
fn own_manifest(root: &Path) -> Result<Option<PackageManifest>, ManifestError> {
    if present(&root.join(MANIFEST_FILE)) {
        return skillet::read(root).map(Some);
    }
    if present(&root.join(CLAUDE_PLUGIN_FILE)) {
        return claude_plugin::read(root).map(Some);
    }
    if let Some(file) = skillet_registry::skill_manifest(root) {
        return one_skill(root, &file).map(Some);
    }
    Ok(None)
}

/// Whether something is at `path`, a dangling or escaping link included: such a manifest is
/// then refused when read, rather than the package quietly falling back to another format.
fn present(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

/// Reads a manifest file beneath the package root: a link leading out, a hard link (another
/// file's contents under the manifest's name, which a parse error would quote), a FIFO or a
/// file past [`MAX_MANIFEST_BYTES`] is refused.
fn read_text(root: &Path, rel: &str) -> Result<String, ManifestError> {
    let file = root.join(rel);
    let bytes = skillet_spec::files::read_reference(root, Path::new(rel), MAX_MANIFEST_BYTES)
        .map_err(|source| ManifestError::Read {
            file: file.clone(),
            source,
        })?;
    String::from_utf8(bytes).map_err(|_| ManifestError::Invalid {
        file,
        problem: "is not UTF-8 text: save it as UTF-8".into(),
    })
}

/// A folder whose root is one skill: the package is named after the skill.
fn one_skill(root: &Path, file: &Path) -> Result<PackageManifest, ManifestError> {
    let loaded = skillet_spec::load_file_within(file, root);
    let canonical = loaded.canonical.as_ref();
    let text = |key: &str| {
        canonical
            .and_then(|c| c.get(key))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let Some(declared) = loaded.declared_name() else {
        let why = loaded
            .diagnostics
            .iter()
            .find(|d| d.is_error())
            .map(|d| d.message.clone())
            .unwrap_or_else(|| "it names no skill".into());
        return Err(ManifestError::Invalid {
            file: file.to_path_buf(),
            problem: format!(
                "this folder is a one-skill package, but its skill has no usable name ({why}); give the skill a `name`"
            ),
        });
    };
    let name = PackageName::new(declared).map_err(|e| ManifestError::Invalid {
        file: file.to_path_buf(),
        problem: format!("this one-skill package is named after its skill, and {e}"),
    })?;
    Ok(PackageManifest {
        name,
        version: text("version")
            .and_then(|v| lenient_version(&v))
            .unwrap_or(semver::Version::new(0, 0, 0)),
        description: text("description").unwrap_or_default(),
        license: text("license"),
        skills: vec![".".into()],
        dependencies: BTreeMap::new(),
        skillet: None,
    })
}

/// This skillet's version, which a package's `skillet = "…"` requirement is checked against.
pub fn skillet_version() -> semver::Version {
    // The crate's version is the workspace's, which is skillet's; it always parses.
    semver::Version::parse(env!("CARGO_PKG_VERSION")).unwrap_or(semver::Version::new(0, 0, 0))
}
