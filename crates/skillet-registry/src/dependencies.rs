//! A skill's `dependencies` (other skills, each with a semver requirement), checked once every
//! skill is loaded: a skill whose dependency is missing, broken or of a version that does not
//! match is broken itself, so `validate` and `list` report it and nothing runs it.
//!
//! A dependency is what its name answers to in the registry (the skill of highest precedence,
//! or the working one a broken file of the same name gives way to). A requirement that is not
//! valid semver is already an error of the skill file (skillet-spec validates it).

use std::collections::BTreeMap;

use semver::{Version, VersionReq};
use skillet_spec::{Diagnostic, SkillSpec};

use crate::registry::Registry;

impl Registry {
    /// Marks every skill whose dependencies do not hold as broken. A skill broken this way
    /// breaks those that depend on it in turn, so this repeats until nothing changes (each
    /// round breaks at least one more skill, so it ends); cycles of working skills are fine.
    pub(crate) fn check_dependencies(&mut self) {
        loop {
            let mut findings = Vec::new();
            for (i, entry) in self.entries().iter().enumerate() {
                if !entry.is_valid() {
                    continue;
                }
                if let Some(summary) = &entry.summary {
                    let problems = self.problems_of(&entry.name, &summary.dependencies);
                    findings.extend(problems.into_iter().map(|d| (i, d)));
                }
            }
            if findings.is_empty() {
                return;
            }
            for (i, d) in findings {
                self.add_entry_error(i, d);
            }
        }
    }

    /// What is wrong with `spec`'s dependencies as this registry sees them: one error per
    /// dependency that is missing, broken, of a version that does not match, or whose
    /// requirement is not semver. Empty when they all hold (or there are none).
    ///
    /// `skillet validate FILE` uses it for a file outside discovery.
    pub fn dependency_problems(&self, spec: &SkillSpec) -> Vec<Diagnostic> {
        self.problems_of(&spec.name, &spec.dependencies)
    }

    /// [`Registry::dependency_problems`] of the skill `skill` needing `dependencies`.
    fn problems_of(&self, skill: &str, dependencies: &BTreeMap<String, String>) -> Vec<Diagnostic> {
        let mut problems = Vec::new();
        for (name, req_text) in dependencies {
            let Ok(req) = VersionReq::parse(req_text) else {
                problems.push(
                    Diagnostic::error(format!(
                        "dependency `{name}`: {req_text:?} is not a version requirement"
                    ))
                    .with_hint("write e.g. \"^1.2\", \">=1.0, <2\" or \"*\" in `dependencies`"),
                );
                continue;
            };
            let Some(dep) = self.resolve(name) else {
                let mut hint = format!(
                    "add skill `{name}` at a version matching {req} (install the package that \
                     has it, or create it), or remove it from `dependencies`"
                );
                // The skill itself is never the suggestion (`pdf` needing `pdf-tools`).
                if let Some(close) = self.suggest(name).filter(|c| *c != skill) {
                    hint = format!("did you mean `{close}`? Otherwise {hint}");
                }
                problems.push(
                    Diagnostic::error(format!(
                        "dependency `{name}` ({req}) is missing: no skill of that name was found"
                    ))
                    .with_hint(hint),
                );
                continue;
            };
            if !dep.is_valid() {
                problems.push(
                    Diagnostic::error(format!(
                        "dependency `{name}` ({req}) is broken: {} has errors",
                        dep.path.display()
                    ))
                    .with_hint(format!(
                        "fix it (`skillet validate {name}` shows what is wrong), or remove it \
                         from `dependencies`"
                    )),
                );
                continue;
            }
            let declared = dep.summary.as_ref().map_or("", |s| s.version.as_str());
            match Version::parse(declared) {
                Ok(version) if req.matches(&version) => {}
                Ok(version) => problems.push(
                    Diagnostic::error(format!(
                        "dependency `{name}` is version {version}, but this skill needs {req}"
                    ))
                    .with_hint(format!(
                        "install a version of `{name}` that matches {req} ({} is {version}), \
                         or change the requirement in `dependencies`",
                        dep.path.display()
                    )),
                ),
                Err(_) => problems.push(
                    Diagnostic::error(format!(
                        "dependency `{name}` declares version {declared:?}, which is not semver, \
                         so it cannot match {req}"
                    ))
                    .with_hint(format!(
                        "give {} a version such as \"1.0.0\"",
                        dep.path.display()
                    )),
                ),
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::layout::{DirKind, Scope, SkillDir};
    use crate::registry::Registry;

    fn skill(dir: &Path, name: &str, version: &str, deps: &str) {
        let text = format!(
            r#"{{"name": "{name}", "description": "d", "version": "{version}",
                "type": "code_inline", "command": "/bin/true", "dependencies": {{{deps}}}}}"#
        );
        std::fs::write(dir.join(format!("{name}.json")), text).expect("write a skill");
    }

    fn registry(dir: &Path) -> Registry {
        Registry::from_dirs(vec![SkillDir {
            path: dir.to_path_buf(),
            scope: Scope::Workspace,
            kind: DirKind::Skillet,
        }])
    }

    fn errors(registry: &Registry, name: &str) -> Vec<String> {
        registry
            .resolve(name)
            .map(|e| e.errors().map(|d| d.message.clone()).collect())
            .unwrap_or_default()
    }

    #[test]
    fn a_broken_dependency_breaks_its_dependents_in_turn() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        skill(dir.path(), "top", "1.0.0", r#""middle": "^1""#);
        skill(dir.path(), "middle", "1.0.0", r#""bottom": "^2""#);
        skill(dir.path(), "bottom", "1.0.0", "");
        let registry = registry(dir.path());
        assert!(registry.resolve("bottom").is_some_and(|e| e.is_valid()));
        assert_eq!(
            errors(&registry, "middle"),
            ["dependency `bottom` is version 1.0.0, but this skill needs ^2"]
        );
        let top = errors(&registry, "top");
        assert_eq!(top.len(), 1, "{top:?}");
        assert!(
            top[0].starts_with("dependency `middle` (^1) is broken: "),
            "{top:?}"
        );
    }

    #[test]
    fn a_cycle_of_working_skills_is_fine() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        skill(dir.path(), "ping", "1.0.0", r#""pong": "^1""#);
        skill(dir.path(), "pong", "1.2.0", r#""ping": "1""#);
        let registry = registry(dir.path());
        for name in ["ping", "pong"] {
            assert!(
                registry.resolve(name).is_some_and(|e| e.is_valid()),
                "{name}"
            );
        }
    }
}
