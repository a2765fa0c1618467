//! The set of skills visible from one place: loaded, ordered, with precedence and aliases applied.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use skillet_spec::{Diagnostic, SkillFormat, SkillSpec, did_you_mean};

mod last_good;
pub(crate) mod load;
mod one;
mod precedence;

pub use last_good::KeptSkill;

use crate::config::Config;
use crate::discover::{Candidate, MAX_SKILL_FILES, scan};
use crate::layout::{DirKind, Environment, Scope, SkillDir, skill_dirs};
use crate::metadata_cache::{MetadataCache, MetadataCacheSettings};
use crate::summary::SkillSummary;
use load::{Keep, Loaded, Reuse, load_all};

/// One skill file found by discovery, valid or not.
#[derive(Debug, Clone, Serialize)]
pub struct SkillEntry {
    /// The skill's name (the file's name when the file is too broken to declare one).
    pub name: String,
    /// The skill, when it is valid; always `None` in a registry of summaries
    /// ([`Registry::discover_summaries`]).
    #[serde(skip)]
    pub spec: Option<Box<SkillSpec>>,
    /// What listings and the registry's own checks read of the skill, when it is valid.
    #[serde(skip)]
    pub summary: Option<SkillSummary>,
    /// The skill file.
    pub path: PathBuf,
    /// Its scope.
    pub scope: Scope,
    /// The kind of directory it was found in.
    pub dir_kind: DirKind,
    /// The format it is written in.
    pub format: SkillFormat,
    /// Every problem found, errors and warnings.
    pub diagnostics: Vec<Diagnostic>,
    /// Files of the same name this one hides, lower precedence first found first.
    pub shadows: Vec<PathBuf>,
    /// Runnable files under `scripts/` (Agent Skills folders).
    pub scripts: Vec<PathBuf>,
    /// When this file is broken: the working file of the same name, lower in precedence, that
    /// answers to the name instead.
    pub used_instead: Option<PathBuf>,
    /// For a skill of an installed package: which package, installed in which scope. `scope`
    /// stays the package's scope (trust and precedence follow it); listings show `package`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<crate::packages::PackageRef>,
    /// A package skill whose installed files no longer match its receipt. It keeps its name
    /// (the name refuses to run) rather than letting a lower-precedence skill answer: the
    /// tampering may be meant to do just that.
    #[serde(skip)]
    pub tampered: bool,
}

impl SkillEntry {
    /// Whether the skill can be used.
    pub fn is_valid(&self) -> bool {
        self.summary.is_some() && !self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// The other names the skill answers to (none when it is broken).
    pub fn aliases(&self) -> &[String] {
        self.summary.as_ref().map_or(&[], |s| s.aliases.as_slice())
    }

    /// The scope as shown to a user: `package` for a skill of an installed package, else its
    /// scope's name.
    pub fn scope_label(&self) -> &'static str {
        if self.package.is_some() {
            "package"
        } else {
            self.scope.as_str()
        }
    }

    /// Where the skill comes from, for messages: its scope, or for a skill of an installed
    /// package, which package in which scope.
    pub fn origin(&self) -> String {
        match &self.package {
            Some(p) => format!("package `{}` in the {} scope", p.name, p.scope),
            None => self.scope.as_str().to_owned(),
        }
    }

    /// The directory of the skill file (relative paths in the skill start here).
    pub fn skill_dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }

    /// The errors, if any.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.is_error())
    }

    fn add_error(&mut self, d: Diagnostic) {
        self.diagnostics.push(d.in_file(&self.path));
        self.spec = None;
        self.summary = None;
    }
}

/// All skills visible from one working directory.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    entries: Vec<SkillEntry>,
    by_name: BTreeMap<String, usize>,
    aliases: BTreeMap<String, usize>,
    dirs: Vec<SkillDir>,
    warnings: Vec<Diagnostic>,
    kept: Vec<KeptSkill>,
}

impl Registry {
    /// Discovers every skill in both scopes.
    pub fn discover(env: &Environment, config: &Config) -> Registry {
        let dirs = skill_dirs(env, &config.workspace_skill_dirs, &config.global_skill_dirs);
        Registry::from_dirs(dirs)
    }

    /// Discovers every skill in both scopes as [`Registry::discover`] does, but keeps only each
    /// skill's [`SkillSummary`] (`spec` is always `None`): what `skillet list` needs, in a
    /// fraction of the memory. With `cache`, a skill file unchanged since an earlier listing
    /// (same resolved path, size, modification and change times, inode) is not read again; what
    /// a user sees is the same either way.
    pub fn discover_summaries(
        env: &Environment,
        config: &Config,
        cache: Option<&MetadataCacheSettings>,
    ) -> Registry {
        let dirs = skill_dirs(env, &config.workspace_skill_dirs, &config.global_skill_dirs);
        Registry::from_dirs_summaries(dirs, cache)
    }

