use std::collections::BTreeMap;

use super::*;

/// A catalog written as `(package, version, [(dependency, requirement)])`.
struct Listed(BTreeMap<PackageName, Vec<CandidateVersion>>);

impl Catalog for Listed {
    fn versions(&self, name: &PackageName) -> Vec<CandidateVersion> {
        self.0.get(name).cloned().unwrap_or_default()
    }
}

fn name(s: &str) -> PackageName {
    PackageName::new(s).expect("a valid package name")
}

/// `(package, version, [(dependency, requirement)])`.
type Row<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);

fn catalog(rows: &[Row<'_>]) -> Listed {
    let mut map: BTreeMap<PackageName, Vec<CandidateVersion>> = BTreeMap::new();
    for (pkg, version, deps) in rows {
        map.entry(name(pkg)).or_default().push(CandidateVersion {
            version: version.parse().expect("a valid version"),
            dependencies: deps
                .iter()
                .map(|(d, r)| (name(d), r.parse().expect("a valid requirement")))
                .collect(),
        });
    }
    Listed(map)
}

fn ask(
    catalog: &Listed,
    roots: &[(&str, &str)],
    installed: &[(&str, &str)],
) -> Result<BTreeMap<String, String>, ResolveError> {
    let roots: Vec<_> = roots
        .iter()
        .map(|(n, r)| (name(n), r.parse().expect("a valid requirement")))
        .collect();
    let preferred = installed
        .iter()
        .map(|(n, v)| (name(n), v.parse().expect("a valid version")))
        .collect();
    resolve(&roots, catalog, &preferred).map(|chosen| {
        chosen
            .into_iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    })
}

fn picked(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

fn kits() -> Listed {
    catalog(&[
        ("review-kit", "2.0.0", &[("lint-core", "^2")]),
        ("review-kit", "2.1.0", &[("lint-core", "^3")]),
        ("format-kit", "1.4.0", &[("lint-core", "^2")]),
        ("format-kit", "2.0.0", &[("lint-core", "^3")]),
        ("lint-core", "2.0.0", &[]),
        ("lint-core", "2.3.0", &[]),
        ("lint-core", "3.0.0", &[]),
        ("lint-core", "3.1.0", &[]),
    ])
}

#[test]
fn the_newest_versions_that_fit_are_chosen_with_their_dependencies() {
    let chosen = ask(&kits(), &[("review-kit", "^2")], &[]).expect("a solution");
    assert_eq!(
        chosen,
        picked(&[("review-kit", "2.1.0"), ("lint-core", "3.1.0")])
    );
    let chosen =
        ask(&kits(), &[("review-kit", "^2"), ("format-kit", "^1")], &[]).expect("a solution");
    assert_eq!(
        chosen,
        picked(&[
            ("review-kit", "2.0.0"),
            ("format-kit", "1.4.0"),
            ("lint-core", "2.3.0")
        ])
    );
}

#[test]
fn an_installed_version_that_still_fits_is_kept() {
    let chosen =
        ask(&kits(), &[("review-kit", "^2")], &[("lint-core", "3.0.0")]).expect("a solution");
    assert_eq!(
        chosen,
        picked(&[("review-kit", "2.1.0"), ("lint-core", "3.0.0")])
    );
    // One that no longer fits gives way.
    let chosen =
        ask(&kits(), &[("review-kit", "^2")], &[("lint-core", "2.3.0")]).expect("a solution");
    assert_eq!(chosen["lint-core"], "3.1.0");
}

#[test]
fn a_conflict_names_both_sides_and_what_to_try() {
    let err = ask(
        &kits(),
        &[("review-kit", "=2.1.0"), ("format-kit", "=1.4.0")],
        &[],
    )
    .expect_err("no solution");
    assert_eq!(
        err.to_string(),
        "review-kit 2.1.0 needs lint-core ^3, but format-kit 1.4.0 needs lint-core ^2; \
         no version of lint-core satisfies both. Try: install format-kit 2.0.0 (which accepts \
         lint-core ^3), or review-kit <2.1.0."
    );
}

#[test]
fn a_conflict_with_the_request_itself_puts_the_request_first() {
    let err = ask(
        &kits(),
        &[("review-kit", "=2.1.0"), ("lint-core", "^2")],
        &[],
    )
    .expect_err("no solution");
    assert_eq!(
        err.to_string(),
        "you asked for lint-core ^2, but review-kit 2.1.0 needs lint-core ^3; no version of \
         lint-core satisfies both. Try: review-kit <2.1.0."
    );
}

#[test]
fn an_unknown_package_says_to_add_a_marketplace() {
    let err = ask(&kits(), &[("pdf-kit", "^1")], &[]).expect_err("no solution");
    assert_eq!(
        err.to_string(),
        "you asked for pdf-kit ^1, but no marketplace offers pdf-kit; add one that does with \
         `skillet marketplace add`, or check the spelling."
    );
    let shelf = catalog(&[("review-kit", "1.0.0", &[("lint-core", "^3")])]);
    let err = ask(&shelf, &[("review-kit", "^1")], &[]).expect_err("no solution");
    assert_eq!(
        err.to_string(),
        "review-kit 1.0.0 needs lint-core ^3, but no marketplace offers lint-core; add one that \
         does with `skillet marketplace add`, or check the spelling."
    );
}

#[test]
fn no_matching_version_lists_what_there_is() {
    let shelf = catalog(&[
        ("review-kit", "1.0.0", &[("lint-core", "^1")]),
        ("review-kit", "1.1.0", &[("lint-core", "^3")]),
        ("lint-core", "1.0.0", &[]),
        ("lint-core", "1.2.0", &[]),
    ]);
    let err = ask(&shelf, &[("review-kit", "=1.1.0")], &[]).expect_err("no solution");
    assert_eq!(
        err.to_string(),
        "review-kit 1.1.0 needs lint-core ^3, but lint-core has 1.0.0, 1.2.0; none matches ^3. \
         Try: review-kit <1.1.0."
    );
    let err = ask(&shelf, &[("lint-core", "^3")], &[]).expect_err("no solution");
    assert_eq!(
        err.to_string(),
        "you asked for lint-core ^3, but lint-core has 1.0.0, 1.2.0; none matches ^3."
    );
    // Without the pin, the older review-kit is chosen instead of failing.
    let chosen = ask(&shelf, &[("review-kit", "^1")], &[]).expect("a solution");
    assert_eq!(
        chosen,
        picked(&[("review-kit", "1.0.0"), ("lint-core", "1.2.0")])
    );
}

#[test]
fn cycles_resolve_and_a_cycle_that_cannot_is_explained() {
    let shelf = catalog(&[
        ("a", "1.0.0", &[("b", "^1")]),
        ("b", "1.0.0", &[("a", "^1")]),
        ("self-ref", "1.0.0", &[("self-ref", "^1")]),
    ]);
    let chosen = ask(&shelf, &[("a", "^1"), ("self-ref", "*")], &[]).expect("a solution");
    assert_eq!(
        chosen,
        picked(&[("a", "1.0.0"), ("b", "1.0.0"), ("self-ref", "1.0.0")])
    );

    let shelf = catalog(&[
        ("a", "1.0.0", &[("b", "^1")]),
        ("b", "1.0.0", &[("a", "^2")]),
    ]);
    let err = ask(&shelf, &[("a", "^1")], &[]).expect_err("no solution");
    assert_eq!(
        err.to_string(),
        "b 1.0.0 needs a ^2, but a has 1.0.0; none matches ^2."
    );
}

#[test]
fn pre_releases_only_when_asked_and_build_metadata_comes_back() {
    let shelf = catalog(&[
        ("lint-core", "1.0.0+linux", &[]),
        ("lint-core", "1.1.0-rc.1", &[]),
    ]);
    assert_eq!(
        ask(&shelf, &[("lint-core", "^1")], &[]).expect("a solution")["lint-core"],
        "1.0.0+linux"
    );
    assert_eq!(
        ask(&shelf, &[("lint-core", ">=1.1.0-rc.1")], &[]).expect("a solution")["lint-core"],
        "1.1.0-rc.1"
    );
}

#[test]
fn the_same_package_asked_twice_must_meet_both() {
    let chosen =
        ask(&kits(), &[("lint-core", "^2"), ("lint-core", "<2.3")], &[]).expect("a solution");
    assert_eq!(chosen["lint-core"], "2.0.0");
    let err =
        ask(&kits(), &[("lint-core", "^2"), ("lint-core", "^3")], &[]).expect_err("no solution");
    assert!(err.to_string().contains("lint-core"), "{err}");
}

#[test]
fn a_conflict_deep_in_the_graph_names_the_two_that_disagree() {
    // The disagreement is two levels below what was asked for.
    let shelf = catalog(&[
        ("app", "1.0.0", &[("left", "^1"), ("right", "^1")]),
        ("left", "1.0.0", &[("base", "^1")]),
        ("right", "1.0.0", &[("base", "^2")]),
        ("base", "1.0.0", &[]),
        ("base", "2.0.0", &[]),
    ]);
    let err = ask(&shelf, &[("app", "^1")], &[]).expect_err("no solution");
    let text = err.to_string();
    assert!(text.contains("left 1.0.0 needs base ^1"), "{text}");
    assert!(text.contains("right 1.0.0 needs base ^2"), "{text}");
}
