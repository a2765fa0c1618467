//! A semver requirement as a pubgrub version set, exactly as `VersionReq::matches` reads it.
//!
//! Semver's pre-release rule does not fit one interval list over the version order: `^1.2.3`
//! matches 1.4.0 but not 1.4.0-alpha, which sits between 1.3.9 and 1.4.0. So a set keeps two
//! interval lists, one read only on releases and one read only on pre-releases. Each is kept
//! in a canonical form (every lower bound inclusive, every upper bound exclusive, both on a
//! version of its own kind) so that two sets holding the same versions compare equal, which
//! pubgrub relies on (`is_disjoint`, `subset_of`).
//!
//! Build metadata takes no part in precedence or matching (semver 2.0.0, §10), so the resolver
//! compares versions without it ([`without_build`]).

use std::fmt;
use std::ops::Bound::{self, Excluded, Included, Unbounded};

use pubgrub::{Ranges, VersionSet};
use semver::{BuildMetadata, Comparator, Op, Prerelease, Version, VersionReq};

/// A set of versions, read as `VersionReq::matches` reads a requirement.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SemverSet {
    /// Which releases (versions without a pre-release part) belong.
    release: Ranges<Version>,
    /// Which pre-releases belong.
    pre: Ranges<Version>,
}

/// `version` without its build metadata: the form the resolver compares.
pub fn without_build(version: &Version) -> Version {
    let mut v = version.clone();
    v.build = BuildMetadata::EMPTY;
    v
}

impl SemverSet {
    /// The versions `req` matches.
    pub fn from_req(req: &VersionReq) -> SemverSet {
        let mut release = Ranges::full();
        let mut pre = Ranges::full();
        // A pre-release matches only when a comparator names its major.minor.patch with a
        // pre-release of its own (semver's rule, so `>=1.0.0-beta` admits 1.0.0-rc but not
        // 1.1.0-alpha).
        let mut pre_gate = Ranges::empty();
        for cmp in &req.comparators {
            let (r, p) = comparator_sets(cmp);
            release = release.intersection(&normalize(&r, Kind::Release));
            pre = pre.intersection(&normalize(&p, Kind::Pre));
            if let (Some(minor), Some(patch), false) = (cmp.minor, cmp.patch, cmp.pre.is_empty()) {
                let triple = Ranges::from_range_bounds((
                    Included(version(cmp.major, minor, patch, pre_zero())),
                    Excluded(version(cmp.major, minor, patch, Prerelease::EMPTY)),
                ));
                pre_gate = pre_gate.union(&normalize(&triple, Kind::Pre));
            }
        }
        SemverSet {
            release,
            pre: pre.intersection(&pre_gate),
        }
    }

    /// Whether `version` belongs (its build metadata ignored).
    pub fn matches(&self, version: &Version) -> bool {
        self.contains(&without_build(version))
    }
}

impl VersionSet for SemverSet {
    type V = Version;

    fn empty() -> Self {
        SemverSet {
            release: Ranges::empty(),
            pre: Ranges::empty(),
        }
    }

    fn singleton(v: Version) -> Self {
        let one = normalize(&Ranges::singleton(v.clone()), kind_of(&v));
        if v.pre.is_empty() {
            SemverSet {
                release: one,
                pre: Ranges::empty(),
            }
        } else {
            SemverSet {
                release: Ranges::empty(),
                pre: one,
            }
        }
    }

    fn complement(&self) -> Self {
        // The two kinds split every version between them, so each half complements on its own
        // side; complementing keeps the canonical bound kinds (inclusive lower, exclusive upper).
        SemverSet {
            release: self.release.complement(),
            pre: self.pre.complement(),
        }
    }

    fn intersection(&self, other: &Self) -> Self {
        SemverSet {
            release: self.release.intersection(&other.release),
            pre: self.pre.intersection(&other.pre),
        }
    }

    fn contains(&self, v: &Version) -> bool {
        if v.pre.is_empty() {
            self.release.contains(v)
        } else {
            self.pre.contains(v)
        }
    }

    fn full() -> Self {
        SemverSet {
            release: Ranges::full(),
            pre: Ranges::full(),
        }
    }

    fn union(&self, other: &Self) -> Self {
        SemverSet {
            release: self.release.union(&other.release),
            pre: self.pre.union(&other.pre),
        }
    }

