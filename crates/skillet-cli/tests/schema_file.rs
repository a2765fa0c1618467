//! The `$schema` a skill file names is a real file: `skillet create` names
//! `skill.schema.json` by a path relative to the skill file and writes this skillet's schema
//! there, never through a link, so an editor that follows `$schema` completes and checks fields.

#![allow(clippy::unwrap_used)]

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::World;
use serde_json::Value;

/// The file a skill file's `$schema` names, resolved as an editor does: relative to the file.
fn named_schema(skill_file: &Path) -> PathBuf {
    let skill: Value = serde_json::from_str(&fs::read_to_string(skill_file).unwrap()).unwrap();
    let reference = skill["$schema"]
        .as_str()
        .unwrap_or_else(|| panic!("no $schema in {}", skill_file.display()));
    assert!(
        !reference.contains("://"),
        "a relative path, not an address: {reference}"
    );
    skill_file.parent().unwrap().join(reference)
}

fn printed_schema(w: &World) -> String {
    let (code, out, err) = w.run(&["schema"]);
    assert_eq!(code, 0, "{err}");
    out
}

#[test]
fn every_created_skill_names_a_schema_file_that_is_skillets_schema() {
    let w = World::new();
    let schema = printed_schema(&w);
    for (args, file) in [
        (&["create", "one"][..], ".skillet/skills/one.json"),
        (
            &["create", "pkg", "--template", "python-script"],
            ".skillet/skills/pkg/skill.json",
        ),
        (
            &["create", "everywhere", "--global"],
            "~/.config/skillet/skills/everywhere.json",
        ),
    ] {
        let (code, out, err) = w.run(args);
        assert_eq!(code, 0, "{args:?}: {out}{err}");
        assert!(err.is_empty(), "no warning: {err}");
        let named = named_schema(&w.path(file));
        let text = fs::read_to_string(&named)
            .unwrap_or_else(|e| panic!("{file} names {}: {e}", named.display()));
        assert_eq!(
            text,
            schema,
            "{file}: {} is not `skillet schema`",
            named.display()
        );
    }
    assert_eq!(
        fs::canonicalize(named_schema(&w.path(".skillet/skills/one.json"))).unwrap(),
        fs::canonicalize(w.path(".skillet/skill.schema.json")).unwrap(),
        "the file `skillet init` maps in .vscode/settings.json"
    );
    // No `$id`: no invented address for an editor to fetch; the file it loaded is the base.
    let parsed: Value = serde_json::from_str(&schema).unwrap();
    assert!(parsed.get("$id").is_none(), "{:?}", parsed.get("$id"));
    let (code, out, err) = w.run(&["validate"]);
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn a_stale_schema_file_is_brought_up_to_date_by_create() {
    let w = World::new();
    w.write(".skillet/skill.schema.json", "{\"old\": true}\n");
    let (code, out, err) = w.run(&["create", "fresh"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        fs::read_to_string(w.path(".skillet/skill.schema.json")).unwrap(),
        printed_schema(&w)
    );
}

#[test]
fn the_schema_file_is_never_written_through_a_link() {
    use std::os::unix::fs::symlink;
    let w = World::new();
    let victim = w.tmp.path().join("victim.txt");
    for (name, plant) in [
        ("sym", "symlink"),
        ("hard", "hard link"),
        ("dir", "directory"),
    ] {
        fs::write(&victim, "precious\n").unwrap();
        let at = w.path(".skillet/skill.schema.json");
        fs::create_dir_all(at.parent().unwrap()).unwrap();
        let _ = fs::remove_file(&at);
        let _ = fs::remove_dir(&at);
        match plant {
            "symlink" => symlink(&victim, &at).unwrap(),
            "hard link" => fs::hard_link(&victim, &at).unwrap(),
            _ => fs::create_dir(&at).unwrap(),
        }
        let (code, out, err) = w.run(&["create", name]);
        assert_eq!(code, 0, "{plant}: the skill is still created: {out}{err}");
        assert!(w.path(&format!(".skillet/skills/{name}.json")).is_file());
        assert_eq!(
            fs::read_to_string(&victim).unwrap(),
            "precious\n",
            "{plant}: the file behind it keeps its text"
        );
        if plant == "hard link" {
            // Replaced by renaming a new file over it: the link is gone, the schema is there.
            assert_eq!(fs::read_to_string(&at).unwrap(), printed_schema(&w));
            assert!(err.is_empty(), "{err}");
        } else {
            assert!(
                err.contains("warning") && err.contains("skill.schema.json"),
                "{plant}: says the schema was not written: {err}"
            );
        }
    }
    // The global directory's schema file, planted as a link, is refused the same way.
    let global = w.path("~/.config/skillet/skill.schema.json");
    fs::create_dir_all(global.parent().unwrap()).unwrap();
    symlink(&victim, &global).unwrap();
    let (code, _, err) = w.run(&["create", "g", "--global"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("warning"), "{err}");
    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious\n");
}

/// A real JSON Schema validator (Python's `jsonschema`, 2020-12) loads the file a created skill
/// names, resolves its `$ref`s from the file itself, and accepts the skill; a misspelt field fails.
#[test]
fn a_real_validator_checks_a_created_skill_against_the_file_it_names() {
    let probe = std::process::Command::new("python3")
        .args(["-c", "import jsonschema"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        println!("SKIPPED: python3 with the jsonschema module is not installed");
        return;
    }
    let w = World::new();
    let (code, out, err) = w.run(&["create", "checked", "--template", "shell-script"]);
    assert_eq!(code, 0, "{out}{err}");
    let skill_file = w.path(".skillet/skills/checked/skill.json");
    let script = r#"
import json, os, sys, jsonschema
path = sys.argv[1]
skill = json.load(open(path))
schema = json.load(open(os.path.join(os.path.dirname(path), skill["$schema"])))
validator = jsonschema.Draft202012Validator(schema)
print(len(list(validator.iter_errors(skill))))
skill["comand"] = skill.pop("command")
print(len(list(validator.iter_errors(skill))))
"#;
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(&skill_file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let counts: Vec<&str> = stdout.lines().collect();
    assert_eq!(counts[0], "0", "the created skill is valid: {stdout}");
    assert_ne!(counts[1], "0", "a misspelt field is caught: {stdout}");
}
