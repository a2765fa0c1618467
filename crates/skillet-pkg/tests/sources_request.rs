//! What `skillet install` accepts, and the errors for what it does not.

use skillet_pkg::PackageName;
use skillet_pkg::source::{Request, Source};

const SHA: &str = "5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef";

fn named(name: &str, marketplace: Option<&str>, req: Option<&str>) -> Request {
    Request::Named {
        name: PackageName::new(name).expect("name"),
        marketplace: marketplace.map(str::to_owned),
        req: req.map(|r| semver::VersionReq::parse(r).expect("req")),
    }
}

fn git(url: &str, reference: Option<&str>) -> Request {
    Request::Source(Source::Git {
        url: url.into(),
        reference: reference.map(str::to_owned),
        subdir: None,
    })
}

#[test]
fn every_accepted_form_parses() {
    let cases = [
        ("review-kit", named("review-kit", None, None)),
        (
            "document-skills@anthropic-agent-skills",
            named("document-skills", Some("anthropic-agent-skills"), None),
        ),
        (
            "kit@1password-skills",
            named("kit", Some("1password-skills"), None),
        ),
        ("review-kit@^2.1", named("review-kit", None, Some("^2.1"))),
        (
            "review-kit@=1.0.0",
            named("review-kit", None, Some("=1.0.0")),
        ),
        ("review-kit@2", named("review-kit", None, Some("2"))),
        ("kit@>=1, <2", named("kit", None, Some(">=1, <2"))),
        (
            "./path/to/pkg",
            Request::Source(Source::Dir {
                path: "./path/to/pkg".into(),
            }),
        ),
        (
            "../pkg",
            Request::Source(Source::Dir {
                path: "../pkg".into(),
            }),
        ),
        (
            "/abs/pkg",
            Request::Source(Source::Dir {
                path: "/abs/pkg".into(),
            }),
        ),
        (".", Request::Source(Source::Dir { path: ".".into() })),
        (
            "git+https://example.test/kit#v2",
            git("https://example.test/kit", Some("v2")),
        ),
        (
            "git+ssh://git@example.test/kit.git",
            git("ssh://git@example.test/kit.git", None),
        ),
        (
            "git+file:///srv/kit#main",
            git("file:///srv/kit", Some("main")),
        ),
        (
            "https://example.test/org/kit.git#v2.1.0",
            git("https://example.test/org/kit.git", Some("v2.1.0")),
        ),
        (
            "git@example.test:org/kit.git",
            git("git@example.test:org/kit.git", None),
        ),
        (
            "git@example.test:org/kit.git#abc1234",
            git("git@example.test:org/kit.git", Some("abc1234")),
        ),
        (
            "file:///srv/kit.git#main",
            git("file:///srv/kit.git", Some("main")),
        ),
    ];
    for (text, want) in cases {
        assert_eq!(
            Request::parse(text, None).unwrap_or_else(|e| panic!("{text}: {e}")),
            want,
            "{text}"
        );
    }
}

#[test]
fn archives_need_their_digest() {
    assert_eq!(
        Request::parse(
            "https://example.test/kit-1.0.tar.gz",
            Some(&SHA.to_uppercase())
        )
        .expect("archive"),
        Request::Source(Source::Archive {
            url: "https://example.test/kit-1.0.tar.gz".into(),
            sha256: SHA.into()
        })
    );
    assert_eq!(
        Request::parse("file:///srv/kit.tgz", Some(SHA)).expect("archive"),
        Request::Source(Source::Archive {
            url: "file:///srv/kit.tgz".into(),
            sha256: SHA.into()
        })
    );
    let local = Request::parse("./kit.tar.gz", Some(SHA)).expect("local archive");
    let Request::Source(Source::Archive { url, .. }) = local else {
        panic!("{local:?}")
    };
    assert!(
        url.starts_with("file:///") && url.ends_with("/kit.tar.gz"),
        "{url}"
    );

    let spaced = Request::parse("./my kit#1.tar.gz", Some(SHA)).expect("local archive");
    let Request::Source(Source::Archive { url, .. }) = spaced else {
        panic!("{spaced:?}")
    };
    assert!(url.ends_with("/my%20kit%231.tar.gz"), "{url}");

    let err = Request::parse("https://example.test/kit.tar.gz", None).expect_err("no digest");
    assert_eq!(
        err.to_string(),
        "https://example.test/kit.tar.gz is an archive: give its sha256 with --sha256 HEX (`sha256sum FILE`), so skillet can check what it downloads"
    );
    let err =
        Request::parse("https://example.test/kit.tar.gz", Some("abc")).expect_err("short digest");
    assert!(err.to_string().contains("is not a sha256 digest"), "{err}");
    let err = Request::parse("review-kit", Some(SHA)).expect_err("digest on a name");
    assert!(
        err.to_string()
            .starts_with("--sha256 applies only to an archive"),
        "{err}"
    );
    let err = Request::parse("https://example.test/kit.tar.gz#v1", Some(SHA))
        .expect_err("ref on archive");
    assert!(
        err.to_string().contains("an archive takes no #REF"),
        "{err}"
    );
}

