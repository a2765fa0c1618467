//! Turning loaded skill files into a registry: which file answers to each name (precedence,
//! shadowing, a broken file handing its name to a working one, a tampered package skill keeping
//! its own), aliases, fallback chains, and the final order.
//!
//! Apart from `registry.rs`, which finds and reads the files, because these rules decide who a
//! name runs: a change here is a change to name hijacking, and is reviewed as one.

use std::path::{Path, PathBuf};

use skillet_spec::{Diagnostic, SkillFormat};

use super::{Loaded, Registry, SkillEntry};
use crate::discover::Candidate;
use crate::layout::{DirKind, SkillDir};

impl Registry {
    /// The registry from loaded candidates, in precedence order.
    #[allow(clippy::vec_box)] // see load_all: freed one by one as they are moved in
    pub(super) fn build(
        dirs: Vec<SkillDir>,
        warnings: Vec<Diagnostic>,
        candidates: Vec<(usize, Candidate)>,
        loaded: Vec<Box<Loaded>>,
    ) -> Registry {
        let mut registry = Registry {
            dirs,
            warnings,
            ..Registry::default()
        };
        // Exactly: growing by doubling would hold up to twice the entries at the last copy.
        registry.entries.reserve_exact(loaded.len());
        for ((dir_index, candidate), loaded) in candidates.into_iter().zip(loaded) {
            registry.insert(dir_index, candidate, *loaded);
        }
        registry.resolve_aliases();
        registry.check_fallbacks();
        registry.check_dependencies();
        registry.entries_sorted();
        registry
    }

    fn insert(&mut self, dir_index: usize, candidate: Candidate, loaded: Loaded) {
        let dir = &self.dirs[dir_index];
        let fallback_name = fallback_name(&candidate.path);
        let name = loaded.declared.unwrap_or_else(|| fallback_name.clone());
        let mut diagnostics: Vec<Diagnostic> = candidate
            .warnings
            .into_iter()
            .map(|d| d.in_file(&candidate.path))
            .collect();
        // An error found before loading (a package's file changed since install) makes the
        // skill unusable whatever the file says.
        let failed_before = diagnostics.iter().any(Diagnostic::is_error);
        diagnostics.extend(loaded.diagnostics);
        if loaded.summary.is_some() && name != fallback_name && dir.kind != DirKind::AgentSkills {
            diagnostics.push(
                Diagnostic::warning(format!(
                    "the file is named `{fallback_name}` but declares skill `{name}`"
                ))
                .with_hint("rename one so they match; skillet uses the declared name")
                .in_file(&candidate.path),
            );
        }
        // Nothing reads the scripts of a summary (they are not listed).
        let scripts = if loaded.format == SkillFormat::AgentSkill && loaded.spec.is_some() {
            list_scripts(&candidate.path)
        } else {
            Vec::new()
        };
        let entry = SkillEntry {
            name: name.clone(),
            spec: loaded.spec.filter(|_| !failed_before),
            summary: loaded.summary.filter(|_| !failed_before),
            path: candidate.path,
            scope: dir.scope,
            dir_kind: dir.kind,
            format: loaded.format,
            diagnostics,
            shadows: Vec::new(),
            scripts,
            used_instead: None,
            tampered: failed_before && candidate.package.is_some(),
            package: candidate.package,
        };
        let index = self.entries.len();
        let tampered = entry.tampered;
        self.place(dir_index, name.clone(), entry);
        // A tampered file may declare another name than it was installed with: it also keeps
        // the name its folder gives it, so the rename does not free that name either.
        if tampered && fallback_name != name && self.by_name.get(&name) == Some(&index) {
            let free = self
                .by_name
                .get(&fallback_name)
                .is_none_or(|&i| !self.entries[i].is_valid() && !self.entries[i].tampered);
            if free {
                self.by_name.insert(fallback_name, index);
            }
        }
    }

    /// Gives `entry` the name `name`, or records it as shadowed or broken, by precedence.
    fn place(&mut self, dir_index: usize, name: String, mut entry: SkillEntry) {
        let dir = &self.dirs[dir_index];
        match self.by_name.get(&name).copied() {
            Some(winner)
                if self.entries[winner].path.parent() == entry.path.parent()
                    || same_dir(&self.entries[winner], dir) =>
            {
                let other = self.entries[winner].path.display().to_string();
                entry.add_error(
                    Diagnostic::error(format!("skill name `{name}` is already used by {other}"))
                        .with_hint("skill names must be unique within a directory; rename one"),
                );
                self.entries.push(entry);
            }
            // A broken file must not hide a working one of the same name further down: both
            // are listed, and the working one answers to the name. A tampered package skill
            // is never passed over, and takes the name from a broken one above it.
            Some(broken)
                if !self.entries[broken].is_valid()
                    && !self.entries[broken].tampered
                    && (entry.is_valid() || entry.tampered) =>
            {
                let b = &mut self.entries[broken];
                let why = format!(
                    "skill `{name}`: {} ({}) is broken, so {} ({}) is used instead",
                    b.path.display(),
                    b.origin(),
                    entry.path.display(),
                    entry.origin()
                );
                b.diagnostics.push(
                    Diagnostic::warning(why.clone())
                        .with_hint("fix the broken file, and it is used again")
                        .in_file(&b.path),
                );
                b.used_instead = Some(entry.path.clone());
                self.warnings.push(
                    Diagnostic::warning(why).with_hint("fix the broken file, and it is used again"),
                );
                self.by_name.insert(name, self.entries.len());
                self.entries.push(entry);
            }
            Some(winner) => {
                let w = &mut self.entries[winner];
                self.warnings.push(
                    Diagnostic::warning(format!(
                        "skill `{name}`: {} ({}) shadows {} ({})",
                        w.path.display(),
                        w.origin(),
                        entry.path.display(),
                        entry.origin()
                    ))
                    .with_hint("the first one is used; rename or remove the other to silence this"),
                );
                w.shadows.push(entry.path);
            }
            None => {
                self.by_name.insert(name, self.entries.len());
                self.entries.push(entry);
            }
        }
    }

