//! Where an index may send skillet: an index from elsewhere may not name this machine, a private
//! network or a plain-text git transport, in any spelling of the address; one the user serves
//! locally or keeps in a folder may name local addresses.

mod manifest_support;

use std::fs;

use manifest_support::{COMMIT, SHA, git_origin, names, parse, warned};
use skillet_pkg::index::{Index, IndexOrigin};
use skillet_pkg::source::Source;

#[test]
fn an_index_from_elsewhere_may_not_point_at_this_machine() {
    let json = format!(
        r#"{{"skillet_index": 1, "packages": [
  {{"name": "local-git", "version": "1.0.0", "source": {{"type": "git", "url": "file:///home/me/private.git"}}}},
  {{"name": "path-git", "version": "1.0.0", "source": {{"type": "git", "url": "/home/me/private.git"}}}},
  {{"name": "local-archive", "version": "1.0.0", "source": {{"type": "archive", "url": "file:///home/me/a.tar.gz", "sha256": "{SHA}"}}}},
  {{"name": "folder", "version": "1.0.0", "source": {{"type": "dir", "path": "./pkgs/x"}}}},
  {{"name": "beside", "version": "1.0.0", "source": {{"type": "archive", "url": "pkgs/x-1.0.0.tar.gz", "sha256": "{SHA}"}}}},
  {{"name": "sneaky", "version": "1.0.0", "source": {{"type": "archive", "url": "pkgs/%2e%2e/x.tar.gz", "sha256": "{SHA}"}}}}
]}}"#
    );
    let origin = IndexOrigin::Url("https://example.test/skills/index.json?v=2".into());
    let index = parse(&json, &origin);
    assert_eq!(names(&index), ["beside"], "{:#?}", index.warnings);
    assert_eq!(
        index.packages[0].source,
        Source::Archive {
            url: "https://example.test/skills/pkgs/x-1.0.0.tar.gz".into(),
            sha256: SHA.into()
        }
    );
    for entry in ["local-git", "path-git", "local-archive"] {
        assert!(
            warned(&index, entry, "may not point at local files"),
            "{entry}: {:#?}",
            index.warnings
        );
    }
    assert!(warned(&index, "folder", "git or archive source"));

    // The same index from a git repository on a server: relative folders are the repository's.
    let index = parse(&json, &git_origin());
    assert_eq!(names(&index), ["folder"], "{:#?}", index.warnings);
    assert_eq!(
        index.packages[0].source,
        Source::Git {
            url: "https://example.test/team/skills.git".into(),
            reference: Some(COMMIT.into()),
            subdir: Some("pkgs/x".into()),
        }
    );

    // From a local repository, local sources are fine.
    let local = IndexOrigin::Git {
        url: "file:///srv/skills.git".into(),
        commit: COMMIT.into(),
    };
    let index = parse(&json, &local);
    assert!(
        names(&index).contains(&"local-git".to_string()),
        "{:#?}",
        index.warnings
    );
}

/// Whatever an index says was written by whoever serves it: a git source over a transport
/// anyone on the way can rewrite is refused from every origin, in skillet's index and in a
/// Claude Code marketplace, while https, ssh and git@host:path stay accepted.
#[test]
fn an_index_may_not_name_git_over_plain_http_or_the_git_protocol() {
    let refused = [
        ("plain-http", "http://example.test/team/kit.git"),
        ("upper-http", "HTTP://example.test/team/kit.git"),
        ("loopback-http", "http://127.0.0.1:8080/kit.git"),
        ("git-protocol", "git://example.test/team/kit.git"),
        ("upper-git", "Git://example.test/team/kit.git"),
    ];
    let accepted = [
        ("over-https", "https://example.test/team/kit.git"),
        ("over-ssh", "ssh://git@example.test/team/kit.git"),
        ("scp-like", "git@example.test:team/kit.git"),
    ];
    let entries = |kind: &str| {
        refused
            .iter()
            .chain(&accepted)
            .map(|(name, url)| {
                if kind == "skillet" {
                    format!(
                        r#"{{"name": "{name}", "version": "1.0.0", "source": {{"type": "git", "url": "{url}"}}}}"#
                    )
                } else {
                    format!(r#"{{"name": "{name}", "source": {{"source": "url", "url": "{url}"}}}}"#)
                }
            })
            .collect::<Vec<_>>()
            .join(",\n")
    };
    let skillet = format!(
        r#"{{"skillet_index": 1, "packages": [{}]}}"#,
        entries("skillet")
    );
    let claude = format!(
        r#"{{"name": "team", "owner": {{"name": "t"}}, "plugins": [{}]}}"#,
        entries("claude")
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let origins = [
        IndexOrigin::Url("https://example.test/skills/index.json".into()),
        git_origin(),
        IndexOrigin::Dir(fs::canonicalize(dir.path()).expect("canonical")),
    ];
    // And a repository on this machine, named by a remote index, in the Claude Code shape too.
    let local_claude = r#"{"name": "team", "owner": {"name": "t"}, "plugins": [
  {"name": "local-file", "source": {"source": "url", "url": "file:///home/me/private.git"}},
  {"name": "local-path", "source": {"source": "git-subdir", "url": "/home/me/private.git", "path": "p"}}
]}"#;
    for origin in &origins[..2] {
        let index = Index::parse(local_claude.as_bytes(), origin).expect("an index");
        assert!(index.packages.is_empty(), "{origin}: {:#?}", index.packages);
        for entry in ["local-file", "local-path"] {
            assert!(
                warned(&index, entry, "may not point at local files"),
                "{origin} {entry}: {:#?}",
                index.warnings
            );
        }
    }
    for origin in &origins {
        for json in [&skillet, &claude] {
            let index = Index::parse(json.as_bytes(), origin).expect("an index");
            let expected: Vec<String> = accepted.iter().map(|(n, _)| n.to_string()).collect();
            assert_eq!(names(&index), expected, "{origin}: {:#?}", index.warnings);
            for (entry, _) in refused {
                // An upper-case scheme is already refused as a URL skillet does not fetch.
                assert!(
                    warned(
                        &index,
                        entry,
                        "an index may only name git repositories over https:// or ssh://"
                    ) || (entry.starts_with("upper")
                        && warned(&index, entry, "is not one skillet fetches")),
                    "{origin} {entry}: {:#?}",
                    index.warnings
                );
            }
        }
    }
}