    /// [`Registry::from_dirs`], keeping summaries only: see [`Registry::discover_summaries`].
    pub fn from_dirs_summaries(
        dirs: Vec<SkillDir>,
        cache: Option<&MetadataCacheSettings>,
    ) -> Registry {
        let reuse = match cache {
            Some(c) => Reuse::Summaries(MetadataCache::open(c, &dirs)),
            None => Reuse::Nothing,
        };
        Registry::load_dirs(dirs, None, Keep::Summaries, reuse)
    }

    /// Loads the skills of a skills directory named on the command line (`skillet validate
    /// examples/`), as if it were a workspace's `.skillet/skills`.
    pub fn from_skills_dir(path: PathBuf) -> Registry {
        Registry::from_dirs(vec![SkillDir {
            path,
            scope: Scope::Workspace,
            kind: DirKind::Skillet,
        }])
    }

    /// Loads the skills of the given directories, highest precedence first. Each scope reads
    /// at most [`MAX_SKILL_FILES`] files, so a hostile workspace cannot crowd out the user's
    /// global skills; what is past the limit is reported once, unread.
    pub fn from_dirs(dirs: Vec<SkillDir>) -> Registry {
        Registry::load_dirs(dirs, None, Keep::Specs, Reuse::Nothing)
    }

    /// [`Registry::from_dirs`]; with `previous`, broken files keep their last good version.
    fn load_dirs(
        dirs: Vec<SkillDir>,
        previous: Option<&Registry>,
        keep: Keep,
        reuse: Reuse<'_>,
    ) -> Registry {
        let mut warnings = Vec::new();
        let mut candidates: Vec<(usize, Candidate)> = Vec::new();
        let mut unread: BTreeMap<Scope, (usize, Vec<PathBuf>)> = BTreeMap::new();
        let mut used: BTreeMap<Scope, usize> = BTreeMap::new();
        for (i, dir) in dirs.iter().enumerate() {
            let used = used.entry(dir.scope).or_default();
            let (found, left) = scan(dir, MAX_SKILL_FILES.saturating_sub(*used), &mut warnings);
            *used += found.len();
            candidates.extend(found.into_iter().map(|c| (i, c)));
            if left > 0 {
                let (count, where_) = unread.entry(dir.scope).or_default();
                *count += left;
                where_.push(dir.path.clone());
            }
        }
        for (scope, (count, where_)) in unread {
            let dirs: Vec<String> = where_.iter().map(|p| p.display().to_string()).collect();
            warnings.push(
                Diagnostic::warning(format!(
                    "the {scope} scope has more than {MAX_SKILL_FILES} skill files, the limit: {count} more entries of {} were not read",
                    dirs.join(", ")
                ))
                .with_hint("remove skills you do not use, or split them across repositories"),
            );
        }
        let mut loaded = load_all(candidates.iter().map(|(_, c)| c).collect(), keep, reuse);
        let kept = match previous {
            Some(previous) => last_good::substitute(previous, &candidates, &mut loaded),
            None => Vec::new(),
        };
        let mut registry = Registry::build(dirs, warnings, candidates, loaded);
        registry.kept = kept;
        registry
    }

    /// Marks entry `i` broken (for checks that run once every skill is loaded).
    pub(crate) fn add_entry_error(&mut self, i: usize, d: Diagnostic) {
        self.entries[i].add_error(d);
    }

    /// Every skill file found, valid or not, sorted by name.
    pub fn entries(&self) -> &[SkillEntry] {
        &self.entries
    }

    /// The skill a name or alias refers to.
    pub fn resolve(&self, name: &str) -> Option<&SkillEntry> {
        self.by_name
            .get(name)
            .or_else(|| self.aliases.get(name))
            .map(|&i| &self.entries[i])
    }

    /// The known name or alias closest to `name`, for "did you mean".
    pub fn suggest(&self, name: &str) -> Option<&str> {
        did_you_mean(
            name,
            self.by_name
                .keys()
                .chain(self.aliases.keys())
                .map(String::as_str),
        )
    }

    /// The directories searched, highest precedence first.
    pub fn dirs(&self) -> &[SkillDir] {
        &self.dirs
    }

    /// Problems not tied to one skill: shadowing, stray folders.
    pub fn warnings(&self) -> &[Diagnostic] {
        &self.warnings
    }
}
