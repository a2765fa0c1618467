//! Reading skillet's own JSON index: each source, bad entries left out with a warning, hostile
//! sources refused, relative sources resolved against the origin, what is not an index (Claude
//! Code marketplaces are in index_claude.rs).

mod manifest_support;

use std::fs;
use std::os::unix::fs::symlink;

use manifest_support::{SHA, git_origin, names, parse, warned, write};
use skillet_pkg::PackageName;
use skillet_pkg::index::{Index, IndexError, IndexOrigin};
use skillet_pkg::source::Source;

#[test]
fn skillet_index_with_each_source() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = fs::canonicalize(dir.path()).expect("canonical");
    fs::create_dir_all(root.join("packages/review-kit")).expect("mkdir");
    write(&root, "archives/fmt.tar.gz", "not really");
    let json = format!(
        r#"{{
  "skillet_index": 1,
  "name": "team-skills",
  "description": "Our team's skills",
  "packages": [
    {{"name": "review-kit", "version": "2.1.0", "description": "Review code",
      "source": {{"type": "dir", "path": "./packages/review-kit"}},
      "dependencies": {{"lint-core": "^3"}}, "skills": ["./skills/review"]}},
    {{"name": "lint-core", "version": "3.0.1",
      "source": {{"type": "git", "url": "https://example.test/lint-core.git", "reference": "v3.0.1", "subdir": "pkg"}}}},
    {{"name": "fmt", "version": "1.0.0",
      "source": {{"type": "archive", "url": "https://example.test/fmt-1.0.0.tar.gz", "sha256": "{upper}"}}}},
    {{"name": "fmt", "version": "1.1.0",
      "source": {{"type": "archive", "url": "./archives/fmt.tar.gz", "sha256": "{SHA}"}}}}
  ]
}}"#,
        upper = SHA.to_uppercase()
    );
    let index = parse(&json, &IndexOrigin::Dir(root.clone()));
    assert!(index.warnings.is_empty(), "{:?}", index.warnings);
    assert_eq!(index.name.as_deref(), Some("team-skills"));
    assert_eq!(names(&index), ["review-kit", "lint-core", "fmt", "fmt"]);
    let review = &index.packages[0];
    assert_eq!(review.version, semver::Version::new(2, 1, 0));
    assert_eq!(
        review.source,
        Source::Dir {
            path: root.join("packages/review-kit")
        }
    );
    assert_eq!(review.skills, ["skills/review"]);
    let lint = PackageName::new("lint-core").expect("name");
    assert_eq!(review.dependencies[&lint].to_string(), "^3");
    assert_eq!(
        index.packages[1].source,
        Source::Git {
            url: "https://example.test/lint-core.git".into(),
            reference: Some("v3.0.1".into()),
            subdir: Some("pkg".into()),
        }
    );
    assert_eq!(
        index.packages[2].source,
        Source::Archive {
            url: "https://example.test/fmt-1.0.0.tar.gz".into(),
            sha256: SHA.into()
        }
    );
    assert_eq!(
        index.packages[3].source,
        Source::Archive {
            url: format!("file://{}", root.join("archives/fmt.tar.gz").display()),
            sha256: SHA.into()
        }
    );
}

