use proptest::prelude::*;

use super::*;

const PRES: &[&str] = &[
    "", "0", "0.0", "1", "alpha", "alpha.0", "alpha.1", "beta", "rc.1",
];

fn version_strategy() -> impl Strategy<Value = Version> {
    (0u64..4, 0u64..4, 0u64..4, 0..PRES.len(), any::<bool>()).prop_map(
        |(ma, mi, pa, pre, build)| {
            let mut v = version(
                ma,
                mi,
                pa,
                Prerelease::new(PRES[pre]).expect("a valid pre-release"),
            );
            if build {
                v.build = BuildMetadata::new("b7").expect("valid build metadata");
            }
            v
        },
    )
}

fn comparator_strategy() -> impl Strategy<Value = String> {
    let ops = prop::sample::select(vec!["", "=", ">", ">=", "<", "<=", "~", "^"]);
    let body = prop_oneof![
        (0u64..4).prop_map(|a| a.to_string()),
        (0u64..4, 0u64..4).prop_map(|(a, b)| format!("{a}.{b}")),
        (0u64..4, 0u64..4, 0u64..4).prop_map(|(a, b, c)| format!("{a}.{b}.{c}")),
        (0u64..4, 0u64..4, 0u64..4, 1..PRES.len())
            .prop_map(|(a, b, c, p)| format!("{a}.{b}.{c}-{}", PRES[p])),
    ];
    let wildcard = prop_oneof![
        Just("*".to_string()),
        (0u64..4).prop_map(|a| format!("{a}.*")),
        (0u64..4, 0u64..4).prop_map(|(a, b)| format!("{a}.{b}.*")),
    ];
    prop_oneof![
        4 => (ops, body).prop_map(|(op, body)| format!("{op}{body}")),
        1 => wildcard,
    ]
}

fn req_strategy() -> impl Strategy<Value = VersionReq> {
    prop::collection::vec(comparator_strategy(), 1..4).prop_filter_map("semver refuses it", |cs| {
        VersionReq::parse(&cs.join(", ")).ok()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn a_set_holds_exactly_what_the_requirement_matches(req in req_strategy(), v in version_strategy()) {
        prop_assert_eq!(SemverSet::from_req(&req).matches(&v), req.matches(&v), "{} on {}", req, v);
    }

    #[test]
    fn set_operations_agree_with_matching(a in req_strategy(), b in req_strategy(), v in version_strategy()) {
        let (sa, sb) = (SemverSet::from_req(&a), SemverSet::from_req(&b));
        let (ma, mb) = (a.matches(&v), b.matches(&v));
        prop_assert_eq!(sa.intersection(&sb).matches(&v), ma && mb);
        prop_assert_eq!(sa.union(&sb).matches(&v), ma || mb);
        prop_assert_eq!(sa.complement().matches(&v), !ma);
        if sa.is_disjoint(&sb) {
            prop_assert!(!(ma && mb));
        }
        if sa.subset_of(&sb) {
            prop_assert!(!ma || mb);
        }
    }

    #[test]
    fn a_singleton_holds_one_version(v in version_strategy(), w in version_strategy()) {
        let one = SemverSet::singleton(without_build(&v));
        prop_assert_eq!(one.matches(&w), without_build(&v) == without_build(&w));
    }
}

fn set(req: &str) -> SemverSet {
    SemverSet::from_req(&VersionReq::parse(req).expect("a valid requirement"))
}

#[test]
fn equal_sets_spelled_differently_compare_equal() {
    // pubgrub decides "disjoint" and "subset" by comparing representations.
    assert_eq!(set("^1.2"), set(">=1.2.0, <2.0.0"));
    assert_eq!(set("~1.2.3"), set(">=1.2.3, <1.3.0"));
    assert_eq!(set("1.*"), set(">=1, <2"));
    assert_eq!(set("<=1.2.3"), set("<1.2.4"));
    assert_eq!(set(">1.2.3"), set(">=1.2.4"));
    assert_eq!(set(">1.2.3, <1.2.4"), SemverSet::empty());
    assert!(set("^2").is_disjoint(&set("^3")));
    assert!(set("^3.1").subset_of(&set("^3")));
}

#[test]
fn pre_releases_follow_semver() {
    let v = |s: &str| Version::parse(s).expect("a valid version");
    assert!(!set("^1.2.3").matches(&v("1.4.0-alpha")));
    assert!(set(">=1.2.3-alpha").matches(&v("1.2.3-beta")));
    assert!(!set(">=1.2.3-alpha").matches(&v("1.2.4-alpha")));
    assert!(set(">=1.2.3-alpha").matches(&v("1.2.4")));
    assert!(set("*").matches(&v("7.0.0+build.1")));
    assert!(!set("*").matches(&v("7.0.0-rc.1")));
}

#[test]
fn sets_read_as_requirements() {
    assert_eq!(set("^1.2").to_string(), ">=1.2.0, <2.0.0");
    assert_eq!(set("=1.2.3").to_string(), "1.2.3");
    assert_eq!(set("*").to_string(), "any version");
    assert_eq!(SemverSet::empty().to_string(), "no version");
}
