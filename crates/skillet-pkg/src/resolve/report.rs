//! A failed resolution in words a person can act on.
//!
//! pubgrub proves a conflict with a derivation tree. Its leaves are facts ("review-kit 2.1.0
//! needs lint-core ^3", "nothing offers lint-core"); the known shapes among them (an unknown
//! package, a requirement no version meets, two requirements no one version meets) are said
//! first, each with what to try. Anything else falls back to the proof itself, step by step.

use pubgrub::{
    DefaultStringReporter, DerivationTree, Derived, External, Map, ReportFormatter, Reporter, Term,
    VersionSet,
};
use semver::Version;

use super::provider::{Node, Provider};
use super::ranges::SemverSet;
use crate::PackageName;

type Tree = DerivationTree<Node, SemverSet, String>;
type Ext = External<Node, SemverSet, String>;

/// One "needs" edge of the proof: `parent` (at the versions in `parent_set`) needs `dep` in
/// `dep_set`.
struct Need<'t> {
    parent: &'t Node,
    parent_set: &'t SemverSet,
    dep: &'t PackageName,
    dep_set: &'t SemverSet,
}

/// The explanation of `tree`.
pub(crate) fn explain(tree: &Tree, provider: &Provider<'_>) -> String {
    let mut externals = Vec::new();
    collect(tree, &mut externals);
    let needs: Vec<Need<'_>> = externals
        .iter()
        .filter_map(|e| match e {
            External::FromDependencyOf(parent, parent_set, Node::Package(dep), dep_set) => {
                Some(Need {
                    parent,
                    parent_set,
                    dep,
                    dep_set,
                })
            }
            _ => None,
        })
        .collect();
    let mut lines: Vec<String> = Vec::new();
    let mut push = |line: String| {
        if !lines.contains(&line) {
            lines.push(line);
        }
    };
    let words = Words { provider };

    for external in &externals {
        if let External::NoVersions(Node::Package(name), _) = external
            && provider.candidates(name).is_empty()
        {
            let asked: Vec<&Need<'_>> = needs.iter().filter(|n| n.dep == name).collect();
            let fix = format!(
                "no marketplace offers {name}; add one that does with `skillet marketplace add`, \
                 or check the spelling"
            );
            if asked.is_empty() {
                push(format!("{}.", capitalise(&fix)));
            }
            for need in asked {
                push(format!("{}, but {fix}.", words.needs(need)));
            }
        }
    }

    for need in &needs {
        let available = available(provider, need.dep);
        if available.is_empty() || available.iter().any(|v| need.dep_set.contains(v)) {
            continue;
        }
        let req = provider.text_of(need.dep_set);
        let mut line = format!(
            "{}, but {} has {}; none matches {req}.",
            words.needs(need),
            need.dep,
            list(&available)
        );
        if let Some(hint) = words.other_version(need.parent, need.parent_set, need.dep, None) {
            line.push_str(&format!(" Try: {hint}."));
        }
        push(line);
    }

    for (i, first) in needs.iter().enumerate() {
        for second in &needs[i + 1..] {
            if first.dep != second.dep || first.parent == second.parent {
                continue;
            }
            let available = available(provider, first.dep);
            let meets = |set: &SemverSet| available.iter().any(|v| set.contains(v));
            let both = first.dep_set.intersection(second.dep_set);
            if !meets(first.dep_set) || !meets(second.dep_set) || meets(&both) {
                continue;
            }
            // The user's own request reads best first ("you asked for ..., but ...").
            let (a, b) = if second.parent == &Node::Root {
                (second, first)
            } else {
                (first, second)
            };
            let mut line = format!(
                "{}, but {}; no version of {} satisfies both.",
                words.needs(a),
                words.needs(b),
                a.dep
            );
            let hints: Vec<String> = [
                words.other_version(b.parent, b.parent_set, b.dep, Some(a.dep_set)),
                words.other_version(a.parent, a.parent_set, a.dep, Some(b.dep_set)),
            ]
            .into_iter()
            .flatten()
            .collect();
            if !hints.is_empty() {
                line.push_str(&format!(" Try: {}.", hints.join(", or ")));
            }
            push(line);
        }
    }

    if lines.is_empty() {
        // No known shape: give the proof, step by step.
        return DefaultStringReporter::report_with_formatter(tree, &words);
    }
    lines.join("\n")
}

