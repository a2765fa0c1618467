#![allow(clippy::unwrap_used)]

use super::*;
use crate::marketplace::search;
use crate::source::Source;

fn entry(name: &str, version: &str, description: &str, deps: &[(&str, &str)]) -> IndexEntry {
    IndexEntry {
        name: PackageName::new(name).unwrap(),
        version: version.parse().unwrap(),
        description: description.into(),
        source: Source::Dir {
            path: format!("/srv/{name}").into(),
        },
        dependencies: deps
            .iter()
            .map(|(n, r)| (PackageName::new(*n).unwrap(), r.parse().unwrap()))
            .collect(),
        skills: Vec::new(),
    }
}

fn index(entries: Vec<IndexEntry>) -> Index {
    Index {
        packages: entries,
        ..Index::default()
    }
}

fn catalog() -> MarketplaceCatalog {
    MarketplaceCatalog::new(vec![
        (
            "team".into(),
            index(vec![
                entry(
                    "review-kit",
                    "2.1.0",
                    "Review pull requests",
                    &[("lint-core", "^3")],
                ),
                entry("review-kit", "2.2.0-beta.1", "Review pull requests", &[]),
                entry("review-kit", "1.4.0", "Review pull requests", &[]),
                entry("lint-core", "3.0.1", "Shared lint rules", &[]),
                entry("pdf-tools", "1.0.0", "Read and fill PDF forms", &[]),
            ]),
        ),
        (
            "upstream".into(),
            index(vec![
                entry("pdf-tools", "1.2.0", "PDF forms, newer", &[]),
                entry(
                    "document-skills",
                    "0.0.0",
                    "Word, Excel and PDF documents",
                    &[],
                ),
            ]),
        ),
    ])
}

fn name(n: &str) -> PackageName {
    PackageName::new(n).unwrap()
}

#[test]
fn find_takes_the_newest_stable_version_that_fits() {
    let c = catalog();
    assert_eq!(
        c.find(&name("review-kit"), None, None)
            .unwrap()
            .version
            .to_string(),
        "2.1.0"
    );
    let req: semver::VersionReq = "^1".parse().unwrap();
    assert_eq!(
        c.find(&name("review-kit"), None, Some(&req))
            .unwrap()
            .version
            .to_string(),
        "1.4.0"
    );
    let beta: semver::VersionReq = ">=2.2.0-beta.1".parse().unwrap();
    assert_eq!(
        c.find(&name("review-kit"), None, Some(&beta))
            .unwrap()
            .version
            .to_string(),
        "2.2.0-beta.1"
    );
    let offer = c
        .find_offer(&name("document-skills"), Some("upstream"), None)
        .unwrap();
    assert_eq!(offer.marketplace, "upstream");
}

#[test]
fn find_errors_say_what_to_write() {
    let c = catalog();
    let e = c
        .find(&name("review-kt"), None, None)
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "no marketplace offers `review-kt`; did you mean `review-kit`?"
    );

    let e = c.find(&name("zzzzzz"), None, None).unwrap_err().to_string();
    assert!(e.contains("`skillet search WORDS`"), "{e}");

    let e = c
        .find(&name("pdf-tools"), None, None)
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "`pdf-tools` is offered by `team` and `upstream`: write `pdf-tools@team` or `pdf-tools@upstream`"
    );
    assert_eq!(
        c.find(&name("pdf-tools"), Some("team"), None)
            .unwrap()
            .version
            .to_string(),
        "1.0.0"
    );

    let e = c
        .find(&name("lint-core"), Some("upstream"), None)
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "marketplace `upstream` does not offer `lint-core`; it is offered by `team`: write `lint-core@team`"
    );

    let e = c
        .find(&name("lint-core"), Some("tem"), None)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("no marketplace named `tem`; did you mean `team`?"),
        "{e}"
    );

    let req: semver::VersionReq = "^4".parse().unwrap();
    let e = c
        .find(&name("lint-core"), None, Some(&req))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("no version of `lint-core` in `team` matches ^4 (offered: 3.0.1)"),
        "{e}"
    );

    let empty = MarketplaceCatalog::new(Vec::new());
    let e = empty.find(&name("x"), None, None).unwrap_err().to_string();
    assert!(e.contains("skillet marketplace add"), "{e}");
}

#[test]
fn the_resolver_sees_every_version_or_only_the_chosen_marketplace() {
    let mut c = catalog();
    let mut v: Vec<String> = c
        .versions(&name("pdf-tools"))
        .iter()
        .map(|c| c.version.to_string())
        .collect();
    v.sort();
    assert_eq!(v, ["1.0.0", "1.2.0"]);
    let deps = c
        .versions(&name("review-kit"))
        .into_iter()
        .find(|c| c.version.to_string() == "2.1.0")
        .unwrap()
        .dependencies;
    assert_eq!(deps[&name("lint-core")].to_string(), "^3");
    assert!(c.versions(&name("nothing")).is_empty());

    c.choose(name("pdf-tools"), "upstream".into());
    let v: Vec<String> = c
        .versions(&name("pdf-tools"))
        .iter()
        .map(|c| c.version.to_string())
        .collect();
    assert_eq!(v, ["1.2.0"]);
    assert_eq!(
        c.find(&name("pdf-tools"), None, None)
            .unwrap()
            .version
            .to_string(),
        "1.2.0"
    );
}

#[test]
fn search_matches_every_word_in_name_or_description_ignoring_case() {
    let c = catalog();
    let found = |words: &[&str]| -> Vec<String> {
        search(&c, &words.iter().map(|w| w.to_string()).collect::<Vec<_>>())
            .into_iter()
            .map(|h| format!("{}@{} {}", h.name, h.marketplace, h.version))
            .collect()
    };
    // Names that hold the word come before descriptions that do.
    assert_eq!(
        found(&["PDF"]),
        [
            "pdf-tools@team 1.0.0",
            "pdf-tools@upstream 1.2.0",
            "document-skills@upstream 0.0.0"
        ]
    );
    assert_eq!(
        found(&["pdf", "forms", "newer"]),
        ["pdf-tools@upstream 1.2.0"]
    );
    assert_eq!(found(&["review"]), ["review-kit@team 2.1.0"]);
    assert!(found(&["pdf", "lint"]).is_empty());
    assert_eq!(found(&[]).len(), 5);
}
