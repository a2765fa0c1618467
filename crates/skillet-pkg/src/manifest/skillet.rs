//! skillet's own manifest, `skillet-package.toml`. Strict: a key skillet does not know is an
//! error naming it, so a typo (`skils = [...]`) never passes silently.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use skillet_spec::display::{Lines, terminal_safe};

use super::{MANIFEST_FILE, ManifestError, PackageManifest, paths, read_text, skillet_version};
use crate::PackageName;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestFile {
    package: PackageSection,
    #[serde(default)]
    dependencies: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PackageSection {
    name: String,
    version: String,
    #[serde(default)]
    description: String,
    license: Option<String>,
    skillet: Option<String>,
    skills: Option<Vec<String>>,
}

/// Reads `skillet-package.toml` at `root` (canonical).
pub(super) fn read(root: &Path) -> Result<PackageManifest, ManifestError> {
    let file = root.join(MANIFEST_FILE);
    let text = read_text(root, MANIFEST_FILE)?;
    let parsed: ManifestFile = toml::from_str(&text).map_err(|e| ManifestError::Syntax {
        file: file.clone(),
        // The parser quotes the offending line: made inert for the terminal.
        message: terminal_safe(e.to_string().trim_end(), Lines::Keep, 2000).into_owned(),
    })?;
    let invalid = |problem: String| ManifestError::Invalid {
        file: file.clone(),
        problem,
    };
    let p = parsed.package;
    let name = PackageName::new(p.name).map_err(|e| invalid(format!("[package] name: {e}")))?;
    let version = semver::Version::parse(p.version.trim()).map_err(|e| {
        invalid(format!(
            "[package] version {:?} is not a semantic version ({e}): write MAJOR.MINOR.PATCH, such as \"1.0.0\"",
            p.version
        ))
    })?;
    let skillet = match p.skillet {
        None => None,
        Some(req) => {
            let parsed = semver::VersionReq::parse(req.trim()).map_err(|e| {
                invalid(format!(
                    "[package] skillet {req:?} is not a version requirement ({e}): write one such as \">=0.1\""
                ))
            })?;
            let running = skillet_version();
            if !parsed.matches(&running) {
                return Err(ManifestError::TooOld {
                    file,
                    package: name.to_string(),
                    requires: parsed,
                    running,
                });
            }
            Some(parsed)
        }
    };
    let mut dependencies = BTreeMap::new();
    for (dep, req) in parsed.dependencies {
        let dep_name =
            PackageName::new(dep.as_str()).map_err(|e| invalid(format!("[dependencies]: {e}")))?;
        let req = semver::VersionReq::parse(req.trim()).map_err(|e| {
            invalid(format!(
                "[dependencies] {dep} = {req:?} is not a version requirement ({e}): write one such as \"^1.2\""
            ))
        })?;
        dependencies.insert(dep_name, req);
    }
    let listed_in = file.display().to_string();
    let skills = match p.skills {
        Some(list) => paths::resolve_skills(root, &list, name.as_str(), &listed_in)?,
        None => paths::default_skills(root, name.as_str(), &listed_in)?,
    };
    if skills.is_empty() {
        return Err(ManifestError::NoSkills {
            package: name.to_string(),
            root: root.to_path_buf(),
            hint: super::NO_SKILLS_LISTED,
        });
    }
    Ok(PackageManifest {
        name,
        version,
        description: p.description,
        license: p.license,
        skills,
        dependencies,
        skillet,
    })
}
