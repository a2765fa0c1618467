//! No panic on any input (issue 18): model streaming answers (SSE) read by the real providers from a local server, run on stable over the committed seeds
//! (`fuzz/corpus/<target>/`) and a bounded number of mutations of them. The same bodies are
//! cargo-fuzz targets (`fuzz/`); see docs/robustness.md. `SKILLET_FUZZ_CASES=N` runs N mutated
//! cases per target.

#[path = "../../../fuzz/bodies/input.rs"]
#[allow(dead_code)]
mod input;
#[path = "../../../fuzz/bodies/seeded.rs"]
mod seeded;

#[path = "../../../fuzz/bodies/llm_sse.rs"]
mod llm_sse;

#[test]
fn streamed_model_answers_never_panic() {
    seeded::check("llm_sse", 1200, llm_sse::run);
}