#[test]
fn bad_entries_are_reported_and_the_rest_still_loads() {
    let json = format!(
        r#"{{"skillet_index": 1, "extra": true, "packages": [
  {{"name": "good", "version": "1.0.0", "source": {{"type": "git", "url": "https://example.test/good.git"}}}},
  {{"name": "no-digest", "version": "1.0.0", "source": {{"type": "archive", "url": "https://example.test/a.tar.gz"}}}},
  {{"name": "bad-digest", "version": "1.0.0", "source": {{"type": "archive", "url": "https://example.test/a.tar.gz", "sha256": "abc"}}}},
  {{"name": "typo", "version": "1.0.0", "sourse": {{}}, "source": {{"type": "git", "url": "https://example.test/x.git"}}}},
  {{"name": "src-typo", "version": "1.0.0", "source": {{"type": "git", "url": "https://example.test/x.git", "ref": "v1"}}}},
  {{"name": "Bad Name", "version": "1.0.0", "source": {{"type": "git", "url": "https://example.test/x.git"}}}},
  {{"name": "bad-version", "version": "one", "source": {{"type": "git", "url": "https://example.test/x.git"}}}},
  {{"name": "bad-kind", "version": "1.0.0", "source": {{"type": "ftp", "url": "ftp://example.test/x"}}}},
  {{"name": "bad-dep", "version": "1.0.0", "source": {{"type": "git", "url": "https://example.test/x.git"}}, "dependencies": {{"x": "soon"}}}},
  {{"name": "good", "version": "1.0.0", "source": {{"type": "git", "url": "https://example.test/dup.git"}}}},
  17,
  {{"name": "good", "version": "2.0.0", "source": {{"type": "archive", "url": "https://example.test/g.tar.gz", "sha256": "{SHA}"}}}}
]}}"#
    );
    let index = parse(&json, &git_origin());
    assert_eq!(names(&index), ["good", "good"]);
    assert!(
        warned(&index, "no-digest", "sha256"),
        "{:?}",
        index.warnings
    );
    assert!(warned(&index, "bad-digest", "64 hexadecimal"));
    assert!(warned(&index, "typo", "sourse"));
    assert!(warned(&index, "src-typo", "`ref`"));
    assert!(warned(&index, "Bad Name", "not a package name"));
    assert!(warned(&index, "bad-version", "semantic version"));
    assert!(warned(&index, "bad-kind", "\"ftp\""));
    assert!(warned(&index, "bad-dep", "version requirement"));
    assert!(warned(&index, "good", "listed twice"));
    assert!(warned(&index, "#11", "invalid type"));
    assert!(warned(&index, "(the index itself)", "extra"));
    assert!(index.warnings.iter().all(|w| !w.to_string().is_empty()));
}

#[test]
fn hostile_sources_are_refused_in_every_spelling() {
    let dir = tempfile::tempdir().expect("tempdir");
    let outside = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("index");
    fs::create_dir_all(root.join("pkgs/ok")).expect("mkdir");
    fs::create_dir_all(root.join(".git/objects")).expect("mkdir");
    symlink(outside.path(), root.join("pkgs/out")).expect("symlink");
    symlink(root.join(".git"), root.join("pkgs/git")).expect("symlink");
    let dir_paths = [
        "../index/pkgs/ok",
        "pkgs/../../x",
        "/etc",
        "//etc",
        "~/x",
        "pkgs\\..\\..",
        ".git/objects",
        "pkgs/.GIT",
        "pkgs/out",
        "pkgs/git/objects",
        "pkgs/missing",
    ];
    let mut entries = vec![
        r#"{"name": "fine", "version": "1.0.0", "source": {"type": "dir", "path": "pkgs/ok"}}"#
            .to_string(),
    ];
    for (i, p) in dir_paths.iter().enumerate() {
        entries.push(format!(
            r#"{{"name": "d{i}", "version": "1.0.0", "source": {{"type": "dir", "path": {p:?}}}}}"#
        ));
    }
    for (i, url) in [
        "ext::sh -c touch% /tmp/pwned",
        "fd::3",
        "-uupload-pack=touch /tmp/pwned",
        "https://example.test/a b.git",
        "https://example.test/x.git\nevil",
        "gopher://example.test/x",
        "",
    ]
    .iter()
    .enumerate()
    {
        entries.push(format!(
            r#"{{"name": "g{i}", "version": "1.0.0", "source": {{"type": "git", "url": {url:?}}}}}"#
        ));
    }
    for (i, reference) in ["--upload-pack=x", "a b", "x..y", "main@{1}", ""]
        .iter()
        .enumerate()
    {
        entries.push(format!(
            r#"{{"name": "r{i}", "version": "1.0.0", "source": {{"type": "git", "url": "https://example.test/x.git", "reference": {reference:?}}}}}"#
        ));
    }
    for (i, sub) in ["../x", "/abs", ".git"].iter().enumerate() {
        entries.push(format!(
            r#"{{"name": "s{i}", "version": "1.0.0", "source": {{"type": "git", "url": "https://example.test/x.git", "subdir": {sub:?}}}}}"#
        ));
    }
    for (i, skill) in ["../x", "/etc", ".skillet/x"].iter().enumerate() {
        entries.push(format!(
            r#"{{"name": "k{i}", "version": "1.0.0", "skills": [{skill:?}], "source": {{"type": "git", "url": "https://example.test/x.git"}}}}"#
        ));
    }
    let json = format!(
        r#"{{"skillet_index": 1, "packages": [{}]}}"#,
        entries.join(",\n")
    );
    let index = parse(&json, &IndexOrigin::Dir(root));
    assert_eq!(names(&index), ["fine"], "{:#?}", index.warnings);
    assert_eq!(
        index.warnings.len(),
        entries.len() - 1,
        "{:#?}",
        index.warnings
    );
}

