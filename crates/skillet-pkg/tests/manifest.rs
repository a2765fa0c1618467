//! Reading a package's manifest: skillet's own `skillet-package.toml` and one-skill folders, each
//! error, and hostile paths (the Claude Code formats are in manifest_claude.rs).

mod manifest_support;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use manifest_support::{name, skill_json, skill_md, write};
use skillet_pkg::manifest::{ManifestError, read_package};

fn err(root: &Path) -> String {
    read_package(root).expect_err("must be refused").to_string()
}

#[test]
fn skillet_manifest_with_every_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    write(
        root,
        "skillet-package.toml",
        r#"
[package]
name = "review-kit"
version = "2.1.0"
description = "Review code"
license = "MIT OR Apache-2.0"
skillet = ">=0.1"
skills = ["./skills/review", "tools/lint.json"]

[dependencies]
lint-core = "^3"
"#,
    );
    skill_md(root, "skills/review", "review");
    skill_json(root, "tools/lint.json", "lint");
    skill_md(root, "skills/unlisted", "unlisted");
    let m = read_package(root).expect("reads");
    assert_eq!(m.name, name("review-kit"));
    assert_eq!(m.version, semver::Version::new(2, 1, 0));
    assert_eq!(m.description, "Review code");
    assert_eq!(m.license.as_deref(), Some("MIT OR Apache-2.0"));
    assert_eq!(m.skills, vec!["skills/review", "tools/lint.json"]);
    assert_eq!(
        m.dependencies
            .get(&name("lint-core"))
            .map(ToString::to_string)
            .as_deref(),
        Some("^3")
    );
    assert_eq!(m.skillet.map(|r| r.to_string()).as_deref(), Some(">=0.1"));
}

#[test]
fn skillet_manifest_defaults_to_every_skill_under_skills() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    write(
        root,
        "skillet-package.toml",
        "[package]\nname = \"kit\"\nversion = \"0.1.0\"\n",
    );
    skill_md(root, "skills/b-agent", "b-agent");
    skill_json(root, "skills/a-pkg/skill.json", "a-pkg");
    skill_json(root, "skills/c.json", "c");
    fs::create_dir_all(root.join("skills/not-a-skill")).expect("mkdir");
    write(root, "skills/README.md", "notes");
    let m = read_package(root).expect("reads");
    assert_eq!(
        m.skills,
        vec!["skills/a-pkg", "skills/b-agent", "skills/c.json"]
    );
    assert!(m.dependencies.is_empty());
}

#[test]
fn a_misspelt_key_is_an_error_naming_it_and_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    skill_md(root, "skills/x", "x");
    write(
        root,
        "skillet-package.toml",
        "[package]\nname = \"kit\"\nversion = \"1.0.0\"\nskils = [\"skills/x\"]\n",
    );
    let e = err(root);
    assert!(
        e.contains("skils") && e.contains("skillet-package.toml"),
        "{e}"
    );

    write(
        root,
        "skillet-package.toml",
        "[package]\nname = \"kit\"\nversion = \"1.0.0\"\n[dependancies]\na = \"1\"\n",
    );
    let e = err(root);
    assert!(e.contains("dependancies"), "{e}");
}

#[test]
fn a_package_for_a_newer_skillet_says_to_update() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    skill_md(root, "skills/x", "x");
    write(
        root,
        "skillet-package.toml",
        "[package]\nname = \"kit\"\nversion = \"1.0.0\"\nskillet = \">=99.0\"\n",
    );
    let e = read_package(root).expect_err("too old");
    assert!(matches!(e, ManifestError::TooOld { .. }), "{e:?}");
    let text = e.to_string();
    assert!(
        text.contains(">=99.0") && text.contains("update skillet"),
        "{text}"
    );
}