#[test]
fn unknown_and_ambiguous_forms_list_the_accepted_ones() {
    for (text, why) in [
        ("org/repo", "a folder must start with ./, ../ or /"),
        (
            "https://example.test/kit",
            "must end in .git for a git repository or .tar.gz",
        ),
        (
            "https://example.test/kit.zip",
            "must end in .git for a git repository or .tar.gz",
        ),
        ("ftp://example.test/kit.tar.gz", "an unknown URL scheme"),
        ("git+", "git+ needs a URL"),
    ] {
        let err = Request::parse(text, None).expect_err(text);
        let message = err.to_string();
        assert!(
            message.starts_with(&format!("{text:?} is not a package request")),
            "{message}"
        );
        assert!(message.contains(why), "{message}");
        assert!(
            message.contains("NAME@MARKETPLACE")
                && message.contains("git+URL[#REF]")
                && message.contains("--sha256 HEX"),
            "{message}"
        );
    }
    let err = Request::parse("", None).expect_err("empty");
    assert!(err.to_string().contains("NAME@REQUIREMENT"), "{err}");
    let err = Request::parse("~/skills/kit", None).expect_err("tilde");
    assert!(
        err.to_string().contains("skillet does not expand '~'"),
        "{err}"
    );
    let err = Request::parse("Review-Kit", None).expect_err("uppercase");
    assert!(err.to_string().contains("is not a package name"), "{err}");
    let err = Request::parse("kit@Not A Market", None).expect_err("bad marketplace");
    assert!(
        err.to_string()
            .contains("neither a marketplace name nor a version requirement"),
        "{err}"
    );
    let err = Request::parse("kit@^x.y", None).expect_err("bad requirement");
    assert!(
        err.to_string()
            .contains("neither a marketplace name nor a version requirement"),
        "{err}"
    );
    let err = Request::parse("git+https://example.test/kit.git#", None).expect_err("empty ref");
    assert!(
        err.to_string().contains("the #REF after the URL is empty"),
        "{err}"
    );
}

/// A git repository the user names over a transport anyone on the way can rewrite is still
/// fetched (the user chose it), with a warning; https, ssh and this machine get none.
#[test]
fn plain_git_transports_the_user_types_carry_a_warning() {
    for text in [
        "git+http://example.test/team/kit.git",
        "http://example.test/team/kit.git",
        "git://example.test/team/kit.git",
        "git+GIT://example.test/team/kit.git",
    ] {
        let Request::Source(source) = Request::parse(text, None).expect(text) else {
            panic!("{text} is not a source");
        };
        let warning = source.transport_warning().expect(text);
        assert!(warning.contains("plain"), "{warning}");
        assert!(
            warning.contains("use an https:// or ssh:// URL"),
            "{warning}"
        );
    }
    for text in [
        "git+https://example.test/team/kit.git",
        "git@example.test:team/kit.git",
        "ssh://git@example.test/team/kit.git",
        "git+http://127.0.0.1:8080/kit.git",
        "git+http://localhost/kit.git",
        "./kit",
    ] {
        let Request::Source(source) = Request::parse(text, None).expect(text) else {
            panic!("{text} is not a source");
        };
        assert_eq!(source.transport_warning(), None, "{text}");
    }
}
