//! Reading a Claude Code plugin as a package, and a package as an index entry describes it (a
//! marketplace entry listing its skills).

mod manifest_support;

use std::collections::BTreeMap;
use std::os::unix::fs::symlink;
use std::path::Path;

use manifest_support::{name, skill_md, write};
use skillet_pkg::index::IndexEntry;
use skillet_pkg::manifest::{ManifestError, read_package, read_package_for};
use skillet_pkg::source::Source;

fn err(root: &Path) -> String {
    read_package(root).expect_err("must be refused").to_string()
}

#[test]
fn claude_code_plugin() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    write(
        root,
        ".claude-plugin/plugin.json",
        r#"{
  "name": "frontend-kit",
  "version": "1.1.0",
  "description": "Frontend design skills",
  "license": "MIT",
  "author": {"name": "A. Author", "email": "a@example.test"},
  "homepage": "https://example.test/frontend-kit",
  "commands": ["./commands"],
  "hooks": "./hooks/hooks.json"
}"#,
    );
    skill_md(root, "skills/frontend-design", "frontend-design");
    skill_md(root, "skills/palette", "palette");
    write(
        root,
        "commands/deploy.md",
        "a command skillet does not install",
    );
    let m = read_package(root).expect("reads");
    assert_eq!(m.name, name("frontend-kit"));
    assert_eq!(m.version, semver::Version::new(1, 1, 0));
    assert_eq!(m.description, "Frontend design skills");
    assert_eq!(m.license.as_deref(), Some("MIT"));
    assert_eq!(m.skills, vec!["skills/frontend-design", "skills/palette"]);
}

#[test]
fn claude_code_plugin_minimal_and_with_its_own_skill_paths() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    write(
        root,
        ".claude-plugin/plugin.json",
        r#"{"name": "hello", "skills": "./extra", "dependencies": ["base", {"name": "lint-core", "version": "~2.1.0"}, "tools@other-market"]}"#,
    );
    skill_md(root, "skills/one", "one");
    skill_md(root, "extra/two", "two");
    skill_md(root, "extra/three", "three");
    let m = read_package(root).expect("reads");
    assert_eq!(m.version, semver::Version::new(0, 0, 0));
    assert_eq!(m.skills, vec!["skills/one", "extra/three", "extra/two"]);
    let deps: BTreeMap<String, String> = m
        .dependencies
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(deps.get("base").map(String::as_str), Some("*"));
    assert_eq!(deps.get("lint-core").map(String::as_str), Some("~2.1.0"));
    assert_eq!(deps.get("tools").map(String::as_str), Some("*"));

    // A plugin whose root is its one skill: `"skills": ["./"]`.
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    write(
        root,
        ".claude-plugin/plugin.json",
        r#"{"name": "solo", "version": "2.0", "skills": ["./"]}"#,
    );
    skill_md(root, "", "solo");
    let m = read_package(root).expect("reads");
    assert_eq!(m.version, semver::Version::new(2, 0, 0));
    assert_eq!(m.skills, vec!["."]);
}