    fn resolve_aliases(&mut self) {
        for i in 0..self.entries.len() {
            let aliases = self.entries[i].aliases().to_vec();
            for alias in aliases {
                let clash = match (self.by_name.get(&alias), self.aliases.get(&alias)) {
                    (Some(&j), _) => Some(format!(
                        "alias `{alias}` is the name of skill {}",
                        self.entries[j].path.display()
                    )),
                    (None, Some(&j)) => Some(format!(
                        "alias `{alias}` is also an alias of skill `{}` ({})",
                        self.entries[j].name,
                        self.entries[j].path.display()
                    )),
                    (None, None) => None,
                };
                match clash {
                    Some(message) => self.entries[i].add_error(
                        Diagnostic::error(message).with_hint("remove or change the alias"),
                    ),
                    None => {
                        self.aliases.insert(alias, i);
                    }
                }
            }
        }
    }

    /// Follows every skill's `fallback` chain: a chain that comes back to a skill is a cycle (an
    /// error: calls would go round forever), a fallback that names no skill is a warning.
    fn check_fallbacks(&mut self) {
        let mut findings = Vec::new();
        for (i, entry) in self.entries.iter().enumerate() {
            let Some(first) = entry.summary.as_ref().and_then(|s| s.fallback.clone()) else {
                continue;
            };
            let mut chain = vec![entry.name.clone()];
            let mut next = Some(first);
            while let Some(name) = next.take() {
                match self.resolve(&name) {
                    None => {
                        findings.push((
                            i,
                            Diagnostic::warning(format!("fallback `{name}` names no skill"))
                                .with_hint("the fallback is skipped until such a skill exists"),
                        ));
                    }
                    Some(target) if chain.contains(&target.name) => {
                        chain.push(target.name.clone());
                        findings.push((i, Diagnostic::error(format!("fallback cycle: {}", chain.join(" -> "))).with_hint("break the cycle: one of these skills must not fall back to another")));
                    }
                    Some(target) => {
                        chain.push(target.name.clone());
                        next = target.summary.as_ref().and_then(|s| s.fallback.clone());
                    }
                }
            }
        }
        for (i, d) in findings {
            if d.is_error() {
                self.entries[i].add_error(d);
            } else {
                let path = self.entries[i].path.clone();
                self.entries[i].diagnostics.push(d.in_file(path));
            }
        }
    }

    /// Sorts entries by name, then precedence, keeping the indexes right.
    fn entries_sorted(&mut self) {
        let mut order: Vec<usize> = (0..self.entries.len()).collect();
        order.sort_by(|&a, &b| {
            self.entries[a]
                .name
                .cmp(&self.entries[b].name)
                .then(a.cmp(&b))
        });
        let mut new_index = vec![0; order.len()];
        for (new, &old) in order.iter().enumerate() {
            new_index[old] = new;
        }
        // Moved in place, cycle by cycle: a sorted copy would hold every entry twice (15 MB
        // more at 10,000 skills).
        let mut dest = new_index.clone();
        for i in 0..dest.len() {
            while dest[i] != i {
                let j = dest[i];
                self.entries.swap(i, j);
                dest.swap(i, j);
            }
        }
        for idx in self.by_name.values_mut().chain(self.aliases.values_mut()) {
            *idx = new_index[*idx];
        }
    }
}

fn same_dir(entry: &SkillEntry, dir: &SkillDir) -> bool {
    entry.scope == dir.scope && entry.path.starts_with(&dir.path) && entry.dir_kind == dir.kind
}

/// The name a file stands for: `x.json` -> `x`, `x/skill.json` or `x/SKILL.md` -> `x`.
fn fallback_name(path: &Path) -> String {
    let file = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let stem = file.strip_suffix(".json").unwrap_or(file);
    let parent = || {
        path.parent()
            .and_then(Path::file_name)
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned()
    };
    match file {
        skillet_spec::PACKAGE_SKILL_FILE | skillet_spec::AGENT_SKILL_FILE => parent(),
        _ => stem.to_owned(),
    }
}

/// Most files listed from one `scripts/` folder: listing is done for every skill on every
/// command, so a folder of millions of files must not slow them all.
const MAX_SCRIPTS: usize = 1_000;

fn list_scripts(skill_file: &Path) -> Vec<PathBuf> {
    let dir = skill_file.with_file_name("scripts");
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .take(MAX_SCRIPTS)
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    scripts.sort();
    scripts
}