#[test]
fn bad_values_are_errors_that_say_what_to_write() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    skill_md(root, "skills/x", "x");
    for (toml, expect) in [
        ("name = \"Kit!\"\nversion = \"1.0.0\"", "not a package name"),
        ("name = \"kit\"\nversion = \"1.0\"", "MAJOR.MINOR.PATCH"),
        (
            "name = \"kit\"\nversion = \"1.0.0\"\nskillet = \"soon\"",
            "version requirement",
        ),
        ("version = \"1.0.0\"", "name"),
    ] {
        write(
            root,
            "skillet-package.toml",
            &format!("[package]\n{toml}\n"),
        );
        let e = err(root);
        assert!(e.contains(expect), "{toml}: {e}");
    }
    write(
        root,
        "skillet-package.toml",
        "[package]\nname = \"kit\"\nversion = \"1.0.0\"\n[dependencies]\nlint = \"whenever\"\n",
    );
    assert!(err(root).contains("^1.2"));
}

#[test]
fn a_package_without_skills_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    write(
        root,
        "skillet-package.toml",
        "[package]\nname = \"kit\"\nversion = \"1.0.0\"\n",
    );
    let e = read_package(root).expect_err("no skills");
    assert!(matches!(e, ManifestError::NoSkills { .. }), "{e:?}");
    assert!(e.to_string().contains("skills/"));
}

#[test]
fn hostile_skill_paths_are_refused_in_every_spelling() {
    let dir = tempfile::tempdir().expect("tempdir");
    let outside = tempfile::tempdir().expect("tempdir");
    skill_md(outside.path(), "stolen", "stolen");
    let root = dir.path().join("pkg");
    skill_md(&root, "skills/ok", "ok");
    fs::create_dir_all(root.join(".git/hooks")).expect("mkdir");
    skill_md(&root, ".git/hooks", "hooks");
    skill_md(&root, ".skillet/x", "x");
    symlink(outside.path().join("stolen"), root.join("skills-link")).expect("symlink");
    symlink(root.join(".git"), root.join("git-link")).expect("symlink");
    symlink("/etc", root.join("etc-link")).expect("symlink");
    let escape = outside.path().display().to_string();
    for path in [
        "../outside".to_string(),
        "./../pkg/skills/ok".into(),
        "skills/../../pkg/skills/ok".into(),
        "/etc".into(),
        format!("{escape}/stolen"),
        "~/x".into(),
        "skills\\..\\..\\x".into(),
        ".git/hooks".into(),
        "./.GIT/hooks".into(),
        ".skillet/x".into(),
        "skills-link".into(),
        "git-link/hooks".into(),
        "etc-link".into(),
        "skills/missing".into(),
        "".into(),
    ] {
        write(
            &root,
            "skillet-package.toml",
            &format!("[package]\nname = \"kit\"\nversion = \"1.0.0\"\nskills = [{path:?}]\n"),
        );
        let e = read_package(&root).expect_err(&path);
        assert!(
            matches!(e, ManifestError::SkillPath { .. }),
            "{path}: {e:?}"
        );
        assert!(e.to_string().contains("kit"), "{e}");
    }
}

#[test]
fn a_link_in_the_default_skills_folder_leading_out_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let outside = tempfile::tempdir().expect("tempdir");
    skill_md(outside.path(), "stolen", "stolen");
    let root = dir.path();
    write(
        root,
        "skillet-package.toml",
        "[package]\nname = \"kit\"\nversion = \"1.0.0\"\n",
    );
    skill_md(root, "skills/ok", "ok");
    symlink(outside.path().join("stolen"), root.join("skills/evil")).expect("symlink");
    let e = err(root);
    assert!(
        e.contains("evil") && e.contains("leaves the package"),
        "{e}"
    );

    // A skill folder inside the package whose SKILL.md is a link out is refused too.
    fs::remove_file(root.join("skills/evil")).expect("rm");
    fs::create_dir_all(root.join("skills/sly")).expect("mkdir");
    symlink(
        outside.path().join("stolen/SKILL.md"),
        root.join("skills/sly/SKILL.md"),
    )
    .expect("symlink");
    let e = err(root);
    assert!(e.contains("sly") && e.contains("leaves the package"), "{e}");
}

