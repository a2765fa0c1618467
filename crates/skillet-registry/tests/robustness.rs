//! No panic on any input (issue 18): the global and workspace `skillet.toml`, read and edited, run on stable over the committed seeds
//! (`fuzz/corpus/<target>/`) and a bounded number of mutations of them. The same bodies are
//! cargo-fuzz targets (`fuzz/`); see docs/robustness.md. `SKILLET_FUZZ_CASES=N` runs N mutated
//! cases per target.

#[path = "../../../fuzz/bodies/input.rs"]
#[allow(dead_code)]
mod input;
#[path = "../../../fuzz/bodies/seeded.rs"]
mod seeded;

#[path = "../../../fuzz/bodies/registry_config.rs"]
mod registry_config;

#[test]
fn skillet_toml_global_and_workspace_never_panics() {
    seeded::check("registry_config", 1200, registry_config::run);
}
