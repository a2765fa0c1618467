//! Reading the skill files discovery found: one path for every command, keeping whole skills or
//! only their summaries, with the metadata cache answering for unchanged files.

use skillet_spec::files::FileIdentity;
use skillet_spec::{Diagnostic, LoadedSkill, SkillFormat, SkillSpec, load_file_identified};

use crate::discover::Candidate;
use crate::metadata_cache::{Lookup, MetadataCache, Stamp};
use crate::spec_memo::SpecMemo;
use crate::summary::SkillSummary;

/// Below this many files, loading on one thread is faster than starting more.
const PARALLEL_THRESHOLD: usize = 64;

/// What a load keeps of each valid skill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keep {
    /// The whole skill, for commands that run or describe it.
    Specs,
    /// Its summary alone (`skillet list`): a few hundred bytes a skill instead of kilobytes.
    Summaries,
}

/// One skill file as loaded, in the form the registry keeps.
#[derive(Debug)]
pub(crate) struct Loaded {
    /// The name the file declares, even when it has errors.
    pub declared: Option<String>,
    /// The skill, when valid and kept whole; boxed, so a load that keeps summaries only is a
    /// few hundred bytes, not the kilobyte and more of a skill inline.
    pub spec: Option<Box<SkillSpec>>,
    /// Its summary, when valid.
    pub summary: Option<SkillSummary>,
    /// The format it is written in.
    pub format: SkillFormat,
    /// Every problem found, errors and warnings.
    pub diagnostics: Vec<Diagnostic>,
    /// The file it was read from, as the handle read said (`None` when not read now).
    pub read: Option<FileIdentity>,
}

impl Loaded {
    /// Reads and validates `c` now.
    fn read(c: &Candidate, keep: Keep) -> Loaded {
        let (loaded, read) = load_file_identified(&c.path, c.within.as_deref());
        Loaded::from_skill(loaded, read, keep)
    }

    /// What `loaded`, read from the file `read`, is kept as.
    pub(crate) fn from_skill(
        loaded: LoadedSkill,
        read: Option<FileIdentity>,
        keep: Keep,
    ) -> Loaded {
        let declared = loaded.declared_name().map(str::to_owned);
        let summary = loaded.spec.as_ref().map(SkillSummary::of);
        Loaded {
            declared,
            spec: loaded.spec.filter(|_| keep == Keep::Specs).map(Box::new),
            summary,
            format: loaded.format,
            diagnostics: loaded.diagnostics,
            read,
        }
    }
}

/// What a load may reuse of earlier reads.
pub(crate) enum Reuse<'a> {
    /// Nothing: every file is read.
    Nothing,
    /// The metadata cache file (summaries only).
    Summaries(MetadataCache),
    /// A long-lived process's memo of whole skills.
    Specs(&'a SpecMemo),
}

/// Loads files in order, spreading large sets over the machine's cores. With a cache (only
/// summaries are cached), a file unchanged since it was cached is not read at all, and what
/// was read is offered to the cache, which is written back (when it changed) and dropped
/// before this returns. With a memo, every file is read, and one whose text was parsed before
/// is not parsed again.
///
/// Each skill is boxed: boxes are freed one by one as [`super::Registry::build`] moves them
/// into its entries, where one vector of them would stay whole until the last was moved,
/// doubling the peak.
#[allow(clippy::vec_box)] // boxed on purpose, as said above
pub(crate) fn load_all(
    candidates: Vec<&Candidate>,
    keep: Keep,
    reuse: Reuse<'_>,
) -> Vec<Box<Loaded>> {
    let (mut cache, memo) = match reuse {
        Reuse::Nothing => (None, None),
        Reuse::Summaries(cache) => (Some(cache), None),
        Reuse::Specs(memo) => (None, Some(memo)),
    };
    let mut out: Vec<Option<Box<Loaded>>> = Vec::with_capacity(candidates.len());
    let mut misses: Vec<(usize, &Candidate, Option<Stamp>)> = Vec::new();
    for (i, c) in candidates.iter().enumerate() {
        let lookup = match (&mut cache, keep) {
            (Some(cache), Keep::Summaries) => cache.lookup(c),
            _ => Lookup::Miss(None),
        };
        match lookup {
            Lookup::Hit(loaded) => out.push(Some(loaded)),
            Lookup::Miss(stamp) => {
                misses.push((i, c, stamp));
                out.push(None);
            }
        }
    }
    if let Some(cache) = &mut cache {
        cache.reserve(misses.len());
    }
    let read = read_all(misses.iter().map(|(_, c, _)| *c).collect(), keep, memo);
    for ((i, c, stamp), loaded) in misses.into_iter().zip(read) {
        if let (Some(cache), Keep::Summaries) = (&mut cache, keep) {
            cache.offer(c, stamp, &loaded);
        }
        out[i] = Some(loaded);
    }
    // Written and dropped now, before the registry is built from the loads.
    if let Some(cache) = cache {
        cache.save();
    }
    // Every slot was filled above, by a hit or a read.
    out.into_iter().flatten().collect()
}

#[allow(clippy::vec_box)] // see load_all
fn read_all(candidates: Vec<&Candidate>, keep: Keep, memo: Option<&SpecMemo>) -> Vec<Box<Loaded>> {
    let load = |c: &Candidate| {
        Box::new(match memo {
            Some(memo) if keep == Keep::Specs => memo.load(c),
            _ => Loaded::read(c, keep),
        })
    };
    if candidates.len() < PARALLEL_THRESHOLD {
        return candidates.into_iter().map(load).collect();
    }
    // Asked only when it matters: the answer reads the cgroup's CPU quota, a handful of file
    // reads that a daemon resolving one skill per call would pay every time.
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    if workers < 2 {
        return candidates.into_iter().map(load).collect();
    }
    let chunk = candidates.len().div_ceil(workers);
    std::thread::scope(|s| {
        let handles: Vec<_> = candidates
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().map(|c| load(c)).collect::<Vec<_>>()))
            .collect();
        // A panic while loading is a bug; let it surface rather than misalign results and files.
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}