fn collect<'t>(tree: &'t Tree, out: &mut Vec<&'t Ext>) {
    match tree {
        DerivationTree::External(e) => out.push(e),
        DerivationTree::Derived(d) => {
            collect(&d.cause1, out);
            collect(&d.cause2, out);
        }
    }
}

/// The versions of `name` on offer, oldest first (as a person lists them).
fn available(provider: &Provider<'_>, name: &PackageName) -> Vec<Version> {
    let mut versions: Vec<Version> = provider
        .candidates(name)
        .iter()
        .map(|c| c.key.clone())
        .collect();
    versions.reverse();
    versions
}

fn list(versions: &[Version]) -> String {
    const SHOWN: usize = 6;
    let mut words: Vec<String> = versions.iter().take(SHOWN).map(|v| v.to_string()).collect();
    if versions.len() > SHOWN {
        words.push(format!("and {} more", versions.len() - SHOWN));
    }
    words.join(", ")
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Turns the solver's terms into sentences, quoting requirements as their authors wrote them.
struct Words<'p, 'a> {
    provider: &'p Provider<'a>,
}

impl Words<'_, '_> {
    /// "review-kit 2.1.0 needs lint-core ^3" / "you asked for lint-core ^3".
    fn needs(&self, need: &Need<'_>) -> String {
        let req = self.requirement(need.dep_set);
        match need.parent {
            Node::Root => format!("you asked for {}{req}", need.dep),
            Node::Package(parent) => format!(
                "{} needs {}{req}",
                self.versions_of(parent, need.parent_set),
                need.dep
            ),
        }
    }

    /// " ^3", or nothing for "any version".
    fn requirement(&self, set: &SemverSet) -> String {
        if set == &SemverSet::full() {
            String::new()
        } else {
            format!(" {}", self.provider.text_of(set))
        }
    }

    /// "review-kit 2.1.0", "review-kit 2.1.0 and newer", or the set in words.
    fn versions_of(&self, name: &PackageName, set: &SemverSet) -> String {
        let all = available(self.provider, name);
        let inside: Vec<&Version> = all.iter().filter(|v| set.contains(v)).collect();
        match inside.as_slice() {
            [] => format!("{name} {set}"),
            [one] => format!("{name} {one}"),
            [first, ..] if all.iter().filter(|v| v >= first).all(|v| set.contains(v)) => {
                format!("{name} {first} and newer")
            }
            many => format!(
                "{name} {}",
                many.iter()
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// A version of `parent` outside `now` that needs no `dep`, or a `dep` that exists (and,
    /// with `within`, one also in `within`): "install format-kit 2.0.0 (which accepts lint-core
    /// ^3)" or "review-kit <2.1.0".
    fn other_version(
        &self,
        parent: &Node,
        now: &SemverSet,
        dep: &PackageName,
        within: Option<&SemverSet>,
    ) -> Option<String> {
        let Node::Package(parent) = parent else {
            return None;
        };
        let dep_versions = available(self.provider, dep);
        let candidates = self.provider.candidates(parent);
        let lowest_now = candidates
            .iter()
            .filter(|c| now.contains(&c.key))
            .map(|c| &c.key)
            .min()?;
        // Newest first, so the suggestion is the least step back (or the smallest step up).
        let fits = candidates.iter().find(|c| {
            if now.contains(&c.key) {
                return false;
            }
            match c.requirements.get(dep) {
                None => true,
                Some(req) => dep_versions
                    .iter()
                    .any(|v| req.matches(v) && within.is_none_or(|w| w.contains(v))),
            }
        })?;
        let accepts = match fits.requirements.get(dep) {
            Some(req) => format!(" (which accepts {dep} {req})"),
            None => format!(" (which does not need {dep})"),
        };
        if &fits.key < lowest_now {
            Some(format!("{parent} <{lowest_now}"))
        } else {
            Some(format!("install {parent} {}{accepts}", fits.original))
        }
    }

    fn term(&self, package: &Node, term: &Term<SemverSet>) -> String {
        match (package, term) {
            (Node::Root, _) => "your request".to_string(),
            (Node::Package(name), Term::Positive(set)) => self.versions_of(name, set),
            (Node::Package(name), Term::Negative(set)) => {
                format!("{name} other than {}", self.provider.text_of(set))
            }
        }
    }
}

impl ReportFormatter<Node, SemverSet, String> for Words<'_, '_> {
    type Output = String;

    fn format_external(&self, external: &Ext) -> String {
        match external {
            External::NotRoot(..) => "you asked for these packages".to_string(),
            External::NoVersions(Node::Package(name), set) => {
                let available = available(self.provider, name);
                if available.is_empty() {
                    format!("no marketplace offers {name}")
                } else {
                    format!(
                        "{name} has {}; none matches {}",
                        list(&available),
                        self.provider.text_of(set)
                    )
                }
            }
            External::NoVersions(Node::Root, _) => "nothing was asked for".to_string(),
            External::Custom(package, _, why) => format!("{package} cannot be used: {why}"),
            External::FromDependencyOf(parent, parent_set, Node::Package(dep), dep_set) => self
                .needs(&Need {
                    parent,
                    parent_set,
                    dep,
                    dep_set,
                }),
            External::FromDependencyOf(parent, _, Node::Root, _) => {
                format!("{parent} depends on your request")
            }
        }
    }

    fn format_terms(&self, terms: &Map<Node, Term<SemverSet>>) -> String {
        let mut terms: Vec<_> = terms.iter().collect();
        terms.sort_by(|a, b| a.0.cmp(b.0));
        match terms.as_slice() {
            [] => "no choice of versions satisfies every requirement".to_string(),
            [(Node::Root, _)] => "your request cannot be met".to_string(),
            [(package, Term::Positive(_))] => {
                format!("{} cannot be used", self.term(package, terms[0].1))
            }
            [(package, Term::Negative(set))] => {
                format!(
                    "{} must be used",
                    self.term(package, &Term::Positive(set.clone()))
                )
            }
            many => {
                let parts: Vec<String> = many.iter().map(|(p, t)| self.term(p, t)).collect();
                format!("{} cannot be used together", parts.join(" and "))
            }
        }
    }

    fn explain_both_external(
        &self,
        e1: &Ext,
        e2: &Ext,
        terms: &Map<Node, Term<SemverSet>>,
    ) -> String {
        format!(
            "Because {} and {}, {}.",
            self.format_external(e1),
            self.format_external(e2),
            self.format_terms(terms)
        )
    }

    fn explain_both_ref(
        &self,
        id1: usize,
        d1: &Derived<Node, SemverSet, String>,
        id2: usize,
        d2: &Derived<Node, SemverSet, String>,
        terms: &Map<Node, Term<SemverSet>>,
    ) -> String {
        format!(
            "Because {} ({id1}) and {} ({id2}), {}.",
            self.format_terms(&d1.terms),
            self.format_terms(&d2.terms),
            self.format_terms(terms)
        )
    }

    fn explain_ref_and_external(
        &self,
        id: usize,
        d: &Derived<Node, SemverSet, String>,
        e: &Ext,
        terms: &Map<Node, Term<SemverSet>>,
    ) -> String {
        format!(
            "Because {} ({id}) and {}, {}.",
            self.format_terms(&d.terms),
            self.format_external(e),
            self.format_terms(terms)
        )
    }

    fn and_explain_external(&self, e: &Ext, terms: &Map<Node, Term<SemverSet>>) -> String {
        format!(
            "And because {}, {}.",
            self.format_external(e),
            self.format_terms(terms)
        )
    }

    fn and_explain_ref(
        &self,
        id: usize,
        d: &Derived<Node, SemverSet, String>,
        terms: &Map<Node, Term<SemverSet>>,
    ) -> String {
        format!(
            "And because {} ({id}), {}.",
            self.format_terms(&d.terms),
            self.format_terms(terms)
        )
    }

    fn and_explain_prior_and_external(
        &self,
        prior: &Ext,
        e: &Ext,
        terms: &Map<Node, Term<SemverSet>>,
    ) -> String {
        format!(
            "And because {} and {}, {}.",
            self.format_external(prior),
            self.format_external(e),
            self.format_terms(terms)
        )
    }
}