#[test]
fn claude_code_plugin_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    skill_md(root, "skills/x", "x");
    for (json, expect) in [
        (r#"{"version": "1.0.0"}"#, "name"),
        (r#"{"name": "Bad Name"}"#, "not a package name"),
        (
            r#"{"name": "ok", "version": "latest"}"#,
            "MAJOR.MINOR.PATCH",
        ),
        (r#"{"name": "ok", "skills": ["../x"]}"#, ".."),
        (r#"{"name": "ok", "skills": ["/etc"]}"#, "absolute"),
        (
            r#"{"name": "ok", "dependencies": [{"name": "a", "version": "someday"}]}"#,
            "^2.0",
        ),
        ("{not json", "plugin.json"),
    ] {
        write(root, ".claude-plugin/plugin.json", json);
        let e = err(root);
        assert!(
            e.contains(expect) && e.contains("plugin.json"),
            "{json}: {e}"
        );
    }
}

#[test]
fn a_claude_code_plugin_of_commands_and_hooks_only_says_skillet_installs_skills() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    write(
        root,
        ".claude-plugin/plugin.json",
        r#"{"name": "commit-helpers", "version": "1.0.0"}"#,
    );
    write(
        root,
        "commands/commit.md",
        "---\ndescription: Commit\n---\nCommit the work.\n",
    );
    write(root, "hooks/hooks.json", "{}");
    let e = read_package(root).expect_err("no skills");
    assert!(matches!(e, ManifestError::NoSkills { .. }), "{e:?}");
    let text = e.to_string();
    assert!(
        text.contains("commit-helpers") && text.contains("not its commands"),
        "{text}"
    );
}

fn entry(pkg: &str, skills: &[&str]) -> IndexEntry {
    IndexEntry {
        name: name(pkg),
        version: semver::Version::new(0, 0, 0),
        description: "listed".into(),
        source: Source::Dir {
            path: "/unused".into(),
        },
        dependencies: BTreeMap::new(),
        skills: skills.iter().map(|s| s.to_string()).collect(),
    }
}

/// A repository shaped like the Agent Skills examples: skills at `skills/*`, no plugin.json,
/// the marketplace's entries naming which skills each package holds.
#[test]
fn a_marketplace_entry_listing_skills_is_exactly_those_skills() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    for s in ["xlsx", "docx", "pptx", "pdf", "canvas-design", "claude-api"] {
        skill_md(root, &format!("skills/{s}"), s);
    }
    write(root, "README.md", "examples");
    assert!(matches!(
        read_package(root),
        Err(ManifestError::PluginWithoutManifest { .. })
    ));
    let e = entry(
        "document-skills",
        &[
            "./skills/xlsx",
            "./skills/docx",
            "./skills/pptx",
            "./skills/pdf",
        ],
    );
    let m = read_package_for(root, &e).expect("reads");
    assert_eq!(m.name, name("document-skills"));
    assert_eq!(m.description, "listed");
    assert_eq!(
        m.skills,
        vec!["skills/xlsx", "skills/docx", "skills/pptx", "skills/pdf"]
    );

    // With no list, a folder without a manifest holds every skill under skills/.
    let m = read_package_for(root, &entry("all", &[])).expect("reads");
    assert_eq!(m.skills.len(), 6);

    // The entry's list wins over a plugin's own, and the entry's name is the package's.
    write(
        root,
        ".claude-plugin/plugin.json",
        r#"{"name": "other", "version": "1.0.0"}"#,
    );
    let m = read_package_for(root, &entry("claude-api", &["./skills/claude-api"])).expect("reads");
    assert_eq!(m.name, name("claude-api"));
    assert_eq!(m.version, semver::Version::new(1, 0, 0));
    assert_eq!(m.skills, vec!["skills/claude-api"]);
}

#[test]
fn a_marketplace_entry_listing_hostile_skills_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let outside = tempfile::tempdir().expect("tempdir");
    skill_md(outside.path(), "stolen", "stolen");
    let root = dir.path().join("repo");
    skill_md(&root, "skills/ok", "ok");
    symlink(outside.path().join("stolen"), root.join("skills/evil")).expect("symlink");
    for bad in ["../stolen", "/etc", "skills/evil", ".git", "skills/../../x"] {
        let e = read_package_for(&root, &entry("pkg", &["./skills/ok", bad])).expect_err(bad);
        assert!(matches!(e, ManifestError::SkillPath { .. }), "{bad}: {e:?}");
        assert!(e.to_string().contains("the index entry for pkg"), "{e}");
    }
}

#[test]
fn an_index_entry_adds_its_dependencies_to_a_package_with_its_own_manifest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    skill_md(root, "skills/x", "x");
    write(
        root,
        "skillet-package.toml",
        "[package]\nname = \"kit\"\nversion = \"1.2.0\"\n[dependencies]\nbase = \"^1\"\n",
    );
    let mut e = entry("kit", &[]);
    e.dependencies
        .insert(name("base"), "^9".parse().expect("req"));
    e.dependencies
        .insert(name("extra"), "^2".parse().expect("req"));
    let m = read_package_for(root, &e).expect("reads");
    assert_eq!(m.version, semver::Version::new(1, 2, 0));
    assert_eq!(m.skills, vec!["skills/x"]);
    assert_eq!(m.dependencies[&name("base")].to_string(), "^1");
    assert_eq!(m.dependencies[&name("extra")].to_string(), "^2");
}
