//! No panic on any input (issue 18): parameter rendering into argv, environment and prompts, and session framing, run on stable over the committed seeds
//! (`fuzz/corpus/<target>/`) and a bounded number of mutations of them. The same bodies are
//! cargo-fuzz targets (`fuzz/`); see docs/robustness.md. `SKILLET_FUZZ_CASES=N` runs N mutated
//! cases per target.

#[path = "../../../fuzz/bodies/input.rs"]
#[allow(dead_code)]
mod input;
#[path = "../../../fuzz/bodies/seeded.rs"]
mod seeded;

#[path = "../../../fuzz/bodies/engine_params.rs"]
mod engine_params;
#[path = "../../../fuzz/bodies/engine_session_framing.rs"]
mod engine_session_framing;

#[test]
fn parameter_rendering_never_panics_and_keeps_values_whole() {
    seeded::check("engine_params", 3000, engine_params::run);
}

#[test]
fn session_framing_never_panics() {
    seeded::check("engine_session_framing", 6000, engine_session_framing::run);
}
