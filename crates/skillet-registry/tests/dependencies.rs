//! A skill's `dependencies` as discovery judges them, through full discovery and through the
//! one-skill path `skillet run NAME` takes: both must agree on whether a skill may run.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

use skillet_registry::Registry;

mod common;

use common::World;

fn skill(name: &str, version: &str, extra: &str) -> String {
    format!(
        r#"{{"name": "{name}", "description": "d", "version": "{version}",
            "type": "prompt_inline", "prompt_template": "hi"{extra}}}"#
    )
}

fn errors(registry: &Registry, name: &str) -> Vec<String> {
    let entry = registry.resolve(name).unwrap();
    entry.errors().map(|d| d.message.clone()).collect()
}

/// Full discovery and the one-skill path, for `name`.
fn both(w: &World, name: &str) -> [(&'static str, Registry); 2] {
    [("full", w.registry()), ("one", w.registry_for(name))]
}

#[test]
fn a_wrong_version_is_caught_on_both_paths() {
    let w = World::new();
    w.write(".skillet/skills/lint.json", &skill("lint", "1.2.0", ""));
    w.write(
        ".skillet/skills/review.json",
        &skill("review", "1.0.0", r#", "dependencies": {"lint": "^2"}"#),
    );
    for (path, registry) in both(&w, "review") {
        assert_eq!(
            errors(&registry, "review"),
            ["dependency `lint` is version 1.2.0, but this skill needs ^2"],
            "{path}"
        );
        assert!(registry.resolve("lint").unwrap().is_valid(), "{path}");
    }
}

#[test]
fn a_dependency_in_the_global_scope_or_an_alias_counts() {
    let w = World::new();
    w.write(
        "~/.config/skillet/skills/lint.json",
        &skill("lint", "2.1.0", r#", "aliases": ["linter"]"#),
    );
    w.write(
        ".skillet/skills/review.json",
        &skill("review", "1.0.0", r#", "dependencies": {"lint": "^2.1"}"#),
    );
    w.write(
        ".skillet/skills/check.json",
        &skill("check", "1.0.0", r#", "dependencies": {"linter": ">=2"}"#),
    );
    for name in ["review", "check"] {
        for (path, registry) in both(&w, name) {
            assert!(
                registry.resolve(name).unwrap().is_valid(),
                "{path}: {:?}",
                errors(&registry, name)
            );
        }
    }
}

#[test]
fn missing_broken_and_pre_release_dependencies_are_errors_on_both_paths() {
    let w = World::new();
    w.write(".skillet/skills/bad.json", "{\"name\": \"bad\"");
    w.write(
        ".skillet/skills/beta.json",
        &skill("beta", "2.0.0-rc.1", ""),
    );
    w.write(
        ".skillet/skills/needs-gone.json",
        &skill("needs-gone", "1.0.0", r#", "dependencies": {"gone": "*"}"#),
    );
    w.write(
        ".skillet/skills/needs-bad.json",
        &skill("needs-bad", "1.0.0", r#", "dependencies": {"bad": "^1"}"#),
    );
    // semver: a pre-release satisfies only a requirement that names a pre-release of it.
    w.write(
        ".skillet/skills/needs-beta.json",
        &skill("needs-beta", "1.0.0", r#", "dependencies": {"beta": "^2"}"#),
    );
    w.write(
        ".skillet/skills/wants-rc.json",
        &skill(
            "wants-rc",
            "1.0.0",
            r#", "dependencies": {"beta": ">=2.0.0-rc.1"}"#,
        ),
    );
    for (path, registry) in both(&w, "needs-gone") {
        assert_eq!(
            errors(&registry, "needs-gone"),
            ["dependency `gone` (*) is missing: no skill of that name was found"],
            "{path}"
        );
    }
    for (path, registry) in both(&w, "needs-bad") {
        let found = errors(&registry, "needs-bad");
        assert_eq!(found.len(), 1, "{path}: {found:?}");
        assert!(
            found[0].starts_with("dependency `bad` (^1) is broken: "),
            "{path}: {found:?}"
        );
        assert!(
            found[0].ends_with("bad.json has errors"),
            "{path}: {found:?}"
        );
    }
    for (path, registry) in both(&w, "needs-beta") {
        assert_eq!(
            errors(&registry, "needs-beta"),
            ["dependency `beta` is version 2.0.0-rc.1, but this skill needs ^2"],
            "{path}"
        );
    }
    for (path, registry) in both(&w, "wants-rc") {
        assert!(registry.resolve("wants-rc").unwrap().is_valid(), "{path}");
    }
}

#[test]
fn an_invalid_requirement_is_an_error_of_the_skill_file() {
    let w = World::new();
    w.write(".skillet/skills/lint.json", &skill("lint", "1.0.0", ""));
    w.write(
        ".skillet/skills/review.json",
        &skill(
            "review",
            "1.0.0",
            r#", "dependencies": {"lint": "one point oh"}"#,
        ),
    );
    for (path, registry) in both(&w, "review") {
        let entry = registry.resolve("review").unwrap();
        assert!(!entry.is_valid(), "{path}");
        let text: Vec<String> = entry.errors().map(ToString::to_string).collect();
        assert!(
            text.iter()
                .any(|t| t.contains("\"one point oh\" is not a version requirement")),
            "{path}: {text:?}"
        );
    }
}
