//! Finding the one skill a call needs without reading every skill: a run costs the same in a
//! workspace of 10 skills or 20,000.

use super::{Keep, Loaded, Registry, Reuse, load_all};
use crate::config::Config;
use crate::discover::Candidate;
use crate::layout::{Environment, SkillDir, skill_dirs};
use crate::spec_memo::SpecMemo;

impl Registry {
    /// What running the skill `name` needs, found without reading every skill: see
    /// [`Registry::from_dirs_for`].
    pub fn discover_for(env: &Environment, config: &Config, name: &str) -> Registry {
        let dirs = skill_dirs(env, &config.workspace_skill_dirs, &config.global_skill_dirs);
        Registry::from_dirs_for(dirs, name)
    }

    /// [`Registry::discover_for`] for a process that serves many calls: a file unchanged since
    /// `memo` last saw it is not parsed again (see [`SpecMemo`]). What the call sees is the same.
    pub fn discover_for_memo(
        env: &Environment,
        config: &Config,
        name: &str,
        memo: &SpecMemo,
    ) -> Registry {
        let dirs = skill_dirs(env, &config.workspace_skill_dirs, &config.global_skill_dirs);
        Registry::find_one(dirs, name, Some(memo))
    }

    /// The registry a call of `name` sees, read from the files named for it alone
    /// (`NAME.json`, `NAME/skill.json`, `NAME/SKILL.md`… in every directory, precedence as
    /// always), so a run costs the same in a workspace of 10 skills or 20,000. Every file of
    /// that name is read, so a shadowed or broken duplicate is reported as a full discovery
    /// reports it. The skills its `fallback` chain names and those named like its aliases (an
    /// alias that is another skill's name is an error) are read the same way. Falls back to
    /// [`Registry::from_dirs`] when the name is not a file's (an alias, a typo that deserves a
    /// "did you mean", a skill declared in a file named otherwise) or a file named for it
    /// declares another name.
    ///
    /// What it does not see: a file named otherwise that declares `name` while one named for
    /// it exists (a full discovery warns of both), and the per-scope `MAX_SKILL_FILES`
    /// limit, which only bounds reading everything.
    pub fn from_dirs_for(dirs: Vec<SkillDir>, name: &str) -> Registry {
        Registry::find_one(dirs, name, None)
    }

    /// [`Registry::from_dirs_for`], reusing what `memo` holds of unchanged files.
    pub(crate) fn find_one(dirs: Vec<SkillDir>, name: &str, memo: Option<&SpecMemo>) -> Registry {
        /// Longest fallback chain followed; a longer one is left to full discovery.
        const MAX_CHAIN: usize = 32;
        let mut warnings = Vec::new();
        let mut candidates: Vec<(usize, Candidate)> = Vec::new();
        let mut loaded: Vec<Box<Loaded>> = Vec::new();
        let mut wanted = vec![(name.to_owned(), true)];
        let mut seen: Vec<String> = Vec::new();
        while let Some((next, required)) = wanted.pop() {
            if seen.contains(&next) {
                continue;
            }
            if seen.len() > MAX_CHAIN {
                return Registry::from_dirs(dirs);
            }
            seen.push(next.clone());
            let found: Vec<(usize, Candidate)> = dirs
                .iter()
                .enumerate()
                .flat_map(|(i, dir)| {
                    crate::discover::named(dir, &next, &mut warnings)
                        .into_iter()
                        .map(move |c| (i, c))
                })
                .collect();
            let reuse = memo.map_or(Reuse::Nothing, Reuse::Specs);
            let these = load_all(found.iter().map(|(_, c)| c).collect(), Keep::Specs, reuse);
            let declares_other = these
                .iter()
                .any(|l| l.declared.as_deref().is_some_and(|d| d != next));
            // A fallback or alias that is no file's name, or any file that is not what its
            // name says, needs the whole picture.
            if (required && found.is_empty()) || declares_other {
                return Registry::from_dirs(dirs);
            }
            for l in &these {
                if let Some(spec) = &l.spec {
                    // A skill that keeps state or uses channels may read what others share
                    // with it, which their own files say: only a full discovery sees them.
                    if required && (spec.state.is_some() || spec.channels.is_some()) {
                        return Registry::from_dirs(dirs);
                    }
                    if required && let Some(fallback) = &spec.fallback {
                        wanted.push((fallback.clone(), true));
                    }
                    // Dependencies decide whether the skill may run; one that is no file's
                    // name (an alias, a typo) needs full discovery to be judged right.
                    if required {
                        wanted.extend(spec.dependencies.keys().map(|d| (d.clone(), true)));
                    }
                    wanted.extend(spec.aliases.iter().map(|a| (a.clone(), false)));
                }
            }
            candidates.extend(found);
            loaded.extend(these);
        }
        // Precedence first, then the order a scan of each directory meets the files.
        let mut both: Vec<((usize, Candidate), Box<Loaded>)> =
            candidates.into_iter().zip(loaded).collect();
        both.sort_by(|((a, ca), _), ((b, cb), _)| a.cmp(b).then_with(|| ca.path.cmp(&cb.path)));
        let (candidates, loaded) = both.into_iter().unzip();
        Registry::build(dirs, warnings, candidates, loaded)
    }
}