#[test]
fn what_is_not_an_index_is_an_error() {
    let origin = git_origin();
    for (bytes, expect) in [
        ("not json", "not JSON"),
        ("[1, 2]", "not an object"),
        (r#"{"name": "x"}"#, "neither"),
        (r#"{"skillet_index": 1, "packages": {}}"#, "packages"),
    ] {
        let e = Index::parse(bytes.as_bytes(), &origin).expect_err(bytes);
        assert!(matches!(e, IndexError::NotAnIndex { .. }), "{bytes}: {e:?}");
        let text = e.to_string();
        assert!(
            text.contains(expect) && text.contains("example.test"),
            "{text}"
        );
    }
    let e = Index::parse(br#"{"skillet_index": 2, "packages": []}"#, &origin).expect_err("v2");
    assert!(e.to_string().contains("update skillet"), "{e}");
}

#[test]
fn read_dir_finds_either_file_and_refuses_links_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let origin = IndexOrigin::Dir(root.to_path_buf());
    let e = Index::read_dir(root, &origin).expect_err("empty folder");
    assert!(matches!(e, IndexError::NotFound { .. }), "{e:?}");
    assert!(e.to_string().contains("skillet-index.json"));

    write(
        root,
        ".claude-plugin/marketplace.json",
        r#"{"name": "m", "plugins": []}"#,
    );
    assert_eq!(
        Index::read_dir(root, &origin)
            .expect("reads")
            .name
            .as_deref(),
        Some("m")
    );

    // skillet's own index wins when both are there.
    write(
        root,
        "skillet-index.json",
        r#"{"skillet_index": 1, "name": "ours", "packages": []}"#,
    );
    assert_eq!(
        Index::read_dir(root, &origin)
            .expect("reads")
            .name
            .as_deref(),
        Some("ours")
    );

    let outside = tempfile::tempdir().expect("tempdir");
    write(
        outside.path(),
        "index.json",
        r#"{"skillet_index": 1, "packages": []}"#,
    );
    fs::remove_file(root.join("skillet-index.json")).expect("rm");
    symlink(
        outside.path().join("index.json"),
        root.join("skillet-index.json"),
    )
    .expect("symlink");
    let e = Index::read_dir(root, &origin).expect_err("link out");
    assert!(matches!(e, IndexError::Read { .. }), "{e:?}");
}

#[test]
fn warnings_never_carry_terminal_escapes_from_the_index() {
    let json = "{\"skillet_index\": 1, \"\\u001b]0;pwned\\u0007\": 1, \"packages\": [\
        {\"name\": \"x\\u001b[2J\", \"version\": \"1.0.0\", \"source\": {\"type\": \"git\", \"url\": \"https://e.test/x.git\"}},\
        {\"name\": \"y\", \"version\": \"1.0.0\", \"\\u001b[31mred\\u202e\": 1, \"source\": {\"type\": \"git\", \"url\": \"https://e.test/x.git\"}}]}";
    let index = parse(json, &git_origin());
    assert_eq!(index.warnings.len(), 3, "{:#?}", index.warnings);
    for w in &index.warnings {
        let text = w.to_string();
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{7}') && !text.contains('\u{202e}'),
            "{text:?}"
        );
    }
    assert!(warned(&index, "y", r"\x1b[31mred"), "{:#?}", index.warnings);
}

#[test]
fn an_oversized_file_or_a_missing_folder_is_an_error() {
    let huge = vec![b' '; 33 * 1024 * 1024];
    let e = Index::parse(&huge, &git_origin()).expect_err("too large");
    assert!(matches!(e, IndexError::TooLarge { .. }), "{e:?}");
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nope");
    let e = Index::read_dir(&missing, &IndexOrigin::Dir(missing.clone())).expect_err("missing");
    assert!(
        matches!(e, IndexError::Dir { .. }) && e.to_string().contains("nope"),
        "{e}"
    );
}
