//! No panic on any input (issue 18): the fuzz bodies of the skill format's parsers and
//! renderers, run on stable over the committed seeds (`fuzz/corpus/<target>/`) and a bounded
//! number of mutations of them. The same bodies are cargo-fuzz targets (`fuzz/`); see
//! docs/robustness.md. `SKILLET_FUZZ_CASES=N` runs N mutated cases per target.

#[path = "../../../fuzz/bodies/input.rs"]
#[allow(dead_code)]
mod input;
#[path = "../../../fuzz/bodies/seeded.rs"]
mod seeded;

#[path = "../../../fuzz/bodies/spec_migrate.rs"]
mod spec_migrate;
#[path = "../../../fuzz/bodies/spec_skill_json.rs"]
mod spec_skill_json;
#[path = "../../../fuzz/bodies/spec_skill_md.rs"]
mod spec_skill_md;
#[path = "../../../fuzz/bodies/spec_template.rs"]
mod spec_template;
#[path = "../../../fuzz/bodies/spec_terminal_safe.rs"]
mod spec_terminal_safe;

#[test]
fn skill_json_in_every_format_never_panics() {
    seeded::check("spec_skill_json", 3000, spec_skill_json::run);
}

#[test]
fn skill_md_never_panics() {
    seeded::check("spec_skill_md", 3000, spec_skill_md::run);
}

#[test]
fn templates_and_parameter_values_never_panic() {
    seeded::check("spec_template", 6000, spec_template::run);
}

#[test]
fn migrate_never_panics_and_a_complete_migration_loads() {
    seeded::check("spec_migrate", 1000, spec_migrate::run);
}

#[test]
fn terminal_safe_text_never_panics_and_holds_its_promises() {
    seeded::check("spec_terminal_safe", 6000, spec_terminal_safe::run);
}

// Regression tests of findings (docs/robustness.md, "Findings").

/// Found by `spec_migrate` and `spec_skill_json`: a Q CLI command line that is one quoted word
/// holding a space (`'hello world'`) became the program `hello world` with no arguments; read
/// back, that canonical file was taken as a whole command line and split into `hello` and
/// `world`, so the migrated skill ran another program than the original. Now such a file is
/// refused with the reason, and `migrate` does not write it.
#[test]
fn a_quoted_program_name_with_a_space_is_refused_not_migrated_to_another_program() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    for (i, command) in ["'hello world'", "\"my tool\"", "my\\ tool", "  'a\tb'  "]
        .iter()
        .enumerate()
    {
        let path = dir.path().join(format!(".q-skills/say{i}.json"));
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("the folder");
        let file = serde_json::json!({"name": format!("say{i}"), "description": "d",
            "version": "1", "type": "code_inline", "command": command, "args": []});
        std::fs::write(&path, file.to_string()).expect("the skill");
        let loaded = skillet_spec::load_file(&path);
        assert!(loaded.spec.is_none(), "{command}: loaded");
        assert!(
            loaded
                .diagnostics
                .iter()
                .any(|d| d.is_error() && d.message.contains("holds a space")),
            "{command}: {:?}",
            loaded.diagnostics
        );
        let migration = skillet_spec::migrate_file(&path).expect("a migration plan");
        assert!(!migration.complete, "{command}: {}", migration.after);
    }
    // An absolute path with a space stays one program.
    let path = dir.path().join(".q-skills/abs.json");
    std::fs::write(
        &path,
        r#"{"name": "abs", "description": "d", "version": "1", "type": "code_inline",
           "command": "'/opt/my tool/run'", "args": []}"#,
    )
    .expect("the skill");
    let migration = skillet_spec::migrate_file(&path).expect("a migration");
    assert!(migration.complete, "{:?}", migration.diagnostics);
    let spec = skillet_spec::load_json(&migration.after, None)
        .spec
        .expect("the migrated skill loads");
    assert_eq!(spec.command.as_deref(), Some("/opt/my tool/run"));
    assert!(spec.args.is_empty());
}

/// Found by `engine_params`: a NUL byte in a skill's own `args` (or `command`, `env`) passes
/// validation, and the run then fails at spawn ("an argument contains a NUL byte") instead of
/// `validate` naming the field.
#[test]
fn a_nul_byte_in_a_skills_own_arguments_is_a_validation_error() {
    for (fields, names) in [
        (r#""command": "echo", "args": ["x\u0000y"]"#, "args[0]"),
        (r#""command": "ec\u0000ho""#, "command"),
        (r#""command": "echo", "env": {"A": "1\u0000"}"#, "env.A"),
        (
            r#""command": "echo", "env": {"A\u0000B": "1"}"#,
            "environment variable name",
        ),
        (
            r#""command": "echo", "env": {"A=B": "1"}"#,
            "environment variable name",
        ),
        (
            r#""command": "echo", "working_dir": "a\u0000b""#,
            "working_dir",
        ),
    ] {
        let loaded = skillet_spec::load_json(
            &format!(r#"{{"name": "a", "description": "d", "type": "code_inline", {fields}}}"#),
            None,
        );
        assert!(loaded.spec.is_none(), "{fields}: loaded");
        assert!(
            loaded
                .diagnostics
                .iter()
                .any(|d| d.is_error() && d.message.contains(names)),
            "{fields}: {:?}",
            loaded.diagnostics
        );
    }
}
