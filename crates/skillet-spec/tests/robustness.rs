//! No panic on any input (issue 18): the fuzz bodies of the skill format's parsers and
//! renderers, run on stable over the committed seeds (`fuzz/corpus/<target>/`) and a bounded
//! number of mutations of them. The same bodies are cargo-fuzz targets (`fuzz/`); see
//! docs/robustness.md. `SKILLET_FUZZ_CASES=N` runs N mutated cases per target.

#[path = "../../../fuzz/bodies/input.rs"]
#[allow(dead_code)]
mod input;
#[path = "../../../fuzz/bodies/known.rs"]
mod known;
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

// Regression tests of findings (docs/robustness.md, "Known findings"), ignored until fixed.

/// Found by `spec_migrate` and `spec_skill_json`: a Q CLI command line that is one quoted word
/// holding a space (`'hello world'`) becomes the program `hello world` with no arguments; read
/// back, that canonical file is taken as a whole command line and split into `hello` and
/// `world`, so the migrated skill runs another program than the original.
#[test]
#[ignore = "known finding: a migrated quoted one-word command is split again when read back"]
fn a_migrated_quoted_program_name_runs_the_same_program() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join(".q-skills/say.json");
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("the folder");
    std::fs::write(
        &path,
        r#"{"name": "say", "description": "d", "version": "1", "type": "code_inline",
           "command": "'hello world'", "args": []}"#,
    )
    .expect("the skill");
    let original = skillet_spec::load_file(&path)
        .spec
        .expect("the Q CLI skill loads");
    assert_eq!(original.command.as_deref(), Some("hello world"));
    let migration = skillet_spec::migrate_file(&path).expect("a migration");
    assert!(migration.complete, "{:?}", migration.diagnostics);
    let migrated = skillet_spec::load_json(&migration.after, None);
    let spec = migrated.spec.expect("the migrated skill loads");
    assert_eq!(
        (spec.command.as_deref(), spec.args.as_slice()),
        (Some("hello world"), &[][..]),
        "the migrated file runs another program: {}",
        migration.after
    );
}

/// Found by `engine_params`: a NUL byte in a skill's own `args` (or `command`, `env`) passes
/// validation, and the run then fails at spawn ("an argument contains a NUL byte") instead of
/// `validate` naming the field.
#[test]
#[ignore = "known finding: a NUL byte in a skill's own argv is refused only at spawn"]
fn a_nul_byte_in_a_skills_own_arguments_is_a_validation_error() {
    let loaded = skillet_spec::load_json(
        r#"{"name": "a", "description": "d", "type": "code_inline", "command": "echo",
            "args": ["x\u0000y"]}"#,
        None,
    );
    assert!(
        loaded
            .diagnostics
            .iter()
            .any(|d| d.is_error() && d.message.contains("NUL")),
        "{:?}",
        loaded.diagnostics
    );
}
