//! Discovery over real directories: precedence, aliases, broken files, symlinks, compat formats.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

use std::fs;
use std::path::Path;

use skillet_registry::Scope;
use skillet_spec::SkillFormat;

mod common;

use common::World;

fn skill(name: &str, extra: &str) -> String {
    format!(
        r#"{{"name": "{name}", "description": "d", "type": "prompt_inline", "prompt_template": "hi"{extra}}}"#
    )
}

#[test]
fn workspace_beats_global_with_a_warning_naming_both() {
    let w = World::new();
    let ws_file = w.write(".skillet/skills/a.json", &skill("a", ""));
    let global_file = w.write("~/.config/skillet/skills/a.json", &skill("a", ""));
    let r = w.registry();
    let a = r.resolve("a").unwrap();
    assert_eq!(a.scope, Scope::Workspace);
    assert_eq!(a.shadows, std::slice::from_ref(&global_file));
    let warning = r.warnings()[0].to_string();
    assert!(
        warning.contains(&ws_file.display().to_string())
            && warning.contains(&global_file.display().to_string()),
        "{warning}"
    );
}

#[test]
fn compatibility_dirs_rank_below_skillet_dirs_in_each_scope() {
    let w = World::new();
    w.write(
        ".q-skills/a.json",
        r#"{"name": "a", "type": "command", "command": "true"}"#,
    );
    w.write(".skillet/skills/a.json", &skill("a", ""));
    w.write(
        ".claude/skills/b/SKILL.md",
        "---\nname: b\ndescription: from claude\n---\nbody\n",
    );
    w.write(
        "~/.agents/skills/c/SKILL.md",
        "---\nname: c\ndescription: global agent skill\n---\nbody\n",
    );
    w.write("~/.agents/skills/c/scripts/run.sh", "#!/bin/sh\n");
    let r = w.registry();
    assert_eq!(r.resolve("a").unwrap().format, SkillFormat::Canonical);
    assert_eq!(r.resolve("b").unwrap().format, SkillFormat::AgentSkill);
    let c = r.resolve("c").unwrap();
    assert_eq!((c.scope, c.scripts.len()), (Scope::Global, 1));
    let names: Vec<_> = r.entries().iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "c"], "sorted by name");
}