/// An index from elsewhere may not send skillet to this machine or a private network by
/// naming it, in any spelling of the address; an index served from such a place may.
#[test]
fn an_index_from_elsewhere_may_not_name_a_local_address() {
    let local = [
        ("git-dotted", "git", "https://127.1/kit.git"),
        ("git-decimal", "git", "https://2130706433/kit.git"),
        (
            "git-mapped",
            "git",
            "https://[0:0:0:0:0:ffff:7f00:1]/kit.git",
        ),
        ("git-name", "git", "https://LocalHost/kit.git"),
        (
            "git-ssh-metadata",
            "git",
            "ssh://git@169.254.169.254/kit.git",
        ),
        ("git-ssh-decimal", "git", "ssh://git@2130706433/kit.git"),
        ("git-scp-private", "git", "git@10.0.0.1:team/kit.git"),
        ("git-scp-v6", "git", "git@[fd00:0:0:0:0:0:0:1]:team/kit.git"),
        ("git-v6-loopback", "git", "https://[::1]/kit.git"),
        ("git-ssh-v6", "git", "ssh://git@[::ffff:127.0.0.1]/kit.git"),
        (
            "archive-metadata",
            "archive",
            "https://169.254.169.254/kit.tar.gz",
        ),
        (
            "archive-private",
            "archive",
            "https://192.168.1.1/kit.tar.gz",
        ),
        (
            "archive-unspecified",
            "archive",
            "http://0.0.0.0:8080/kit.tar.gz",
        ),
        (
            "archive-v6-local",
            "archive",
            "https://[fe80::1]/kit.tar.gz",
        ),
    ];
    let entries: Vec<String> = local
        .iter()
        .map(|(name, kind, url)| {
            let digest = if *kind == "archive" {
                format!(r#", "sha256": "{SHA}""#)
            } else {
                String::new()
            };
            format!(
                r#"{{"name": "{name}", "version": "1.0.0", "source": {{"type": "{kind}", "url": "{url}"{digest}}}}}"#
            )
        })
        .collect();
    let json = format!(
        r#"{{"skillet_index": 1, "packages": [{}]}}"#,
        entries.join(",\n")
    );
    for origin in [
        IndexOrigin::Url("https://example.test/skills/index.json".into()),
        git_origin(),
    ] {
        let index = parse(&json, &origin);
        assert!(index.packages.is_empty(), "{origin}: {:#?}", index.packages);
        for (entry, _, _) in local {
            assert!(
                warned(&index, entry, "may not send skillet to local addresses"),
                "{origin} {entry}: {:#?}",
                index.warnings
            );
        }
    }
    // An index the user serves on this machine, or keeps in a folder, may.
    let dir = tempfile::tempdir().expect("tempdir");
    for origin in [
        IndexOrigin::Url("http://127.0.0.1:8080/index.json".into()),
        IndexOrigin::Dir(fs::canonicalize(dir.path()).expect("canonical")),
    ] {
        let index = parse(&json, &origin);
        assert_eq!(
            index.packages.len(),
            local.len(),
            "{origin}: {:#?}",
            index.warnings
        );
    }
}
