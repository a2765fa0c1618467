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
    seeded::check("spec_skill_json", 1500, spec_skill_json::run);
}

#[test]
fn skill_md_never_panics() {
    seeded::check("spec_skill_md", 1500, spec_skill_md::run);
}

#[test]
fn templates_and_parameter_values_never_panic() {
    seeded::check("spec_template", 3000, spec_template::run);
}

#[test]
fn migrate_never_panics_and_a_complete_migration_loads() {
    seeded::check("spec_migrate", 500, spec_migrate::run);
}

#[test]
fn terminal_safe_text_never_panics_and_holds_its_promises() {
    seeded::check("spec_terminal_safe", 3000, spec_terminal_safe::run);
}