#[test]
fn aliases_resolve_and_collisions_are_errors() {
    let w = World::new();
    w.write(
        ".skillet/skills/count-lines.json",
        &skill("count-lines", r#", "aliases": ["cl"]"#),
    );
    w.write(
        ".skillet/skills/other.json",
        &skill("other", r#", "aliases": ["count-lines"]"#),
    );
    let r = w.registry();
    assert_eq!(r.resolve("cl").unwrap().name, "count-lines");
    let other = r.resolve("other").unwrap();
    assert!(!other.is_valid());
    assert!(other.errors().any(|d| {
        d.message
            .contains("alias `count-lines` is the name of skill")
    }));
}

#[test]
fn one_broken_file_never_hides_the_others() {
    let w = World::new();
    w.write(".skillet/skills/bad.json", "{ not json");
    w.write(".skillet/skills/good.json", &skill("good", ""));
    let r = w.registry();
    assert!(r.resolve("good").unwrap().is_valid());
    let bad = r.resolve("bad").unwrap();
    assert!(!bad.is_valid());
    let err = bad.errors().next().unwrap().to_string();
    assert!(err.contains("bad.json:1:3: error: invalid JSON"), "{err}");
}

#[test]
fn duplicate_names_in_one_directory_are_errors() {
    let w = World::new();
    w.write(".skillet/skills/a.json", &skill("a", ""));
    w.write(".skillet/skills/b.json", &skill("a", ""));
    let r = w.registry();
    let broken: Vec<_> = r.entries().iter().filter(|e| !e.is_valid()).collect();
    assert_eq!(broken.len(), 1);
    assert!(broken[0].path.ends_with("b.json"));
}

#[test]
fn symlinks_out_of_a_skills_dir_are_reported() {
    let w = World::new();
    let outside = w.write("elsewhere/x.json", &skill("x", ""));
    fs::create_dir_all(w.ws.join(".skillet/skills")).unwrap();
    std::os::unix::fs::symlink(&outside, w.ws.join(".skillet/skills/x.json")).unwrap();
    let r = w.registry();
    let x = r.resolve("x").unwrap();
    assert!(x.is_valid());
    assert!(
        x.diagnostics
            .iter()
            .any(|d| d.message.starts_with("follows a symlink out of")),
        "{:?}",
        x.diagnostics
    );
}

#[test]
fn package_directories_and_configured_dirs_are_found() {
    let w = World::new();
    w.write(".skillet/skills/pkg/skill.json", &skill("pkg", ""));
    w.write(
        ".skillet/skillet.toml",
        "skill_dirs = [\"../tools/skills\"]\n",
    );
    w.write("tools/skills/extra.json", &skill("extra", ""));
    let r = w.registry();
    assert!(r.resolve("pkg").unwrap().is_valid());
    assert_eq!(
        r.resolve("extra").unwrap().path,
        w.ws.join(".skillet/../tools/skills/extra.json")
    );
    assert!(Path::new(&r.resolve("pkg").unwrap().path).ends_with("pkg/skill.json"));
}

#[test]
fn fallback_cycles_are_errors_and_missing_fallbacks_warnings() {
    let w = World::new();
    for (name, fallback) in [
        ("a", "b"),
        ("b", "c"),
        ("c", "a"),
        ("d", "b"),
        ("e", "nowhere"),
    ] {
        let extra = format!(r#", "fallback": "{fallback}""#);
        w.write(
            &format!(".skillet/skills/{name}.json"),
            &skill(name, &extra),
        );
    }
    let r = w.registry();
    let a = r.resolve("a").unwrap();
    assert!(
        a.errors()
            .any(|d| d.message == "fallback cycle: a -> b -> c -> a"),
        "{:?}",
        a.diagnostics
    );
    assert!(
        !r.resolve("d").unwrap().is_valid(),
        "d falls into the cycle"
    );
    let e = r.resolve("e").unwrap();
    assert!(
        e.is_valid()
            && e.diagnostics
                .iter()
                .any(|d| d.message == "fallback `nowhere` names no skill")
    );
}

#[test]
fn a_broken_workspace_skill_does_not_hide_a_working_global_one() {
    let w = World::new();
    let broken = w.write(
        ".skillet/skills/tool.json",
        "{\"name\": \"tool\", \"bogus\": 1}",
    );
    let working = w.write("~/.config/skillet/skills/tool.json", &skill("tool", ""));
    let r = w.registry();
    let used = r.resolve("tool").unwrap();
    assert_eq!(
        (used.path.as_path(), used.is_valid()),
        (working.as_path(), true)
    );
    let both: Vec<_> = r.entries().iter().filter(|e| e.name == "tool").collect();
    assert_eq!(both.len(), 2, "both files are listed: {both:?}");
    assert_eq!(both[0].path, broken);
    assert_eq!(both[0].used_instead.as_deref(), Some(working.as_path()));
    assert!(
        r.warnings()
            .iter()
            .any(|d| d.message.contains("is broken, so")
                && d.message.contains("(global) is used instead")),
        "{:?}",
        r.warnings()
    );

    // A working workspace skill still wins, and a broken global one never takes over.
    w.write(".skillet/skills/tool.json", &skill("tool", ""));
    w.write(
        "~/.config/skillet/skills/tool.json",
        "{\"name\": \"tool\", \"bogus\": 1}",
    );
    let r = w.registry();
    assert_eq!(r.resolve("tool").unwrap().scope, Scope::Workspace);
    assert_eq!(r.entries().iter().filter(|e| e.name == "tool").count(), 1);
}
