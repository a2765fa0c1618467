//! A corpus of skill files of the shapes people already have (Q CLI `.q-skills/` files, its
//! `implementation` and wizard files, the v1 design, Agent Skills / Claude Code / Codex
//! `SKILL.md` folders), each written for this test. Nearly all must load or migrate: the
//! table says which, and why the few that do not cannot.

#![allow(clippy::unwrap_used)] // a test: a broken fixture should panic loudly

use std::path::{Path, PathBuf};

use skillet_spec::{SkillFormat, load_file, load_json, migrate_file};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/real_world")
}

/// Every skill file of the corpus: JSON files outside `scripts/`, and `SKILL.md` files.
fn skill_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if path.file_name().unwrap() != "scripts" {
                skill_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "json")
            || path.file_name().unwrap() == "SKILL.md"
        {
            out.push(path);
        }
    }
}

/// (file, loads as it is, migrates to a valid canonical file).
const EXPECTED: &[(&str, bool, bool)] = &[
    // Q CLI files.
    (".q-skills/host-info.json", true, true),
    (".q-skills/disk-free.json", true, true),
    (".q-skills/say-hello.json", true, true),
    (".q-skills/find-notes.json", true, true),
    (".q-skills/rust-reviewer.json", true, true),
    (".q-skills/letter-writer.json", true, true),
    (".q-skills/shell-session.json", true, true),
    (".q-skills/py-repl.json", true, true),
    (".q-skills/list-files.json", true, true),
    (".q-skills/quick-helper.json", true, true),
    (".q-skills/commit-msg.json", true, true),
    (".q-skills/coverage-helper.json", true, true),
    (".q-skills/word-count.json", true, true),
    // Shell command lines: refused as they are, rewritten to `sh -c` by migrate.
    (".q-skills/top-procs.json", false, true),
    (".q-skills/build-and-test.json", false, true),
    ("skills/count-lines.json", false, true),
    ("skills/pretty-json.json", false, true),
    ("skills/repo-status.json", false, true),
    ("skills/forecast.json", false, true),
    ("skills/greet.json", false, true),
    // A value sed would read as part of its program: a person must rewrite it.
    ("skills/replace-word.json", false, false),
    // An implementation type skillet has no equivalent for.
    ("skills/run-script.json", false, false),
    // v1 design.
    ("v1/calc/calc.json", true, true),
    ("v1/word-count/word-count.json", true, true),
    ("v1/remote/remote.json", false, false),
    // Agent Skills, Claude Code plugin and Codex SKILL.md folders.
    ("agent-skills/pdf-tools/SKILL.md", true, true),
    ("agent-skills/agent-development/SKILL.md", true, true),
    ("agent-skills/code-review/SKILL.md", true, true),
    ("agent-skills/commit-helper/SKILL.md", true, true),
    ("agent-skills/codex-lint/SKILL.md", true, true),
    ("agent-skills/colon-description/SKILL.md", true, true),
    ("agent-skills/no-name/SKILL.md", true, true),
    ("agent-skills/release-notes/SKILL.md", true, true),
    ("agent-skills/plain-notes/SKILL.md", true, true),
    ("agent-skills/blank-first/SKILL.md", true, true),
    // Front matter no reading can make sense of.
    ("agent-skills/bad-yaml/SKILL.md", false, false),
];

#[test]
fn nearly_every_real_world_shape_loads_or_migrates() {
    let root = corpus();
    let mut files = Vec::new();
    skill_files(&root, &mut files);
    files.sort();
    let mut listed: Vec<&str> = EXPECTED.iter().map(|(f, ..)| *f).collect();
    listed.sort_unstable();
    let found: Vec<String> = files
        .iter()
        .map(|f| f.strip_prefix(&root).unwrap().display().to_string())
        .collect();
    assert_eq!(found, listed, "every corpus file has an expectation");

    let mut report = Vec::new();
    let (mut loaded_n, mut migrated_n) = (0, 0);
    for (rel, loads, migrates) in EXPECTED {
        let path = root.join(rel);
        let loaded = load_file(&path);
        let migration = migrate_file(&path);
        let migrated = migration.as_ref().is_ok_and(|m| m.complete);
        loaded_n += usize::from(loaded.is_valid());
        migrated_n += usize::from(migrated);
        let errors: Vec<String> = loaded
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.message.clone())
            .collect();
        report.push(format!(
            "{rel}: {} loads={} migrates={migrated} {errors:?}",
            loaded.format.label(),
            loaded.is_valid()
        ));
        assert_eq!(
            (loaded.is_valid(), migrated),
            (*loads, *migrates),
            "{rel}: {:#?}",
            loaded.diagnostics
        );
        if let Ok(m) = &migration
            && m.complete
        {
            // What migrate writes is a clean canonical file: no errors, no warnings about
            // the old format, and migrating it again changes nothing.
            let again = load_json(&m.after, m.target.parent());
            assert_eq!(again.format, SkillFormat::Canonical, "{rel}: {}", m.after);
            let problems: Vec<_> = again
                .diagnostics
                .iter()
                .filter(|d| d.is_error() || !d.message.contains("no description"))
                .collect();
            assert!(problems.is_empty(), "{rel}: {problems:#?}\n{}", m.after);
        }
    }
    eprintln!("{}", report.join("\n"));
    let total = EXPECTED.len();
    eprintln!("{loaded_n} of {total} load as they are; {migrated_n} of {total} migrate");
    // The few that do not are the ones the table names: unsupported or unsafe to rewrite.
    assert!(migrated_n * 100 >= total * 85, "nearly all migrate");
}

#[test]
fn unknown_nested_fields_of_legacy_files_are_warnings() {
    let loaded = load_file(&corpus().join(".q-skills/list-files.json"));
    assert!(loaded.is_valid(), "{:#?}", loaded.diagnostics);
    let warnings: Vec<(&str, Option<&str>)> = loaded
        .diagnostics
        .iter()
        .filter(|d| !d.is_error())
        .map(|d| (d.message.as_str(), d.path.as_deref()))
        .collect();
    for (message, path) in [
        (
            "unknown field `max_threads` is ignored",
            "security.resource_limits.max_threads",
        ),
        (
            "unknown field `audit` is ignored",
            "security.permissions.audit",
        ),
    ] {
        assert!(
            warnings.contains(&(message, Some(path))),
            "{message}: {warnings:#?}"
        );
    }
    // The same field in a canonical file is an error.
    let canonical = load_json(
        r#"{"name": "x", "description": "d", "type": "code_inline", "command": "ls",
            "security": {"resource_limits": {"max_threads": 4}}}"#,
        None,
    );
    assert!(!canonical.is_valid());
}