#[test]
fn a_manifest_that_is_a_link_out_of_the_package_is_not_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let outside = tempfile::tempdir().expect("tempdir");
    write(
        outside.path(),
        "secret.toml",
        "[package]\nname = \"secret\"\nversion = \"1.0.0\"\n",
    );
    let root = dir.path();
    skill_md(root, "skills/x", "x");
    symlink(
        outside.path().join("secret.toml"),
        root.join("skillet-package.toml"),
    )
    .expect("symlink");
    let e = read_package(root).expect_err("escaping manifest");
    assert!(matches!(e, ManifestError::Read { .. }), "{e:?}");

    // A hard link is another file's contents under the manifest's name: a parse error would
    // quote a line of it.
    fs::remove_file(root.join("skillet-package.toml")).expect("rm");
    fs::hard_link(
        outside.path().join("secret.toml"),
        root.join("skillet-package.toml"),
    )
    .expect("hard link");
    let e = read_package(root).expect_err("hard-linked manifest");
    assert!(e.to_string().contains("hard link"), "{e}");

    fs::remove_file(root.join("skillet-package.toml")).expect("rm");
    fs::create_dir_all(root.join(".claude-plugin")).expect("mkdir");
    symlink("/etc/passwd", root.join(".claude-plugin/plugin.json")).expect("symlink");
    let e = read_package(root).expect_err("escaping plugin.json");
    assert!(matches!(e, ManifestError::Read { .. }), "{e:?}");
}

#[test]
fn a_manifest_that_is_not_text_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    skill_md(root, "skills/x", "x");
    fs::write(
        root.join("skillet-package.toml"),
        b"[package]\nname = \"\xff\xfe\"\n",
    )
    .expect("write");
    let e = err(root);
    assert!(
        e.contains("UTF-8") && e.contains("skillet-package.toml"),
        "{e}"
    );
}

#[test]
fn a_folder_that_is_one_skill_is_a_one_skill_package() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    skill_md(root, "", "pdf-tools");
    write(root, "scripts/run.sh", "#!/bin/sh\n");
    let m = read_package(root).expect("reads");
    assert_eq!(m.name, name("pdf-tools"));
    assert_eq!(m.description, "The pdf-tools skill");
    assert_eq!(m.skills, vec!["."]);

    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    write(
        root,
        "skill.json",
        r#"{"name": "count-lines", "version": "1.2.0", "description": "Count", "type": "code_inline", "command": "wc"}"#,
    );
    let m = read_package(root).expect("reads");
    assert_eq!(m.name, name("count-lines"));
    assert_eq!(m.version, semver::Version::new(1, 2, 0));
}

#[test]
fn a_folder_with_nothing_is_not_a_package_and_says_what_to_add() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("README.md"), "notes").unwrap();
    let e = read_package(dir.path()).expect_err("no manifest");
    assert!(matches!(e, ManifestError::NotAPackage { .. }), "{e:?}");
    assert!(e.to_string().contains("add a skillet-package.toml"));
    // With skills/ but no manifest, it is a Claude Code plugin its marketplace defines.
    skill_md(dir.path(), "skills/x", "x");
    let e = read_package(dir.path()).expect_err("no manifest");
    assert!(
        matches!(e, ManifestError::PluginWithoutManifest { .. }),
        "{e:?}"
    );
    assert!(
        e.to_string().contains("skillet install NAME@MARKETPLACE"),
        "{e}"
    );
    let missing = dir.path().join("nope");
    assert!(matches!(
        read_package(&missing),
        Err(ManifestError::Root { .. })
    ));
}

#[test]
fn skillet_manifest_wins_over_plugin_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    skill_md(root, "skills/x", "x");
    write(
        root,
        "skillet-package.toml",
        "[package]\nname = \"ours\"\nversion = \"3.0.0\"\n",
    );
    write(root, ".claude-plugin/plugin.json", r#"{"name": "theirs"}"#);
    assert_eq!(read_package(root).expect("reads").name, name("ours"));
}