    fn is_disjoint(&self, other: &Self) -> bool {
        self.release.is_disjoint(&other.release) && self.pre.is_disjoint(&other.pre)
    }

    fn subset_of(&self, other: &Self) -> bool {
        self.release.subset_of(&other.release) && self.pre.subset_of(&other.pre)
    }
}

impl fmt::Display for SemverSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = self.release.iter().map(segment_text).collect();
        parts.extend(
            self.pre
                .iter()
                .map(|s| format!("{} (pre-release)", segment_text(s))),
        );
        if parts.is_empty() {
            f.write_str("no version")
        } else {
            f.write_str(&parts.join(" or "))
        }
    }
}

fn segment_text((lo, hi): (&Bound<Version>, &Bound<Version>)) -> String {
    match (lo, hi) {
        (Unbounded, Unbounded) => "any version".to_string(),
        (Included(a), Excluded(b)) if successor(a, kind_of(a)) == *b => a.to_string(),
        (lo, hi) => {
            let mut words = Vec::new();
            match lo {
                Included(a) => words.push(format!(">={a}")),
                Excluded(a) => words.push(format!(">{a}")),
                Unbounded => {}
            }
            match hi {
                Included(b) => words.push(format!("<={b}")),
                Excluded(b) => words.push(format!("<{b}")),
                Unbounded => {}
            }
            words.join(", ")
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Release,
    Pre,
}

fn kind_of(v: &Version) -> Kind {
    if v.pre.is_empty() {
        Kind::Release
    } else {
        Kind::Pre
    }
}

fn version(major: u64, minor: u64, patch: u64, pre: Prerelease) -> Version {
    Version {
        major,
        minor,
        patch,
        pre,
        build: BuildMetadata::EMPTY,
    }
}

/// The lowest pre-release identifier: numeric identifiers sort first, and 0 is the smallest.
fn pre_zero() -> Prerelease {
    Prerelease::new("0").unwrap_or(Prerelease::EMPTY)
}

/// `x.0` is the pre-release immediately after `x`: anything between would start with `x.` and
/// continue with an identifier below 0.
fn pre_successor(pre: &Prerelease) -> Prerelease {
    Prerelease::new(&format!("{pre}.0")).unwrap_or_else(|_| pre.clone())
}

/// The first version of the next patch (of the next minor, major on overflow); `None` past the
/// last representable one.
fn next_patch(v: &Version, pre: Prerelease) -> Option<Version> {
    if let Some(p) = v.patch.checked_add(1) {
        return Some(version(v.major, v.minor, p, pre));
    }
    if let Some(m) = v.minor.checked_add(1) {
        return Some(version(v.major, m, 0, pre));
    }
    v.major.checked_add(1).map(|m| version(m, 0, 0, pre))
}

/// The least version of `kind` strictly above `v` (for the canonical exclusive upper bound of
/// a set that holds `v`).
fn successor(v: &Version, kind: Kind) -> Version {
    let next = match (kind, v.pre.is_empty()) {
        (Kind::Release, _) if !v.pre.is_empty() => {
            Some(version(v.major, v.minor, v.patch, Prerelease::EMPTY))
        }
        (Kind::Release, _) => next_patch(v, Prerelease::EMPTY),
        (Kind::Pre, true) => next_patch(v, pre_zero()),
        (Kind::Pre, false) => Some(version(v.major, v.minor, v.patch, pre_successor(&v.pre))),
    };
    next.unwrap_or_else(|| v.clone())
}

/// The least version of `kind` at or above `v`.
fn ceiling(v: &Version, kind: Kind) -> Version {
    if kind_of(v) == kind {
        v.clone()
    } else {
        successor(v, kind)
    }
}

/// Rewrites every bound as an inclusive lower / exclusive upper bound on a version of `kind`,
/// keeping the same versions of that kind: then equal sets have equal representations.
fn normalize(ranges: &Ranges<Version>, kind: Kind) -> Ranges<Version> {
    let mut out = Ranges::empty();
    for (lo, hi) in ranges.iter() {
        let lo = match lo {
            Unbounded => Unbounded,
            Included(v) => Included(ceiling(v, kind)),
            Excluded(v) if kind_of(v) == kind => Included(successor(v, kind)),
            Excluded(v) => Included(ceiling(v, kind)),
        };
        let hi = match hi {
            Unbounded => Unbounded,
            Included(v) if kind_of(v) == kind => Excluded(successor(v, kind)),
            Included(v) | Excluded(v) => Excluded(ceiling(v, kind)),
        };
        out = out.union(&Ranges::from_range_bounds((lo, hi)));
    }
    out
}

/// The versions one comparator admits on its own (before semver's pre-release rule), as an
/// interval over the version order: the first list is right on releases, the second on
/// pre-releases (each may hold versions of the other kind; `normalize` drops them).
///
/// Comparators come from parsing, where a pre-release needs a full major.minor.patch.
fn comparator_sets(cmp: &Comparator) -> (Ranges<Version>, Ranges<Version>) {
    let (major, minor, patch) = (cmp.major, cmp.minor, cmp.patch);
    let full = |pre: Prerelease| version(major, minor.unwrap_or(0), patch.unwrap_or(0), pre);
    let lowest = full(pre_zero());
    // The first version past everything `cmp`'s written parts cover (1.2 covers 1.2.*).
    let past = match (minor, patch) {
        (None, _) => major.checked_add(1).map(|m| version(m, 0, 0, pre_zero())),
        (Some(m), None) => m.checked_add(1).map(|m| version(major, m, 0, pre_zero())),
        (Some(m), Some(p)) => next_patch(&version(major, m, p, Prerelease::EMPTY), pre_zero()),
    };
    let upto = |end: Option<Version>| match end {
        Some(v) => Excluded(v),
        None => Unbounded,
    };
    let at = full(cmp.pre.clone());
    let interval = |lo: Bound<Version>, hi: Bound<Version>| Ranges::from_range_bounds((lo, hi));
    let exact = || {
        if patch.is_some() {
            Ranges::singleton(at.clone())
        } else {
            // `=1.2` is every 1.2.x release (semver asks for the same, empty, pre-release).
            interval(Included(lowest.clone()), upto(past.clone()))
        }
    };
    let exact_pre = || {
        if patch.is_some() && !cmp.pre.is_empty() {
            Ranges::singleton(at.clone())
        } else {
            Ranges::empty()
        }
    };
    let greater = || match patch {
        Some(_) => interval(Excluded(at.clone()), Unbounded),
        None => match past.clone() {
            Some(v) => interval(Included(v), Unbounded),
            None => Ranges::empty(),
        },
    };
    let less = || match patch {
        Some(_) => interval(Unbounded, Excluded(at.clone())),
        None => interval(Unbounded, Excluded(lowest.clone())),
    };
    match cmp.op {
        Op::Exact | Op::Wildcard => (exact(), exact_pre()),
        Op::Greater => (greater(), greater()),
        Op::GreaterEq => (exact().union(&greater()), exact_pre().union(&greater())),
        Op::Less => (less(), less()),
        Op::LessEq => (exact().union(&less()), exact_pre().union(&less())),
        Op::Tilde => {
            let set = match patch {
                // ~1.2.3 is >=1.2.3, <1.3.0-0 (any pre-release in between, before the gate).
                Some(_) => {
                    let end = minor
                        .and_then(|m| m.checked_add(1))
                        .map(|m| version(major, m, 0, pre_zero()));
                    interval(Included(at.clone()), upto(end))
                }
                // ~1 and ~1.2: the releases they name (semver asks for an empty pre-release).
                None => interval(Included(lowest.clone()), upto(past.clone())),
            };
            let pre = if patch.is_some() {
                set.clone()
            } else {
                Ranges::empty()
            };
            (set, pre)
        }
        Op::Caret => {
            let end = match (major, minor, patch) {
                (_, None, _) => past.clone(),
                (0, Some(m), _) if m > 0 || patch.is_none() => {
                    m.checked_add(1).map(|m| version(0, m, 0, pre_zero()))
                }
                (0, Some(_), Some(_)) => past.clone(),
                _ => major.checked_add(1).map(|m| version(m, 0, 0, pre_zero())),
            };
            let start = if patch.is_some() { at.clone() } else { lowest };
            let set = interval(Included(start), upto(end));
            (set.clone(), set)
        }
        // `Op` is non-exhaustive; a future operator matches nothing until it is taught here,
        // which shows as "no version matches" rather than a wrong pick.
        _ => (Ranges::empty(), Ranges::empty()),
    }
}

#[cfg(test)]
#[path = "ranges_tests.rs"]
mod tests;
