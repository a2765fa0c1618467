//! Finding the one skill a run needs by its file name: it answers as full discovery would
//! (which file wins, what it shadows, which broken file it stands in for), and reads only the
//! files named for it.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

use std::path::Path;

use skillet_registry::Registry;

mod common;

use common::World;

fn skill(name: &str, extra: &str) -> String {
    format!(
        r#"{{"name": "{name}", "description": "d", "type": "prompt_inline", "prompt_template": "hi"{extra}}}"#
    )
}

/// What a run of `name` learns from a registry: the file that answers, whether it is usable,
/// what it shadows, its diagnostics, the broken files it stands in for, and the warnings.
fn seen(registry: &Registry, name: &str) -> String {
    let Some(entry) = registry.resolve(name) else {
        return "not found".to_owned();
    };
    let instead: Vec<&Path> = registry
        .entries()
        .iter()
        .filter(|e| e.used_instead.as_deref() == Some(entry.path.as_path()))
        .map(|e| e.path.as_path())
        .collect();
    let mut warnings: Vec<String> = registry
        .warnings()
        .iter()
        .map(ToString::to_string)
        .filter(|w| w.contains(&format!("`{}`", entry.name)))
        .collect();
    warnings.sort();
    format!(
        "{} valid={} shadows={:?} diagnostics={:?} instead_of={instead:?} warnings={warnings:?}",
        entry.path.display(),
        entry.is_valid(),
        entry.shadows,
        entry
            .diagnostics
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
    )
}

#[test]
fn a_shadowed_duplicate_is_reported_as_full_discovery_reports_it() {
    let w = World::new();
    let mine = w.write(".skillet/skills/tool.json", &skill("tool", ""));
    let theirs = w.write("~/.config/skillet/skills/tool.json", &skill("tool", ""));
    w.write(".skillet/skills/other.json", &skill("other", ""));
    let one = w.registry_for("tool");
    let entry = one.resolve("tool").unwrap();
    assert_eq!(entry.path, mine);
    assert_eq!(entry.shadows, std::slice::from_ref(&theirs));
    assert!(
        one.warnings().iter().any(|d| {
            let d = d.to_string();
            d.contains("(workspace) shadows") && d.contains(&theirs.display().to_string())
        }),
        "{:?}",
        one.warnings()
    );
    assert_eq!(seen(&one, "tool"), seen(&w.registry(), "tool"));
    assert!(one.resolve("other").is_none(), "other skills were not read");
}

#[test]
fn a_broken_duplicate_is_reported_and_the_working_one_used() {
    let w = World::new();
    let broken = w.write(
        ".skillet/skills/tool.json",
        r#"{"name": "tool", "description": "d", "type": "prompt_inline", "prompt_template": "x", "colour": "red"}"#,
    );
    let good = w.write("~/.config/skillet/skills/tool.json", &skill("tool", ""));
    let one = w.registry_for("tool");
    let entry = one.resolve("tool").unwrap();
    assert_eq!(entry.path, good);
    assert!(entry.is_valid());
    let b = one.entries().iter().find(|e| e.path == broken).unwrap();
    assert!(!b.is_valid());
    assert_eq!(b.used_instead.as_deref(), Some(good.as_path()));
    assert!(
        one.warnings()
            .iter()
            .any(|d| d.to_string().contains("is broken, so")),
        "{:?}",
        one.warnings()
    );
    assert_eq!(seen(&one, "tool"), seen(&w.registry(), "tool"));

    // Broken with nothing to stand in: the run is refused for the same reason.
    let w = World::new();
    w.write(".skillet/skills/solo.json", "{\"name\": \"solo\",");
    let one = w.registry_for("solo");
    assert!(!one.resolve("solo").unwrap().is_valid());
    assert_eq!(seen(&one, "solo"), seen(&w.registry(), "solo"));
}

#[test]
fn every_way_of_naming_a_skill_resolves_as_full_discovery_does() {
    let w = World::new();
    // Each layout, and clashes between them, in both scopes.
    w.write(".skillet/skills/plain.json", &skill("plain", ""));
    w.write(".skillet/skills/pkg/skill.json", &skill("pkg", ""));
    w.write(".skillet/skills/same/same.json", &skill("same", ""));
    w.write(".skillet/skills/both/skill.json", &skill("both", ""));
    w.write(".skillet/skills/both.json", &skill("both", ""));
    w.write(
        ".claude/skills/agent/SKILL.md",
        "---\nname: agent\ndescription: an agent skill\n---\nDo it.\n",
    );
    w.write(
        "~/.claude/skills/agent/SKILL.md",
        "---\nname: agent\ndescription: the global one\n---\nDo it.\n",
    );
    w.write(
        ".q-skills/legacy.json",
        r#"{"name": "legacy", "prompt": "hi"}"#,
    );
    w.write(
        ".skillet/skills/aliased.json",
        &skill("aliased", r#", "aliases": ["al", "plain"]"#),
    );
    w.write(
        ".skillet/skills/first.json",
        &skill("first", r#", "fallback": "second""#),
    );
    w.write(
        ".skillet/skills/second.json",
        &skill("second", r#", "fallback": "first""#),
    );
    w.write(".skillet/skills/misnamed.json", &skill("declared", ""));
    w.write(
        "~/.config/skillet/skills/declared.json",
        &skill("declared", ""),
    );
    w.write(".skillet/skills/empty/notes.txt", "not a skill");
    let full = w.registry();
    for name in [
        "plain", "pkg", "same", "both", "agent", "legacy", "aliased", "al", "first", "second",
        "misnamed", "empty", "nothing", "plian", "../ws", "",
    ] {
        assert_eq!(
            seen(&w.registry_for(name), name),
            seen(&full, name),
            "`{name}`"
        );
    }
    // Known and documented: a file named otherwise (`misnamed.json`) that declares the name
    // is not seen while a file named for it exists; the file named for it answers.
    assert_eq!(
        w.registry_for("declared").resolve("declared").unwrap().path,
        w.home.join(".config/skillet/skills/declared.json")
    );
    // An alias is found through full discovery, and a typo still gets its "did you mean".
    assert_eq!(w.registry_for("al").resolve("al").unwrap().name, "aliased");
    assert_eq!(w.registry_for("plian").suggest("plian"), Some("plain"));
    // A fallback chain is there for the engine to follow.
    let one = w.registry_for("first");
    assert!(one.resolve("second").is_some());
}

#[test]
fn only_the_files_named_for_the_skill_are_read() {
    let w = World::new();
    w.write(".skillet/skills/tool.json", &skill("tool", ""));
    for i in 0..2_000 {
        w.write(
            &format!(".skillet/skills/s{i:05}.json"),
            &skill(&format!("s{i:05}"), ""),
        );
    }
    let started = std::time::Instant::now();
    let one = w.registry_for("tool");
    let took = started.elapsed();
    assert!(one.resolve("tool").unwrap().is_valid());
    assert_eq!(one.entries().len(), 1, "only `tool` was read");
    assert!(
        took < std::time::Duration::from_millis(50),
        "took {took:?} for one skill among 2,000"
    );
}
